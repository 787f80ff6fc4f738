// The Streamable HTTP MCP endpoint /mcp: JSON answers, session ids from initialize, 202 for
// notifications, DELETE ends a session, no GET stream, and the same token rule as the rest.
#include <gtest/gtest.h>

#include "http_server_fixture.hpp"
#include "service/jsonrpc.hpp"
#include "service/mcp/protocol.hpp"

namespace keepgpu::service::http_testing {
namespace {

constexpr const char* kInitialize =
    R"({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18",)"
    R"("capabilities":{},"clientInfo":{"name":"t","version":"1"}}})";

// The daemon's wiring: one method table with the MCP methods, shared by /rpc and /mcp.
class McpEndpointTest : public ServerFixture {
 protected:
  void SetUp() override {
    ServerFixture::SetUp();
    restart(std::nullopt);
  }
  void restart(std::optional<std::string> token) {
    server.reset();
    auto rpc = std::make_shared<jsonrpc::Dispatcher>(api);
    mcp::register_methods(*rpc, api, {"keepgpu", "KeepGPU", "test"});
    http::ServerOptions options;
    options.unix_socket_path = socket_path;
    options.tcp_host = "127.0.0.1";
    options.tcp_port = 0;
    options.token = std::move(token);
    server = std::make_unique<http::Server>(api, options, rpc);
    server->start();
    port = server->tcp_port();
  }
};

Request mcp_post(std::string body, std::string extra = {}) {
  Request r("POST", "/mcp", std::move(body));
  r.extra = "Accept: application/json, text/event-stream\r\n" + extra;
  return r;
}

TEST_F(McpEndpointTest, InitializeAssignsASessionAndToolsWork) {
  const RawResponse init = tcp(mcp_post(kInitialize));
  ASSERT_EQ(init.status, 200) << init.body;
  EXPECT_EQ(init.header("content-type"), "application/json");
  EXPECT_EQ(init.json()["result"]["protocolVersion"], "2025-06-18");
  const auto session = init.header("mcp-session-id");
  ASSERT_TRUE(session);
  EXPECT_EQ(session->size(), 32u);

  const std::string with_session = "Mcp-Session-Id: " + *session + "\r\n";
  const RawResponse note =
      tcp(mcp_post(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", with_session));
  EXPECT_EQ(note.status, 202);
  EXPECT_TRUE(note.body.empty());

  const RawResponse list = tcp(mcp_post(R"({"jsonrpc":"2.0","id":2,"method":"status"})",
                                        with_session + "MCP-Protocol-Version: 2025-06-18\r\n"));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["result"], keepgpu::core::Json::parse(R"({"active_jobs":[]})"));

  EXPECT_EQ(tcp(Request("DELETE", "/mcp")).status, 400) << "DELETE names the session";
  Request end("DELETE", "/mcp");
  end.extra = with_session;
  EXPECT_EQ(tcp(end).status, 200);
  EXPECT_EQ(tcp(end).status, 404) << "the session is gone";
  const RawResponse stale =
      tcp(mcp_post(R"({"jsonrpc":"2.0","id":3,"method":"status"})", with_session));
  EXPECT_EQ(stale.status, 404);
  EXPECT_EQ(stale.json()["error"]["code"], -32001);
}

TEST_F(McpEndpointTest, NoServerStreamAndUnknownVersionsRefused) {
  const RawResponse get = tcp(Request("GET", "/mcp"));
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("allow"), "POST, DELETE");
  const RawResponse bad = tcp(mcp_post(R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
                                       "MCP-Protocol-Version: 1999-01-01\r\n"));
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(bad.json()["error"]["code"], -32600);
  const RawResponse parse = tcp(mcp_post("{"));
  EXPECT_EQ(parse.status, 200);
  EXPECT_EQ(parse.json()["error"]["code"], -32700);
}

TEST_F(McpEndpointTest, TokenAndContentTypeRulesApply) {
  restart("secret-token");
  EXPECT_EQ(tcp(mcp_post(kInitialize)).status, 401);
  const RawResponse ok = tcp(mcp_post(kInitialize, "Authorization: Bearer secret-token\r\n"));
  EXPECT_EQ(ok.status, 200);
  Request plain = mcp_post(kInitialize, "Authorization: Bearer secret-token\r\n");
  plain.content_type = "text/plain";
  EXPECT_EQ(tcp(plain).status, 415);
  Request foreign = mcp_post(kInitialize, "Authorization: Bearer secret-token\r\n");
  foreign.host = "evil.example:8765";
  EXPECT_EQ(tcp(foreign).status, 403);
}

}  // namespace
}  // namespace keepgpu::service::http_testing
