#include "core/identifiers.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace keepgpu::core {
namespace {

constexpr const char* kJobIdMessage = "job_id must be a URL-path-safe non-empty string";
constexpr const char* kHostMessage = "host must be a DNS hostname or IPv4 address";
constexpr const char* kPortMessage = "port must be an integer between 1 and 65535";

bool is_job_id_char(char c) {
  return text::is_ascii_letter(c) || text::is_ascii_digit(c) || c == '.' || c == '_' || c == '~' ||
         c == '-';
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), text::is_ascii_digit);
}

// Four decimal octets 0..255 with no leading zeros other than a lone "0".
bool is_canonical_ipv4(std::string_view host) {
  int octets = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = host.find('.', start);
    const std::string_view octet =
        host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!all_digits(octet) || octet.size() > 3 || (octet.size() > 1 && octet.front() == '0')) {
      return false;
    }
    if (std::stoi(std::string(octet)) > 255) return false;
    ++octets;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return octets == 4;
}

bool is_dns_label(std::string_view label) {
  if (label.empty() || label.size() > 63) return false;
  if (label.front() == '-' || label.back() == '-') return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return text::is_ascii_letter(c) || text::is_ascii_digit(c) || c == '-';
  });
}

// Total length <= 253, no trailing dot, letter/digit/hyphen labels, and a last label that is not
// all digits (so malformed dotted quads such as 256.0.0.1 never pass as names).
bool is_dns_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253 || host.back() == '.') return false;
  std::size_t start = 0;
  std::string_view label;
  while (true) {
    const std::size_t dot = host.find('.', start);
    label = host.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!is_dns_label(label)) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return !all_digits(label);
}

}  // namespace

bool is_valid_job_id(std::string_view id) {
  if (id.empty() || id == "." || id == "..") return false;
  return std::all_of(id.begin(), id.end(), is_job_id_char);
}

std::string validate_job_id(std::string_view id) {
  if (!is_valid_job_id(id)) throw ValueError(kJobIdMessage);
  return std::string(id);
}

bool is_valid_host(std::string_view host) {
  // IPv6 literals contain ':' and whitespace-padded values contain spaces, so neither can pass
  // either check below, so no separate IPv6 or whitespace check is needed.
  return is_canonical_ipv4(host) || is_dns_hostname(host);
}

std::string validate_host(std::string_view host) {
  if (!is_valid_host(host)) throw ValueError(kHostMessage);
  return std::string(host);
}

int validate_port(long long port) {
  if (port < 1 || port > 65535) throw ValueError(kPortMessage);
  return static_cast<int>(port);
}

int parse_port_text(std::string_view text) {
  if (!all_digits(text)) throw ValueError(kPortMessage);
  const std::size_t first = std::min(text.find_first_not_of('0'), text.size());
  const std::string_view significant = text.substr(first);
  if (significant.size() > 5) throw ValueError(kPortMessage);
  return validate_port(significant.empty() ? 0 : std::stoll(std::string(significant)));
}

std::string generate_job_id() {
  // One random_device per call: ids are rare, and this avoids shared generator state.
  std::random_device device;
  std::array<std::uint8_t, 16> bytes{};
  for (std::size_t i = 0; i < bytes.size(); i += 4) {
    const std::uint32_t word = device();
    for (std::size_t j = 0; j < 4; ++j)
      bytes[i + j] = static_cast<std::uint8_t>(word >> (8 * j));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0F) | 0x40);  // version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3F) | 0x80);  // RFC 4122 variant
  std::string id;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) id += '-';
    id += fmt::format("{:02x}", bytes[i]);
  }
  return id;
}

}  // namespace keepgpu::core
