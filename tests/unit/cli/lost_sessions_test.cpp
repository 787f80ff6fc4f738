// What status reports when no service answers: the sessions a killed service left in its journal,
// and nothing when the journal is empty, absent or still owned by a running process.
#include "cli/lost_sessions.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "service/session_journal.hpp"

namespace keepgpu::cli {
namespace {
namespace fs = std::filesystem;

class LostSessions : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/keepgpu-lost-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    paths_ = service::runtime::paths_in(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // A pid that certainly names no process: a child that has exited and been reaped.
  static pid_t dead_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    return child;
  }
  void write_journal(const std::string& text) { std::ofstream(paths_.journal) << text; }

  fs::path dir_;
  service::runtime::Paths paths_;
};

TEST_F(LostSessions, NamesTheSessionsADeadServiceLeft) {
  write_journal(R"({"version": 1, "pid": )" + std::to_string(dead_pid()) +
                R"(, "sessions": [{"job_id": "a", "params": {}}, {"job_id": "b", "params": {}}]})");
  const auto report = lost_sessions_report(paths_, "Cannot reach KeepGPU service.");
  ASSERT_TRUE(report.has_value());
  ASSERT_EQ(report->size(), 2u);
  EXPECT_EQ(report->begin().key(), "error");
  EXPECT_EQ(std::next(report->begin()).key(), "lost_sessions");
  const std::string& error = report->at("error").get_ref<const std::string&>();
  EXPECT_EQ(error.rfind("Cannot reach KeepGPU service. ", 0), 0u) << error;
  EXPECT_NE(error.find("left 2 keep session(s)"), std::string::npos) << error;
  EXPECT_NE(error.find("['a', 'b']"), std::string::npos) << error;
  EXPECT_NE(error.find("`keep-gpu serve` or any `keep-gpu start`"), std::string::npos) << error;
  EXPECT_EQ(report->at("lost_sessions"), core::Json({"a", "b"}));
}

TEST_F(LostSessions, NothingWhenTheJournalIsAbsentEmptyOrDamaged) {
  EXPECT_FALSE(lost_sessions_report(paths_, "x").has_value());
  write_journal(R"({"version": 1, "pid": )" + std::to_string(dead_pid()) + R"(, "sessions": []})");
  EXPECT_FALSE(lost_sessions_report(paths_, "x").has_value());
  write_journal("{\"sessions\": [");
  EXPECT_FALSE(lost_sessions_report(paths_, "x").has_value());
}

TEST_F(LostSessions, NothingWhileTheWriterStillRuns) {
  // This process wrote it and is alive: an unresponsive service, not a lost one.
  service::SessionJournal(paths_.journal).write({{"mine", keepgpu::core::Json::object()}});
  EXPECT_FALSE(lost_sessions_report(paths_, "x").has_value());
}

}  // namespace
}  // namespace keepgpu::cli
