// The defaults of a keep session, shared by every face of the tool (blocking mode, `start`, the
// service API, the MCP tool schema and the C++ library) so they cannot drift apart. They are
// upstream's, so existing command lines and scripts behave the same.
#pragma once

#include <string_view>

namespace keepgpu::core {

inline constexpr std::string_view kDefaultVram = "1GiB";
inline constexpr int kDefaultIntervalSeconds = 300;
inline constexpr std::string_view kDefaultIntervalText = "300";
inline constexpr int kDefaultBusyThreshold = 25;
inline constexpr std::string_view kDefaultBusyThresholdText = "25";
// ReLU passes per keep-alive batch (upstream's relu_iterations).
inline constexpr int kDefaultReluIterations = 5000;

// The command line takes the defaults as text; the two spellings must agree.
constexpr int decimal_value(std::string_view digits) {
  int value = 0;
  for (const char c : digits)
    value = value * 10 + (c - '0');
  return value;
}
static_assert(decimal_value(kDefaultIntervalText) == kDefaultIntervalSeconds);
static_assert(decimal_value(kDefaultBusyThresholdText) == kDefaultBusyThreshold);

}  // namespace keepgpu::core
