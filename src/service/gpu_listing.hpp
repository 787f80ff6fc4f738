// The list_gpus payload (spec/service.md §9): GpuInfo records turned into the §9.1 JSON records,
// and the server-side contract check of §9.3 that every listing passes before it is returned, so a
// faulty backend shows up as an internal error instead of a listing that start_keep disagrees with.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "gpu/backend.hpp"

namespace keepgpu::service {

inline constexpr const char* kMalformedListingPrefix = "Malformed list_gpus response: ";

// One §9.1 record: id, visible_id, platform, name, memory_total, memory_used, utilization, then
// physical_id and uuid when known, then the extras power_watts and temperature_c when known.
nlohmann::json gpu_record_json(const gpu::GpuInfo& info);
nlohmann::json gpu_records_json(const std::vector<gpu::GpuInfo>& gpus);

// §9.3 on a record list; throws keepgpu::RuntimeError("Malformed list_gpus response: ...").
void check_gpu_records(const nlohmann::json& records);

// §9.3 on a whole {"gpus": [...]} payload (the REST create path's top-level rule), then the list.
void check_gpu_payload(const nlohmann::json& payload);

}  // namespace keepgpu::service
