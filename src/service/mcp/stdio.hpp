// The MCP stdio transport: newline-delimited JSON-RPC on stdin/stdout.
// Only protocol messages are written to `out`; logs go to stderr through the logger.
#pragma once

#include <istream>
#include <ostream>

#include "service/jsonrpc.hpp"

namespace keepgpu::service::mcp {

// Reads lines until end of input, strictly in order: blank lines are skipped, each other line is
// one JSON-RPC message (or batch), and each response is written as one line and flushed.
// Returns when `in` reaches end of file. The caller releases the sessions afterwards.
void serve_stdio(std::istream& in, std::ostream& out, const jsonrpc::Dispatcher& dispatcher);

}  // namespace keepgpu::service::mcp
