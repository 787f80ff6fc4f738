// The JSON-RPC envelope rules, done as JSON-RPC 2.0 says: no id means a notification (no response),
// batches get arrays. Runs against the real Api on a "CPU host" (the group factory reports an
// unsupported platform).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>

#include "core/errors.hpp"
#include "service/api.hpp"
#include "service/jsonrpc.hpp"
#include "service/session_manager.hpp"

namespace keepgpu::service::jsonrpc {
namespace {

GroupFactory cpu_host_factory() {
  return [](const keeper::GroupOptions&) -> std::unique_ptr<keeper::KeeperGroup> {
    throw UnsupportedControllerPlatformError("no GPU platform on this host");
  };
}

class JsonRpcTest : public ::testing::Test {
 protected:
  SessionManager sessions{SessionTimeouts{}, cpu_host_factory()};
  Api api{sessions, [] { return std::vector<gpu::GpuInfo>{}; }};
  Dispatcher rpc{api};

  std::string reply(std::string_view text) {
    const auto out = rpc.handle_text(text);
    return out ? *out : "<no response>";
  }
  keepgpu::core::Json reply_json(std::string_view text) {
    const auto out = rpc.handle_text(text);
    return out ? keepgpu::core::Json::parse(*out) : keepgpu::core::Json("<no response>");
  }
};

std::string error(std::string_view id, int code, std::string_view message) {
  return R"({"jsonrpc":"2.0","id":)" + std::string(id) + R"(,"error":{"code":)" +
         std::to_string(code) + R"(,"message":")" + std::string(message) + "\"}}";
}

TEST_F(JsonRpcTest, PingAnswersExactly) {
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":99,"method":"ping"})"),
            R"({"jsonrpc":"2.0","id":99,"result":{}})");
}

TEST_F(JsonRpcTest, StringIdsAreEchoed) {
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":"a","method":"ping"})"),
            R"({"jsonrpc":"2.0","id":"a","result":{}})");
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":"","method":"ping"})"),
            R"({"jsonrpc":"2.0","id":"","result":{}})");
  EXPECT_EQ(reply("{\"id\":\"caf\xC3\xA9\",\"method\":\"ping\"}"),
            R"({"jsonrpc":"2.0","id":"caf\u00e9","result":{}})");
}

TEST_F(JsonRpcTest, HugeIntegerIdsAreEchoedExactly) {
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":99999999999999999999999,"method":"ping"})"),
            R"({"jsonrpc":"2.0","id":99999999999999999999999,"result":{}})");
  EXPECT_EQ(reply(R"({"id":-99999999999999999999999,"method":"nope"})"),
            error("-99999999999999999999999", -32601, "Unknown method: nope"));
  EXPECT_EQ(reply(R"({"id":-0,"method":"ping"})"), R"({"jsonrpc":"2.0","id":0,"result":{}})");
  EXPECT_EQ(reply(R"({"\u0069d":12,"method":"ping"})"), R"({"jsonrpc":"2.0","id":12,"result":{}})");
}

TEST_F(JsonRpcTest, OtherIdTypesAreRejectedWithNullId) {
  for (const char* id : {"true", "false", "null", "1.5", "1.0", "{}", "[]"}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(reply(std::string(R"({"jsonrpc":"2.0","id":)") + id + R"(,"method":"ping"})"),
              error("null", -32600, "Requests must include an id."));
  }
}

TEST_F(JsonRpcTest, RequestsWithoutIdAreNotifications) {
  // This replaces upstream's error with JSON-RPC's notification semantics.
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","method":"tools/list"})"), "<no response>");
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","method":"ping"})"), "<no response>");
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","method":"ping","params":[]})"), "<no response>");
}

TEST_F(JsonRpcTest, NotificationsStillRun) {
  std::atomic<int> calls{0};
  rpc.add_method("count", [&calls](const keepgpu::core::Json&) {
    ++calls;
    return keepgpu::core::Json::object();
  });
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","method":"count"})"), "<no response>");
  EXPECT_EQ(calls.load(), 1);
  // Unless their params are not an object: then nothing runs and nothing is said.
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","method":"count","params":5})"), "<no response>");
  EXPECT_EQ(calls.load(), 1);
}

TEST_F(JsonRpcTest, NotificationsMustNotCarryAnId) {
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":7,"method":"notifications/initialized"})"),
            error("7", -32600, "Notifications must not include an id."));
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":null,"method":"notifications/initialized"})"),
            error("null", -32600, "Requests must include an id."));
}

TEST_F(JsonRpcTest, NotificationsGetNoResponse) {
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{}})"),
            "<no response>");
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","method":"notifications/whatever","params":5})"),
            "<no response>");
}

TEST_F(JsonRpcTest, BadVersionNotificationIsAnError) {
  EXPECT_EQ(reply(R"({"jsonrpc":"1.0","method":"notifications/initialized"})"),
            error("null", -32600, "JSON-RPC version must be 2.0."));
}

