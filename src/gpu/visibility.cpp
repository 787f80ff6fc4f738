#include "gpu/visibility.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <set>
#include <utility>

#include "core/log.hpp"

namespace keepgpu::gpu {
namespace {

using Outcome = MonitorLookup::Outcome;

// Numeric tokens with more significant digits than this are rejected rather than parsed.
constexpr std::size_t kMaxSignificantDigits = 19;

std::shared_ptr<spdlog::logger> monitor_log() {
  static const auto logger = keepgpu::log::get("keep_gpu.utilities.gpu_monitor");
  return logger;
}

// The whitespace Python's str.strip() removes, as UTF-8, so tokens trim exactly as upstream's.
constexpr std::string_view kSpaces[] = {" ",
                                        "\t",
                                        "\n",
                                        "\v",
                                        "\f",
                                        "\r",
                                        "\x1c",
                                        "\x1d",
                                        "\x1e",
                                        "\x1f",
                                        "\xc2\x85",
                                        "\xc2\xa0",
                                        "\xe1\x9a\x80",
                                        "\xe2\x80\x80",
                                        "\xe2\x80\x81",
                                        "\xe2\x80\x82",
                                        "\xe2\x80\x83",
                                        "\xe2\x80\x84",
                                        "\xe2\x80\x85",
                                        "\xe2\x80\x86",
                                        "\xe2\x80\x87",
                                        "\xe2\x80\x88",
                                        "\xe2\x80\x89",
                                        "\xe2\x80\x8a",
                                        "\xe2\x80\xa8",
                                        "\xe2\x80\xa9",
                                        "\xe2\x80\xaf",
                                        "\xe2\x81\x9f",
                                        "\xe3\x80\x80"};

std::string_view trim(std::string_view token) {
  bool changed = true;
  while (changed && !token.empty()) {
    changed = false;
    for (std::string_view space : kSpaces) {
      if (token.starts_with(space)) {
        token.remove_prefix(space.size());
        changed = true;
      }
      if (token.ends_with(space)) {
        token.remove_suffix(space.size());
        changed = true;
      }
    }
  }
  return token;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool is_ascii(std::string_view token) {
  return std::all_of(token.begin(), token.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool all_digits(std::string_view token) {
  return std::all_of(token.begin(), token.end(), is_digit);
}

std::string lower_ascii(std::string_view token) {
  std::string out(token);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Turns one trimmed, non-empty, ASCII token into its key; std::nullopt for a numeric token too
// long to be a device index.
std::optional<MaskToken> make_token(std::string_view token) {
  MaskToken out;
  out.text = std::string(token);
  if (all_digits(token)) {
    std::string_view digits = token;
    while (!digits.empty() && digits.front() == '0')
      digits.remove_prefix(1);
    if (digits.size() > kMaxSignificantDigits) return std::nullopt;
    out.kind = MaskToken::Kind::index;
    // At most 19 digits: always fits in 64 bits.
    out.index = 0;
    for (char c : digits)
      out.index = out.index * 10 + static_cast<std::uint64_t>(c - '0');
    return out;
  }
  out.kind = MaskToken::Kind::uuid;
  out.key = lower_ascii(token);
  return out;
}

CudaVisibleMask invalid_mask() {
  CudaVisibleMask mask;
  mask.set = true;
  mask.valid = false;
  return mask;
}

// A device's identity for the alias check (two tokens naming one device): its NVML index when
// known, otherwise the handle value itself.
using Identity = std::pair<bool, std::uintptr_t>;

struct UuidLookup {
  Outcome outcome = Outcome::unavailable;
  DeviceHandle handle = nullptr;
  std::string detail;
};

// Folds a failed NVML status into the lookup outcome: "uninitialised" is passed up only where the
// caller retries (the monitor); anything else makes the token unresolved.
UuidLookup failed(int status, bool pass_uninitialized, DeviceDirectory& nvml) {
  const bool uninit = pass_uninitialized && status == DeviceDirectory::kUninitialized;
  return {uninit ? Outcome::uninitialized : Outcome::unavailable, nullptr, nvml.describe(status)};
}

// UUID tokens: the direct UUID lookup, then (after any NVML failure) a unique case-insensitive
// prefix match over every device's UUID.
UuidLookup lookup_uuid(const MaskToken& token, DeviceDirectory& nvml, bool pass_uninitialized) {
  if (!nvml.has_handle_by_uuid()) return {};
  DeviceHandle handle = nullptr;
  const int direct = nvml.handle_by_uuid(token.text, handle);
  if (direct == DeviceDirectory::kSuccess) return {Outcome::found, handle, {}};
  if (pass_uninitialized && direct == DeviceDirectory::kUninitialized) {
    return failed(direct, true, nvml);
  }
  if (!nvml.has_device_uuid()) return {};
  unsigned count = 0;
  if (int status = nvml.device_count(count); status != DeviceDirectory::kSuccess) {
    return failed(status, pass_uninitialized, nvml);
  }
  std::vector<DeviceHandle> matches;
  for (unsigned index = 0; index < count; ++index) {
    DeviceHandle candidate = nullptr;
    if (int status = nvml.handle_by_index(index, candidate); status != DeviceDirectory::kSuccess) {
      return failed(status, pass_uninitialized, nvml);
    }
    std::string uuid;
    if (int status = nvml.device_uuid(candidate, uuid); status != DeviceDirectory::kSuccess) {
      return failed(status, pass_uninitialized, nvml);
    }
    if (lower_ascii(uuid).starts_with(token.key)) matches.push_back(candidate);
  }
  // Zero or several matches: never guess.
  if (matches.size() != 1) return {};
  return {Outcome::found, matches.front(), {}};
}

MonitorLookup to_monitor(UuidLookup lookup) {
  return {lookup.outcome, lookup.handle, std::move(lookup.detail)};
}

}  // namespace

bool CudaVisibleMask::has_uuid_tokens() const noexcept {
  return std::any_of(tokens.begin(), tokens.end(),
                     [](const MaskToken& t) { return t.kind == MaskToken::Kind::uuid; });
}

bool CudaVisibleMask::has_index_tokens() const noexcept {
  return std::any_of(tokens.begin(), tokens.end(),
                     [](const MaskToken& t) { return t.kind == MaskToken::Kind::index; });
}

CudaVisibleMask parse_cuda_visible_devices(std::optional<std::string_view> value) {
  CudaVisibleMask mask;
  if (!value) return mask;
  mask.set = true;
  const std::string_view whole = trim(*value);
  if (whole.empty() || whole == "-1") return mask;  // hides every device, validly

  // Split and trim; "-1" ends the list before any validity check.
  std::vector<std::string_view> raw;
  std::string_view rest = *value;
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view token = trim(rest.substr(0, comma));
    if (token == "-1") break;
    raw.push_back(token);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }

  std::set<std::pair<MaskToken::Kind, std::string>> seen;
  for (std::string_view token : raw) {
    if (token.empty() || !is_ascii(token)) return invalid_mask();
    auto parsed = make_token(token);
    if (!parsed) return invalid_mask();
    std::string key =
        parsed->kind == MaskToken::Kind::index ? std::to_string(parsed->index) : parsed->key;
    if (!seen.emplace(parsed->kind, std::move(key)).second) return invalid_mask();
    mask.tokens.push_back(std::move(*parsed));
  }
  return mask;
}

CudaVisibleMask cuda_visible_mask() {
  const char* value = std::getenv("CUDA_VISIBLE_DEVICES");
  if (value == nullptr) return parse_cuda_visible_devices(std::nullopt);
  return parse_cuda_visible_devices(std::string_view(value));
}

MonitorLookup resolve_monitor_handle(const CudaVisibleMask& mask, int visible_ordinal,
                                     DeviceDirectory& nvml) {
  if (!mask.valid || visible_ordinal < 0) return {};
  if (!mask.set) {
    DeviceHandle handle = nullptr;
    const int status = nvml.handle_by_index(static_cast<unsigned>(visible_ordinal), handle);
    if (status == DeviceDirectory::kSuccess) return {Outcome::found, handle, {}};
    return to_monitor(failed(status, true, nvml));
  }
  const auto& tokens = mask.tokens;
  if (static_cast<std::size_t>(visible_ordinal) >= tokens.size()) return {};

  // Range-check numeric tokens before any handle lookup.
  if (mask.has_index_tokens()) {
    unsigned count = 0;
    if (int status = nvml.device_count(count); status != DeviceDirectory::kSuccess) {
      if (status == DeviceDirectory::kUninitialized) return to_monitor(failed(status, true, nvml));
      KG_DEBUG(monitor_log(), "NVML device count query failed: {}", nvml.describe(status));
      return {};
    }
    for (const MaskToken& token : tokens) {
      if (token.kind == MaskToken::Kind::index && token.index >= count) return {};
    }
  }

  // Resolve every token, UUID tokens first, so that a bad token anywhere in the mask makes the
  // whole mapping unavailable.
  std::vector<DeviceHandle> handles(tokens.size(), nullptr);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind != MaskToken::Kind::uuid) continue;
    UuidLookup lookup = lookup_uuid(tokens[i], nvml, true);
    if (lookup.outcome != Outcome::found) return to_monitor(std::move(lookup));
    handles[i] = lookup.handle;
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind != MaskToken::Kind::index) continue;
    const int status = nvml.handle_by_index(static_cast<unsigned>(tokens[i].index), handles[i]);
    if (status != DeviceDirectory::kSuccess) return to_monitor(failed(status, true, nvml));
  }

