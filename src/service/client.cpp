#include "service/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/beast/core/basic_stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include <fmt/format.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "service/listener_owner.hpp"

namespace keepgpu::service::client {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using boost::system::error_code;

constexpr std::uint64_t kMaxBodyBytes = 64ULL << 20;

// Upstream's urllib wording for an OS-level failure, "[Errno 111] Connection refused".
std::string errno_text(const error_code& ec) {
  if (ec.category() == boost::system::system_category() ||
      ec.category() == boost::system::generic_category()) {
    return fmt::format("[Errno {}] {}", ec.value(), std::strerror(ec.value()));
  }
  return ec.message();
}

[[noreturn]] void connect_failed(const error_code& ec) {
  if (ec == beast::error::timeout) throw Unreachable("<urlopen error timed out>");
  if (ec == asio::error::host_not_found) {
    throw Unreachable("<urlopen error [Errno -2] Name or service not known>");
  }
  if (ec == asio::error::host_not_found_try_again) {
    throw Unreachable("<urlopen error [Errno -3] Temporary failure in name resolution>");
  }
  throw Unreachable(fmt::format("<urlopen error {}>", errno_text(ec)));
}

[[noreturn]] void read_failed(const error_code& ec) {
  if (ec == beast::error::timeout) throw Unreachable("timed out");
  if (ec == http::error::end_of_stream) {
    throw Unreachable("Remote end closed connection without response");
  }
  // Anything the HTTP parser rejects (a status line that is not HTTP, a truncated body, an
  // oversized one) means a reply came back but is unusable.
  if (ec.category() == make_error_code(http::error::bad_target).category() ||
      ec == http::error::partial_message) {
    throw ProtocolError(ec.message());
  }
  throw Unreachable(errno_text(ec));
}

http::request<http::string_body> make_request(const Endpoint& endpoint, std::string_view method,
                                              std::string_view target, std::string_view body) {
  http::request<http::string_body> req;
  req.method(method == "POST" ? http::verb::post : http::verb::get);
  req.target(boost::beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(http::field::host, endpoint.unix_socket
                                 ? std::string("localhost")
                                 : fmt::format("{}:{}", endpoint.host, endpoint.port));
  req.set(http::field::user_agent, "keep-gpu");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept_encoding, "identity");
  req.set(http::field::connection, "close");
  if (!endpoint.unix_socket && endpoint.token && needs_token(target)) {
    req.set(http::field::authorization, "Bearer " + *endpoint.token);
  }
  req.body() = std::string(body);
  req.prepare_payload();
  return req;
}

// Runs the io_context until the pending operation completes; the stream's expiry bounds it.
void run(asio::io_context& io) {
  io.restart();
  io.run();
}

template <class Stream>
Response exchange(asio::io_context& io, Stream& stream, http::request<http::string_body>& req,
                  std::chrono::milliseconds timeout) {
  error_code ec;
  stream.expires_after(timeout);
  http::async_write(stream, req, [&](error_code e, std::size_t) { ec = e; });
  run(io);
  // A server that answers (e.g. 401) and closes before reading the whole body makes the write
  // fail with a reset or broken pipe; its answer may still be readable, so try reading anyway.
  const error_code write_error = ec;

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxBodyBytes);
  stream.expires_after(timeout);
  http::async_read(stream, buffer, parser, [&](error_code e, std::size_t) { ec = e; });
  run(io);
  if (ec) {
    if (write_error && ec != beast::error::timeout) {
      throw Unreachable(write_error == beast::error::timeout ? "timed out"
                                                             : errno_text(write_error));
    }
    read_failed(ec);
  }
  auto& res = parser.get();
  Response out;
  out.status = static_cast<int>(res.result_int());
  out.reason = std::string(res.reason());
  if (out.reason.empty()) out.reason = std::string(http::obsolete_reason(res.result()));
  out.body = std::move(res.body());
  error_code ignored;
  stream.socket().shutdown(asio::socket_base::shutdown_both, ignored);
  return out;
}

Response over_unix(const Endpoint& endpoint, http::request<http::string_body>& req,
                   std::chrono::milliseconds timeout) {
  using Protocol = asio::local::stream_protocol;
  asio::io_context io;
  beast::basic_stream<Protocol> stream(io);
  error_code ec;
  stream.expires_after(timeout);
  stream.async_connect(Protocol::endpoint(*endpoint.unix_socket), [&](error_code e) { ec = e; });
  run(io);
  if (ec) connect_failed(ec);
  return exchange(io, stream, req, timeout);
}

