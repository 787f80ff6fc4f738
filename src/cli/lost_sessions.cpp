#include "cli/lost_sessions.hpp"

#include <fmt/format.h>

#include <vector>

#include "service/api_validation.hpp"
#include "service/session_journal.hpp"

namespace keepgpu::cli {

std::optional<JsonValue> lost_sessions_report(const service::runtime::Paths& paths,
                                              const std::string& unreachable) {
  const auto contents = service::SessionJournal(paths.journal).read();
  // A journal whose writer still runs belongs to a live (if unresponsive) service: nothing is
  // lost, the plain unreachable error says what is wrong.
  if (contents.sessions.empty() || !service::writer_gone(contents)) return std::nullopt;
  std::vector<std::string> ids;
  JsonValue lost = JsonValue::make_array();
  for (const auto& entry : contents.sessions) {
    ids.push_back(entry.job_id);
    lost.items.push_back(JsonValue::make_string(entry.job_id));
  }
  JsonValue out = JsonValue::make_object();
  out.set(
      "error",
      JsonValue::make_string(fmt::format(
          "{} The KeepGPU service was not shut down cleanly and left {} keep session(s) "
          "that no longer hold their GPUs: {}. Run `keep-gpu serve` or any `keep-gpu start` "
          "to restore them with the same ids (or delete {} to forget them).",
          unreachable, ids.size(), service::python_str_list_repr(ids), paths.journal.string())));
  out.set("lost_sessions", std::move(lost));
  return out;
}

}  // namespace keepgpu::cli
