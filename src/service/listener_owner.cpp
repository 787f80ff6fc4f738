#include "service/listener_owner.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>

namespace keepgpu::service::listeners {
namespace {

namespace ip = boost::asio::ip;

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t at = 0;
  while (at < line.size()) {
    const auto start = line.find_first_not_of(" \t", at);
    if (start == std::string_view::npos) break;
    const auto end = std::min(line.find_first_of(" \t", start), line.size());
    out.push_back(line.substr(start, end - start));
    at = end;
  }
  return out;
}

template <class Int>
std::optional<Int> parse_number(std::string_view text, int base) {
  Int value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The kernel prints an address as %08X per 32-bit word of the network-order bytes, read as a
// native integer; copying each parsed word back to memory restores the network order.
std::optional<ip::address> parse_address(std::string_view hex) {
  if (hex.size() != 8 && hex.size() != 32) return std::nullopt;
  std::array<unsigned char, 16> bytes{};
  for (std::size_t word = 0; word * 8 < hex.size(); ++word) {
    const auto value = parse_number<std::uint32_t>(hex.substr(word * 8, 8), 16);
    if (!value) return std::nullopt;
    std::memcpy(bytes.data() + word * 4, &*value, 4);
  }
  if (hex.size() == 8) {
    return ip::address_v4(ip::address_v4::bytes_type{bytes[0], bytes[1], bytes[2], bytes[3]});
  }
  return ip::address_v6(bytes);
}

// IPv4 targets compare in their v4-mapped IPv6 form, so one comparison covers both tables.
ip::address_v6 as_v6(const ip::address& address) {
  return address.is_v4() ? ip::make_address_v6(ip::v4_mapped, address.to_v4()) : address.to_v6();
}

ip::address connect_target(const ip::address& target) {
  if (!target.is_unspecified()) return target;
  if (target.is_v4()) return ip::address_v4::loopback();
  return ip::address_v6::loopback();
}

std::optional<std::string> slurp(const char* path, bool& missing) {
  std::ifstream in(path);
  if (!in) {
    missing = errno == ENOENT;
    return std::nullopt;
  }
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

std::vector<ListenRow> parse_listen_rows(std::string_view text) {
  std::vector<ListenRow> rows;
  while (!text.empty()) {
    const auto eol = std::min(text.find('\n'), text.size());
    const auto cols = fields(text.substr(0, eol));
    text.remove_prefix(std::min(eol + 1, text.size()));
    // sl local_address rem_address st tx:rx tr:when retrnsmt uid ...
    if (cols.size() < 8 || cols[3] != "0A") continue;
    const auto colon = cols[1].find(':');
    if (colon == std::string_view::npos) continue;
    const auto address = parse_address(cols[1].substr(0, colon));
    const auto port = parse_number<unsigned>(cols[1].substr(colon + 1), 16);
    const auto uid = parse_number<unsigned>(cols[7], 10);
    if (!address || !port || !uid) continue;
    rows.push_back(ListenRow{*address, *port, *uid});
  }
  return rows;
}

bool accepts(const ip::address& bound, const ip::address& target) {
  const ip::address_v6 want = as_v6(connect_target(target));
  if (bound.is_v4()) {
    return want.is_v4_mapped() && (bound.is_unspecified() || as_v6(bound) == want);
  }
  // An IPv6 wildcard may be dual-stack; whether IPV6_V6ONLY is set cannot be seen here, so it
  // counts as accepting IPv4 too.
  return bound.is_unspecified() || bound.to_v6() == want;
}

std::vector<unsigned> owners(const std::vector<ListenRow>& rows, const ip::address& target,
                             unsigned port) {
  std::vector<unsigned> out;
  for (const auto& row : rows) {
    if (row.port == port && accepts(row.address, target)) out.push_back(row.uid);
  }
  return out;
}

bool is_local_loopback(const ip::address& address) {
  if (address.is_unspecified() || address.is_loopback()) return true;
  return address.is_v6() && address.to_v6().is_v4_mapped() &&
         ip::make_address_v4(ip::v4_mapped, address.to_v6()).is_loopback();
}

std::vector<ListenRow> read_listen_rows() {
  bool missing = false;
  const auto v4 = slurp("/proc/net/tcp", missing);
  if (!v4) {
    throw std::runtime_error(std::string("cannot read /proc/net/tcp: ") + std::strerror(errno));
  }
  auto rows = parse_listen_rows(*v4);
  if (const auto v6 = slurp("/proc/net/tcp6", missing)) {
    const auto more = parse_listen_rows(*v6);
    rows.insert(rows.end(), more.begin(), more.end());
  } else if (!missing) {
    throw std::runtime_error(std::string("cannot read /proc/net/tcp6: ") + std::strerror(errno));
  }
  return rows;
}

}  // namespace keepgpu::service::listeners