  // Alias check: two tokens naming one device make the mask ambiguous.
  std::set<Identity> identities;
  for (DeviceHandle handle : handles) {
    Identity identity{false, reinterpret_cast<std::uintptr_t>(handle)};
    if (nvml.has_device_index()) {
      unsigned index = 0;
      const int status = nvml.device_index(handle, index);
      if (status == DeviceDirectory::kSuccess) {
        identity = {true, index};
      } else if (status == DeviceDirectory::kUninitialized) {
        return to_monitor(failed(status, true, nvml));
      } else {
        KG_DEBUG(monitor_log(), "NVML handle index query failed: {}", nvml.describe(status));
      }
    }
    if (!identities.insert(identity).second) return {};
  }
  return {Outcome::found, handles[static_cast<std::size_t>(visible_ordinal)], {}};
}

std::optional<std::vector<ResolvedDevice>> resolve_listing_handles(
    const std::vector<MaskToken>& tokens, DeviceDirectory& nvml) {
  std::vector<ResolvedDevice> out(tokens.size());
  std::set<unsigned> physical_ids;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind != MaskToken::Kind::uuid) continue;
    const UuidLookup lookup = lookup_uuid(tokens[i], nvml, false);
    if (lookup.outcome != Outcome::found) return std::nullopt;
    out[i].handle = lookup.handle;
    unsigned index = 0;
    if (nvml.has_device_index() &&
        nvml.device_index(lookup.handle, index) == DeviceDirectory::kSuccess) {
      if (!physical_ids.insert(index).second) return std::nullopt;
      out[i].physical_id = index;
    }
  }
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i].kind != MaskToken::Kind::index) continue;
    if (tokens[i].index > std::numeric_limits<unsigned>::max()) return std::nullopt;
    const auto index = static_cast<unsigned>(tokens[i].index);
    if (nvml.handle_by_index(index, out[i].handle) != DeviceDirectory::kSuccess) {
      return std::nullopt;
    }
    if (!physical_ids.insert(index).second) return std::nullopt;
    out[i].physical_id = index;
  }
  return out;
}

}  // namespace keepgpu::gpu
