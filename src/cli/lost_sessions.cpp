#include "cli/lost_sessions.hpp"

#include <fmt/format.h>

#include <vector>

#include "service/api_validation.hpp"
#include "service/session_journal.hpp"

namespace keepgpu::cli {

std::optional<core::Json> lost_sessions_report(const service::runtime::Paths& paths,
                                               const std::string& unreachable) {
  const auto contents = service::SessionJournal(paths.journal).read();
  // A journal whose writer still runs belongs to a live (if unresponsive) service: nothing is
  // lost, the plain unreachable error says what is wrong.
  if (contents.sessions.empty() || !service::writer_gone(contents)) return std::nullopt;
  std::vector<std::string> ids;
  for (const auto& entry : contents.sessions)
    ids.push_back(entry.job_id);
  return core::Json{
      {"error",
       fmt::format("{} The KeepGPU service was not shut down cleanly and left {} keep session(s) "
                   "that no longer hold their GPUs: {}. Run `keep-gpu serve` or any `keep-gpu "
                   "start` to restore them with the same ids (or delete {} to forget them).",
                   unreachable, ids.size(), service::python_str_list_repr(ids),
                   paths.journal.string())},
      {"lost_sessions", ids}};
}

}  // namespace keepgpu::cli
