// The MCP layer over the shared JSON-RPC dispatcher:
// version negotiation, tools with input and output schemas, tools/call results with
// structuredContent and the same JSON as sorted-key text, tool errors, and the stateless revision.
#include "service/mcp/protocol.hpp"

#include <gtest/gtest.h>

#include "service/jsonrpc.hpp"
#include "service_fakes.hpp"

namespace keepgpu::service {
namespace {

using json = keepgpu::core::Json;
using service_testing::Harness;
using service_testing::js;
using service_testing::plan_devices;
using service_testing::plan_unavailable;

class McpTest : public ::testing::Test {
 protected:
  McpTest() : dispatcher(h.api) {
    mcp::register_methods(dispatcher, h.api, {"keepgpu", "KeepGPU", "9.9.9"});
  }

  json rpc(const std::string& text) {
    const auto reply = dispatcher.handle_text(text);
    if (!reply) return json();
    return js(*reply);
  }

  json call_tool(const std::string& name, const std::string& arguments) {
    return rpc(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":")" + name +
               R"(","arguments":)" + arguments + "}}");
  }

  Harness h;
  jsonrpc::Dispatcher dispatcher;
};

TEST_F(McpTest, InitializeEchoesSupportedVersionsAndAnswersTheNewestOtherwise) {
  for (const std::string version : {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}) {
    const json r =
        rpc(R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":")" +
            version + R"(","capabilities":{},"clientInfo":{"name":"t","version":"1"}}})");
    EXPECT_EQ(r["result"]["protocolVersion"], version);
  }
  for (const std::string params :
       {R"({"protocolVersion":"1999-01-01"})", R"({"protocolVersion":5})", R"({})"}) {
    const json r = rpc(R"({"jsonrpc":"2.0","id":2,"method":"initialize","params":)" + params + "}");
    EXPECT_EQ(r["result"]["protocolVersion"], "2025-11-25") << params;
  }
  const json r = rpc(R"({"jsonrpc":"2.0","id":3,"method":"initialize"})");
  const json& result = r["result"];
  EXPECT_EQ(result["capabilities"], js(R"({"tools":{"listChanged":false}})"));
  EXPECT_EQ(result["serverInfo"], js(R"({"name":"keepgpu","title":"KeepGPU","version":"9.9.9"})"));
  EXPECT_EQ(result["instructions"], std::string(mcp::kInstructions));
}

TEST_F(McpTest, InitializedNotificationGetsNoResponse) {
  EXPECT_FALSE(dispatcher.handle_text(R"({"jsonrpc":"2.0","method":"notifications/initialized"})"));
  EXPECT_FALSE(dispatcher.handle_text(
      R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}})"));
}

TEST_F(McpTest, ToolsListHasTheFourToolsWithUpstreamSchemasAndOutputSchemas) {
  const json r = rpc(R"({"jsonrpc":"2.0","id":8,"method":"tools/list"})");
  const json& tools = r["result"]["tools"];
  ASSERT_EQ(tools.size(), 4u);
  EXPECT_EQ(tools[0]["name"], "start_keep");
  EXPECT_EQ(tools[1]["name"], "stop_keep");
  EXPECT_EQ(tools[2]["name"], "status");
  EXPECT_EQ(tools[3]["name"], "list_gpus");
  const json& start = tools[0]["inputSchema"]["properties"];
  EXPECT_EQ(start["gpu_ids"]["type"], js(R"(["array","null"])"));
  EXPECT_EQ(start["gpu_ids"]["maxItems"], 64);
  EXPECT_EQ(start["gpu_ids"]["uniqueItems"], true);
  EXPECT_EQ(start["vram"]["maximum"], 1125899906842624LL);
  EXPECT_NE(start["vram"]["description"].get<std::string>().find("1 PiB"), std::string::npos);
  EXPECT_EQ(start["interval"]["maximum"], 9223372036LL);
  EXPECT_EQ(start["interval"]["exclusiveMinimum"], 0);
  EXPECT_EQ(start["busy_threshold"]["minimum"], -1);
  EXPECT_EQ(tools[0]["inputSchema"]["additionalProperties"], false);
  for (int i = 0; i < 3; ++i) {
    const json& job = tools[i]["inputSchema"]["properties"]["job_id"];
    EXPECT_EQ(job["pattern"], R"(^(?!\.{1,2}$)[A-Za-z0-9._~-]+$)");
    EXPECT_EQ(job["minLength"], 1);
  }
  for (const json& tool : tools) {
    EXPECT_EQ(tool["outputSchema"]["type"], "object") << tool["name"];
  }
  EXPECT_EQ(rpc(R"({"jsonrpc":"2.0","id":9,"method":"tools/list"})")["result"], r["result"]);
}

