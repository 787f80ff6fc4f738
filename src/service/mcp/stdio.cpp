#include "service/mcp/stdio.hpp"

#include <string>
#include <string_view>

namespace keepgpu::service::mcp {
namespace {

std::string_view trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n\v\f";
  const auto first = text.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

void serve_stdio(std::istream& in, std::ostream& out, const jsonrpc::Dispatcher& dispatcher) {
  std::string line;
  while (std::getline(in, line)) {
    const std::string_view message = trim(line);  // CRLF and padding are fine
    if (message.empty()) continue;
    std::optional<std::string> reply;
    try {
      reply = dispatcher.handle_text(message);
    } catch (const std::exception& e) {
      reply = jsonrpc::error_text(kInternalError, e.what());
    }
    if (!reply) continue;  // a notification
    out << *reply << '\n';
    out.flush();
  }
}

}  // namespace keepgpu::service::mcp
