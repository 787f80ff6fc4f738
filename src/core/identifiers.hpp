// Names that end up in URL paths, file names and sockets: job ids, hosts
// and ports. They are validated strictly because they reach paths and network calls.
#pragma once

#include <string>
#include <string_view>

namespace keepgpu::core {

// Non-empty ASCII letters, digits, '.', '_', '~', '-', and not exactly "." or "..".
bool is_valid_job_id(std::string_view id);
std::string validate_job_id(std::string_view id);

// A canonical IPv4 dotted quad or a DNS hostname; never IPv6, never padded with whitespace.
bool is_valid_host(std::string_view host);
std::string validate_host(std::string_view host);

// ASCII digits only (leading zeros allowed), value 1..65535.
int parse_port_text(std::string_view text);
int validate_port(long long port);

// A random UUID version 4 in canonical lower-case text form.
std::string generate_job_id();

}  // namespace keepgpu::core
