#include "core/text.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "core/unicode_class.hpp"

namespace keepgpu::core::text {
namespace {

TEST(Text, TrimMatchesPythonStrip) {
  EXPECT_EQ(trim_python("  a b \t\n\v\f\r"), "a b");
  EXPECT_EQ(trim_python("\x1c\x1d\x1e\x1f"
                        "x"),
            "x");
  EXPECT_EQ(trim_python("\xC2\x85\xC2\xA0x\xE1\x9A\x80"), "x");          // U+0085, U+00A0, U+1680
  EXPECT_EQ(trim_python("\xE2\x80\x8Ax\xE2\x80\xA8\xE2\x80\xA9"), "x");  // U+200A, U+2028/9
  EXPECT_EQ(trim_python("\xE2\x80\xAFx\xE2\x81\x9F\xE3\x80\x80"), "x");  // U+202F, U+205F, U+3000
  EXPECT_EQ(trim_python("\xE2\x80\x8Bx"), "\xE2\x80\x8Bx");              // U+200B is not whitespace
  EXPECT_EQ(trim_python(" \xFF "), "\xFF");  // malformed bytes stop the trim
  EXPECT_EQ(trim_python("   "), "");
  EXPECT_EQ(trim_python(""), "");
}

TEST(Text, IntegerTokens) {
  const auto token = parse_integer_token("-007");
  ASSERT_TRUE(token);
  EXPECT_TRUE(token->negative);
  EXPECT_EQ(token->digits, "7");
  EXPECT_TRUE(parse_integer_token("-00")->is_signed_zero());
  EXPECT_TRUE(parse_integer_token("000")->is_zero());
  EXPECT_FALSE(parse_integer_token("000")->is_signed_zero());
  for (const char* text : {"", "-", "+1", "1_0", "1.0", " 1", "--1", "1-"}) {
    EXPECT_FALSE(parse_integer_token(text)) << text;
  }
}

TEST(Text, MagnitudeHelpers) {
  EXPECT_LT(compare_magnitude("99", 100), 0);
  EXPECT_EQ(compare_magnitude("100", 100), 0);
  EXPECT_GT(compare_magnitude("101", 100), 0);
  EXPECT_GT(compare_magnitude(std::string(5000, '9'), 100), 0);
  EXPECT_EQ(magnitude_saturating("123", 1000), 123u);
  EXPECT_EQ(magnitude_saturating(std::string(40, '9'), 1000), 1000u);
}

TEST(Text, DecimalDoubles) {
  EXPECT_EQ(parse_decimal_double("0.1"), 0.1);
  EXPECT_EQ(parse_decimal_double("1e-310"), 1e-310);
  EXPECT_TRUE(std::isinf(parse_decimal_double("1e309")));
  EXPECT_TRUE(std::isinf(parse_decimal_double("0.001e312")));
  EXPECT_EQ(parse_decimal_double("100000e-330"), 0.0);  // 1e-325 underflows
  EXPECT_EQ(parse_decimal_double("1e-99999999999999999999"), 0.0);
  EXPECT_TRUE(std::signbit(parse_decimal_double("-1e-400")));
  EXPECT_TRUE(std::isinf(parse_decimal_double(std::string(400, '9'))));
  EXPECT_THROW(parse_decimal_double("1x"), std::invalid_argument);
}

TEST(Text, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain \xC3\xA9 \xF0\x9F\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xF5\x80\x80\x80"));  // beyond U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong
  EXPECT_FALSE(is_valid_utf8("\xED\xBF\xBF"));      // surrogate
  EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated
}

TEST(Text, UnicodeClasses) {
  EXPECT_TRUE(is_unicode_digit(U'7'));
  EXPECT_TRUE(is_unicode_digit(0xFF11));  // full-width 1
  EXPECT_TRUE(is_unicode_digit(0x0663));  // Arabic-Indic 3
  EXPECT_TRUE(is_unicode_digit(0x00B2));  // superscript 2 (Python isdigit)
  EXPECT_FALSE(is_unicode_digit(U'a'));
  EXPECT_TRUE(is_unicode_letter(U'a'));
  EXPECT_TRUE(is_unicode_letter(0x00E9));   // e acute
  EXPECT_TRUE(is_unicode_letter(0x4E2D));   // CJK
  EXPECT_FALSE(is_unicode_letter(0xFF11));  // digits are not letters
  EXPECT_FALSE(is_unicode_letter(U'%'));
  EXPECT_TRUE(contains_unicode_digit("x\xEF\xBC\x91"));
  EXPECT_FALSE(contains_unicode_letter("\xEF\xBC\x91\xEF\xBC\x92"));
}

TEST(Text, AppendUtf8EncodesEveryLength) {
  std::string out;
  for (const char32_t cp : {U'A', U'\u00e9', U'\u20ac', U'\U0001F600'})
    append_utf8(out, cp);
  EXPECT_EQ(out, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  EXPECT_TRUE(is_valid_utf8(out));
}

TEST(Text, JsonSimpleEscapes) {
  EXPECT_EQ(json_simple_escape('n'), '\n');
  EXPECT_EQ(json_simple_escape('t'), '\t');
  EXPECT_EQ(json_simple_escape('b'), '\b');
  EXPECT_EQ(json_simple_escape('f'), '\f');
  EXPECT_EQ(json_simple_escape('r'), '\r');
  EXPECT_EQ(json_simple_escape('"'), '"');
  EXPECT_EQ(json_simple_escape('\\'), '\\');
  EXPECT_EQ(json_simple_escape('/'), '/');
  EXPECT_EQ(json_simple_escape('u'), std::nullopt) << "\\u needs its four hex digits";
  EXPECT_EQ(json_simple_escape('x'), std::nullopt);
  EXPECT_EQ(json_simple_escape('\''), std::nullopt);
}

TEST(Text, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0U);
  EXPECT_EQ(edit_distance("--vram", "--vram"), 0U);
  EXPECT_EQ(edit_distance("--vrma", "--vram"), 2U);  // a swap is two edits
  EXPECT_EQ(edit_distance("--intervl", "--interval"), 1U);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3U);
  EXPECT_EQ(edit_distance("", "abc"), 3U);
  EXPECT_EQ(edit_distance("abc", ""), 3U);
}

TEST(Text, PythonRepr) {
  EXPECT_EQ(python_repr("job-1"), "'job-1'");
  EXPECT_EQ(python_repr("it's"), "\"it's\"");
  EXPECT_EQ(python_repr("both'\""), "'both\\'\"'");
  EXPECT_EQ(python_repr("a\\b\n\r\t"), "'a\\\\b\\n\\r\\t'");
  EXPECT_EQ(python_repr(std::string("\x01\x7f", 2)), "'\\x01\\x7f'");
  EXPECT_EQ(python_repr("\xc2\x85"), "'\\x85'") << "C1 controls are escaped, as Python does";
  EXPECT_EQ(python_repr("\xc3\xa9"), "'\xc3\xa9'") << "printable text stays as is";
  EXPECT_EQ(python_repr("\xff"), "'\\xff'") << "a malformed byte";
}

TEST(Utf8DecodeError, ValidTextHasNoError) {
  EXPECT_EQ(utf8_decode_error("plain {} \xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::nullopt);
}

TEST(Utf8DecodeError, MessagesMatchCPython) {
  EXPECT_EQ(utf8_decode_error("{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}"),
            "'utf-8' codec can't decode byte 0xff in position 27: invalid start byte");
  EXPECT_EQ(utf8_decode_error("\x80"),
            "'utf-8' codec can't decode byte 0x80 in position 0: invalid start byte");
  EXPECT_EQ(utf8_decode_error("ab\xC3"),
            "'utf-8' codec can't decode byte 0xc3 in position 2: unexpected end of data");
  EXPECT_EQ(utf8_decode_error("\xE2\x82"),
            "'utf-8' codec can't decode bytes in position 0-1: unexpected end of data");
  EXPECT_EQ(utf8_decode_error("\xC3("),
            "'utf-8' codec can't decode byte 0xc3 in position 0: invalid continuation byte");
  EXPECT_EQ(utf8_decode_error("\xE2\x82("),
            "'utf-8' codec can't decode bytes in position 0-1: invalid continuation byte");
  // Surrogates and overlong forms fail on their second byte.
  EXPECT_EQ(utf8_decode_error("\xED\xA0\x80"),
            "'utf-8' codec can't decode byte 0xed in position 0: invalid continuation byte");
  EXPECT_EQ(utf8_decode_error("\xC0\x80"),
            "'utf-8' codec can't decode byte 0xc0 in position 0: invalid start byte");
}

}  // namespace
}  // namespace keepgpu::core::text
