// CUDA_VISIBLE_DEVICES and the mapping from a visible ordinal to an NVML device
// (the monitor's lookup and the listing's variant of it). The mapping never
// guesses: a malformed, duplicated, out-of-range, ambiguous or aliased mask yields "no device".
// The NVML side is reached through DeviceDirectory so the rules can be tested with an in-process
// double as well as against the fake NVML library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepgpu::gpu {

struct MaskToken {
  enum class Kind { index, uuid };
  Kind kind = Kind::index;
  std::uint64_t index = 0;  // Kind::index: the value, leading zeros ignored
  std::string text;         // the token as written, trimmed (UUID lookups pass it verbatim)
  std::string key;          // Kind::uuid: lower-cased text, used for duplicates and prefixes
};

struct CudaVisibleMask {
  bool set = false;               // the variable exists (an unset mask is the identity mapping)
  bool valid = true;              // false: no devices at all, and no fallback listing
  std::vector<MaskToken> tokens;  // meaningful only when set and valid; token i = ordinal i

  // Unset or non-empty valid masks let the listing fall back to the compute runtime; "", "-1",
  // "-1,..." and invalid masks do not.
  bool permits_fallback() const noexcept { return !set || (valid && !tokens.empty()); }
  bool has_uuid_tokens() const noexcept;
  bool has_index_tokens() const noexcept;
};

// Parses a CUDA_VISIBLE_DEVICES value (std::nullopt = unset).
CudaVisibleMask parse_cuda_visible_devices(std::optional<std::string_view> value);
// Parses the variable as it is in the environment right now (read on every call).
CudaVisibleMask cuda_visible_mask();

using DeviceHandle = const void*;

// The NVML calls the mapping needs, as status codes (0 = success). Implemented over the real
// library by nvml::NvmlDirectory.
class DeviceDirectory {
 public:
  static constexpr int kSuccess = 0;
  static constexpr int kUninitialized = 1;  // NVML_ERROR_UNINITIALIZED

  virtual ~DeviceDirectory() = default;
  virtual int device_count(unsigned& count) = 0;
  virtual int handle_by_index(unsigned index, DeviceHandle& handle) = 0;
  virtual bool has_handle_by_uuid() const = 0;
  virtual int handle_by_uuid(const std::string& uuid, DeviceHandle& handle) = 0;
  virtual bool has_device_index() const = 0;
  virtual int device_index(DeviceHandle handle, unsigned& index) = 0;
  virtual bool has_device_uuid() const = 0;
  virtual int device_uuid(DeviceHandle handle, std::string& uuid) = 0;
  // The library's text for a status, for log messages.
  virtual std::string describe(int status) = 0;
};

// Result of the monitor's lookup. `uninitialized` means NVML answered "uninitialised"
// somewhere inside the lookup; the caller re-initialises NVML and tries once more.
struct MonitorLookup {
  enum class Outcome { found, unavailable, uninitialized };
  Outcome outcome = Outcome::unavailable;
  DeviceHandle handle = nullptr;
  std::string detail;  // the NVML error text, when an NVML call failed
};

// Visible ordinal -> NVML handle for the utilization monitor. Every token of the
// mask is resolved and checked for aliases on every call; nothing is cached.
MonitorLookup resolve_monitor_handle(const CudaVisibleMask& mask, int visible_ordinal,
                                     DeviceDirectory& nvml);

struct ResolvedDevice {
  DeviceHandle handle = nullptr;
  std::optional<unsigned> physical_id;  // NVML index, when known
};

// The listing variant: UUID tokens first, then numeric tokens; any unresolved token or
// repeated physical id fails the whole resolution (std::nullopt). The result is in visible order.
std::optional<std::vector<ResolvedDevice>> resolve_listing_handles(
    const std::vector<MaskToken>& tokens, DeviceDirectory& nvml);

}  // namespace keepgpu::gpu
