// ROCm masks -> ROCm SMI index: pure parsing and resolution, no library involved.
#include <gtest/gtest.h>

#include <string>

#include "gpu/rocm/rocm_visibility.hpp"

namespace keepgpu::gpu::rocm {
namespace {

using Kind = RocmMask::Kind;

// The three variables; nullptr = unset.
RocmMasks masks(const char* rocr, const char* hip, const char* cuda) {
  auto value = [](const char* text) {
    return text ? std::optional<std::string>(text) : std::nullopt;
  };
  return RocmMasks{value(rocr), value(hip), value(cuda)};
}

std::optional<std::uint32_t> resolve(int rank, const RocmMasks& env,
                                     std::optional<std::uint32_t> count = 8) {
  return resolve_rocm_smi_index(rank, env, count);
}

TEST(RocmMaskParse, UnsetAndIds) {
  EXPECT_EQ(parse_rocm_mask(std::nullopt).kind, Kind::unset);
  const RocmMask mask = parse_rocm_mask(" 3 , 5,007");
  ASSERT_EQ(mask.kind, Kind::ids);
  EXPECT_EQ(mask.ids, (std::vector<std::uint64_t>{3, 5, 7}));
  EXPECT_EQ(parse_rocm_mask("0").ids, (std::vector<std::uint64_t>{0}));
}

TEST(RocmMaskParse, Unresolvable) {
  // No "-1" truncation and no UUIDs on ROCm: all of these are simply unusable.
  for (const char* value : {"", " ", "-1", "0,-1", "0,,2", "0,", ",0", "GPU-abc123", "1.5", "+1",
                            "\xc2\xb2", "0,0", "1,01", "0x1"}) {
    EXPECT_EQ(parse_rocm_mask(value).kind, Kind::unresolvable) << '"' << value << '"';
  }
  EXPECT_EQ(parse_rocm_mask(std::string(100, '9')).kind, Kind::unresolvable);
  EXPECT_EQ(parse_rocm_mask(std::string(20, '1')).kind, Kind::unresolvable);
  // 19 significant digits are still a number (out of range for any device).
  EXPECT_EQ(parse_rocm_mask("0000" + std::string(19, '9')).kind, Kind::ids);
}

// Every combination of ROCR_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES and CUDA_VISIBLE_DEVICES.
TEST(RocmSmiIndex, MaskTable) {
  EXPECT_EQ(resolve(1, masks(nullptr, nullptr, nullptr)), 1u);
  EXPECT_EQ(resolve(1, masks(nullptr, "3,5", nullptr)), 5u);
  EXPECT_EQ(resolve(0, masks("2,4", "1", nullptr)), 4u);
  EXPECT_EQ(resolve(1, masks(nullptr, nullptr, "3,5")), 5u);
  EXPECT_EQ(resolve(1, masks(nullptr, "3,5", "3,6")), std::nullopt);
  for (int rank : {0, 1, 2})
    EXPECT_EQ(resolve(rank, masks(nullptr, "0,,2", nullptr)), std::nullopt);
  EXPECT_EQ(resolve(0, masks(nullptr, "\xc2\xb2", nullptr)), std::nullopt);
  EXPECT_EQ(resolve(0, masks("\xc2\xb2", nullptr, nullptr)), std::nullopt);
  EXPECT_EQ(resolve(0, masks(nullptr, nullptr, "\xc2\xb2")), std::nullopt);
  const std::string nines(100, '9');
  EXPECT_EQ(resolve(0, masks(nines.c_str(), nullptr, nullptr)), std::nullopt);
  EXPECT_EQ(resolve(0, masks(nullptr, nines.c_str(), nullptr)), std::nullopt);
  EXPECT_EQ(resolve(0, masks(nullptr, nullptr, nines.c_str())), std::nullopt);
  EXPECT_EQ(resolve(1, masks(nullptr, "0,9", nullptr), 4), std::nullopt);
  EXPECT_EQ(resolve(0, masks(nullptr, "9", nullptr), std::nullopt), std::nullopt);
  EXPECT_EQ(resolve(0, masks(nullptr, "GPU-abc123", nullptr)), std::nullopt);
}

// The overlay equal to the base list.
TEST(RocmSmiIndex, EqualOverlayAndBaseOnly) {
  EXPECT_EQ(resolve(0, masks(nullptr, "1,0", "1,0")), 1u);
  EXPECT_EQ(resolve(1, masks(nullptr, "1,0", " 1, 0")), 0u);
  EXPECT_EQ(resolve(1, masks("2,4", nullptr, nullptr)), 4u);
  EXPECT_EQ(resolve(0, masks("2,9", nullptr, nullptr), 4), std::nullopt);
  EXPECT_EQ(resolve(0, masks("2,4", nullptr, nullptr), std::nullopt), std::nullopt);
}

TEST(RocmSmiIndex, RanksAndCounts) {
  EXPECT_EQ(resolve(-1, masks(nullptr, nullptr, nullptr)), std::nullopt);
  EXPECT_EQ(resolve(8, masks(nullptr, nullptr, nullptr)), std::nullopt);
  // Without masks an unknown count leaves the rank unchecked, as upstream.
  EXPECT_EQ(resolve(12, masks(nullptr, nullptr, nullptr), std::nullopt), 12u);
  EXPECT_EQ(resolve(2, masks(nullptr, "3,5", nullptr)), std::nullopt);
  // The overlay indexes into the base list, and must stay inside it.
  EXPECT_EQ(resolve(1, masks("6,7", "1,0", nullptr)), 6u);
  EXPECT_EQ(resolve(0, masks("6,7", "2", nullptr)), std::nullopt);
  // An unresolvable piece anywhere spoils the whole mapping.
  EXPECT_EQ(resolve(0, masks("0", "0", "")), std::nullopt);
  EXPECT_EQ(resolve(0, masks("", "0", nullptr)), std::nullopt);
  // Set but empty HIP with a valid CUDA: unresolvable, not "take CUDA".
  EXPECT_EQ(resolve(0, masks(nullptr, "", "0")), std::nullopt);
}

}  // namespace
}  // namespace keepgpu::gpu::rocm
