// The REST facade: each endpoint is one Api call, with Api errors turned
// into the status codes and error bodies upstream uses. Calls may block (a stop waits for
// releases), so these run off the I/O threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "service/api.hpp"
#include "service/http/reply.hpp"

namespace keepgpu::service::http {

Reply rest_list_gpus(Api& api);
// GET /api/sessions (nullopt) or GET /api/sessions/{job_id}.
Reply rest_status(Api& api, const std::optional<std::string>& job_id);
// DELETE /api/sessions (nullopt) or DELETE /api/sessions/{job_id}.
Reply rest_stop(Api& api, const std::optional<std::string>& job_id);
// POST /api/sessions with the raw body bytes.
Reply rest_create(Api& api, std::string_view body);

}  // namespace keepgpu::service::http
