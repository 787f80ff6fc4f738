// The hardware edge. A Backend enumerates the devices visible to this process and opens one of
// them for keeping; Telemetry reads utilization and the device listing from the vendor's management
// library. CUDA + NVML implement it now; ROCm (HIP + ROCm SMI) implements the same interfaces
// later. Tests exercise the real implementations against fake vendor libraries (tests/fakes), and
// the keeper's own unit tests use in-process doubles of these interfaces.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace keepgpu::gpu {

// A vendor call failed. `code` is the vendor status; `out_of_memory` is true for the codes that
// mean "out of memory" (and the message then contains that text, as upstream's OOM check expects).
class GpuError : public std::runtime_error {
 public:
  GpuError(const std::string& message, int code, bool out_of_memory)
      : std::runtime_error(message), code_(code), out_of_memory_(out_of_memory) {}
  int code() const noexcept { return code_; }
  bool out_of_memory() const noexcept { return out_of_memory_; }

 private:
  int code_;
  bool out_of_memory_;
};

// A vendor library could not be loaded or lacks a required symbol.
class LibraryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The computing platform a backend drives.
enum class Platform { cpu, cuda, rocm };

// "cpu", "cuda", "rocm".
std::string to_string(Platform platform);

struct MemoryInfo {
  std::uint64_t free = 0;
  std::uint64_t total = 0;
};

// One opened device, used by a single keeper worker thread. Opening selects the device and
// creates (retains) its context on the calling thread; close() frees the buffer and releases the
// context, so the device memory is really returned. A release the driver refuses is reported, never
// hidden: the session then still counts what it holds, and close() may be called again to retry.
class DeviceSession {
 public:
  virtual ~DeviceSession() = default;

  // Allocates `elements` float32 values (4 bytes each, 64-bit count) as one device buffer and fills
  // them with finite values in [0, 1). Throws GpuError (out_of_memory() for OOM).
  virtual void allocate(std::uint64_t elements) = 0;
  // Frees the buffer (no-op when none is held). Throws GpuError when the driver refuses; the
  // buffer is then still held (allocated_elements() unchanged) and a later call retries.
  virtual void free_buffer() = 0;
  // Releases everything the session took, in order: the buffer, the kernels and events, the
  // context. Throws GpuError naming the first call the driver refused and stops there, so what is
  // still held stays consistent (a buffer is never orphaned by releasing its context first); a
  // later close() resumes from that step. A no-op once everything is released. The destructor
  // calls it and logs a refusal.
  virtual void close() = 0;
  virtual std::uint64_t allocated_elements() const noexcept = 0;

  // Enqueues one keep-alive pass over the whole buffer: every element read and written once (an
  // in-place ReLU where the platform has kernels, two device-to-device copies on the ROCm path
  // without them). Implementations bound the work in flight (a launch may block until earlier
  // launches finish) so that a stop is honoured quickly.
  virtual void launch_pass() = 0;
  // Enqueues a timed kernel: one warp spins on the device's clock for about `nanoseconds` and
  // touches no memory, the cheapest work that makes the utilization counter read "a kernel ran"
  // for that long. A platform without it runs one keep-alive pass instead (see the backend).
  virtual void launch_spin(std::uint64_t nanoseconds) = 0;
  // Waits for all work enqueued by this session.
  virtual void synchronize() = 0;
  // The device's free/total memory as the driver reports it.
  virtual MemoryInfo memory_info() = 0;
};

// Utilization and listing, by visible ordinal (after CUDA_VISIBLE_DEVICES etc.).
struct GpuInfo {
  int id = 0;            // visible ordinal, what users type into --gpu-ids
  int visible_id = 0;    // == id
  std::string platform;  // "cuda", "rocm"
  std::string name;
  std::optional<std::uint64_t> memory_total;
  std::optional<std::uint64_t> memory_used;
  std::optional<int> utilization;
  std::optional<int> physical_id;
  std::optional<std::string> uuid;
  std::optional<double> power_watts;
  std::optional<int> temperature_c;
};

class Telemetry {
 public:
  virtual ~Telemetry() = default;
  // Utilization percent of visible ordinal, untruncated, or nullopt when unavailable (library
  // missing, mapping ambiguous, query failed, value out of 0..100). Never throws.
  virtual std::optional<double> utilization(int visible_ordinal) = 0;
  // The device listing. Throws DeviceEnumerationUnavailableError only.
  virtual std::vector<GpuInfo> list_gpus() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Platform platform() const = 0;
  // Number of visible devices. A missing driver or "no device" yields 0; an unexpected failure
  // throws DeviceEnumerationUnavailableError("Unable to enumerate visible GPUs: ...").
  virtual int device_count() = 0;
  // Selects the visible ordinal on the calling thread and returns a session bound to it.
  // Throws GpuError / LibraryError on failure.
  virtual std::unique_ptr<DeviceSession> open(int visible_ordinal) = 0;
  virtual Telemetry& telemetry() = 0;
};

}  // namespace keepgpu::gpu
