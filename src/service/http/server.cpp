#include "service/http/server.hpp"

#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <stdexcept>
#include <thread>

#include "core/log.hpp"
#include "service/http/listener.hpp"
#include "service/http/server_state.hpp"
#include "service/http/session_secret.hpp"

namespace keepgpu::service::http {
namespace asio = boost::asio;
using asio::ip::tcp;
using unix_stream = asio::local::stream_protocol;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static const auto instance = log::get("keep_gpu.service.http");
  return instance;
}

// A socket file somebody still accepts on belongs to a live server; only dead ones are removed.
bool unix_socket_is_live(const std::string& path) {
  asio::io_context io;
  unix_stream::socket probe(io);
  boost::system::error_code error;
  probe.connect(unix_stream::endpoint(path), error);
  return !error;
}

template <typename Protocol>
void close_on_strand(Listener<Protocol>& listener, bool threads_running) {
  if (!threads_running) {
    listener.close();
    return;
  }
  std::promise<void> done;
  asio::post(listener.strand(), [&listener, &done] {
    listener.close();
    done.set_value();
  });
  done.get_future().wait();
}

}  // namespace

struct Server::Impl {
  Impl(Api& api_in, ServerOptions options_in, std::shared_ptr<const jsonrpc::Dispatcher> rpc_in)
      : api(api_in), options(std::move(options_in)), rpc(std::move(rpc_in)) {}

  void open_unix();
  void open_tcp();
  void close_listeners(bool threads_running);
  void remove_socket_file();

  Api& api;
  const ServerOptions options;
  std::shared_ptr<const jsonrpc::Dispatcher> rpc;

  std::shared_ptr<ServerState> state;
  std::unique_ptr<Listener<unix_stream>> unix_listener;
  std::unique_ptr<Listener<tcp>> tcp_listener;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  bool socket_created = false;
  ino_t socket_inode = 0;  // ours to remove at stop only while the path still names it
  int port = 0;
  bool started = false;
};

void Server::Impl::open_unix() {
  const std::string& path = options.unix_socket_path;
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    throw std::runtime_error("Unix socket path is too long: " + path);
  }
  struct stat info {};
  if (::lstat(path.c_str(), &info) == 0) {
    if (!S_ISSOCK(info.st_mode)) {
      throw std::runtime_error("Refusing to replace " + path + ": it is not a socket");
    }
    if (unix_socket_is_live(path)) {
      throw std::runtime_error("Another server is already listening on " + path);
    }
    ::unlink(path.c_str());  // stale, left by a process that died
  }
  try {
    unix_listener = std::make_unique<Listener<unix_stream>>(*state, state->unix_budget,
                                                            unix_stream::endpoint(path), false);
  } catch (const boost::system::system_error& error) {
    throw std::runtime_error(fmt::format("Cannot listen on {}: {}", path, error.code().message()));
  }
  socket_created = true;
  if (::lstat(path.c_str(), &info) == 0) socket_inode = info.st_ino;
  // Only the owner may connect; the runtime directory (0700) already guards it as well.
  if (::chmod(path.c_str(), 0600) != 0) {
    throw std::runtime_error("Cannot set the permissions of " + path);
  }
  ListenerPolicy policy;
  policy.extra_hosts = options.extra_hosts;
  unix_listener->set_policy(std::move(policy));
}

void Server::Impl::open_tcp() {
  const std::string& host = *options.tcp_host;
  boost::system::error_code error;
  tcp::resolver resolver(state->io);
  // IPv4 only, as upstream's server (AF_INET) binds.
  const auto results = resolver.resolve(tcp::v4(), host, std::to_string(options.tcp_port),
                                        tcp::resolver::numeric_service, error);
  if (error || results.empty()) {
    throw std::runtime_error(fmt::format("Cannot resolve host {}: {}", host,
                                         error ? error.message() : "no IPv4 address"));
  }
  try {
    tcp_listener = std::make_unique<Listener<tcp>>(*state, state->tcp_budget,
                                                   results.begin()->endpoint(), true);
  } catch (const boost::system::system_error& failure) {
    throw std::runtime_error(fmt::format("Cannot listen on {}:{}: {}", host, options.tcp_port,
                                         failure.code().message()));
  }
  port = tcp_listener->local_endpoint().port();
  ListenerPolicy policy;
  policy.tcp = true;
  policy.bound_host = host;
  policy.port = port;
  policy.token = options.token;
  if (policy.token) policy.session_secret = new_session_secret();
  policy.extra_hosts = options.extra_hosts;
  tcp_listener->set_policy(std::move(policy));
}

void Server::Impl::remove_socket_file() {
  if (!socket_created) return;
  socket_created = false;
  struct stat info {};
  const std::string& path = options.unix_socket_path;
  if (::lstat(path.c_str(), &info) == 0 && info.st_ino == socket_inode) ::unlink(path.c_str());
}

void Server::Impl::close_listeners(bool threads_running) {
  if (unix_listener) close_on_strand(*unix_listener, threads_running);
  if (tcp_listener) close_on_strand(*tcp_listener, threads_running);
}

Server::Server(Api& api, ServerOptions options, std::shared_ptr<const jsonrpc::Dispatcher> rpc)
    : impl_(std::make_unique<Impl>(api, std::move(options), std::move(rpc))) {}

Server::~Server() {
  stop();
}

void Server::start() {
  Impl& impl = *impl_;
  if (impl.started) throw std::logic_error("Server::start called twice");
  impl.state = std::make_shared<ServerState>(impl.api, impl.options, impl.rpc);
  try {
    if (!impl.options.unix_socket_path.empty()) impl.open_unix();
    if (impl.options.tcp_host) impl.open_tcp();
  } catch (...) {
    impl.close_listeners(false);
    impl.unix_listener.reset();
    impl.tcp_listener.reset();
    impl.remove_socket_file();
    impl.state.reset();
    throw;
  }
  impl.work.emplace(asio::make_work_guard(impl.state->io));
  if (impl.unix_listener) impl.unix_listener->start();
  if (impl.tcp_listener) impl.tcp_listener->start();
  impl.state->trimmer.start();
  const int count = impl.options.threads > 0 ? impl.options.threads : 1;
  for (int i = 0; i < count; ++i) {
    impl.threads.emplace_back([state = impl.state.get()] {
      while (true) {
        try {
          state->io.run();
          return;
        } catch (const std::exception& error) {
          KG_ERROR(logger(), "HTTP worker error: {}", error.what());
        }
      }
    });
  }
  impl.started = true;
}

int Server::tcp_port() const {
  return impl_->port;
}

void Server::stop() {
  Impl& impl = *impl_;
  if (!impl.started) return;
  impl.started = false;
  impl.close_listeners(true);

  // Running calls (a stop can wait ~20 s for releases) and the replies they owe get a bounded
  // grace; whatever is left keeps the shared state alive on its own thread.
  const auto deadline = std::chrono::steady_clock::now() + impl.options.shutdown_grace;
  if (!impl.state->stop_calls(impl.options.shutdown_grace)) {
    KG_WARN(logger(), "Stopping the HTTP server with requests still running");
  }
  while (impl.state->connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }

  impl.work.reset();
  impl.state->io.stop();
  for (auto& thread : impl.threads)
    thread.join();
  impl.threads.clear();
  impl.unix_listener.reset();
  impl.tcp_listener.reset();
  impl.remove_socket_file();
  impl.state.reset();
}

}  // namespace keepgpu::service::http
