#include "core/vram.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/thrown.hpp"

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;

constexpr const char* kTooLarge = "vram must be no more than 1 PiB";
constexpr const char* kTooSmall = "memory size must be at least 4 bytes";
constexpr std::uint64_t kPiB = 1ULL << 50;

std::string value_error(const std::string& text) {
  return thrown<ValueError>([&] { parse_vram_elements(text); });
}

std::string unknown_unit(const std::string& unit) {
  return "unknown unit: " + unit +
         ", should be one of B, KB, MB, GB, TB, KiB, MiB, GiB, TiB, Kb, Mb, Gb, Tb, KIb, MIb, "
         "GIb, TIb";
}

std::string invalid_format(const std::string& normalized) {
  return "invalid format: " + normalized + ", should be like '1000 MB'";
}

TEST(Vram, ReferenceElementCounts) {
  EXPECT_EQ(parse_vram_elements("1073741824"), 268435456u);
  EXPECT_EQ(parse_vram_elements("1GiB"), 268435456u);
  EXPECT_EQ(parse_vram_elements("512MB"), 128000000u);
  EXPECT_EQ(parse_vram_elements("1gb"), 250000000u);
  EXPECT_EQ(parse_vram_elements("1Gb"), 31250000u);
  EXPECT_EQ(parse_vram_elements("1Gib"), 33554432u);
  EXPECT_EQ(parse_vram_elements("1GIb"), 33554432u);
  EXPECT_EQ(parse_vram_elements("4"), 1u);
  EXPECT_EQ(parse_vram_elements("0.004KB"), 1u);
  EXPECT_EQ(parse_vram_elements(".5KB"), 125u);
  EXPECT_EQ(parse_vram_elements("1.5GiB"), 402653184u);
  EXPECT_EQ(parse_vram_elements("0.1KB"), 25u);
  EXPECT_EQ(parse_vram_elements("10"), 2u);
  EXPECT_EQ(vram_elements_from_bytes(1073741824), 268435456u);
}

TEST(Vram, BitsAreFlooredToWholeElements) {
  // 1 kilobit = 125 bytes -> 31 elements (124 bytes actually held).
  EXPECT_EQ(parse_vram_bytes("1Kb"), 125u);
  EXPECT_EQ(parse_vram_elements("1Kb"), 31u);
  EXPECT_EQ(parse_vram_bytes("1.9"), 1u);
  EXPECT_EQ(parse_vram_bytes("0.5"), 0u);
}

TEST(Vram, UnitCanonicalisation) {
  EXPECT_EQ(parse_vram_elements("1gib"), 268435456u);
  EXPECT_EQ(parse_vram_elements("1GIB"), 268435456u);
  EXPECT_EQ(parse_vram_elements("1giB"), 268435456u);
  EXPECT_EQ(parse_vram_elements("1gB"), 250000000u);  // gB -> GB
  EXPECT_EQ(parse_vram_elements("1GB"), 250000000u);
  EXPECT_EQ(parse_vram_elements("1kb"), 250u);     // kb -> KB (bytes)
  EXPECT_EQ(parse_vram_elements("1Mib"), 32768u);  // Mib -> MIb (bits)
  EXPECT_EQ(parse_vram_elements(" 1 GiB "), 268435456u);
  EXPECT_EQ(parse_vram_elements("0001GiB"), 268435456u);
  EXPECT_EQ(parse_vram_elements("1 1"), 2u);  // spaces removed: 11 bytes
  EXPECT_EQ(value_error("1bytes"), unknown_unit("BYTES"));
  EXPECT_EQ(value_error("1 0 0 x y"), unknown_unit("XY"));
}

