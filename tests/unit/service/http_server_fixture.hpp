// A running Server over the real Api on a "CPU host": the group factory reports an unsupported
// platform (after an optional delay, to make a slow call) and the GPU listing is empty, so REST
// and JSON-RPC answers are real without any GPU. TCP on 127.0.0.1 with a free port, plus a Unix
// socket in a fresh temporary directory.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <thread>

#include "core/errors.hpp"
#include "http_raw_client.hpp"
#include "service/api.hpp"
#include "service/http/server.hpp"
#include "service/session_manager.hpp"

namespace keepgpu::service::http_testing {

class ServerFixture : public ::testing::Test {
 public:  // the tests' helper functions use these too
  void SetUp() override {
    char pattern[] = "/tmp/kgpu-http-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    socket_dir = pattern;
    socket_path = socket_dir + "/daemon.sock";
    start_server();
  }

  void TearDown() override {
    server.reset();
    std::error_code ignored;
    std::filesystem::remove_all(socket_dir, ignored);
  }

  void start_server(const std::function<void(http::ServerOptions&)>& tweak = {}) {
    server.reset();
    http::ServerOptions options;
    options.unix_socket_path = socket_path;
    options.tcp_host = "127.0.0.1";
    options.tcp_port = 0;
    options.read_timeout = std::chrono::milliseconds(3000);
    if (tweak) tweak(options);
    server = std::make_unique<http::Server>(api, options);
    server->start();
    port = server->tcp_port();
  }

  RawResponse tcp(const Request& request) { return round_trip(connect_tcp(port), request.text()); }
  RawResponse tcp_raw(std::string_view text) { return round_trip(connect_tcp(port), text); }
  RawResponse unix_socket(const Request& request) {
    return round_trip(connect_unix(socket_path), request.text());
  }

  static GroupFactory cpu_host_factory(std::atomic<int>& delay_ms) {
    return [&delay_ms](const keeper::GroupOptions&) -> std::unique_ptr<keeper::KeeperGroup> {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms.load()));
      throw UnsupportedControllerPlatformError("no GPU platform on this host");
    };
  }

  std::atomic<int> start_delay_ms{0};
  SessionManager sessions{SessionTimeouts{}, cpu_host_factory(start_delay_ms)};
  Api api{sessions, [] { return std::vector<gpu::GpuInfo>{}; }};
  std::unique_ptr<http::Server> server;
  std::string socket_dir;
  std::string socket_path;
  int port = 0;
};

}  // namespace keepgpu::service::http_testing