TEST_F(McpTest, StatusToolReturnsStructuredContentAndSortedText) {
  h.fleet.plan(plan_devices(1));
  const json started = call_tool("start_keep", R"({"job_id":"mcp-job","gpu_ids":[0]})");
  ASSERT_EQ(started["result"]["isError"], false) << started.dump();
  EXPECT_EQ(started["result"]["structuredContent"], js(R"({"job_id":"mcp-job"})"));

  const json status = call_tool("status", R"({"job_id":"mcp-job"})");
  const json& result = status["result"];
  EXPECT_EQ(result["isError"], false);
  EXPECT_EQ(result["content"][0]["type"], "text");
  EXPECT_EQ(result["content"][0]["text"],
            R"({"active": true, "gpus": [{"detail": null, "held_bytes": 1073741824, "id": 0, )"
            R"("phase": "holding"}], "held_bytes": 1073741824, "job_id": "mcp-job", )"
            R"("last_error": null, "params": )"
            R"({"busy_threshold": 25, "gpu_ids": [0], "interval": 300, "vram": "1GiB"}, )"
            R"("state": "active"})");
  EXPECT_EQ(js(result["content"][0]["text"].get<std::string>()), result["structuredContent"]);

  const json stopped = call_tool("stop_keep", R"({"job_id":"mcp-job"})");
  EXPECT_EQ(stopped["result"]["structuredContent"]["stopped"], js(R"(["mcp-job"])"));
}

TEST_F(McpTest, ValidationFailuresAreToolErrorsAndNothingStarts) {
  const json r =
      call_tool("start_keep", R"({"gpu_ids":[0],"vram":)" + std::string(1000, '9') + "}");
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_NE(r["result"]["content"][0]["text"].get<std::string>().find("vram must be no more than"),
            std::string::npos);
  EXPECT_FALSE(r["result"].contains("structuredContent"));
  EXPECT_EQ(call_tool("start_keep", R"({"bogus":1})")["result"]["content"][0]["text"],
            "Unknown params for start_keep: bogus");
  EXPECT_EQ(call_tool("status", R"({"job_id":5})")["result"]["content"][0]["text"],
            "job_id must be a URL-path-safe non-empty string");
  EXPECT_EQ(h.sessions.size(), 0u);
}

TEST_F(McpTest, StartupUnavailableIsAToolError) {
  h.fleet.plan(plan_unavailable("no GPU platform here"));
  const json r = call_tool("start_keep", "{}");
  EXPECT_EQ(r["result"]["isError"], true);
  EXPECT_EQ(r["result"]["content"][0]["text"], "no GPU platform here");
}

TEST_F(McpTest, ProtocolProblemsAreJsonRpcErrors) {
  auto error_of = [&](const std::string& params) {
    return rpc(R"({"jsonrpc":"2.0","id":4,"method":"tools/call","params":)" + params +
               "}")["error"];
  };
  EXPECT_EQ(error_of(R"({"name":"status","arguments":null})"),
            js(R"({"code":-32602,"message":"Tool call arguments must be an object."})"));
  EXPECT_EQ(error_of(R"({"name":"status","arguments":[]})")["message"],
            "Tool call arguments must be an object.");
  for (const std::string p : {R"({"name":""})", R"({})", R"({"name":5})"}) {
    EXPECT_EQ(error_of(p),
              js(R"({"code":-32602,"message":"Tool call requires a non-empty tool name."})"))
        << p;
  }
  EXPECT_EQ(error_of(R"({"name":"not_a_tool"})"),
            js(R"({"code":-32602,"message":"Unknown tool: not_a_tool"})"));
}

TEST_F(McpTest, StatelessRevisionDiscoverAndPerRequestVersion) {
  const json d = rpc(R"({"jsonrpc":"2.0","id":"d","method":"server/discover","params":{"_meta":{)"
                     R"("io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                     R"("io.modelcontextprotocol/clientCapabilities":{}}}})");
  const json& result = d["result"];
  EXPECT_EQ(result["resultType"], "complete");
  EXPECT_EQ(result["supportedVersions"],
            js(R"(["2024-11-05","2025-03-26","2025-06-18","2025-11-25","2026-07-28"])"));
  EXPECT_EQ(result["serverInfo"]["name"], "keepgpu");

  const json listed = rpc(R"({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"_meta":{)"
                          R"("io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
                          R"("io.modelcontextprotocol/clientCapabilities":{}}}})");
  EXPECT_EQ(listed["result"]["resultType"], "complete");
  EXPECT_EQ(listed["result"]["tools"].size(), 4u);

  const json old = rpc(R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})");
  EXPECT_FALSE(old["result"].contains("resultType")) << "handshake-era results are unchanged";

  const json unknown = rpc(R"({"jsonrpc":"2.0","id":4,"method":"tools/list","params":{"_meta":{)"
                           R"("io.modelcontextprotocol/protocolVersion":"2099-01-01"}}})");
  EXPECT_EQ(unknown["error"]["code"], mcp::kUnsupportedProtocolVersion);
  EXPECT_NE(unknown["error"]["message"].get<std::string>().find("2099-01-01"), std::string::npos);
}

TEST_F(McpTest, LegacyDirectMethodsStillWork) {
  const json r = rpc(R"({"jsonrpc":"2.0","id":1,"method":"status","params":{}})");
  EXPECT_EQ(r["result"], js(R"({"active_jobs":[]})"));
  EXPECT_EQ(rpc(R"({"jsonrpc":"2.0","id":1,"method":"ping"})")["result"], json::object());
}

}  // namespace
}  // namespace keepgpu::service
