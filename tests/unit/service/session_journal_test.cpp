// The session journal file: what it records, that a rewrite replaces it atomically with mode 0600,
// and that damaged or unwritable journals are reported at WARNING without stopping anything.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "log_capture.hpp"
#include "service/session_journal.hpp"
#include "service_fakes.hpp"
#include "temp_dir.hpp"

namespace keepgpu::service_testing {
namespace {

namespace fs = std::filesystem;
using service::JournalEntry;
using service::SessionJournal;

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void spit(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<JournalEntry> two_sessions() {
  return {{"alpha", js(R"({"gpu_ids": [0], "vram": "64MiB", "interval": 0.5,
                          "busy_threshold": -1})")},
          {"beta", js(R"({"gpu_ids": null, "vram": "1GiB", "interval": 300,
                         "busy_threshold": 25})")}};
}

TEST(SessionJournal, MissingFileIsAnEmptyJournalWithoutWarning) {
  TempDir dir;
  LogCapture logs;
  const auto contents = SessionJournal(dir.path() / "sessions.json").read();
  EXPECT_TRUE(contents.sessions.empty());
  EXPECT_FALSE(contents.pid.has_value());
  EXPECT_EQ(logs.text(), "");
}

TEST(SessionJournal, WriteThenReadKeepsIdsParamsAndTheirJsonKinds) {
  TempDir dir;
  SessionJournal journal(dir.path() / "sessions.json");
  ASSERT_TRUE(journal.write(two_sessions()));
  const auto contents = SessionJournal(journal.path()).read();
  ASSERT_EQ(contents.sessions.size(), 2u);
  EXPECT_EQ(contents.sessions[0].job_id, "alpha");
  EXPECT_EQ(contents.sessions[0].params, two_sessions()[0].params);
  EXPECT_TRUE(contents.sessions[0].params["interval"].is_number_float());
  EXPECT_EQ(contents.sessions[1].job_id, "beta");
  EXPECT_TRUE(contents.sessions[1].params["interval"].is_number_integer());
  EXPECT_TRUE(contents.sessions[1].params["gpu_ids"].is_null());
  EXPECT_EQ(contents.pid, ::getpid());
  ASSERT_TRUE(contents.start_time.has_value());
  EXPECT_FALSE(service::writer_gone(contents)) << "this process wrote it and still runs";
}

TEST(SessionJournal, FileHasMode0600WhateverTheUmask) {
  TempDir dir;
  const mode_t previous = ::umask(0);
  SessionJournal journal(dir.path() / "sessions.json");
  const bool written = journal.write(two_sessions());
  ::umask(previous);
  ASSERT_TRUE(written);
  struct stat st {};
  ASSERT_EQ(::stat(journal.path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
}

TEST(SessionJournal, RewriteReplacesTheFileInsteadOfEditingIt) {
  TempDir dir;
  SessionJournal journal(dir.path() / "sessions.json");
  ASSERT_TRUE(journal.write(two_sessions()));
  const std::string first = slurp(journal.path());
  // A reader that opened the old journal keeps reading all of it: the new one is a new file
  // renamed over the old name, never the old file truncated and refilled.
  std::ifstream reader(journal.path(), std::ios::binary);
  ASSERT_TRUE(journal.write({two_sessions()[1]}));
  std::ostringstream seen;
  seen << reader.rdbuf();
  EXPECT_EQ(seen.str(), first);
  const auto contents = SessionJournal(journal.path()).read();
  ASSERT_EQ(contents.sessions.size(), 1u);
  EXPECT_EQ(contents.sessions[0].job_id, "beta");
  // No temporary file is left beside it.
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    names.push_back(entry.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"sessions.json"});
}

TEST(SessionJournal, EmptySetIsWrittenAsAnEmptyListAndRemoveDeletesTheFile) {
  TempDir dir;
  SessionJournal journal(dir.path() / "sessions.json");
  ASSERT_TRUE(journal.write(two_sessions()));
  ASSERT_TRUE(journal.write({}));
  EXPECT_EQ(js(slurp(journal.path()))["sessions"], js("[]"));
  journal.remove();
  EXPECT_FALSE(fs::exists(journal.path()));
  journal.remove();  // twice is fine
  // After a removal the same content is written again, not skipped as unchanged.
  ASSERT_TRUE(journal.write({}));
  EXPECT_TRUE(fs::exists(journal.path()));
}

TEST(SessionJournal, TextThatIsNotJsonIsIgnoredWithAWarning) {
  TempDir dir;
  const fs::path path = dir.path() / "sessions.json";
  for (const std::string text : {"{\"sessions\": [", "[]", "{\"sessions\": 3}", ""}) {
    spit(path, text);
    LogCapture logs;
    EXPECT_TRUE(SessionJournal(path).read().sessions.empty()) << text;
    EXPECT_NE(logs.text().find("warning Ignoring the session journal " + path.string()),
              std::string::npos)
        << text << ": " << logs.text();
  }
}

TEST(SessionJournal, DamagedEntriesAreSkippedAndTheOthersKept) {
  TempDir dir;
  const fs::path path = dir.path() / "sessions.json";
  spit(path, R"({"version": 1, "pid": 1, "sessions": [
      {"job_id": "good", "params": {"vram": "1GiB"}},
      {"job_id": 7, "params": {}},
      {"job_id": "no-params"},
      "text",
      {"job_id": "also-good", "params": {}}]})");
  LogCapture logs;
  const auto contents = SessionJournal(path).read();
  ASSERT_EQ(contents.sessions.size(), 2u);
  EXPECT_EQ(contents.sessions[0].job_id, "good");
  EXPECT_EQ(contents.sessions[1].job_id, "also-good");
  const std::string text = logs.text();
  for (const char* index : {"entry 1 ", "entry 2 ", "entry 3 "}) {
    EXPECT_NE(text.find(std::string("warning Ignoring ") + index), std::string::npos) << text;
  }
}

TEST(SessionJournal, WriteFailureIsAWarningNotAnError) {
  TempDir dir;
  SessionJournal journal(dir.path() / "missing-dir" / "sessions.json");
  LogCapture logs;
  bool written = true;
  EXPECT_NO_THROW(written = journal.write(two_sessions()));
  EXPECT_FALSE(written);
  EXPECT_NE(logs.text().find("warning Cannot write the session journal"), std::string::npos)
      << logs.text();
}

TEST(SessionJournal, WriterGoneWhenItsPidIsDeadOrNamesAnotherProcess) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);

  service::JournalContents dead;
  dead.pid = child;
  EXPECT_TRUE(service::writer_gone(dead));

  service::JournalContents recycled;
  recycled.pid = ::getpid();
  recycled.start_time = "1";  // not this process's start time: the pid was reused
  EXPECT_TRUE(service::writer_gone(recycled));

  service::JournalContents anonymous;  // no writer recorded
  EXPECT_TRUE(service::writer_gone(anonymous));
}

}  // namespace
}  // namespace keepgpu::service_testing
