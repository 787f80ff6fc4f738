// Session time limits in the registry: a session with `duration` or `until` is released and
// removed at its end, one stopped earlier is left alone, the journal keeps the end, and a restore
// keeps the journaled end (or drops a session whose end has passed).
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "core/time_limit.hpp"
#include "log_capture.hpp"
#include "service/session_journal.hpp"
#include "service_fakes.hpp"
#include "temp_dir.hpp"

namespace keepgpu::service_testing {
namespace {

using namespace std::chrono_literals;
using service::JournalEntry;
using service::SessionJournal;

TEST(SessionTimeLimit, TheSessionIsReleasedAndRemovedAtItsEnd) {
  Harness h;
  LogCapture logs;
  h.api.start_keep(js(R"({"job_id": "brief", "vram": "64MiB", "duration": 0.3})"));
  const auto status = status_of(h, "brief");
  ASSERT_TRUE(status.contains("ends_at")) << status;
  const auto ends = core::parse_iso8601(status["ends_at"].get<std::string>());
  EXPECT_LE(ends - core::WallClock::now(), 1s);
  EXPECT_EQ(status["params"]["duration"], js("0.3"));
  ASSERT_TRUE(wait_until([&] { return !h.sessions.contains("brief"); })) << status_of(h, "brief");
  EXPECT_GE(core::WallClock::now(), std::chrono::floor<std::chrono::seconds>(ends));
  EXPECT_TRUE(h.fleet.all_released());
  EXPECT_TRUE(wait_until([&] {
    return logs.text().find("info Stopped keep session brief at its time limit") !=
           std::string::npos;
  })) << logs.text();
}

TEST(SessionTimeLimit, ATimerNeverTouchesALaterSessionUnderTheSameId) {
  Harness h;
  LogCapture logs;
  h.api.start_keep(js(R"({"job_id": "reused", "vram": "64MiB", "duration": 0.5})"));
  h.api.start_keep(js(R"({"job_id": "open", "vram": "64MiB"})"));
  EXPECT_FALSE(status_of(h, "open").contains("ends_at")) << "no limit keeps upstream's shape";
  EXPECT_EQ(stop(h, "reused")["stopped"], js(R"(["reused"])"));
  // The same id again, without a limit, before the first one's end: that timer must let it be.
  h.api.start_keep(js(R"({"job_id": "reused", "vram": "64MiB"})"));
  EXPECT_FALSE(status_of(h, "reused").contains("ends_at"));
  std::this_thread::sleep_for(1500ms);  // well past the first session's end
  EXPECT_EQ(status_of(h, "reused")["state"], "active");
  EXPECT_EQ(logs.text().find("reached its time limit"), std::string::npos) << logs.text();
}

TEST(SessionTimeLimit, TheJournalKeepsTheEndAndARestoreKeepsIt) {
  TempDir dir;
  const auto path = dir.path() / "sessions.json";
  std::string ends_at;
  {
    Harness h;
    h.sessions.attach_journal(std::make_shared<SessionJournal>(path));
    h.api.start_keep(js(R"({"job_id": "timed", "vram": "64MiB", "duration": 3600})"));
    ends_at = status_of(h, "timed")["ends_at"].get<std::string>();
    const auto entries = SessionJournal(path).read().sessions;
    ASSERT_EQ(entries.size(), 1u);
    EXPECT_EQ(entries[0].ends_at, ends_at);
    EXPECT_EQ(entries[0].params["duration"], js("3600"));
  }
  Harness next;
  LogCapture logs;
  const auto past = core::format_iso8601_local(core::WallClock::now() - 10s);
  const auto reserved = next.sessions.restore(
      {JournalEntry{"timed", js(R"({"vram": "64MiB", "duration": 3600})"), ends_at},
       JournalEntry{"over", js(R"({"vram": "64MiB", "duration": 5})"), past}});
  EXPECT_EQ(reserved, std::vector<std::string>{"timed"});
  ASSERT_TRUE(wait_until([&] { return status_of(next, "timed")["state"] == "active"; }));
  const auto status = status_of(next, "timed");
  EXPECT_EQ(status["ends_at"], ends_at) << "the original end, not now + duration";
  EXPECT_EQ(status["params"]["duration"], js("3600"));
  EXPECT_NE(logs.text().find("warning Keep session over reached its time limit (" + past +
                             ") while no KeepGPU service ran; it is not restored"),
            std::string::npos)
      << logs.text();
}

}  // namespace
}  // namespace keepgpu::service_testing
