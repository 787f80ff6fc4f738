#include "core/time_limit.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <string>

#include "core/errors.hpp"
#include "core/thrown.hpp"

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// A POSIX zone rule needs no tzdata: Central European time, DST from the last Sunday of March
// (02:00) to the last Sunday of October (03:00).
class LocalZone : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("TZ");
    if (old != nullptr) saved_ = old;
    had_ = old != nullptr;
    ::setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    ::tzset();
  }
  void TearDown() override {
    if (had_) {
      ::setenv("TZ", saved_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::string saved_;
  bool had_ = false;
};

WallClock::time_point utc(const char* iso) {
  return parse_iso8601(iso);
}

TEST(DurationText, TakesUnitsAndCombinations) {
  EXPECT_DOUBLE_EQ(parse_duration_text("90s"), 90);
  EXPECT_DOUBLE_EQ(parse_duration_text("45m"), 2700);
  EXPECT_DOUBLE_EQ(parse_duration_text("4h"), 14400);
  EXPECT_DOUBLE_EQ(parse_duration_text("2d"), 172800);
  EXPECT_DOUBLE_EQ(parse_duration_text("1h30m"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration_text("1.5h"), 5400);
  EXPECT_DOUBLE_EQ(parse_duration_text(" 120 "), 120);
  EXPECT_DOUBLE_EQ(parse_duration_text("0.5"), 0.5);
}

TEST(DurationText, RejectsWhatIsNotALengthOfTime) {
  const std::string forms =
      "duration must be a length of time such as 90s, 45m, 4h, 1h30m or a number of seconds";
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("5x"); }), forms + " (got '5x')");
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text(""); }), forms + " (got '')");
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("h"); }), forms + " (got 'h')");
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("1h30"); }), forms + " (got '1h30')");
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("-5m"); }), forms + " (got '-5m')");
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("1..5h"); }), forms + " (got '1..5h')");
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("1 h"); }), forms + " (got '1 h')");
}

TEST(DurationText, RejectsZeroAndMoreThanAYear) {
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("0s"); }),
            "duration must be a positive number of seconds");
  EXPECT_EQ(thrown<ValueError>([] { parse_duration_text("367d"); }),
            "duration must be at most 366 days (31622400 seconds)");
  EXPECT_DOUBLE_EQ(parse_duration_text("366d"), 31622400);
}

TEST(DurationJson, TakesNumbersOfSecondsOnly) {
  EXPECT_DOUBLE_EQ(validate_duration_json(Json(90)), 90);
  EXPECT_DOUBLE_EQ(validate_duration_json(Json(0.25)), 0.25);
  const std::string positive = "duration must be a positive number of seconds";
  EXPECT_EQ(thrown<ValueError>([] { validate_duration_json(Json(0)); }), positive);
  EXPECT_EQ(thrown<ValueError>([] { validate_duration_json(Json(-3)); }), positive);
  EXPECT_EQ(thrown<ValueError>([] { validate_duration_json(Json(true)); }), positive);
  EXPECT_EQ(thrown<ValueError>([] { validate_duration_json(Json("90s")); }), positive);
}

TEST(DurationJson, BigIntegersAreTooLongOrNotPositive) {
  const Json huge = json::parse("123456789012345678901234567890");
  ASSERT_TRUE(json::is_big_integer(huge));
  EXPECT_EQ(thrown<ValueError>([&] { validate_duration_json(huge); }),
            "duration must be at most 366 days (31622400 seconds)");
  const Json negative = json::parse("-123456789012345678901234567890");
  EXPECT_EQ(thrown<ValueError>([&] { validate_duration_json(negative); }),
            "duration must be a positive number of seconds");
}

TEST(Iso8601, ReadsOffsetsAndUtc) {
  const auto a = utc("2026-12-07T18:00:00+01:00");
  const auto b = utc("2026-12-07T17:00:00Z");
  const auto c = utc("2026-12-07 12:30-0430");
  EXPECT_EQ(a, b);
  EXPECT_EQ(c, b);
  EXPECT_EQ(WallClock::to_time_t(b), 1796662800);
  EXPECT_EQ(utc("2026-12-07T17:00:00.250Z") - b, std::chrono::milliseconds(250));
  EXPECT_EQ(utc("2026-12-07t17:00z"), b);
}

