// The bound on keep-alive work a device session has queued. Launches are counted in chunks of
// kLaunchesPerChunk; an event closes each chunk, and before a chunk's event is reused the chunk it
// marked must be complete. So at most two chunks are ever queued behind the host, and a stop waits
// for about two chunks of kernels instead of a whole queued batch. The vendor calls come in as
// callables, so CUDA and HIP share the bookkeeping.
#pragma once

#include <array>
#include <cstddef>

namespace keepgpu::gpu {

template <typename Event>
class InFlightBound {
 public:
  static constexpr unsigned kLaunchesPerChunk = 16;

  // Creates every chunk's event: create(Event&) fills it in or throws.
  template <typename Create>
  void create_events(Create&& create) {
    for (Slot& slot : slots_)
      create(slot.event);
  }

  // Destroys every created event with destroy(Event). An event is forgotten only once destroy
  // returned, so after a throw a later call resumes with the events still alive.
  template <typename Destroy>
  void destroy_events(Destroy&& destroy) {
    for (Slot& slot : slots_) {
      if (slot.event != Event{}) destroy(slot.event);
      slot = Slot{};
    }
  }

  // Counts one launch. At the end of a chunk, waits (wait(Event)) for the chunk recorded in the
  // slot about to be reused, then records (record(Event)) the event that closes this chunk.
  template <typename Wait, typename Record>
  void count_launch(Wait&& wait, Record&& record) {
    if (++launches_in_chunk_ < kLaunchesPerChunk) return;
    launches_in_chunk_ = 0;
    Slot& slot = slots_[next_];
    if (slot.pending) {
      wait(slot.event);
      slot.pending = false;
    }
    record(slot.event);
    slot.pending = true;
    next_ = (next_ + 1) % slots_.size();
  }

  // Everything queued is known to be complete (after a device-wide synchronise).
  void all_complete() noexcept {
    for (Slot& slot : slots_)
      slot.pending = false;
  }

  // The buffer went away: the next launch starts a new chunk.
  void restart_chunk() noexcept { launches_in_chunk_ = 0; }

 private:
  struct Slot {
    Event event{};
    bool pending = false;  // recorded and not yet known to be complete
  };
  std::array<Slot, 2> slots_{};
  std::size_t next_ = 0;
  unsigned launches_in_chunk_ = 0;
};

}  // namespace keepgpu::gpu
