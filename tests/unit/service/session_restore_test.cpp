// SessionManager and its journal: the journal follows the set of sessions, and restore() brings
// back what a killed daemon left (same ids and params, "restored": true), drops what cannot start
// again with an ERROR, and reserves the ids before anything else can take them.
#include <gtest/gtest.h>

#include <filesystem>

#include "log_capture.hpp"
#include "service/session_journal.hpp"
#include "service_fakes.hpp"
#include "temp_dir.hpp"

namespace keepgpu::service_testing {
namespace {

using service::JournalEntry;
using service::SessionJournal;

std::vector<std::string> journal_ids(const std::filesystem::path& path) {
  std::vector<std::string> ids;
  for (const auto& entry : SessionJournal(path).read().sessions)
    ids.push_back(entry.job_id);
  return ids;
}

using Ids = std::vector<std::string>;

const keepgpu::core::Json kParams =
    js(R"({"gpu_ids": [0], "vram": "64MiB", "interval": 0.5, "busy_threshold": -1})");

JournalEntry entry(const std::string& id, const keepgpu::core::Json& params = kParams) {
  return {id, params};
}

struct Journaled {
  TempDir dir;
  std::filesystem::path path = dir.path() / "sessions.json";
  Harness h;
  Journaled() { h.sessions.attach_journal(std::make_shared<SessionJournal>(path)); }
};

TEST(SessionJournaling, JournalFollowsEveryChangeOfTheSetOfSessions) {
  Journaled j;
  EXPECT_EQ(journal_ids(j.path), Ids{}) << "attaching writes the (empty) set at once";
  j.h.api.start_keep(js(R"({"job_id": "one", "vram": "64MiB", "interval": 0.5})"));
  j.h.api.start_keep(js(R"({"job_id": "two", "vram": "32MiB"})"));
  EXPECT_EQ(journal_ids(j.path), (Ids{"one", "two"}));
  const auto recorded = SessionJournal(j.path).read().sessions;
  EXPECT_EQ(recorded[0].params, status_of(j.h, "one")["params"]) << "the params status echoes";
  EXPECT_TRUE(recorded[0].params["interval"].is_number_float());

  EXPECT_EQ(stop(j.h, "one")["stopped"], js(R"(["one"])"));
  EXPECT_EQ(journal_ids(j.path), Ids{"two"});
  j.h.api.stop_keep(js("{}"));
  EXPECT_EQ(journal_ids(j.path), Ids{});
}

TEST(SessionJournaling, StopFailedSessionsStayInTheJournal) {
  TempDir dir;
  const auto path = dir.path() / "sessions.json";
  auto timeouts = fast_timeouts();
  timeouts.release_timeout = 8000ms;
  Harness h(timeouts);
  h.sessions.attach_journal(std::make_shared<SessionJournal>(path));
  FakePlan plan = plan_with([](FakeBackend& b) { b.hold_sync(); });
  plan.interval = 0.01;  // the keeper gives up its release after about 2 s: a failed release
  h.fleet.plan(plan);
  h.api.start_keep(js(R"({"job_id": "stuck"})"));
  ASSERT_TRUE(wait_until([&] { return h.fleet.backend(0)->in_sync(); }));
  EXPECT_EQ(stop(h, "stuck")["failed"], js(R"(["stuck"])"));
  EXPECT_EQ(status_of(h, "stuck")["state"], "stop_failed");
  EXPECT_EQ(journal_ids(path), Ids{"stuck"}) << "it may still hold memory";
  h.fleet.unhold_all();
  EXPECT_EQ(stop(h, "stuck")["stopped"], js(R"(["stuck"])"));
  EXPECT_EQ(journal_ids(path), Ids{});
}

TEST(SessionJournaling, CloseJournalRemovesItAndLaterChangesLeaveItAlone) {
  Journaled j;
  j.h.api.start_keep(js(R"({"job_id": "kept"})"));
  ASSERT_EQ(journal_ids(j.path), Ids{"kept"});
  j.h.sessions.close_journal();
  EXPECT_FALSE(std::filesystem::exists(j.path));
  j.h.api.start_keep(js(R"({"job_id": "later"})"));
  j.h.api.stop_keep(js("{}"));
  EXPECT_FALSE(std::filesystem::exists(j.path));
}

TEST(SessionRestore, RestoresTheSameIdAndParamsMarkedRestored) {
  Journaled j;
  LogCapture logs;
  EXPECT_EQ(j.h.sessions.restore({entry("left-1")}), Ids{"left-1"});
  ASSERT_TRUE(wait_until([&] { return status_of(j.h, "left-1")["state"] == "active"; }))
      << status_of(j.h, "left-1");
  const auto status = status_of(j.h, "left-1");
  EXPECT_EQ(status["params"], kParams);
  EXPECT_TRUE(status["params"]["interval"].is_number_float());
  EXPECT_EQ(status["restored"], true);
  ASSERT_TRUE(wait_until([&] { return j.h.fleet.backend(0)->allocated_bytes() == 64ULL << 20; }));
  EXPECT_EQ(journal_ids(j.path), Ids{"left-1"});
  // Logged by the restoring thread once the start returned, which may be after status shows it.
  EXPECT_TRUE(wait_until([&] {
    return logs.text().find(
               "warning Restored keep session left-1 left by a KeepGPU service that "
               "did not shut down cleanly") != std::string::npos;
  })) << logs.text();

  // Sessions started normally carry no "restored" key at all.
  j.h.api.start_keep(js(R"({"job_id": "fresh"})"));
  EXPECT_FALSE(status_of(j.h, "fresh").contains("restored"));
  const auto all = j.h.api.status(js("{}"));  // kept alive for the loop over its members
  for (const auto& job : all["active_jobs"]) {
    EXPECT_EQ(job.contains("restored"), job["job_id"] == "left-1") << job;
  }
  // A restored session stops like any other.
  EXPECT_EQ(stop(j.h, "left-1")["stopped"], js(R"(["left-1"])"));
  EXPECT_EQ(journal_ids(j.path), Ids{"fresh"});
}

TEST(SessionRestore, IdsAreReservedAtOnceAndJournaledWhileStarting) {
  Journaled j;
  j.h.fleet.plan(plan_with([](FakeBackend& b) { b.script(0).open_delay = 1500ms; }));
  j.h.sessions.restore({entry("slow")});
  const auto starting = status_of(j.h, "slow");
  EXPECT_EQ(starting["state"], "starting");
  EXPECT_EQ(starting["restored"], true);
  EXPECT_EQ(journal_ids(j.path), Ids{"slow"}) << "a daemon that dies now must not lose it";
  const auto error = api_error_of([&] { j.h.api.start_keep(js(R"({"job_id": "slow"})")); });
  EXPECT_EQ(error.code(), service::kInvalidParams);
  EXPECT_EQ(std::string(error.what()), "job_id slow already exists");
  ASSERT_TRUE(wait_until([&] { return status_of(j.h, "slow")["state"] == "active"; }));
  EXPECT_EQ(status_of(j.h, "slow")["restored"], true);
}

TEST(SessionRestore, SessionsThatCannotStartAgainAreDroppedWithAnError) {
  Journaled j;
  LogCapture logs;
  // One GPU now; "gone" held GPU 3, which this machine no longer has.
  const auto reserved = j.h.sessions.restore(
      {entry("gone", js(R"({"gpu_ids": [3], "vram": "64MiB"})")), entry("ok"),
       entry("bad-vram", js(R"({"vram": "lots"})")), entry("bad id!"), entry("ok")});
  // Bad params, a bad id and a duplicate never get reserved.
  EXPECT_EQ(reserved, (Ids{"gone", "ok"}));
  ASSERT_TRUE(wait_until([&] { return !j.h.sessions.contains("gone"); }));
  ASSERT_TRUE(wait_until([&] { return status_of(j.h, "ok")["state"] == "active"; }));
  // The failed restore leaves the journal when its start thread has finished with it.
  EXPECT_TRUE(wait_until([&] { return journal_ids(j.path) == Ids{"ok"}; }))
      << ::testing::PrintToString(journal_ids(j.path));
  // The restoring thread logs a failed start after the journal dropped it.
  for (const char* id : {"gone", "bad-vram", "bad id!", "ok"}) {
    const std::string line = std::string("error Cannot restore keep session ") + id + " ";
    EXPECT_TRUE(wait_until([&] { return logs.text().find(line) != std::string::npos; }))
        << id << ": " << logs.text();
  }
}

}  // namespace
}  // namespace keepgpu::service_testing
