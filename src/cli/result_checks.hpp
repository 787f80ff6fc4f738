// Validation of the service's method results before the CLI trusts or prints them
// (shape, types, ranges). Each check throws a response ServiceError naming what is wrong and
// never alters the result.
#pragma once

#include <optional>
#include <string>

#include "core/json.hpp"

namespace keepgpu::cli {

void check_start_result(const core::Json& result, const std::optional<std::string>& requested_id);
void check_status_all(const core::Json& result);
void check_status_one(const core::Json& result, const std::string& requested_id);
void check_stop_result(const core::Json& result, const std::optional<std::string>& requested_id);
void check_list_gpus(const core::Json& result);

}  // namespace keepgpu::cli
