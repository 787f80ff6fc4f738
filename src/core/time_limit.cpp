#include "core/time_limit.hpp"

#include <fmt/format.h>
#include <time.h>

#include <charconv>
#include <cmath>
#include <optional>
#include <string>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace keepgpu::core {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr const char* kDurationForms =
    "a length of time such as 90s, 45m, 4h, 1h30m or a number of seconds";

[[noreturn]] void bad_duration(std::string_view text) {
  throw ValueError(fmt::format("duration must be {} (got '{}')", kDurationForms, text));
}

std::string too_long(const char* what) {
  return fmt::format("{} must be at most 366 days ({} seconds)", what, kMaxTimeLimitSeconds);
}

double checked_seconds(double value, const char* what) {
  if (!std::isfinite(value) || value <= 0)
    throw ValueError(fmt::format("{} must be a positive number of seconds", what));
  if (value > static_cast<double>(kMaxTimeLimitSeconds)) throw ValueError(too_long(what));
  return value;
}

// A decimal number without sign or exponent at `pos` ("12", "1.5", ".5"); advances `pos`.
std::optional<double> take_number(std::string_view text, std::size_t& pos) {
  const std::size_t start = pos;
  while (pos < text.size() && (text::is_ascii_digit(text[pos]) || text[pos] == '.'))
    ++pos;
  const std::string_view digits = text.substr(start, pos - start);
  if (digits.empty() || digits == "." || digits.find('.') != digits.rfind('.')) return std::nullopt;
  double value = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

std::optional<double> unit_seconds(char unit) {
  switch (unit) {
    case 's':
      return 1.0;
    case 'm':
      return 60.0;
    case 'h':
      return 3600.0;
    case 'd':
      return 86400.0;
    default:
      return std::nullopt;
  }
}

// Exactly `count` digits at `pos` as a number; advances `pos`.
std::optional<int> take_digits(std::string_view text, std::size_t& pos, std::size_t count) {
  if (pos + count > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const char c = text[pos + i];
    if (!text::is_ascii_digit(c)) return std::nullopt;
    value = value * 10 + (c - '0');
  }
  pos += count;
  return value;
}

bool take_char(std::string_view text, std::size_t& pos, char expected) {
  if (pos >= text.size() || text[pos] != expected) return false;
  ++pos;
  return true;
}

struct ClockTime {
  int hour = 0;
  int minute = 0;
  int second = 0;
  double fraction = 0;  // of a second
};

// "HH:MM", "HH:MM:SS" or "HH:MM:SS.fff" at `pos`; advances `pos`.
std::optional<ClockTime> take_clock_time(std::string_view text, std::size_t& pos,
                                         bool allow_fraction) {
  ClockTime time;
  const auto hour = take_digits(text, pos, 2);
  if (!hour || !take_char(text, pos, ':')) return std::nullopt;
  const auto minute = take_digits(text, pos, 2);
  if (!minute) return std::nullopt;
  time.hour = *hour;
  time.minute = *minute;
  if (take_char(text, pos, ':')) {
    const auto second = take_digits(text, pos, 2);
    if (!second) return std::nullopt;
    time.second = *second;
    if (allow_fraction && take_char(text, pos, '.')) {
      const std::size_t start = pos;
      while (pos < text.size() && text::is_ascii_digit(text[pos]))
        ++pos;
      if (pos == start) return std::nullopt;
      const std::string digits = "0." + std::string(text.substr(start, pos - start));
      time.fraction = std::stod(digits);
    }
  }
  // 24:00 is not accepted: "until midnight" is 00:00.
  if (time.hour > 23 || time.minute > 59 || time.second > 59) return std::nullopt;
  return time;
}

}  // namespace

double parse_duration_text(std::string_view text) {
  const std::string_view trimmed = text::trim_python(text);
  if (trimmed.empty()) bad_duration(text);
  std::size_t pos = 0;
  double total = 0;
  bool bare = false;
  while (pos < trimmed.size()) {
    const auto number = take_number(trimmed, pos);
    if (!number) bad_duration(text);
    if (pos == trimmed.size()) {
      // A bare number is seconds, and only on its own ("90"), not as a trailing part ("1h30").
      if (total != 0 || bare) bad_duration(text);
      total = *number;
      bare = true;
      break;
    }
    const auto unit = unit_seconds(trimmed[pos]);
    if (!unit) bad_duration(text);
    ++pos;
    total += *number * *unit;
  }
  return checked_seconds(total, "duration");
}

double validate_duration_json(const Json& value) {
  if (json::is_big_integer(value)) {
    const std::string digits = json::big_integer_digits(value);
    throw ValueError(!digits.empty() && digits[0] == '-'
                         ? std::string("duration must be a positive number of seconds")
                         : too_long("duration"));
  }
  if (!value.is_number()) throw ValueError("duration must be a positive number of seconds");
  return checked_seconds(value.get<double>(), "duration");
}

