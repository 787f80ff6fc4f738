// What `start` and `service-stop` print as the service's location: the address the command
// reached, else the listener the service recorded, else its Unix socket.
#include "cli/service_origin.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

namespace keepgpu::cli {
namespace {

namespace fs = std::filesystem;
namespace runtime = service::runtime;

class ServiceOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("keepgpu-origin-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    target_.paths = runtime::paths_in(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void record(const std::string& host, int port, bool token) {
    runtime::write_endpoint_record(target_.paths.endpoint, {::getpid(), host, port, token});
  }

  fs::path dir_;
  ServiceTarget target_;
};

TEST_F(ServiceOriginTest, NoTcpListenerMeansNoDashboard) {
  EXPECT_EQ(service_origin(target_), std::nullopt);
  EXPECT_EQ(dashboard_text(service_origin(target_)), "none (the service has no TCP listener)");
  EXPECT_EQ(service_location(target_, std::nullopt),
            target_.paths.socket.string() + " (no TCP listener)");
}

TEST_F(ServiceOriginTest, TheRecordedListenerOverTheDefaults) {
  record("0.0.0.0", 9000, true);
  const auto origin = service_origin(target_);
  ASSERT_TRUE(origin);
  EXPECT_EQ(origin->url, "http://127.0.0.1:9000/");
  EXPECT_EQ(dashboard_text(origin),
            "http://127.0.0.1:9000/ (run keep-gpu dashboard for a login link)");
  EXPECT_EQ(service_location(target_, origin), "http://127.0.0.1:9000/");
}

TEST_F(ServiceOriginTest, WithoutAuthThereIsNoLoginToPointAt) {
  record("::1", 9001, false);
  EXPECT_EQ(dashboard_text(service_origin(target_)), "http://[::1]:9001/");
}

TEST_F(ServiceOriginTest, AnExplicitAddressIsWhereTheCommandReachedTheService) {
  target_.tcp = true;
  target_.host = "127.0.0.2";
  target_.port = 9100;
  EXPECT_EQ(service_origin(target_)->url, "http://127.0.0.2:9100/");
  EXPECT_TRUE(service_origin(target_)->token);
  record("127.0.0.2", 9100, false);  // the same listener, started with --no-auth
  EXPECT_FALSE(service_origin(target_)->token);
}

TEST(BrowserHost, WildcardsAndIpv6Literals) {
  EXPECT_EQ(browser_host("0.0.0.0"), "127.0.0.1");
  EXPECT_EQ(browser_host("::"), "[::1]");
  EXPECT_EQ(browser_host("::1"), "[::1]");
  EXPECT_EQ(browser_host("localhost"), "localhost");
}

}  // namespace
}  // namespace keepgpu::cli
