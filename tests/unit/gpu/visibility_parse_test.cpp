// CUDA_VISIBLE_DEVICES parsing rules.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_gpu.hpp"
#include "gpu/visibility.hpp"

namespace keepgpu::gpu {
namespace {

using Kind = MaskToken::Kind;

std::vector<std::string> texts(const CudaVisibleMask& mask) {
  std::vector<std::string> out;
  for (const auto& token : mask.tokens)
    out.push_back(token.text);
  return out;
}

TEST(CudaVisibleMaskTest, UnsetIsIdentityAndPermitsFallback) {
  const auto mask = parse_cuda_visible_devices(std::nullopt);
  EXPECT_FALSE(mask.set);
  EXPECT_TRUE(mask.valid);
  EXPECT_TRUE(mask.tokens.empty());
  EXPECT_TRUE(mask.permits_fallback());
}

TEST(CudaVisibleMaskTest, EmptyOrMinusOneHidesEverythingValidly) {
  for (const char* value : {"", "   ", "-1", " -1 ", "\t-1\n"}) {
    const auto mask = parse_cuda_visible_devices(std::string_view(value));
    EXPECT_TRUE(mask.set) << value;
    EXPECT_TRUE(mask.valid) << value;
    EXPECT_TRUE(mask.tokens.empty()) << value;
    EXPECT_FALSE(mask.permits_fallback()) << value;
  }
}

TEST(CudaVisibleMaskTest, NumericTokensAreTrimmed) {
  const auto mask = parse_cuda_visible_devices(std::string_view("3, 5"));
  ASSERT_TRUE(mask.valid);
  ASSERT_EQ(mask.tokens.size(), 2u);
  EXPECT_EQ(mask.tokens[0].kind, Kind::index);
  EXPECT_EQ(mask.tokens[0].index, 3u);
  EXPECT_EQ(mask.tokens[1].index, 5u);
  EXPECT_TRUE(mask.permits_fallback());
}

TEST(CudaVisibleMaskTest, MinusOneTruncatesBeforeValidation) {
  EXPECT_EQ(texts(parse_cuda_visible_devices(std::string_view("0,2,-1,1"))),
            (std::vector<std::string>{"0", "2"}));
  EXPECT_EQ(texts(parse_cuda_visible_devices(std::string_view("0,-1,2"))),
            (std::vector<std::string>{"0"}));
  const auto hidden = parse_cuda_visible_devices(std::string_view("-1,0"));
  EXPECT_TRUE(hidden.valid);
  EXPECT_TRUE(hidden.tokens.empty());
  EXPECT_FALSE(hidden.permits_fallback());
  // Empty tokens after the -1 no longer matter.
  const auto truncated = parse_cuda_visible_devices(std::string_view("0,-1,,"));
  EXPECT_TRUE(truncated.valid);
  EXPECT_EQ(texts(truncated), (std::vector<std::string>{"0"}));
}

TEST(CudaVisibleMaskTest, EmptyTokensMakeTheMaskInvalid) {
  for (const char* value : {"0,,2", "0,,", "3,,5", ",0", "0, ,1"}) {
    const auto mask = parse_cuda_visible_devices(std::string_view(value));
    EXPECT_TRUE(mask.set) << value;
    EXPECT_FALSE(mask.valid) << value;
    EXPECT_FALSE(mask.permits_fallback()) << value;
  }
}

TEST(CudaVisibleMaskTest, NonAsciiTokensAreInvalid) {
  for (const char* value : {"\xc2\xb2", "GPU-\xc2\xb2", "0,\xef\xbc\x91"}) {
    EXPECT_FALSE(parse_cuda_visible_devices(std::string_view(value)).valid) << value;
  }
}

TEST(CudaVisibleMaskTest, UnicodeWhitespaceIsTrimmedLikePython) {
  // U+00A0 and U+3000 are whitespace to str.strip(), so these tokens are plain "0" and "1".
  const auto mask =
      parse_cuda_visible_devices(std::string_view("\xc2\xa0"
                                                  "0,1\xe3\x80\x80"));
  ASSERT_TRUE(mask.valid);
  EXPECT_EQ(texts(mask), (std::vector<std::string>{"0", "1"}));
}

TEST(CudaVisibleMaskTest, LongNumericTokens) {
  EXPECT_FALSE(parse_cuda_visible_devices(std::string(100, '9')).valid);
  // Leading zeros do not count towards the 19 significant digits.
  const auto padded = parse_cuda_visible_devices(std::string(30, '0') + "7");
  ASSERT_TRUE(padded.valid);
  EXPECT_EQ(padded.tokens[0].index, 7u);
  // 19 digits above 2^63-1 are still accepted (and then out of range anyway).
  const auto big = parse_cuda_visible_devices(std::string_view("9999999999999999999"));
  ASSERT_TRUE(big.valid);
  EXPECT_EQ(big.tokens[0].index, 9999999999999999999ULL);
  EXPECT_FALSE(parse_cuda_visible_devices(std::string_view("10000000000000000000")).valid);
  const auto zeros = parse_cuda_visible_devices(std::string_view("000"));
  ASSERT_TRUE(zeros.valid);
  EXPECT_EQ(zeros.tokens[0].index, 0u);
}

TEST(CudaVisibleMaskTest, OtherTokensAreUuidStyleWithLowerCaseKeys) {
  const auto mask = parse_cuda_visible_devices(std::string_view("GPU-ABC123,MIG-x,-2,+1,1.5"));
  ASSERT_TRUE(mask.valid);
  ASSERT_EQ(mask.tokens.size(), 5u);
  for (const auto& token : mask.tokens)
    EXPECT_EQ(token.kind, Kind::uuid) << token.text;
  EXPECT_EQ(mask.tokens[0].text, "GPU-ABC123");
  EXPECT_EQ(mask.tokens[0].key, "gpu-abc123");
  EXPECT_TRUE(mask.has_uuid_tokens());
  EXPECT_FALSE(mask.has_index_tokens());
}

TEST(CudaVisibleMaskTest, DuplicateKeysMakeTheMaskInvalid) {
  for (const char* value :
       {"0,0", "0,00", "GPU-abc123,GPU-abc123", "GPU-abc123,gpu-abc123", "1, 2 ,1"}) {
    EXPECT_FALSE(parse_cuda_visible_devices(std::string_view(value)).valid) << value;
  }
  // An index and a UUID token never collide by key.
  EXPECT_TRUE(parse_cuda_visible_devices(std::string_view("0,GPU-0")).valid);
}

TEST(CudaVisibleMaskTest, ReadsTheEnvironmentOnEveryCall) {
  {
    testing::ScopedEnv env("CUDA_VISIBLE_DEVICES", "1,0");
    EXPECT_EQ(texts(cuda_visible_mask()), (std::vector<std::string>{"1", "0"}));
  }
  {
    testing::ScopedEnv env("CUDA_VISIBLE_DEVICES", std::nullopt);
    EXPECT_FALSE(cuda_visible_mask().set);
  }
}

}  // namespace
}  // namespace keepgpu::gpu