WallClock::time_point parse_until_clock_text(std::string_view text, WallClock::time_point now) {
  const std::string_view trimmed = text::trim_python(text);
  std::size_t pos = 0;
  const auto time = take_clock_time(trimmed, pos, false);
  if (!time || pos != trimmed.size()) {
    throw ValueError(fmt::format(
        "until must be a local time of day as HH:MM or HH:MM:SS, e.g. 18:30 (got '{}')", text));
  }
  const std::time_t now_t = WallClock::to_time_t(now);
  std::tm local{};
  localtime_r(&now_t, &local);
  for (int days_ahead = 0; days_ahead < 3; ++days_ahead) {
    std::tm candidate = local;
    candidate.tm_mday += days_ahead;
    candidate.tm_hour = time->hour;
    candidate.tm_min = time->minute;
    candidate.tm_sec = time->second;
    candidate.tm_isdst = -1;  // let the zone rules decide (a DST change may lie in between)
    const std::time_t at = mktime(&candidate);
    if (at == static_cast<std::time_t>(-1)) break;
    const auto point = WallClock::from_time_t(at);
    if (point > now) return point;
  }
  throw ValueError(fmt::format("until: cannot place {} in the local time zone", text));
}

WallClock::time_point parse_iso8601(std::string_view text) {
  const auto fail = [&]() -> WallClock::time_point {
    throw ValueError(
        fmt::format("until must be an ISO 8601 date and time with an offset, e.g. "
                    "2026-12-07T18:00:00+01:00 or 2026-12-07T17:00:00Z (got '{}')",
                    text));
  };
  std::size_t pos = 0;
  const auto year = take_digits(text, pos, 4);
  if (!year || !take_char(text, pos, '-')) return fail();
  const auto month = take_digits(text, pos, 2);
  if (!month || !take_char(text, pos, '-')) return fail();
  const auto day = take_digits(text, pos, 2);
  if (!day ||
      !(take_char(text, pos, 'T') || take_char(text, pos, 't') || take_char(text, pos, ' ')))
    return fail();
  const auto time = take_clock_time(text, pos, true);
  if (!time) return fail();
  int offset_minutes = 0;
  if (take_char(text, pos, 'Z') || take_char(text, pos, 'z')) {
    offset_minutes = 0;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    const auto hours = take_digits(text, pos, 2);
    if (!hours) return fail();
    take_char(text, pos, ':');
    const auto minutes = take_digits(text, pos, 2);
    if (!minutes || *hours > 23 || *minutes > 59) return fail();
    offset_minutes = sign * (*hours * 60 + *minutes);
  } else {
    return fail();
  }
  if (pos != text.size()) return fail();

  const std::chrono::year_month_day date{std::chrono::year(*year),
                                         std::chrono::month(static_cast<unsigned>(*month)),
                                         std::chrono::day(static_cast<unsigned>(*day))};
  if (!date.ok() || *year < 1970 || *year > 2200) return fail();
  const auto local_midnight = std::chrono::sys_days(date);
  const auto utc = local_midnight + std::chrono::hours(time->hour) +
                   std::chrono::minutes(time->minute) + seconds(time->second) +
                   std::chrono::round<milliseconds>(std::chrono::duration<double>(time->fraction)) -
                   std::chrono::minutes(offset_minutes);
  return std::chrono::time_point_cast<WallClock::duration>(utc);
}

WallClock::time_point validate_until(WallClock::time_point until, WallClock::time_point now) {
  if (until <= now) throw ValueError("until must be in the future");
  if (until - now > seconds(kMaxTimeLimitSeconds)) throw ValueError(too_long("until"));
  return until;
}

std::string format_iso8601_local(WallClock::time_point t) {
  const std::time_t at = WallClock::to_time_t(std::chrono::floor<seconds>(t));
  std::tm local{};
  localtime_r(&at, &local);
  const long offset = local.tm_gmtoff / 60;
  const long magnitude = offset < 0 ? -offset : offset;
  return fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}{}{:02d}:{:02d}",
                     local.tm_year + 1900, local.tm_mon + 1, local.tm_mday, local.tm_hour,
                     local.tm_min, local.tm_sec, offset < 0 ? '-' : '+', magnitude / 60,
                     magnitude % 60);
}

WallClock::time_point deadline_after(WallClock::time_point now, double seconds_ahead) {
  const auto ahead = std::chrono::round<milliseconds>(std::chrono::duration<double>(seconds_ahead));
  return now + std::chrono::duration_cast<WallClock::duration>(ahead);
}

milliseconds remaining_until(WallClock::time_point deadline, WallClock::time_point now) {
  return std::chrono::ceil<milliseconds>(deadline - now);
}

}  // namespace keepgpu::core