TEST(Iso8601, RejectsTimesWithoutOffsetAndImpossibleDates) {
  for (const char* bad :
       {"2026-12-07T18:00:00", "2026-02-30T10:00Z", "2026-12-07T24:00Z", "2026-12-07", "18:00",
        "2026-12-07T18:00:00+25:00", "1969-12-31T23:00Z", "2026-12-07T18:00:00Z trailing"}) {
    EXPECT_EQ(thrown<ValueError>([&] { parse_iso8601(bad); }),
              std::string("until must be an ISO 8601 date and time with an offset, e.g. "
                          "2026-12-07T18:00:00+01:00 or 2026-12-07T17:00:00Z (got '") +
                  bad + "')")
        << bad;
  }
}

TEST(Until, MustLieAheadAndWithinAYear) {
  const auto now = utc("2026-12-07T17:00:00Z");
  EXPECT_EQ(validate_until(now + seconds(1), now), now + seconds(1));
  EXPECT_EQ(thrown<ValueError>([&] { validate_until(now, now); }), "until must be in the future");
  EXPECT_EQ(thrown<ValueError>([&] { validate_until(now + hours(24 * 367), now); }),
            "until must be at most 366 days (31622400 seconds)");
}

TEST_F(LocalZone, ClockTimeLaterTodayOrTomorrow) {
  const auto now = utc("2026-12-07T17:00:00+01:00");  // 17:00 local (CET, +01:00)
  EXPECT_EQ(parse_until_clock_text("18:30", now), utc("2026-12-07T18:30:00+01:00"));
  EXPECT_EQ(parse_until_clock_text("16:59:30", now), utc("2026-12-08T16:59:30+01:00"));
  EXPECT_EQ(parse_until_clock_text("17:00", now), utc("2026-12-08T17:00:00+01:00"))
      << "the present minute has passed: it means tomorrow";
  EXPECT_EQ(parse_until_clock_text("00:00", now), utc("2026-12-08T00:00:00+01:00"));
}

TEST_F(LocalZone, ClockTimeAcrossADaylightSavingChange) {
  // The night of 2026-03-29: clocks go from 02:00 CET to 03:00 CEST.
  const auto now = utc("2026-03-28T22:00:00+01:00");
  EXPECT_EQ(parse_until_clock_text("08:00", now), utc("2026-03-29T08:00:00+02:00"));
}

TEST_F(LocalZone, ClockTimeRejectsOtherForms) {
  const auto now = utc("2026-12-07T17:00:00+01:00");
  for (const char* bad : {"6pm", "18", "18:60", "24:00", "1:30", "18:00Z", ""}) {
    EXPECT_EQ(thrown<ValueError>([&] { parse_until_clock_text(bad, now); }),
              std::string("until must be a local time of day as HH:MM or HH:MM:SS, e.g. 18:30 "
                          "(got '") +
                  bad + "')")
        << bad;
  }
}

TEST_F(LocalZone, FormatsLocalTimeWithItsOffset) {
  EXPECT_EQ(format_iso8601_local(utc("2026-12-07T17:00:00Z")), "2026-12-07T18:00:00+01:00");
  EXPECT_EQ(format_iso8601_local(utc("2026-07-01T10:15:30.900Z")), "2026-07-01T12:15:30+02:00");
}

TEST(Deadline, AfterAndRemaining) {
  const auto now = utc("2026-12-07T17:00:00Z");
  const auto later = deadline_after(now, 1.5);
  EXPECT_EQ(later - now, std::chrono::milliseconds(1500));
  EXPECT_EQ(remaining_until(later, now), std::chrono::milliseconds(1500));
  EXPECT_LE(remaining_until(now, later).count(), 0);
}

}  // namespace
}  // namespace keepgpu::core
