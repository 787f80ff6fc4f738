// Text scanning helpers shared by the value parsers (sizes, intervals, thresholds, ids). They
// exist so every parser agrees on what "trim" and "integer token" mean.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace keepgpu::core::text {

inline bool is_ascii_digit(char c) {
  return c >= '0' && c <= '9';
}
inline bool is_ascii_letter(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Decodes one UTF-8 code point at `pos` and advances `pos` past it. Returns std::nullopt (and
// advances by one byte) for malformed, overlong or surrogate sequences.
std::optional<char32_t> decode_utf8(std::string_view text, std::size_t& pos);

// Python's repr() of a str given as UTF-8: single quotes unless only they occur, backslash
// escapes for the quote, backslash, \n \r \t, \xNN for controls (C0, DEL, C1, NBSP, soft
// hyphen) and for malformed bytes; other text as is.
std::string python_repr(std::string_view utf8);

// Levenshtein distance in bytes (insert, delete, substitute), for "Did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);

// Appends the UTF-8 encoding of `code_point` (at most U+10FFFF).
void append_utf8(std::string& out, char32_t code_point);

// What a one-letter JSON escape (the letter after the backslash: " \\ / b f n r t) stands for;
// nullopt for 'u' and for anything JSON does not allow.
std::optional<char> json_simple_escape(char letter);

// True when the whole text is well-formed UTF-8.
bool is_valid_utf8(std::string_view text);

// Whitespace as Python's str.isspace() sees it, so trimming matches upstream's str.strip().
bool is_python_space(char32_t code_point);

// Removes leading and trailing Python whitespace (ASCII and Unicode) from UTF-8 text. Malformed
// bytes are never whitespace, so they stop the trim.
std::string_view trim_python(std::string_view text);

// An integer token: optional single '-', then one or more ASCII digits.
struct IntegerToken {
  bool negative = false;
  std::string_view digits;  // significant digits, leading zeros removed; empty means zero
  bool is_zero() const { return digits.empty(); }
  bool is_signed_zero() const { return negative && digits.empty(); }
};

std::optional<IntegerToken> parse_integer_token(std::string_view text);

// Compares the magnitude of a token's significant digits with `limit` without converting, so
// tokens of any length are safe. Returns <0, 0 or >0.
int compare_magnitude(std::string_view significant_digits, unsigned long long limit);

// Converts significant digits to an unsigned value, saturating at `ceiling`.
unsigned long long magnitude_saturating(std::string_view significant_digits,
                                        unsigned long long ceiling);

// Converts a decimal float token (optional '-', digits, optional '.', optional exponent; no '+'
// sign in front) the way Python's float() does: correctly rounded, overflow becomes +-infinity and
// underflow becomes +-0.0. Locale-independent. Throws std::invalid_argument on malformed input.
double parse_decimal_double(std::string_view token);

// Strict UTF-8 check. Returns Python's UnicodeDecodeError text for the first bad sequence, e.g.
// "'utf-8' codec can't decode byte 0xff in position 29: invalid start byte", or nullopt when
// the bytes are valid UTF-8.
std::optional<std::string> utf8_decode_error(std::string_view bytes);

}  // namespace keepgpu::core::text