TEST_F(JsonRpcTest, VersionMustBeTheString20) {
  EXPECT_EQ(reply(R"({"jsonrpc":"1.0","id":12,"method":"tools/list"})"),
            error("12", -32600, "JSON-RPC version must be 2.0."));
  EXPECT_EQ(reply(R"({"jsonrpc":2.0,"id":1,"method":"ping"})"),
            error("1", -32600, "JSON-RPC version must be 2.0."));
  EXPECT_EQ(reply(R"({"jsonrpc":null,"id":1,"method":"ping"})"),
            error("1", -32600, "JSON-RPC version must be 2.0."));
}

TEST_F(JsonRpcTest, LegacyRequestsGetVersionedResponses) {
  EXPECT_EQ(reply(R"({"id":14,"method":"ping"})"), R"({"jsonrpc":"2.0","id":14,"result":{}})");
}

TEST_F(JsonRpcTest, MethodIsRequiredBeforeVersion) {
  for (const char* text : {R"({"id":3})", R"({"id":3,"method":""})", R"({"id":3,"method":5})",
                           R"({"jsonrpc":"1.0","id":3})"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(reply(text), error("3", -32600, "Request method is required."));
  }
}

TEST_F(JsonRpcTest, UnknownMethodsAreRejected) {
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":6,"method":"not_a_method","params":{}})"),
            error("6", -32601, "Unknown method: not_a_method"));
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":6,"method":"resources/list"})"),
            error("6", -32601, "Unknown method: resources/list"));
}

TEST_F(JsonRpcTest, McpMethodsAreUnknownUntilRegistered) {
  for (const char* method : {"initialize", "tools/list", "tools/call"}) {
    SCOPED_TRACE(method);
    EXPECT_EQ(reply(std::string(R"({"id":1,"method":")") + method + "\"}"),
              error("1", -32601, std::string("Unknown method: ") + method));
  }
  rpc.add_method("tools/list", [](const keepgpu::core::Json&) {
    return keepgpu::core::Json{{"tools", keepgpu::core::Json::array()}};
  });
  EXPECT_EQ(reply(R"({"id":1,"method":"tools/list"})"),
            R"({"jsonrpc":"2.0","id":1,"result":{"tools":[]}})");
}

TEST_F(JsonRpcTest, ParamsMustBeAnObject) {
  for (const char* params : {"[]", "null", "5", "\"x\""}) {
    SCOPED_TRACE(params);
    EXPECT_EQ(reply(std::string(R"({"id":1,"method":"ping","params":)") + params + "}"),
              error("1", -32602, "params must be an object"));
  }
}

TEST_F(JsonRpcTest, UnknownParamsComeFromTheApi) {
  EXPECT_EQ(reply(R"({"id":1,"method":"status","params":{"unexpected":true}})"),
            error("1", -32602, "Unknown params for status: unexpected"));
  EXPECT_EQ(reply(R"({"id":1,"method":"start_keep","params":{"b":1,"a":2}})"),
            error("1", -32602, "Unknown params for start_keep: a, b"));
  EXPECT_EQ(reply(R"({"id":1,"method":"list_gpus","params":{"x":1}})"),
            error("1", -32602, "Unknown params for list_gpus: x"));
}

TEST_F(JsonRpcTest, LastDuplicateKeyWins) {
  EXPECT_EQ(reply(R"({"id":1,"id":2,"method":"ping"})"), R"({"jsonrpc":"2.0","id":2,"result":{}})");
}

TEST_F(JsonRpcTest, ErrorsHaveExactlyTheEnvelopeKeys) {
  const auto response = reply_json(R"({"id":1,"method":"nope"})");
  ASSERT_TRUE(response.is_object());
  EXPECT_EQ(response.size(), 3U);
  EXPECT_TRUE(response.contains("jsonrpc") && response.contains("id") &&
              response.contains("error"));
  EXPECT_EQ(response["error"].size(), 2U);
  EXPECT_TRUE(response["error"].contains("code") && response["error"].contains("message"));
}

TEST_F(JsonRpcTest, DirectMethodsRunOnTheApi) {
  EXPECT_EQ(reply(R"({"id":1,"method":"status"})"),
            R"({"jsonrpc":"2.0","id":1,"result":{"active_jobs":[]}})");
  EXPECT_EQ(reply(R"({"id":2,"method":"list_gpus"})"),
            R"({"jsonrpc":"2.0","id":2,"result":{"gpus":[]}})");
  const auto started = reply_json(R"({"id":3,"method":"start_keep","params":{}})");
  EXPECT_EQ(started["error"]["code"], -32000) << started;
  EXPECT_EQ(sessions.size(), 0U);
}

