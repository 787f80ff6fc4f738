// Who owns the TCP socket that a loopback connection would reach. The CLI sends the daemon's
// token over TCP; on a shared node any user may bind a free loopback port, so before the token
// goes to 127.0.0.1:P the CLI makes sure every listening socket that could accept that connection
// belongs to the CLI's own uid. Linux publishes each socket's owner in the `uid` column of
// /proc/net/tcp and /proc/net/tcp6 (LISTEN rows have st == 0A).
#pragma once

#include <boost/asio/ip/address.hpp>

#include <string_view>
#include <vector>

namespace keepgpu::service::listeners {

struct ListenRow {
  boost::asio::ip::address address;  // IPv4 rows as IPv4, IPv6 rows (v4-mapped too) as IPv6
  unsigned port = 0;
  unsigned uid = 0;
};

// The LISTEN rows of /proc/net/tcp or /proc/net/tcp6 text (both formats; the header and any
// malformed row are skipped). Addresses are read the way the kernel prints them: each 32-bit
// word in the host's byte order.
std::vector<ListenRow> parse_listen_rows(std::string_view text);

// Whether a socket listening on `bound` accepts a connection made to `target` on the same port:
// the exact address, the IPv4 wildcard for IPv4 targets, the IPv6 wildcard for any target (a
// dual-stack socket also takes IPv4), and the v4-mapped form of an IPv4 target. Connecting to
// an unspecified address reaches loopback, so such a target counts as 127.0.0.1 or ::1.
bool accepts(const boost::asio::ip::address& bound, const boost::asio::ip::address& target);

// The uids of the rows that would accept a connection to target:port, in row order.
std::vector<unsigned> owners(const std::vector<ListenRow>& rows,
                             const boost::asio::ip::address& target, unsigned port);

// Loopback or unspecified (which connects to loopback): the addresses whose listeners this
// machine's /proc tables describe, and so the only ones whose owner can be checked.
bool is_local_loopback(const boost::asio::ip::address& address);

// The LISTEN rows of this network namespace. /proc/net/tcp6 may be missing (IPv6 disabled);
// throws std::runtime_error when /proc/net/tcp cannot be read, so the caller can refuse.
std::vector<ListenRow> read_listen_rows();

}  // namespace keepgpu::service::listeners
