// Listener set-up and shutdown, connection limits, read timeouts and slow calls
// (a status request never waits for a start in progress).
#include <sys/socket.h>
#include <sys/un.h>

#include <fstream>
#include <future>
#include <vector>

#include "http_server_fixture.hpp"

namespace keepgpu::service::http_testing {
namespace {

using HttpLifecycle = ServerFixture;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

Request create_any() {
  return Request{"POST", "/api/sessions", "{}"};
}

TEST_F(HttpLifecycle, SlowCallDoesNotHoldUpOthers) {
  start_delay_ms = 1500;
  const auto started = Clock::now();
  auto slow = std::async(std::launch::async, [this] { return tcp(create_any()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  for (const char* target : {"/health", "/api/sessions"}) {
    SCOPED_TRACE(target);
    const auto before = Clock::now();
    EXPECT_EQ(tcp(Request{"GET", target}).status, 200);
    EXPECT_LT(ms_since(before), 500.0);
  }
  EXPECT_EQ(slow.get().status, 503);
  EXPECT_GE(ms_since(started), 1400.0);
}

TEST_F(HttpLifecycle, ManyConcurrentRequests) {
  std::vector<std::future<RawResponse>> replies;
  for (int i = 0; i < 24; ++i) {
    replies.push_back(std::async(std::launch::async, [this, i] {
      return tcp(Request{"POST", "/rpc", R"({"id":)" + std::to_string(i) + R"(,"method":"ping"})"});
    }));
  }
  for (int i = 0; i < 24; ++i) {
    EXPECT_EQ(replies[static_cast<std::size_t>(i)].get().body,
              R"({"jsonrpc":"2.0","id":)" + std::to_string(i) + R"(,"result":{}})");
  }
}

// A connection whose request head is complete but whose body has not arrived: busy.
int busy_connection(int port) {
  const int fd = connect_tcp(port);
  send_all(fd,
           "POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "Content-Length: 10\r\n\r\n{}");
  return fd;
}

TEST_F(HttpLifecycle, ConnectionsBeyondTheCapOfBusyOnesGet503) {
  start_server([](http::ServerOptions& options) { options.max_connections = 2; });
  const int first = busy_connection(port);
  const int second = busy_connection(port);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto refused = tcp(Request{"GET", "/health"});
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.message(), "Too many connections");
  ::close(first);
  ::close(second);
  // Closed connections give their places back once the server notices.
  bool recovered = false;
  for (int attempt = 0; attempt < 100 && !recovered; ++attempt) {
    recovered = tcp(Request{"GET", "/health"}).status == 200;
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(recovered);
}

TEST_F(HttpLifecycle, IdleConnectionsMakeRoomForRequests) {
  start_server([](http::ServerOptions& options) { options.max_connections = 2; });
  std::vector<int> idle;
  for (int i = 0; i < 5; ++i)
    idle.push_back(connect_tcp(port));
  const int partial = connect_tcp(port);
  send_all(partial, "GET /health HTTP/1.1\r\n");  // slow: the head never ends
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(tcp(Request{"GET", "/health"}).status, 200);
  // The oldest idle connections were closed to make room.
  EXPECT_EQ(read_all(idle.front(), 5), "");
  for (const int fd : idle)
    ::close(fd);
  ::close(partial);
}

TEST_F(HttpLifecycle, TheUnixSocketHasItsOwnBudget) {
  start_server([](http::ServerOptions& options) {
    options.max_connections = 2;
    options.max_unix_connections = 2;
  });
  // Every TCP place busy: TCP refuses, the owner's socket still answers.
  const int first = busy_connection(port);
  const int second = busy_connection(port);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(tcp(Request{"GET", "/health"}).status, 503);
  Request health{"GET", "/health"};
  health.host = "localhost";
  EXPECT_EQ(unix_socket(health).status, 200);
  ::close(first);
  ::close(second);
}

TEST_F(HttpLifecycle, UnfinishedRequestHeadsAreClosedAfterTheHeaderTimeout) {
  start_server([](http::ServerOptions& options) {
    options.header_timeout = std::chrono::milliseconds(300);
    options.read_timeout = std::chrono::milliseconds(10000);
  });
  const auto started = Clock::now();
  const int fd = connect_tcp(port);
  send_all(fd, "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  EXPECT_EQ(read_all(fd, 10), "");
  ::close(fd);
  EXPECT_LT(ms_since(started), 5000.0) << "closed by the header timeout, not read_timeout";
  // A complete head then has the read timeout for its body.
  const int body = busy_connection(port);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  send_all(body, "\"x\":1}123");
  const auto reply = parse_response(read_all(body, 10));
  ::close(body);
  EXPECT_EQ(reply.status, 200);
}

TEST_F(HttpLifecycle, SlowClientsAreCutOff) {
  start_server(
      [](http::ServerOptions& options) { options.read_timeout = std::chrono::milliseconds(300); });
  const auto started = Clock::now();
  const int header = connect_tcp(port);
  send_all(header, "GET /health HTTP/1.1\r\n");
  EXPECT_EQ(read_all(header, 5), "");
  ::close(header);
  const int body = connect_tcp(port);
  send_all(body,
           "POST /rpc HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{}");
  EXPECT_EQ(read_all(body, 5), "");
  ::close(body);
  EXPECT_LT(ms_since(started), 3000.0);
}

TEST_F(HttpLifecycle, StopClosesListenersAndRemovesTheSocket) {
  ASSERT_TRUE(std::filesystem::exists(socket_path));
  server->stop();
  EXPECT_FALSE(std::filesystem::exists(socket_path));
  EXPECT_THROW(connect_tcp(port), std::runtime_error);
  server->stop();  // idempotent
}

TEST_F(HttpLifecycle, StaleSocketFileIsReplaced) {
  server.reset();
  // A socket file whose owner is gone, as a killed daemon leaves it.
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(fd);
  ASSERT_TRUE(std::filesystem::exists(socket_path));
  start_server();
  Request request{"GET", "/health"};
  request.host = "localhost";
  EXPECT_EQ(unix_socket(request).status, 200);
}

TEST_F(HttpLifecycle, LiveSocketIsNotTakenOver) {
  http::ServerOptions options;
  options.unix_socket_path = socket_path;
  http::Server second(api, options);
  EXPECT_THROW(second.start(), std::runtime_error);
  Request request{"GET", "/health"};
  request.host = "localhost";
  EXPECT_EQ(unix_socket(request).status, 200);
}

TEST_F(HttpLifecycle, OtherFilesAreNotReplaced) {
  server.reset();
  std::ofstream(socket_path) << "not a socket";
  http::ServerOptions options;
  options.unix_socket_path = socket_path;
  http::Server second(api, options);
  EXPECT_THROW(second.start(), std::runtime_error);
  EXPECT_TRUE(std::filesystem::is_regular_file(socket_path));
}

TEST_F(HttpLifecycle, PortInUseFailsToStart) {
  http::ServerOptions options;
  options.tcp_host = "127.0.0.1";
  options.tcp_port = port;
  http::Server second(api, options);
  try {
    second.start();
    FAIL() << "started on a port in use";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find("Cannot listen on 127.0.0.1:"), std::string::npos)
        << error.what();
  }
}

TEST_F(HttpLifecycle, TcpOnlyAndUnixOnly) {
  start_server([](http::ServerOptions& options) { options.unix_socket_path.clear(); });
  EXPECT_EQ(tcp(Request{"GET", "/health"}).status, 200);
  EXPECT_FALSE(std::filesystem::exists(socket_path));
  start_server([](http::ServerOptions& options) { options.tcp_host.reset(); });
  EXPECT_EQ(server->tcp_port(), 0);
  Request request{"GET", "/health"};
  request.host = "localhost";
  EXPECT_EQ(unix_socket(request).status, 200);
}

TEST_F(HttpLifecycle, StopWaitsForARunningCall) {
  start_delay_ms = 800;
  auto slow = std::async(std::launch::async, [this] { return tcp(create_any()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  server->stop();
  EXPECT_EQ(slow.get().status, 503);  // the reply still went out
}

TEST_F(HttpLifecycle, StopGivesUpOnACallThatOutlivesTheGrace) {
  start_server([](http::ServerOptions& options) {
    options.shutdown_grace = std::chrono::milliseconds(100);
  });
  start_delay_ms = 800;
  auto slow = std::async(std::launch::async, [this] { return tcp(create_any()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto before = Clock::now();
  server.reset();
  EXPECT_LT(ms_since(before), 700.0);
  // The call finishes on its own thread; its connection closes without a reply.
  EXPECT_EQ(slow.get().status, 0);
}

TEST_F(HttpLifecycle, CustomDispatcherIsUsed) {
  auto rpc = std::make_shared<jsonrpc::Dispatcher>(api);
  rpc->add_method("initialize", [](const keepgpu::core::Json&) {
    return keepgpu::core::Json{{"protocolVersion", "2025-06-18"}};
  });
  server.reset();
  http::ServerOptions options;
  options.tcp_host = "127.0.0.1";
  options.tcp_port = 0;
  server = std::make_unique<http::Server>(api, options, rpc);
  server->start();
  port = server->tcp_port();
  const auto r = tcp(Request{"POST", "/rpc", R"({"id":1,"method":"initialize"})"});
  EXPECT_EQ(r.body, R"({"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-06-18"}})");
}

}  // namespace
}  // namespace keepgpu::service::http_testing