TEST_F(JsonRpcTest, FailuresMapToTheirCodes) {
  rpc.add_method("api_error", [](const keepgpu::core::Json&) -> keepgpu::core::Json {
    throw ApiError(-32000, "busy");
  });
  rpc.add_method("crash", [](const keepgpu::core::Json&) -> keepgpu::core::Json {
    throw std::runtime_error("boom \"quoted\"");
  });
  EXPECT_EQ(reply(R"({"id":1,"method":"api_error"})"), error("1", -32000, "busy"));
  EXPECT_EQ(reply(R"({"id":1,"method":"crash"})"), error("1", -32603, R"(boom \"quoted\")"));
}

TEST_F(JsonRpcTest, ResultsUsePythonFloatSpelling) {
  rpc.add_method("floats", [](const keepgpu::core::Json&) {
    return keepgpu::core::Json{{"a", 100.0}, {"b", 1e-05}, {"c", 5}};
  });
  EXPECT_EQ(reply(R"({"id":1,"method":"floats"})"),
            R"({"jsonrpc":"2.0","id":1,"result":{"a":100.0,"b":1e-05,"c":5}})");
}

TEST_F(JsonRpcTest, ParseErrorsHaveNullIds) {
  const auto not_json = reply_json("{not json}");
  EXPECT_EQ(not_json["id"], nullptr);
  EXPECT_EQ(not_json["error"]["code"], -32700);
  EXPECT_EQ(not_json["error"]["message"],
            "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
  EXPECT_EQ(reply(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":NaN})"),
            error("null", -32700, "invalid JSON constant: NaN"));
  EXPECT_EQ(reply(""), error("null", -32700, "Expecting value: line 1 column 1 (char 0)"));
  const auto extra = reply_json(R"({"id":1,"method":"ping"} {"id":2,"method":"ping"})");
  EXPECT_EQ(extra["error"]["message"].get<std::string>().rfind("Extra data", 0), 0U);
  EXPECT_EQ(reply("{\"id\":1,\"method\":\"\xff\"}"),
            error("null", -32700,
                  "'utf-8' codec can't decode byte 0xff in position 18: invalid start byte"));
}

TEST_F(JsonRpcTest, NonObjectsAreInvalidRequests) {
  for (const char* text : {R"("x")", "1", "true", "null"}) {
    SCOPED_TRACE(text);
    EXPECT_EQ(reply(text), error("null", -32600, "JSON-RPC messages must be objects."));
  }
}

TEST_F(JsonRpcTest, BatchesGetArraysOfResponses) {
  EXPECT_EQ(reply(R"([{"jsonrpc":"2.0","id":1,"method":"ping"},)"
                  R"({"jsonrpc":"2.0","method":"notifications/initialized"},)"
                  R"({"id":99999999999999999999999,"method":"ping"}, 5, []])"),
            R"([{"jsonrpc":"2.0","id":1,"result":{}},)"
            R"({"jsonrpc":"2.0","id":99999999999999999999999,"result":{}},)" +
                error("null", -32600, "JSON-RPC messages must be objects.") + "," +
                error("null", -32600, "JSON-RPC messages must be objects.") + "]");
}

TEST_F(JsonRpcTest, EmptyBatchIsOneError) {
  EXPECT_EQ(reply("[]"), error("null", -32600, "JSON-RPC batch must not be empty."));
}

TEST_F(JsonRpcTest, BatchesAreCappedWithOneError) {
  const auto batch_of = [](std::size_t count, std::string_view item) {
    std::string text = "[";
    for (std::size_t i = 0; i < count; ++i) {
      if (i > 0) text += ',';
      text += item;
    }
    return text + "]";
  };
  const auto full = reply_json(batch_of(kMaxBatchSize, R"({"id":1,"method":"ping"})"));
  ASSERT_TRUE(full.is_array());
  EXPECT_EQ(full.size(), kMaxBatchSize);
  EXPECT_EQ(reply(batch_of(kMaxBatchSize + 1, R"({"id":1,"method":"ping"})")),
            error("null", -32600, "JSON-RPC batch too large: 1001 messages (max 1000)."));
  // Notifications count too, and none of an over-cap batch runs.
  EXPECT_EQ(reply(batch_of(5000, "1")),
            error("null", -32600, "JSON-RPC batch too large: 5000 messages (max 1000)."));
}

TEST_F(JsonRpcTest, BatchOfNotificationsGetsNothing) {
  EXPECT_EQ(reply(R"([{"jsonrpc":"2.0","method":"notifications/initialized"},)"
                  R"({"jsonrpc":"2.0","method":"ping"}])"),
            "<no response>");
}

TEST_F(JsonRpcTest, ValueEntryPointWorksWithoutText) {
  const auto out = rpc.handle_value(keepgpu::core::Json{{"id", 5}, {"method", "ping"}});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, R"({"jsonrpc":"2.0","id":5,"result":{}})");
  EXPECT_EQ(error_text(-32700, "bad"), error("null", -32700, "bad"));
}

}  // namespace
}  // namespace keepgpu::service::jsonrpc
