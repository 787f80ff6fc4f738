// The list_gpus payload: GpuInfo records turned into JSON records, and the server-side contract
// check that every listing passes before it is returned, so a
// faulty backend shows up as an internal error instead of a listing that start_keep disagrees with.
#pragma once

#include <vector>

#include "core/json.hpp"

#include "gpu/backend.hpp"

namespace keepgpu::service {

inline constexpr const char* kMalformedListingPrefix = "Malformed list_gpus response: ";

// One record: id, visible_id, platform, name, memory_total, memory_used, utilization, then
// physical_id and uuid when known, then the extras power_watts and temperature_c when known.
core::Json gpu_record_json(const gpu::GpuInfo& info);
core::Json gpu_records_json(const std::vector<gpu::GpuInfo>& gpus);

// The contract check on a record list; throws keepgpu::RuntimeError("Malformed list_gpus response:
// ...").
void check_gpu_records(const core::Json& records);

// The contract check on a whole {"gpus": [...]} payload (the REST create path's top-level rule),
// then the list.
void check_gpu_payload(const core::Json& payload);

}  // namespace keepgpu::service
