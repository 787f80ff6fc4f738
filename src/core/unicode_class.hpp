// Unicode character classes needed by the deprecated `--threshold` classification,
// which decides its error message by whether the text holds letters or digits as Python's
// str.isalpha() / str.isdigit() see them.
#pragma once

#include <string_view>

namespace keepgpu::core::text {

// Python str.isdigit(): ASCII digits plus every other Unicode digit (full-width, Arabic-Indic,
// superscripts, ...).
bool is_unicode_digit(char32_t code_point);

// Approximates Python str.isalpha(): ASCII letters, and for other code points the C.UTF-8
// locale's alphabetic class minus digits. glibc also counts combining marks as alphabetic; that
// only changes which of two error messages a nonsensical threshold value gets.
bool is_unicode_letter(char32_t code_point);

// Scans UTF-8 text; malformed bytes are neither letters nor digits.
bool contains_unicode_letter(std::string_view text);
bool contains_unicode_digit(std::string_view text);

}  // namespace keepgpu::core::text
