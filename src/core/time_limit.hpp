// Time limits of a keep: "keep for 45 minutes" (`--duration`, API `duration`) and "keep until
// 18:00" (`--until`, API `until`). The command line speaks in human units and local wall-clock
// times; the service API takes seconds and absolute ISO 8601 times with an offset, so a request
// means the same moment whatever the daemon's time zone, and a session brought back after a crash
// ends when it was first told to.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json.hpp"

namespace keepgpu::core {

using WallClock = std::chrono::system_clock;

// The longest limit: 366 days. Longer is surely a typo, and a bound keeps every deadline far from
// the range of the clocks.
inline constexpr std::int64_t kMaxTimeLimitSeconds = 366LL * 24 * 3600;

// `--duration`: one or more <number><unit> parts with units s, m, h, d ("90s", "45m", "4h",
// "1h30m", "1.5h"), or a bare number of seconds. Surrounding blanks are ignored. Returns seconds
// (> 0, at most the cap); throws ValueError naming the accepted forms.
double parse_duration_text(std::string_view text);

// API `duration`: a JSON number of seconds, > 0 and at most the cap (booleans and strings are
// rejected). Throws ValueError.
double validate_duration_json(const Json& value);

// `--until`: "HH:MM" or "HH:MM:SS" on the 24-hour clock of this machine's local time zone; the
// next such moment after `now` (today, or tomorrow when it has passed). Throws ValueError.
WallClock::time_point parse_until_clock_text(std::string_view text, WallClock::time_point now);

// API `until`: an ISO 8601 date and time with an offset, "2026-12-07T18:00:00+01:00",
// "2026-12-07T17:00Z" (seconds and a fraction optional; 'T' or a space between the two). A time
// without an offset is ambiguous between the client's and the daemon's zone and is rejected.
// Years 1970 to 2200 only. Throws ValueError.
WallClock::time_point parse_iso8601(std::string_view text);

// `until` itself when it lies after `now` and at most 366 days ahead; else ValueError.
WallClock::time_point validate_until(WallClock::time_point until, WallClock::time_point now);

// `t` in this machine's local time with its offset, to the second: "2026-12-07T18:00:00+01:00".
std::string format_iso8601_local(WallClock::time_point t);

// `now` + `seconds`, rounded to the millisecond.
WallClock::time_point deadline_after(WallClock::time_point now, double seconds);

// What is left until `deadline` (zero or negative once it has passed).
std::chrono::milliseconds remaining_until(WallClock::time_point deadline,
                                          WallClock::time_point now);

}  // namespace keepgpu::core