TEST(Vram, ByteAndTerabyteUnitsAreAccepted) {
  EXPECT_EQ(parse_vram_bytes("1TB"), 1000000000000u);
  EXPECT_EQ(parse_vram_elements("1TB"), 250000000000u);
  EXPECT_EQ(parse_vram_elements("1tb"), 250000000000u);
  EXPECT_EQ(parse_vram_elements("1TiB"), 1ULL << 38);
  EXPECT_EQ(parse_vram_elements("1tib"), 1ULL << 38);
  EXPECT_EQ(parse_vram_elements("2TiB"), 1ULL << 39);
  EXPECT_EQ(parse_vram_elements("1Tb"), 31250000000u);
  EXPECT_EQ(parse_vram_elements("1TIb"), 1ULL << 35);
  EXPECT_EQ(parse_vram_bytes("100B"), 100u);
  EXPECT_EQ(parse_vram_elements("100B"), 25u);
  EXPECT_EQ(parse_vram_elements("1024TiB"), kPiB / 4);
  EXPECT_EQ(value_error("1025TiB"), kTooLarge);
  EXPECT_EQ(value_error("1024.0000001TiB"), kTooLarge);
  EXPECT_EQ(value_error("1126TB"), kTooLarge);
}

TEST(Vram, UnknownUnitsUseCleanMessage) {
  EXPECT_EQ(value_error("1G"), unknown_unit("G"));
  EXPECT_EQ(value_error("1K"), unknown_unit("K"));
  EXPECT_EQ(value_error("1b"), unknown_unit("b"));  // one letter is kept as typed: bits, unknown
  EXPECT_EQ(value_error("1PiB"), unknown_unit("PIB"));
  EXPECT_EQ(value_error("1bB"), unknown_unit("BB"));
  EXPECT_EQ(value_error("1xy"), unknown_unit("XY"));
  EXPECT_EQ(value_error("1Bb"), unknown_unit("Bb"));
  EXPECT_EQ(value_error(" 1 G iB x "), unknown_unit("GIBx"));  // mixed case keeps the last letter
}

TEST(Vram, OnePiBIsTheCap) {
  EXPECT_EQ(parse_vram_elements("1125899906842624"), kPiB / 4);
  EXPECT_EQ(parse_vram_elements("01125899906842624"), kPiB / 4);
  EXPECT_EQ(parse_vram_elements("1125899906842624.0"), kPiB / 4);
  EXPECT_EQ(parse_vram_elements("1048576GiB"), kPiB / 4);
  EXPECT_EQ(vram_elements_from_bytes(static_cast<long long>(kPiB)), kPiB / 4);

  EXPECT_EQ(thrown<ValueError>([] { vram_elements_from_bytes(static_cast<long long>(kPiB) + 1); }),
            kTooLarge);
  EXPECT_EQ(value_error("1125899906842625"), kTooLarge);
  EXPECT_EQ(value_error("1125899906842624.1"), kTooLarge);
  EXPECT_EQ(value_error("1048576.0000000000000000000000001GiB"), kTooLarge);
  EXPECT_EQ(value_error("1" + std::string(1000, '0')), kTooLarge);
  EXPECT_EQ(value_error(std::string(500, '9')), kTooLarge);
  EXPECT_EQ(value_error(std::string(4301, '9')), kTooLarge);
  EXPECT_EQ(value_error(std::string(500, '9') + "GiB"), kTooLarge);
  EXPECT_EQ(value_error("0." + std::string(5000, '9') + "TiB"), "<no exception>");
  EXPECT_EQ(value_error(std::string(10000, '0') + "1GiB"), "<no exception>");
}

TEST(Vram, TooSmall) {
  for (const char* text : {"3", "0", "0GB", "3.9", "3.99", "1.5", "0.03125Kb"}) {
    EXPECT_EQ(value_error(text), kTooSmall) << text;
  }
  for (long long bytes : {1LL, 0LL, 3LL, -8LL, -1LL << 60}) {
    EXPECT_EQ(thrown<ValueError>([&] { vram_elements_from_bytes(bytes); }), kTooSmall) << bytes;
  }
  EXPECT_EQ(vram_elements_from_bytes(7), 1u);
}

