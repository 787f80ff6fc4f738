#include "core/interval.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/errors.hpp"
#include "core/json.hpp"
#include "core/thrown.hpp"

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;

constexpr const char* kNotFinite = "interval must be finite and positive";
constexpr const char* kNotPositive = "interval must be positive";
constexpr const char* kTooLarge = "interval must be no more than 9223372036 seconds";

std::string text_error(const std::string& token) {
  return thrown<ValueError>([&] { parse_interval_text(token); });
}

Interval integer(std::int64_t value) {
  return Interval{true, value, 0.0};
}
Interval real(double value) {
  return Interval{false, 0, value};
}

TEST(IntervalText, IntegersAndIntegralDoubles) {
  EXPECT_EQ(parse_interval_text("5"), integer(5));
  EXPECT_EQ(parse_interval_text(" 7 "), integer(7));
  EXPECT_EQ(parse_interval_text("025"), integer(25));
  EXPECT_EQ(parse_interval_text("5."), integer(5));
  EXPECT_EQ(parse_interval_text("5.0"), integer(5));
  EXPECT_EQ(parse_interval_text("1e3"), integer(1000));
  EXPECT_EQ(parse_interval_text("1E+3"), integer(1000));
  EXPECT_EQ(parse_interval_text("1e+3"), integer(1000));
  EXPECT_EQ(parse_interval_text("9223372036"), integer(kMaxIntervalSeconds));
  EXPECT_EQ(parse_interval_text("9223372036.0"), integer(kMaxIntervalSeconds));
  EXPECT_EQ(parse_interval_text("\xE3\x80\x80"
                                "3\xC2\xA0"),
            integer(3));  // Unicode trim
}

TEST(IntervalText, FractionalSeconds) {
  EXPECT_EQ(parse_interval_text(".5"), real(0.5));
  EXPECT_EQ(parse_interval_text("0.05"), real(0.05));
  EXPECT_EQ(parse_interval_text("1.5e-2"), real(0.015));
  EXPECT_EQ(parse_interval_text("1e-300"), real(1e-300));
  EXPECT_EQ(parse_interval_text("1e-300").to_string(), "1e-300");
  EXPECT_EQ(parse_interval_text("0.5").to_string(), "0.5");
  EXPECT_EQ(parse_interval_text("0.00001").to_string(), "1e-05");
  EXPECT_EQ(parse_interval_text("1e-310").to_string(), "1e-310");  // subnormal is positive
  EXPECT_EQ(parse_interval_text("9223372035.5"), real(9223372035.5));
}

TEST(IntervalText, GrammarRejections) {
  for (const char* token : {"+1",    "1_000", "NaN",
                            "nan",   "inf",   "Infinity",
                            "-inf",  "0x10",  "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93",
                            "",      "   ",   "1e",
                            "e3",    ".",     "-",
                            "1.2.3", "- 1",   "1 0",
                            "1e+",   ".e1",   "5s",
                            "1e3.5"}) {
    EXPECT_EQ(text_error(token), kNotFinite) << token;
  }
  EXPECT_EQ(text_error("1e400"), kNotFinite);
  EXPECT_EQ(text_error("-1e400"), kNotFinite);
  EXPECT_EQ(text_error("1e99999999999999999999999"), kNotFinite);
}

TEST(IntervalText, NotPositive) {
  for (const char* token : {"0", "-0", "-00", "0.0", "-0.0", "-1", "-0.1", "-5.5", "1e-400",
                            "-1e-400", "0e5", "1e-99999999999999999999"}) {
    EXPECT_EQ(text_error(token), kNotPositive) << token;
  }
  EXPECT_EQ(text_error("-" + std::string(1001, '9')), kNotPositive);
}

TEST(IntervalText, OverTheCap) {
  for (const char* token : {"9223372037", "9223372036.5", "1e308", "1e10", "09223372037"}) {
    EXPECT_EQ(text_error(token), kTooLarge) << token;
  }
  EXPECT_EQ(text_error("1" + std::string(1000, '0')), kTooLarge);  // 1001 digits
  EXPECT_EQ(text_error(std::string(4301, '9')), kTooLarge);
  EXPECT_EQ(text_error(std::string(300, '9') + ".5"), kTooLarge);
  // Non-integer tokens are doubles: this one overflows to infinity, as Python's float() does.
  EXPECT_EQ(text_error(std::string(400, '9') + ".5"), kNotFinite);
}

