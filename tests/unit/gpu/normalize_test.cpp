// Telemetry normalisation.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "gpu/normalize.hpp"

namespace keepgpu::gpu {
namespace {

constexpr std::uint64_t kNegativeOne = std::numeric_limits<std::uint64_t>::max();

TEST(NormalizeTest, Utilization) {
  EXPECT_EQ(normalize_utilization(0.0), 0.0);
  EXPECT_EQ(normalize_utilization(100.0), 100.0);
  EXPECT_EQ(normalize_utilization(55.7), 55.7);
  EXPECT_FALSE(normalize_utilization(-1.0));
  EXPECT_FALSE(normalize_utilization(101.0));
  EXPECT_FALSE(normalize_utilization(std::nan("")));
  EXPECT_FALSE(normalize_utilization(std::numeric_limits<double>::infinity()));
  EXPECT_EQ(utilization_percent(55.7), 55);
  EXPECT_FALSE(utilization_percent(std::nullopt));
  EXPECT_FALSE(utilization_percent(4294967295.0));
}

TEST(NormalizeTest, Pairs) {
  auto check = [](std::optional<std::uint64_t> total, std::optional<std::uint64_t> used,
                  std::optional<std::uint64_t> want_total, std::optional<std::uint64_t> want_used) {
    const MemoryPair pair = normalize_pair(total, used);
    EXPECT_EQ(pair.total, want_total);
    EXPECT_EQ(pair.used, want_used);
  };
  check(1024, 512, 1024, 512);
  check(1024, std::nullopt, 1024, std::nullopt);
  check(std::nullopt, 512, std::nullopt, 512);
  check(1024, 2048, 1024, std::nullopt);
  check(kNegativeOne, 0, std::nullopt, 0);
  check(1024, kNegativeOne, 1024, std::nullopt);
}

TEST(NormalizeTest, FromFreeAndTotal) {
  auto check = [](std::optional<std::uint64_t> free, std::optional<std::uint64_t> total,
                  std::optional<std::uint64_t> want_total, std::optional<std::uint64_t> want_used) {
    const MemoryPair pair = pair_from_free_total(free, total);
    EXPECT_EQ(pair.total, want_total);
    EXPECT_EQ(pair.used, want_used);
  };
  check(200, 100, 100, std::nullopt);
  check(kNegativeOne, 100, 100, std::nullopt);
  check(0, kNegativeOne, std::nullopt, std::nullopt);
  check(std::nullopt, 100, 100, std::nullopt);
  check(0, std::nullopt, std::nullopt, std::nullopt);
  check(30, 100, 100, 70);
}

TEST(NormalizeTest, NamesDropInvalidUtf8) {
  EXPECT_EQ(drop_invalid_utf8("NVIDIA H100 80GB HBM3"), "NVIDIA H100 80GB HBM3");
  EXPECT_EQ(drop_invalid_utf8("GPU \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
            "GPU \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
  EXPECT_EQ(drop_invalid_utf8("A\xff"
                              "B\xc3"
                              "C\x80"
                              "D"),
            "ABCD");
  EXPECT_EQ(drop_invalid_utf8("\xc0\xaf\xed\xa0\x80\xf4\x90\x80\x80x"), "x");
  EXPECT_EQ(drop_invalid_utf8("trail\xe2\x82"), "trail");
}

}  // namespace
}  // namespace keepgpu::gpu
