// Visible HIP ordinal -> ROCm SMI index, never guessed. HIP numbers the devices
// after ROCR_VISIBLE_DEVICES (the base list) and then HIP_VISIBLE_DEVICES or CUDA_VISIBLE_DEVICES
// (an overlay indexing into the base); ROCm SMI numbers every device. The mapping never guesses:
// a malformed, duplicated or out-of-range mask, or a HIP/CUDA overlay pair that disagrees, means
// "no index", so telemetry for that device reads as unavailable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keepgpu::gpu::rocm {

// One numeric mask variable: unset, unresolvable, or its device ids in order.
struct RocmMask {
  enum class Kind { unset, unresolvable, ids };
  Kind kind = Kind::unset;
  std::vector<std::uint64_t> ids;
};

// Splits on ',' and trims each token. Unresolvable: an empty list or token, a token that is not
// all ASCII digits (so "", "-1" and "GPU-..." UUIDs), more than 19 significant digits, or a
// repeated value.
RocmMask parse_rocm_mask(std::optional<std::string_view> value);

// The three variables, as read from the environment (or given by a test).
struct RocmMasks {
  std::optional<std::string> rocr;  // ROCR_VISIBLE_DEVICES
  std::optional<std::string> hip;   // HIP_VISIBLE_DEVICES
  std::optional<std::string> cuda;  // CUDA_VISIBLE_DEVICES

  // The variables as they are in the environment now (read on every call).
  static RocmMasks from_environment();
};

// The ROCm SMI index of visible ordinal `rank`, given the SMI device count (std::nullopt when it
// is unknown), or std::nullopt when the mapping is unknown or ambiguous.
std::optional<std::uint32_t> resolve_rocm_smi_index(int rank, const RocmMasks& masks,
                                                    std::optional<std::uint32_t> monitor_count);

}  // namespace keepgpu::gpu::rocm
