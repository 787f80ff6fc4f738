// The error taxonomy's subtype relations and message_of().
#include <gtest/gtest.h>

#include "core/errors.hpp"

namespace keepgpu {
namespace {

TEST(Errors, MessageOfAStandardException) {
  EXPECT_EQ(message_of(std::make_exception_ptr(RuntimeError("driver lost"))), "driver lost");
  EXPECT_EQ(message_of(std::make_exception_ptr(std::out_of_range("index 9"))), "index 9");
}

TEST(Errors, MessageOfAnythingElse) {
  EXPECT_EQ(message_of(std::make_exception_ptr(42)), "unknown error");
}

TEST(Errors, UpstreamSubtypesAreCatchableAsTheirBases) {
  EXPECT_THROW(throw VisibleRankValidationError("bad rank"), ValueError);
  EXPECT_THROW(throw DeviceEnumerationUnavailableError("no driver"), RuntimeError);
}

}  // namespace
}  // namespace keepgpu