TEST(Vram, InvalidFormatQuotesNormalizedText) {
  EXPECT_EQ(value_error("not-a-size"), invalid_format("not-a-size"));
  EXPECT_EQ(value_error(""), invalid_format(""));
  EXPECT_EQ(value_error("   "), invalid_format(""));
  EXPECT_EQ(value_error("1."), invalid_format("1."));
  EXPECT_EQ(value_error("-1GB"), invalid_format("-1GB"));
  EXPECT_EQ(value_error("1,000"), invalid_format("1,000"));
  EXPECT_EQ(value_error("1GiB/s"), invalid_format("1GiB/s"));
  EXPECT_EQ(value_error("1e3"), invalid_format("1e3"));
  EXPECT_EQ(value_error("1e9"), invalid_format("1e9"));
  EXPECT_EQ(value_error("+1"), invalid_format("+1"));
  EXPECT_EQ(value_error("1.2.3"), invalid_format("1.2.3"));
  EXPECT_EQ(value_error("abc"), invalid_format("abc"));
  EXPECT_EQ(value_error("1\t0"), invalid_format("1\t0"));  // inner tabs are not removed
  EXPECT_EQ(value_error("\t1 2 GB\n"), "<no exception>");  // outer whitespace is trimmed
}

TEST(Vram, IsValid) {
  EXPECT_TRUE(is_valid_vram("2GiB"));
  EXPECT_TRUE(is_valid_vram("4096.0"));
  EXPECT_FALSE(is_valid_vram("3"));
  EXPECT_FALSE(is_valid_vram("1PiB"));
  EXPECT_FALSE(is_valid_vram("x"));
  EXPECT_FALSE(is_valid_vram(std::string(600, '9')));
}

TEST(Vram, NormalizedText) {
  EXPECT_EQ(normalize_vram_text(" 1 GiB "), "1GiB");
  EXPECT_EQ(normalize_vram_text("\xC2\xA0"
                                "1 GiB\xE3\x80\x80"),
            "1GiB");
  EXPECT_EQ(normalize_vram_text("1\t GiB"), "1\tGiB");
}

TEST(Vram, JsonValues) {
  EXPECT_EQ(parse_vram_elements_json(keepgpu::core::Json("1GiB")), 268435456u);
  EXPECT_EQ(parse_vram_elements_json(keepgpu::core::Json(1073741824)), 268435456u);
  EXPECT_EQ(parse_vram_elements_json(keepgpu::core::Json(kPiB)), kPiB / 4);
  EXPECT_EQ(thrown<ValueError>([] { parse_vram_elements_json(keepgpu::core::Json(kPiB + 1)); }),
            kTooLarge);
  // 10^1000 as a JSON integer saturates in the strict parser and is still over the cap.
  const auto huge = keepgpu::core::json::parse("1" + std::string(1000, '0'));
  EXPECT_EQ(thrown<ValueError>([&] { parse_vram_elements_json(huge); }), kTooLarge);
  EXPECT_EQ(thrown<ValueError>([] { parse_vram_elements_json(keepgpu::core::Json(-8)); }),
            kTooSmall);
  EXPECT_EQ(thrown<TypeError>([] { parse_vram_elements_json(keepgpu::core::Json(1.0)); }),
            "vram_to_keep must be str or int bytes, got float");
  EXPECT_EQ(thrown<TypeError>([] { parse_vram_elements_json(keepgpu::core::Json(true)); }),
            "vram_to_keep must be str or int bytes, got boolean");
  EXPECT_EQ(thrown<TypeError>([] { parse_vram_elements_json(keepgpu::core::Json()); }),
            "vram_to_keep must be str or int bytes, got null");
  EXPECT_EQ(thrown<TypeError>([] { parse_vram_elements_json(keepgpu::core::Json::array()); }),
            "vram_to_keep must be str or int bytes, got array");
  EXPECT_EQ(thrown<TypeError>([] { parse_vram_elements_json(keepgpu::core::Json::object()); }),
            "vram_to_keep must be str or int bytes, got object");
}

TEST(FormatBytes, BinaryUnitsWithOneDecimal) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(4), "0.0 MiB");
  EXPECT_EQ(format_bytes(8ULL << 20), "8.0 MiB");
  EXPECT_EQ(format_bytes((1ULL << 30) - 1), "1024.0 MiB");
  EXPECT_EQ(format_bytes(1ULL << 30), "1.0 GiB");
  EXPECT_EQ(format_bytes(3ULL << 29), "1.5 GiB");
}

}  // namespace
}  // namespace keepgpu::core