TEST(IntervalValidate, Doubles) {
  EXPECT_EQ(validate_interval(0.05), real(0.05));
  EXPECT_EQ(validate_interval(5.0), real(5.0));  // a double keeps its kind in the API layer
  EXPECT_EQ(validate_interval(5.0).to_string(), "5.0");
  EXPECT_EQ(validate_interval(9223372036.0), real(9223372036.0));
  EXPECT_EQ(thrown<ValueError>([] { validate_interval(0.0); }), kNotPositive);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval(-0.1); }), kNotPositive);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval(std::nan("")); }), kNotFinite);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval(std::numeric_limits<double>::infinity()); }),
            kNotFinite);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval(-std::numeric_limits<double>::infinity()); }),
            kNotFinite);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval(9223372037.0); }), kTooLarge);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval(9223372036.5); }), kTooLarge);
}

TEST(IntervalValidate, Integers) {
  EXPECT_EQ(validate_interval_integer(1), integer(1));
  EXPECT_EQ(validate_interval_integer(9223372036), integer(9223372036));
  EXPECT_EQ(thrown<ValueError>([] { validate_interval_integer(9223372037); }), kTooLarge);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval_integer(0); }), kNotPositive);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval_integer(-1); }), kNotPositive);
}

TEST(IntervalValidate, JsonValues) {
  EXPECT_EQ(validate_interval_json(keepgpu::core::Json(5)), integer(5));
  EXPECT_EQ(validate_interval_json(keepgpu::core::json::parse("1e2")), real(100.0));
  EXPECT_EQ(validate_interval_json(keepgpu::core::json::parse("1e2")).to_string(), "100.0");
  EXPECT_EQ(validate_interval_json(keepgpu::core::json::parse("0.5")).to_string(), "0.5");
  const auto huge = keepgpu::core::json::parse("1" + std::string(1000, '0'));  // 10^1000
  EXPECT_EQ(thrown<ValueError>([&] { validate_interval_json(huge); }), kTooLarge);
  const auto negative_huge = keepgpu::core::json::parse("-1" + std::string(1000, '0'));
  EXPECT_EQ(thrown<ValueError>([&] { validate_interval_json(negative_huge); }), kNotPositive);
  EXPECT_EQ(thrown<ValueError>([] { validate_interval_json(keepgpu::core::json::parse("1e400")); }),
            kNotFinite);
  EXPECT_EQ(thrown<ValueError>(
                [] { validate_interval_json(keepgpu::core::Json(18446744073709551615ULL)); }),
            kTooLarge);
  for (const char* text : {"true", "false", "\"5\"", "null", "[1]", "{}"}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_interval_json(keepgpu::core::json::parse(text)); }),
              kNotFinite)
        << text;
  }
}

TEST(IntervalValue, SecondsAndText) {
  EXPECT_DOUBLE_EQ(integer(5).seconds(), 5.0);
  EXPECT_DOUBLE_EQ(real(0.25).seconds(), 0.25);
  EXPECT_EQ(integer(9223372036).to_string(), "9223372036");
  EXPECT_EQ(real(1.5e-300).to_string(), "1.5e-300");
}

TEST(PythonFloatRepr, MatchesPythonRepr) {
  EXPECT_EQ(python_float_repr(0.5), "0.5");
  EXPECT_EQ(python_float_repr(1e-5), "1e-05");
  EXPECT_EQ(python_float_repr(1.5e-300), "1.5e-300");
  EXPECT_EQ(python_float_repr(100.0), "100.0");
  EXPECT_EQ(python_float_repr(0.0), "0.0");
  EXPECT_EQ(python_float_repr(-0.0), "-0.0");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(python_float_repr(123.456), "123.456");
  EXPECT_EQ(python_float_repr(-2.5), "-2.5");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1.5e16), "1.5e+16");
  EXPECT_EQ(python_float_repr(9999999999999998.0), "9999999999999998.0");
  EXPECT_EQ(python_float_repr(123456789012345.6), "123456789012345.6");
  EXPECT_EQ(python_float_repr(1e22), "1e+22");
  EXPECT_EQ(python_float_repr(1e100), "1e+100");
  EXPECT_EQ(python_float_repr(5e-324), "5e-324");
  EXPECT_EQ(python_float_repr(1.7976931348623157e308), "1.7976931348623157e+308");
  EXPECT_EQ(python_float_repr(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(python_float_repr(-std::numeric_limits<double>::infinity()), "-inf");
  EXPECT_EQ(python_float_repr(std::nan("")), "nan");
}

}  // namespace
}  // namespace keepgpu::core
