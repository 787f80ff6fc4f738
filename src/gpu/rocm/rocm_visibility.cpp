#include "gpu/rocm/rocm_visibility.hpp"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "core/text.hpp"

namespace keepgpu::gpu::rocm {
namespace {

constexpr std::size_t kMaxSignificantDigits = 19;

RocmMask unresolvable() {
  return {RocmMask::Kind::unresolvable, {}};
}

std::optional<std::string> env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

// Base + overlay, or std::nullopt when either is unresolvable or HIP and CUDA disagree.
std::optional<RocmMask> overlay_of(const RocmMask& hip, const RocmMask& cuda) {
  if (hip.kind == RocmMask::Kind::unresolvable || cuda.kind == RocmMask::Kind::unresolvable) {
    return std::nullopt;
  }
  if (hip.kind == RocmMask::Kind::ids && cuda.kind == RocmMask::Kind::ids) {
    if (hip.ids != cuda.ids) return std::nullopt;
    return hip;
  }
  return hip.kind == RocmMask::Kind::ids ? hip : cuda;
}

bool all_below(const std::vector<std::uint64_t>& ids, std::uint64_t limit) {
  return std::all_of(ids.begin(), ids.end(), [limit](std::uint64_t id) { return id < limit; });
}

}  // namespace

RocmMask parse_rocm_mask(std::optional<std::string_view> value) {
  if (!value) return {};
  RocmMask mask{RocmMask::Kind::ids, {}};
  std::set<std::uint64_t> seen;
  std::string_view rest = *value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view token = core::text::trim_python(rest.substr(0, comma));
    if (token.empty() || !std::all_of(token.begin(), token.end(), core::text::is_ascii_digit)) {
      return unresolvable();
    }
    const std::size_t first = token.find_first_not_of('0');
    const std::string_view digits =
        first == std::string_view::npos ? std::string_view() : token.substr(first);
    if (digits.size() > kMaxSignificantDigits) return unresolvable();
    // 19 digits fit in 64 bits unsigned; such a value is out of range for any device anyway.
    const std::uint64_t id = core::text::magnitude_saturating(digits, UINT64_MAX);
    if (!seen.insert(id).second) return unresolvable();
    mask.ids.push_back(id);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return mask;
}

RocmMasks RocmMasks::from_environment() {
  return {env("ROCR_VISIBLE_DEVICES"), env("HIP_VISIBLE_DEVICES"), env("CUDA_VISIBLE_DEVICES")};
}

std::optional<std::uint32_t> resolve_rocm_smi_index(int rank, const RocmMasks& masks,
                                                    std::optional<std::uint32_t> monitor_count) {
  if (rank < 0) return std::nullopt;
  const RocmMask base = parse_rocm_mask(masks.rocr);
  const auto overlay = overlay_of(parse_rocm_mask(masks.hip), parse_rocm_mask(masks.cuda));
  if (base.kind == RocmMask::Kind::unresolvable || !overlay) return std::nullopt;

  const auto position = static_cast<std::uint64_t>(rank);
  std::vector<std::uint64_t> physical;
  if (base.kind == RocmMask::Kind::unset && overlay->kind == RocmMask::Kind::unset) {
    if (monitor_count && position >= *monitor_count) return std::nullopt;
    return static_cast<std::uint32_t>(rank);
  }
  // Every id in a mask must name an SMI device, so the count has to be known.
  if (!monitor_count) return std::nullopt;
  if (base.kind == RocmMask::Kind::ids) {
    if (!all_below(base.ids, *monitor_count)) return std::nullopt;
    if (overlay->kind == RocmMask::Kind::ids) {
      if (!all_below(overlay->ids, base.ids.size())) return std::nullopt;
      for (std::uint64_t entry : overlay->ids)
        physical.push_back(base.ids[entry]);
    } else {
      physical = base.ids;
    }
  } else {
    if (!all_below(overlay->ids, *monitor_count)) return std::nullopt;
    physical = overlay->ids;
  }
  if (position >= physical.size()) return std::nullopt;
  return static_cast<std::uint32_t>(physical[position]);
}

}  // namespace keepgpu::gpu::rocm
