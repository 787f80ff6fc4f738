// ROCm SMI's library-wide initialisation, reference-counted for the whole backend. Upstream
// initialised SMI per controller in keep() and shut it down in every release(), so one keeper's
// release shut SMI down under its siblings, which then leaked init references through their retry
// path. Here every user holds a Lease: the first lease calls
// rsmi_init, the last one calls rsmi_shut_down, and every rsmi_init that succeeded is matched by
// exactly one rsmi_shut_down. Sessions hold a lease from open to close ("init at keep, shutdown
// on release"); a telemetry query or a listing holds one for its own duration.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "gpu/rocm/rsmi_api.hpp"

namespace keepgpu::gpu::rocm {

class SmiRuntime : public std::enable_shared_from_this<SmiRuntime> {
 public:
  static std::shared_ptr<SmiRuntime> create(RsmiLoader loader = RsmiApi::shared);
  ~SmiRuntime();
  SmiRuntime(const SmiRuntime&) = delete;
  SmiRuntime& operator=(const SmiRuntime&) = delete;

  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

    // The initialised library, or nullptr when it is absent or rsmi_init fails (the failure text
    // is stored in `error`). acquire() already tried to initialise, so the first call answers
    // that attempt's outcome and later calls try again. `generation` names this initialisation
    // for reinitialize().
    const RsmiApi* api(std::uint64_t& generation, std::string& error) const;
    // The library answered "not initialised" (something shut it down under us): our reference is
    // gone, so initialise again, unless another thread already did since `generation`.
    void reinitialize(std::uint64_t generation) const;

   private:
    friend class SmiRuntime;
    explicit Lease(std::shared_ptr<SmiRuntime> runtime) : runtime_(std::move(runtime)) {}
    void drop() noexcept;
    std::shared_ptr<SmiRuntime> runtime_;
    mutable bool fresh_ = true;  // no api() call yet: acquire()'s init attempt stands
  };

  // Takes one use; the first use initialises ROCm SMI. Never throws for a missing library or a
  // failed init (telemetry then reads as unavailable).
  Lease acquire();

  // Whether librocm_smi64 could be loaded (loads it on first call).
  bool library_loaded();
  // Uses held right now (for tests).
  int users() const;
  bool initialized() const;

 private:
  explicit SmiRuntime(RsmiLoader loader);
  // All three require mutex_.
  const RsmiApi* ensure_locked(std::string& error);
  void shutdown_locked() noexcept;
  bool load_locked(std::string& error);

  RsmiLoader loader_;
  mutable std::mutex mutex_;
  std::shared_ptr<const RsmiApi> api_;
  bool load_attempted_ = false;
  std::string load_error_;
  std::string init_error_;  // why the last init attempt failed
  int users_ = 0;
  bool initialized_ = false;
  std::uint64_t generation_ = 0;
};

}  // namespace keepgpu::gpu::rocm
