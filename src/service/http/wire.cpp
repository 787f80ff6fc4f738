#include "service/http/wire.hpp"

#include <fmt/format.h>
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <ctime>

#include "service/http/body.hpp"

namespace keepgpu::service::http {
namespace http = boost::beast::http;

namespace {

constexpr const char* kServerHeader = "KeepGPU-MCP/0.1 keep-gpu";

std::optional<std::string> field(const http::request<http::empty_body>& request, http::field name) {
  const auto found = request.find(name);
  if (found == request.end()) return std::nullopt;
  return std::string(found->value());
}

}  // namespace

std::optional<RequestHead> parse_request_head(std::string header_block) {
  mask_content_length(header_block);
  http::request_parser<http::empty_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(kMaxHeaderBytes));
  parser.eager(false);  // the body, if any, is read and judged by the service itself
  boost::beast::error_code error;
  parser.put(boost::asio::buffer(header_block), error);
  if ((error && error != http::error::need_more) || !parser.is_header_done()) return std::nullopt;

  const auto& request = parser.get();
  RequestHead head;
  head.method = std::string(request.method_string());
  head.target = std::string(request.target());
  head.host_count = request.count(http::field::host);
  head.host = field(request, http::field::host);
  head.origin = field(request, http::field::origin);
  head.authorization = field(request, http::field::authorization);
  head.content_type = field(request, http::field::content_type);
  head.transfer_encoding = request.count(http::field::transfer_encoding) > 0;
  for (const auto& entry : request) {
    if (entry.name() != http::field::cookie) continue;
    head.cookie =
        head.cookie ? *head.cookie + "; " + std::string(entry.value()) : std::string(entry.value());
  }
  head.expect_continue = boost::beast::iequals(request[http::field::expect], "100-continue");
  if (const auto found = request.find("Mcp-Session-Id"); found != request.end()) {
    head.mcp_session_id = std::string(found->value());
  }
  if (const auto found = request.find("MCP-Protocol-Version"); found != request.end()) {
    head.mcp_protocol_version = std::string(found->value());
  }
  for (const auto& entry : request) {
    if (boost::beast::iequals(
            entry.name_string(),
            boost::beast::string_view(kMaskedContentLength.data(), kMaskedContentLength.size()))) {
      head.content_lengths.emplace_back(entry.value());
    }
  }
  return head;
}

Response to_response(Reply reply) {
  Response response{static_cast<http::status>(reply.status), 11};
  response.set(http::field::server, kServerHeader);
  response.set(http::field::date, http_date(std::chrono::system_clock::now()));
  if (reply.content_type) response.set(http::field::content_type, *reply.content_type);
  for (const auto& [name, value] : reply.headers)
    response.set(name, value);
  response.set(http::field::connection, "close");
  // Set by hand so a HEAD reply can announce the length of the body it leaves out.
  response.set(http::field::content_length, std::to_string(reply.body.size()));
  if (!reply.head_only) response.body() = std::move(reply.body);
  return response;
}

std::string http_date(std::chrono::system_clock::time_point when) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = std::chrono::system_clock::to_time_t(when);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[utc.tm_wday], utc.tm_mday,
                     kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

}  // namespace keepgpu::service::http
