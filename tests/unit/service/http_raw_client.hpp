// A deliberately dumb HTTP client for the server tests: it writes the exact bytes a test gives
// (duplicate or malformed headers included) on a fresh TCP or Unix connection and reads until
// the server closes. Nothing here interprets more than the status line and header names.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "core/json.hpp"

namespace keepgpu::service::http_testing {

struct RawResponse {
  int status = 0;                                   // 0: the server closed without a reply
  std::multimap<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::optional<std::string> header(const std::string& name) const {
    const auto found = headers.find(name);
    if (found == headers.end()) return std::nullopt;
    return found->second;
  }
  keepgpu::core::Json json() const { return keepgpu::core::Json::parse(body); }
  std::string message() const { return json()["error"]["message"]; }
};

inline int connect_tcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to 127.0.0.1 failed");
  }
  return fd;
}

inline int connect_unix(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    throw std::runtime_error("connect to " + path + " failed");
  }
  return fd;
}

inline void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto sent = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent <= 0) return;  // the server may answer and close before reading everything
    bytes.remove_prefix(static_cast<std::size_t>(sent));
  }
}

// Everything the server sends until it closes (or `timeout_s` passes without data).
inline std::string read_all(int fd, int timeout_s = 15) {
  timeval timeout{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string data;
  char buffer[8192];
  while (true) {
    const auto got = ::recv(fd, buffer, sizeof buffer, 0);
    if (got <= 0) break;
    data.append(buffer, static_cast<std::size_t>(got));
  }
  return data;
}

inline RawResponse parse_response(const std::string& data) {
  RawResponse response;
  const auto head_end = data.find("\r\n\r\n");
  if (data.rfind("HTTP/", 0) != 0 || head_end == std::string::npos) return response;
  response.status = std::stoi(data.substr(9, 3));
  response.body = data.substr(head_end + 4);
  std::size_t line = data.find("\r\n") + 2;
  while (line < head_end) {
    const auto end = data.find("\r\n", line);
    const auto colon = data.find(':', line);
    std::string name = data.substr(line, colon - line);
    for (char& c : name)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string value = data.substr(colon + 1, end - colon - 1);
    while (!value.empty() && value.front() == ' ')
      value.erase(0, 1);
    response.headers.emplace(std::move(name), std::move(value));
    line = end + 2;
  }
  return response;
}

inline RawResponse round_trip(int fd, std::string_view request) {
  send_all(fd, request);
  const std::string data = read_all(fd);
  ::close(fd);
  return parse_response(data);
}

struct Request {
  explicit Request(std::string method_in = "GET", std::string target_in = "/",
                   std::string body_in = {})
      : method(std::move(method_in)), target(std::move(target_in)), body(std::move(body_in)) {}

  std::string method;
  std::string target;
  std::string body;
  std::string host = "127.0.0.1";  // empty: no Host header
  std::optional<std::string> content_type = "application/json";
  std::string extra;  // more header lines, each ending in \r\n
  bool content_length = true;

  std::string text() const {
    std::string out = method + " " + target + " HTTP/1.1\r\n";
    if (!host.empty()) out += "Host: " + host + "\r\n";
    if (content_type && method == "POST") out += "Content-Type: " + *content_type + "\r\n";
    if (content_length && (method == "POST" || !body.empty())) {
      out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    }
    out += extra + "Connection: close\r\n\r\n" + body;
    return out;
  }
};

}  // namespace keepgpu::service::http_testing
