// The sessions a KeepGPU service that was killed (SIGKILL, out of memory, a crash) left in its
// journal, for the commands that find no service answering: they must not report "nothing
// running" as after a clean stop.
#pragma once

#include <optional>
#include <string>

#include "core/json.hpp"
#include "service/runtime_dir.hpp"

namespace keepgpu::cli {

// {"error": ..., "lost_sessions": [ids]} when the journal in `paths` lists sessions and the service
// that wrote it is gone; the error starts with `unreachable` (why no service answered), then
// names the sessions and how to bring them back. nullopt when nothing was left behind.
std::optional<core::Json> lost_sessions_report(const service::runtime::Paths& paths,
                                               const std::string& unreachable);

}  // namespace keepgpu::cli
