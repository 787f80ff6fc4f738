// The HTTP client and the JSON-RPC call over it: failure classes and
// details, HTTP errors, the request it sends, both transports. A one-shot scripted server plays
// the service.
#include "service/client.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "cli/service_call.hpp"
#include "core/json.hpp"

namespace keepgpu::service::client {
namespace {
using namespace std::chrono_literals;

// Accepts one connection, hands the request text to `reply`, writes what it returns (nothing
// means: close at once) and closes.
class OneShotServer {
 public:
  explicit OneShotServer(std::function<std::string(const std::string&)> reply,
                         const std::string& unix_path = "")
      : reply_(std::move(reply)) {
    if (unix_path.empty()) {
      fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
      socklen_t len = sizeof addr;
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
      port_ = ntohs(addr.sin_port);
    } else {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", unix_path.c_str());
      EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    }
    ::listen(fd_, 4);
    thread_ = std::thread([this] { serve(); });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::string request() const { return request_; }

 private:
  void serve() {
    const int conn = ::accept(fd_, nullptr, nullptr);
    if (conn < 0) return;
    std::string data;
    char buf[4096];
    for (;;) {
      const auto head_end = data.find("\r\n\r\n");
      if (head_end != std::string::npos) {
        std::size_t length = 0;
        const auto at = data.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(data.substr(at + 16));
        if (data.size() >= head_end + 4 + length) break;
      }
      const ssize_t n = ::read(conn, buf, sizeof buf);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
    }
    request_ = data;
    const std::string out = reply_(data);
    if (out == "<hang>") {
      std::this_thread::sleep_for(1500ms);
    } else if (!out.empty()) {
      [[maybe_unused]] auto w = ::write(conn, out.data(), out.size());
    }
    ::close(conn);
  }

  std::function<std::string(const std::string&)> reply_;
  int fd_ = -1;
  int port_ = 0;
  std::string request_;
  std::thread thread_;
};

std::string http_reply(int status, const std::string& reason, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

Endpoint tcp(int port) {
  Endpoint e;
  e.port = port;
  return e;
}

int unused_port() {
  OneShotServer probe([](const std::string&) { return std::string(); });
  const int port = probe.port();
  // Connect once so the server thread ends, then the port is free again.
  try {
    request(tcp(port), "GET", "/health", "", 1000ms);
  } catch (const std::exception&) {
  }
  return port;
}

TEST(Client, RefusedConnectionIsUnreachable) {
  try {
    request(tcp(unused_port()), "GET", "/health", "");
    FAIL();
  } catch (const Unreachable& e) {
    EXPECT_STREQ(e.what(), "<urlopen error [Errno 111] Connection refused>");
  }
}

TEST(Client, MissingSocketIsUnreachable) {
  Endpoint e;
  e.unix_socket = "/nonexistent/keep-gpu.sock";
  try {
    request(e, "GET", "/health", "");
    FAIL();
  } catch (const Unreachable& ex) {
    EXPECT_STREQ(ex.what(), "<urlopen error [Errno 2] No such file or directory>");
  }
}

TEST(Client, ClosedWithoutResponse) {
  OneShotServer server([](const std::string&) { return std::string(); });
  try {
    request(tcp(server.port()), "GET", "/health", "");
    FAIL();
  } catch (const Unreachable& e) {
    EXPECT_STREQ(e.what(), "Remote end closed connection without response");
  }
}

TEST(Client, ReadTimeout) {
  OneShotServer server([](const std::string&) { return std::string("<hang>"); });
  try {
    request(tcp(server.port()), "GET", "/health", "", 200ms);
    FAIL();
  } catch (const Unreachable& e) {
    EXPECT_STREQ(e.what(), "timed out");
  }
}

TEST(Client, NotHttpIsAProtocolError) {
  OneShotServer server([](const std::string&) { return std::string("garbage\r\n\r\n"); });
  EXPECT_THROW(request(tcp(server.port()), "GET", "/health", ""), ProtocolError);
}

TEST(Client, SendsJsonRpcWithContentTypeAndBearerTokenOnTcp) {
  std::atomic<long long> seen_id{0};
  OneShotServer server([&](const std::string& req) {
    const auto at = req.find("\"id\": ");
    seen_id = std::stoll(req.substr(at + 6));
    return http_reply(200, "OK",
                      R"({"jsonrpc": "2.0", "id": )" + std::to_string(seen_id.load()) +
                          R"(, "result": {"active_jobs": []}})");
  });
  Endpoint e = tcp(server.port());
  e.token = "secret";
  const core::Json result = cli::call_rpc(e, "status", core::Json::object());
  ASSERT_NE(core::json::member(result, "active_jobs"), nullptr);
  const std::string req = server.request();
  EXPECT_EQ(req.rfind("POST /rpc HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Content-Type: application/json\r\n"), std::string::npos);
  EXPECT_NE(req.find("Authorization: Bearer secret\r\n"), std::string::npos);
  EXPECT_NE(req.find(R"("method": "status", "params": {}})"), std::string::npos);
  const auto now = next_rpc_id();
  EXPECT_LE(std::llabs(now - seen_id.load()), 60000);
}

TEST(Client, HealthCarriesNoTokenOnTcp) {
  OneShotServer server([](const std::string&) { return http_reply(200, "OK", R"({"ok": true})"); });
  Endpoint e = tcp(server.port());
  e.token = "secret";
  EXPECT_TRUE(cli::service_healthy(e));
  EXPECT_EQ(server.request().rfind("GET /health HTTP/1.1\r\n", 0), 0u) << server.request();
  EXPECT_EQ(server.request().find("Authorization"), std::string::npos);
}

TEST(Client, OnlyHealthGoesWithoutTheToken) {
  EXPECT_FALSE(needs_token("/health"));
  EXPECT_FALSE(needs_token("/health?x=1"));
  EXPECT_TRUE(needs_token("/rpc"));
  EXPECT_TRUE(needs_token("/api/sessions"));
  EXPECT_TRUE(needs_token("/healthz"));
}

TEST(Client, UnixSocketCarriesNoToken) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("keepgpu-client-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "s.sock").string();
  OneShotServer server([](const std::string&) { return http_reply(200, "OK", R"({"ok": true})"); },
                       path);
  Endpoint e;
  e.unix_socket = path;
  e.token = "secret";
  EXPECT_TRUE(cli::service_healthy(e));
  EXPECT_EQ(server.request().find("Authorization"), std::string::npos);
  std::filesystem::remove_all(dir);
}

std::string rpc_error_of(const std::string& reply) {
  OneShotServer server([&](const std::string&) { return reply; });
  try {
    cli::call_rpc(tcp(server.port()), "status", core::Json::object());
  } catch (const cli::ServiceError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(CallRpc, HttpErrors) {
  EXPECT_EQ(rpc_error_of(http_reply(500, "Internal Server Error", "boom")),
            "Service HTTP error: boom");
  EXPECT_EQ(rpc_error_of(http_reply(500, "Internal Server Error", "")),
            "Service HTTP error: HTTP Error 500: Internal Server Error");
  EXPECT_EQ(rpc_error_of(http_reply(200, "OK", "not-json"))
                .rfind("Non-JSON response from service endpoint: http://127.0.0.1:", 0),
            0u);
  EXPECT_EQ(rpc_error_of("garbage\r\n\r\n").rfind("Service HTTP error: ", 0), 0u);
}

TEST(CallRpc, HealthNeedsATruthyOk) {
  for (const auto& [text, healthy] :
       std::vector<std::pair<std::string, bool>>{{R"({"ok": true})", true},
                                                 {R"({"ok": 1})", true},
                                                 {R"({"ok": "yes"})", true},
                                                 {R"({"ok": 0})", false},
                                                 {R"({"ok": ""})", false},
                                                 {R"({})", false},
                                                 {R"([true])", false}}) {
    // A named copy: clang 14 cannot capture a structured binding in a lambda.
    const std::string& body = text;
    OneShotServer server([&](const std::string&) { return http_reply(200, "OK", body); });
    EXPECT_EQ(cli::service_healthy(tcp(server.port())), healthy) << body;
  }
}

}  // namespace
}  // namespace keepgpu::service::client
