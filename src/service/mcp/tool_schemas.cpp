// The four tools as tools/list describes them: upstream's names, titles, descriptions and input
// schemas, plus output schemas that match what each tool returns, so
// clients that validate structuredContent accept it.
#include "core/defaults.hpp"
#include "core/time_limit.hpp"
#include "service/mcp/protocol.hpp"

namespace keepgpu::service::mcp {
namespace {

using json = core::Json;

constexpr const char* kJobIdPattern = R"(^(?!\.{1,2}$)[A-Za-z0-9._~-]+$)";

json job_id_property(const char* description) {
  return {{"type", {"string", "null"}},
          {"minLength", 1},
          {"pattern", kJobIdPattern},
          {"description", description}};
}

json object_schema(json properties, json required = json::array()) {
  json schema = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) schema["required"] = std::move(required);
  return schema;
}

json input_schema(json properties) {
  json schema = object_schema(std::move(properties));
  schema["additionalProperties"] = false;
  return schema;
}

json string_array() {
  return {{"type", "array"}, {"items", {{"type", "string"}}}};
}

json session_params_schema() {
  return object_schema(
      {{"gpu_ids", {{"type", {"array", "null"}}, {"items", {{"type", "integer"}}}}},
       {"vram", {{"type", {"string", "integer"}}}},
       {"interval", {{"type", "number"}}},
       {"busy_threshold", {{"type", "integer"}}},
       {"util_target", {{"type", "integer"}}},
       {"duration", {{"type", "number"}}},
       {"until", {{"type", "string"}}}});
}

json session_state_schema() {
  return {{"type", "string"},
          {"enum", {"starting", "active", "stopping", "runtime_failed", "stop_failed"}}};
}

json start_keep_tool() {
  return {
      {"name", "start_keep"},
      {"title", "Start KeepGPU Session"},
      {"description", "Reserve VRAM on selected visible GPU ordinals."},
      {"inputSchema",
       input_schema(
           {{"gpu_ids",
             {{"type", {"array", "null"}},
              {"items", {{"type", "integer"}, {"minimum", 0}}},
              {"minItems", 1},
              {"maxItems", 64},
              {"uniqueItems", true},
              {"description", "Visible GPU ordinals; null or omitted uses all."}}},
            {"vram",
             {{"type", {"string", "integer"}},
              {"minimum", 4},
              {"maximum", 1125899906842624},
              {"default", core::kDefaultVram},
              {"description",
               "Human-readable VRAM amount or integer bytes to keep; byte-equivalent values must "
               "be no more than 1 PiB."}}},
            {"interval",
             {{"type", "number"},
              {"exclusiveMinimum", 0},
              {"maximum", 9223372036},
              {"default", core::kDefaultIntervalSeconds},
              {"description", "Seconds between keep-alive checks."}}},
            {"busy_threshold",
             {{"type", "integer"},
              {"minimum", -1},
              {"maximum", 100},
              {"default", core::kDefaultBusyThreshold},
              {"description",
               "Defaults to 25; -1 disables utilization backoff; 0..100 backs off."}}},
            {"job_id", job_id_property("Optional URL-path-safe session identifier.")},
            {"util_target",
             {{"type", {"integer", "null"}},
              {"minimum", 0},
              {"maximum", 100},
              {"default", 0},
              {"description",
               "Utilization percent to present while the GPU is otherwise idle, with a timed "
               "one-warp kernel in every 100 ms so every reaper window sees activity; its own "
               "kernels never count as busy. 0 runs the ReLU batch every interval."}}},
            {"duration",
             {{"type", {"number", "null"}},
              {"exclusiveMinimum", 0},
              {"maximum", core::kMaxTimeLimitSeconds},
              {"description",
               "Optional time limit in seconds: the session releases its GPUs and ends by "
               "itself this long after it starts. Not together with until."}}},
            {"until",
             {{"type", {"string", "null"}},
              {"format", "date-time"},
              {"description",
               "Optional end as an ISO 8601 date-time with offset, e.g. "
               "2026-12-07T18:00:00+01:00; the session releases its GPUs and ends then. Not "
               "together with duration."}}}})},
      {"outputSchema", object_schema({{"job_id", {{"type", "string"}}}}, {"job_id"})},
  };
}

json stop_keep_tool() {
  return {
      {"name", "stop_keep"},
      {"title", "Stop KeepGPU Session"},
      {"description", "Release one session by job_id, or all sessions when omitted."},
      {"inputSchema",
       input_schema(
           {{"job_id", job_id_property("Session identifier; null or omitted stops all.")}})},
      {"outputSchema",
       object_schema(
           {{"stopped", string_array()},
            {"timed_out", string_array()},
            {"failed", string_array()},
            {"errors", {{"type", "object"}, {"additionalProperties", {{"type", "string"}}}}},
            {"message", {{"type", "string"}}}},
           {"stopped", "timed_out", "failed", "errors"})},
  };
}

// One GPU of a session as the driver sees it: what it holds and what the keeper is doing.
json session_gpu_schema() {
  return object_schema(
      {{"id", {{"type", "integer"}, {"minimum", 0}}},
       {"phase",
        {{"type", "string"},
         {"enum", {"waiting", "holding", "backing_off", "releasing", "released", "failed"}}}},
       {"held_bytes", {{"type", "integer"}, {"minimum", 0}}},
       {"detail", {{"type", {"string", "null"}}}}},
      {"id", "phase", "held_bytes", "detail"});
}

json held_bytes_schema() {
  return {{"type", "integer"},
          {"minimum", 0},
          {"description", "Bytes the driver holds for the session now, over all its GPUs."}};
}

json ends_at_schema() {
  return {{"type", "string"},
          {"format", "date-time"},
          {"description", "When the session's time limit ends it (only with duration or until)."}};
}

json status_tool() {
  const json record =
      object_schema({{"job_id", {{"type", "string"}}},
                     {"params", session_params_schema()},
                     {"state", session_state_schema()},
                     {"last_error", {{"type", {"string", "null"}}}},
                     {"held_bytes", held_bytes_schema()},
                     {"gpus", {{"type", "array"}, {"items", session_gpu_schema()}}},
                     {"restored", {{"type", "boolean"}}},
                     {"ends_at", ends_at_schema()}},
                    {"job_id", "params", "state", "last_error", "held_bytes", "gpus"});
  return {
      {"name", "status"},
      {"title", "Get KeepGPU Status"},
      {"description", "Return one session status or the active session list."},
      {"inputSchema",
       input_schema(
           {{"job_id", job_id_property("Session identifier; null or omitted lists all.")}})},
      // Either {"active_jobs": [...]} (all sessions) or one session's record with "active".
      {"outputSchema",
       object_schema({{"active_jobs", {{"type", "array"}, {"items", record}}},
                      {"active", {{"type", "boolean"}}},
                      {"job_id", {{"type", "string"}}},
                      {"params", session_params_schema()},
                      {"state", session_state_schema()},
                      {"last_error", {{"type", {"string", "null"}}}},
                      {"held_bytes", held_bytes_schema()},
                      {"gpus", {{"type", "array"}, {"items", session_gpu_schema()}}},
                      {"restored", {{"type", "boolean"}}},
                      {"ends_at", ends_at_schema()}})},
  };
}

json list_gpus_tool() {
  const json gpu = object_schema(
      {{"id", {{"type", "integer"}, {"minimum", 0}}},
       {"visible_id", {{"type", "integer"}, {"minimum", 0}}},
       {"platform", {{"type", "string"}}},
       {"name", {{"type", "string"}}},
       {"memory_total", {{"type", {"integer", "null"}}}},
       {"memory_used", {{"type", {"integer", "null"}}}},
       {"utilization", {{"type", {"number", "null"}}}}},
      {"id", "visible_id", "platform", "name", "memory_total", "memory_used", "utilization"});
  return {
      {"name", "list_gpus"},
      {"title", "List Visible GPUs"},
      {"description", "List start-compatible visible GPU ordinals and metadata."},
      {"inputSchema", input_schema(json::object())},
      {"outputSchema", object_schema({{"gpus", {{"type", "array"}, {"items", gpu}}}}, {"gpus"})},
  };
}

}  // namespace

core::Json tools_list_result() {
  return {{"tools", {start_keep_tool(), stop_keep_tool(), status_tool(), list_gpus_tool()}}};
}

}  // namespace keepgpu::service::mcp
