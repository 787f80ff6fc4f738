#include "service/http/security.hpp"

#include <algorithm>
#include <array>

#include "core/text.hpp"
#include "service/http/request_target.hpp"

namespace keepgpu::service::http {
namespace {

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && lower_ascii(a) == lower_ascii(b);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    text.remove_suffix(1);
  return text;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), core::text::is_ascii_digit);
}

struct HostPort {
  std::string name;                 // lower-case; IPv6 literals keep their brackets
  std::optional<std::string> port;  // digits
};

// "name", "name:port", "[v6]" or "[v6]:port"; nullopt for anything else.
std::optional<HostPort> split_host(std::string_view value) {
  value = trim(value);
  HostPort result;
  std::string_view rest;
  if (value.starts_with('[')) {
    const auto close = value.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    result.name = lower_ascii(value.substr(0, close + 1));
    rest = value.substr(close + 1);
  } else {
    const auto colon = value.find(':');
    if (colon != std::string_view::npos && value.find(':', colon + 1) != std::string_view::npos) {
      return std::nullopt;  // a bare IPv6 literal is not a valid Host
    }
    result.name = lower_ascii(value.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view{} : value.substr(colon);
  }
  if (result.name.empty()) return std::nullopt;
  if (!rest.empty()) {
    if (rest.front() != ':' || !all_digits(rest.substr(1)) || rest.size() > 6) return std::nullopt;
    result.port = std::string(rest.substr(1));
  }
  return result;
}

constexpr std::array<std::string_view, 3> kLoopbackNames = {"localhost", "127.0.0.1", "[::1]"};

std::vector<std::string> accepted_names(const ListenerPolicy& policy) {
  std::vector<std::string> names(kLoopbackNames.begin(), kLoopbackNames.end());
  if (policy.tcp && !policy.bound_host.empty()) names.push_back(lower_ascii(policy.bound_host));
  for (const auto& extra : policy.extra_hosts)
    names.push_back(lower_ascii(extra));
  return names;
}

bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

bool any_host_accepted(const ListenerPolicy& policy) {
  return policy.tcp && policy.token.has_value() && !is_loopback_name(policy.bound_host);
}

}  // namespace

bool is_loopback_name(std::string_view host) {
  const std::string name = lower_ascii(host);
  return name == "localhost" || name == "::1" || name == "[::1]" || name.starts_with("127.");
}

bool host_allowed(const ListenerPolicy& policy, const std::optional<std::string>& host) {
  if (!host) return true;
  const auto parsed = split_host(*host);
  if (!parsed) return false;
  if (!policy.tcp) return contains(accepted_names(policy), parsed->name);
  if (any_host_accepted(policy)) return true;
  if (parsed->port && std::stoi(*parsed->port) != policy.port) return false;
  return contains(accepted_names(policy), parsed->name);
}

bool origin_allowed(const ListenerPolicy& policy, const std::optional<std::string>& host,
                    const std::optional<std::string>& origin) {
  if (!origin) return true;
  const std::string given = lower_ascii(trim(*origin));
  if (host) return given == "http://" + lower_ascii(trim(*host));
  if (!given.starts_with("http://")) return false;
  const auto parsed = split_host(std::string_view(given).substr(7));
  if (!parsed || !contains(accepted_names(policy), parsed->name)) return false;
  if (!policy.tcp) return true;
  return parsed->port && std::stoi(*parsed->port) == policy.port;
}

bool token_accepted(const ListenerPolicy& policy, const std::optional<std::string>& authorization) {
  if (!policy.tcp || !policy.token) return true;
  if (!authorization) return false;
  const std::string_view value = trim(*authorization);
  const auto space = value.find(' ');
  if (space == std::string_view::npos || !iequals(value.substr(0, space), "bearer")) return false;
  return constant_time_equals(trim(value.substr(space + 1)), *policy.token);
}

std::string session_cookie_name(int port) {
  return "keepgpu_session_" + std::to_string(port);
}

std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name) {
  std::size_t pos = 0;
  while (pos <= cookie_header.size()) {
    const auto semicolon = cookie_header.find(';', pos);
    const auto end = semicolon == std::string_view::npos ? cookie_header.size() : semicolon;
    const std::string_view pair = trim(cookie_header.substr(pos, end - pos));
    const auto equals = pair.find('=');
    if (equals != std::string_view::npos && trim(pair.substr(0, equals)) == name) {
      std::string_view value = trim(pair.substr(equals + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    if (semicolon == std::string_view::npos) break;
    pos = semicolon + 1;
  }
  return std::nullopt;
}

bool cookie_session_accepted(const ListenerPolicy& policy,
                             const std::optional<std::string>& cookie) {
  if (!policy.tcp || !policy.token) return true;
  // Without a secret no cookie can log in (an empty value must not match an empty secret).
  if (!cookie || policy.session_secret.empty()) return false;
  const auto value = cookie_value(*cookie, session_cookie_name(policy.port));
  return value && constant_time_equals(*value, policy.session_secret);
}

std::optional<std::string> query_value(std::string_view query, std::string_view key) {
  std::size_t pos = 0;
  while (pos <= query.size()) {
    const auto amp = query.find('&', pos);
    const auto end = amp == std::string_view::npos ? query.size() : amp;
    const std::string_view pair = query.substr(pos, end - pos);
    const auto equals = pair.find('=');
    if (pair.substr(0, equals) == key) {
      return equals == std::string_view::npos ? std::string()
                                              : percent_decode(pair.substr(equals + 1));
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return std::nullopt;
}

bool is_json_content_type(const std::optional<std::string>& content_type) {
  if (!content_type) return false;
  std::string_view media = *content_type;
  media = trim(media.substr(0, media.find(';')));
  return iequals(media, "application/json");
}

bool constant_time_equals(std::string_view given, std::string_view expected) {
  unsigned difference = given.size() == expected.size() ? 0U : 1U;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto g = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    difference |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return difference == 0;
}

}  // namespace keepgpu::service::http
