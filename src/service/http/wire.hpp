// Between bytes and the service's request/reply types, through Beast's HTTP parser and
// serializer (no hand-written HTTP grammar; only Content-Length names are masked first, see
// body.hpp).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

#include "service/http/handler.hpp"
#include "service/http/reply.hpp"

namespace keepgpu::service::http {

// Longest request line plus header fields accepted.
inline constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

// Parses a complete header block (request line through the blank line). nullopt when Beast
// rejects it (malformed request line or field, HTTP/0.9, ...).
std::optional<RequestHead> parse_request_head(std::string header_block);

using Response = boost::beast::http::response<boost::beast::http::string_body>;

// HTTP/1.1 with Server, Date, Content-Type (if any), Content-Length and Connection: close.
Response to_response(Reply reply);

// RFC 9110 IMF-fixdate, independent of the locale: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::chrono::system_clock::time_point when);

}  // namespace keepgpu::service::http