// Refuses (before a byte is sent) when a socket of another user could take the connection to
// `address`:port. Only loopback can be checked: for any other address this machine's tables do
// not say who listens, so the token goes there as configured.
void check_owner(const Endpoint& endpoint, const asio::ip::address& address) {
  if (!listeners::is_local_loopback(address)) return;
  std::vector<listeners::ListenRow> rows;
  try {
    rows = listeners::read_listen_rows();
  } catch (const std::exception& e) {
    throw UntrustedListener(fmt::format(
        "Refusing to send the service token to {}:{}: cannot check who listens there ({}).",
        endpoint.host, endpoint.port, e.what()));
  }
  const unsigned me = ::geteuid();
  for (const unsigned uid : listeners::owners(rows, address, endpoint.port)) {
    if (uid != me) {
      throw UntrustedListener(fmt::format(
          "Refusing to send the service token to {}:{}: the socket listening there belongs to "
          "uid {}, not to this user (uid {}). Another user may be posing as the service; use the "
          "port your own daemon serves (`keep-gpu dashboard` prints it).",
          endpoint.host, endpoint.port, uid, me));
    }
  }
}

asio::ip::tcp::resolver::results_type resolve(asio::io_context& io, const Endpoint& endpoint) {
  asio::ip::tcp::resolver resolver(io);
  error_code ec;
  asio::ip::tcp::resolver::results_type results;
  resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                         asio::ip::tcp::resolver::numeric_service,
                         [&](error_code e, asio::ip::tcp::resolver::results_type r) {
                           ec = e;
                           results = std::move(r);
                         });
  run(io);
  if (ec) connect_failed(ec);
  return results;
}

Response over_tcp(const Endpoint& endpoint, http::request<http::string_body>& req,
                  std::chrono::milliseconds timeout) {
  asio::io_context io;
  const auto results = resolve(io, endpoint);
  error_code ec;
  const bool carries_token = req.find(http::field::authorization) != req.end();
  // Checked before connecting, so a foreign listener does not even see a connection, and again
  // on the address actually reached, in case a port that was free got taken in between.
  if (carries_token) {
    for (const auto& candidate : results)
      check_owner(endpoint, candidate.endpoint().address());
  }
  beast::tcp_stream stream(io);
  stream.expires_after(timeout);
  asio::ip::tcp::endpoint reached;
  stream.async_connect(results, [&](error_code e, const asio::ip::tcp::endpoint& peer) {
    ec = e;
    reached = peer;
  });
  run(io);
  if (ec) connect_failed(ec);
  if (carries_token) check_owner(endpoint, reached.address());
  return exchange(io, stream, req, timeout);
}

}  // namespace

std::string Endpoint::url(std::string_view path) const {
  if (unix_socket) return fmt::format("unix://{}{}", *unix_socket, path);
  return fmt::format("http://{}:{}{}", host, port, path);
}

void require_own_listener(const Endpoint& endpoint) {
  asio::io_context io;
  for (const auto& candidate : resolve(io, endpoint))
    check_owner(endpoint, candidate.endpoint().address());
}

bool needs_token(std::string_view target) {
  const std::string_view path = target.substr(0, target.find_first_of("?#"));
  return path != "/health";
}

Response request(const Endpoint& endpoint, std::string_view method, std::string_view target,
                 std::string_view body, std::chrono::milliseconds timeout) {
  auto req = make_request(endpoint, method, target, body);
  return endpoint.unix_socket ? over_unix(endpoint, req, timeout)
                              : over_tcp(endpoint, req, timeout);
}

Response get_health(const Endpoint& endpoint, std::chrono::milliseconds timeout) {
  return request(endpoint, "GET", "/health", "", timeout);
}

Response post_rpc(const Endpoint& endpoint, std::string_view method, std::string_view params_json,
                  long long id, std::chrono::milliseconds timeout) {
  // The method names are fixed ASCII identifiers, so no escaping is needed.
  const std::string body = fmt::format(
      R"({{"jsonrpc": "2.0", "id": {}, "method": "{}", "params": {}}})", id, method, params_json);
  return request(endpoint, "POST", "/rpc", body, timeout);
}

long long next_rpc_id() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace keepgpu::service::client
