// Helper for asserting exact error texts: scripts match messages, so they are interface facts.
#pragma once

#include <exception>
#include <string>

namespace keepgpu::test {

// Runs `action` and returns the what() of the expected exception type. Returns a marker string
// (which never equals a real message) when nothing or something else is thrown, so EXPECT_EQ
// prints a useful diff.
template <typename Expected, typename Action>
std::string thrown(Action&& action) {
  try {
    action();
  } catch (const Expected& error) {
    return error.what();
  } catch (const std::exception& other) {
    return std::string("<unexpected exception: ") + other.what() + ">";
  } catch (...) {
    return "<unexpected non-standard exception>";
  }
  return "<no exception>";
}

}  // namespace keepgpu::test
