#include "gpu/rocm/rsmi_api.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <variant>

#include "gpu/backend.hpp"
#include "gpu/rocm/amd_device_probe.hpp"
#include "gpu/rocm/library_search.hpp"

namespace keepgpu::gpu::rocm {
namespace {

constexpr const char* kOverrideEnv = "KEEP_GPU_LIBROCM_SMI";

std::shared_ptr<const RsmiApi> resolve(DynamicLibrary library) {
  auto lib = std::make_shared<DynamicLibrary>(std::move(library));
  auto api = std::make_shared<RsmiApi>();
  const DynamicLibrary& l = *lib;
  api->rsmi_init = l.require_as<decltype(api->rsmi_init)>({"rsmi_init"});
  api->rsmi_shut_down = l.require_as<decltype(api->rsmi_shut_down)>({"rsmi_shut_down"});
  api->rsmi_dev_busy_percent_get =
      l.require_as<decltype(api->rsmi_dev_busy_percent_get)>({"rsmi_dev_busy_percent_get"});

  api->rsmi_num_monitor_devices =
      l.find_as<decltype(api->rsmi_num_monitor_devices)>({"rsmi_num_monitor_devices"});
  api->rsmi_dev_memory_total_get =
      l.find_as<decltype(api->rsmi_dev_memory_total_get)>({"rsmi_dev_memory_total_get"});
  api->rsmi_dev_memory_usage_get =
      l.find_as<decltype(api->rsmi_dev_memory_usage_get)>({"rsmi_dev_memory_usage_get"});
  api->rsmi_dev_name_get = l.find_as<decltype(api->rsmi_dev_name_get)>({"rsmi_dev_name_get"});
  api->rsmi_dev_unique_id_get =
      l.find_as<decltype(api->rsmi_dev_unique_id_get)>({"rsmi_dev_unique_id_get"});
  api->rsmi_dev_current_socket_power_get =
      l.find_as<decltype(api->rsmi_dev_current_socket_power_get)>(
          {"rsmi_dev_current_socket_power_get"});
  api->rsmi_dev_power_ave_get =
      l.find_as<decltype(api->rsmi_dev_power_ave_get)>({"rsmi_dev_power_ave_get"});
  api->rsmi_dev_temp_metric_get =
      l.find_as<decltype(api->rsmi_dev_temp_metric_get)>({"rsmi_dev_temp_metric_get"});
  api->rsmi_status_string = l.find_as<decltype(api->rsmi_status_string)>({"rsmi_status_string"});
  api->library = std::move(lib);
  return api;
}

}  // namespace

std::shared_ptr<const RsmiApi> RsmiApi::load(const std::string& name) {
  return resolve(DynamicLibrary(name));
}

std::shared_ptr<const RsmiApi> RsmiApi::shared() {
  using Outcome = std::variant<std::shared_ptr<const RsmiApi>, std::string>;
  static const Outcome* outcome = [] {
    // A library named explicitly is wanted whatever the probe says; a search only makes sense
    // where an AMD GPU could answer, and elsewhere would let rsmi_init print its errors.
    const char* named = std::getenv(kOverrideEnv);
    if ((named == nullptr || *named == '\0') && !amd_device_present()) {
      return new Outcome(std::string(
          "no AMD GPU on this machine (/dev/kfd is missing and no DRM card has vendor 0x1002), "
          "so ROCm SMI is not loaded"));
    }
    try {
      return new Outcome(resolve(open_rocm_library(
          kOverrideEnv, {"librocm_smi64.so", "librocm_smi64.so.7", "librocm_smi64.so.6",
                         "librocm_smi64.so.5", "librocm_smi64.so.1"})));
    } catch (const LibraryError& e) {
      return new Outcome(std::string(e.what()));
    }
  }();
  if (const auto* api = std::get_if<std::shared_ptr<const RsmiApi>>(outcome)) return *api;
  throw LibraryError(std::get<std::string>(*outcome));
}

std::string RsmiApi::status_text(rsmi_status_t status) const {
  const char* text = nullptr;
  if (rsmi_status_string == nullptr || rsmi_status_string(status, &text) != kRsmiSuccess ||
      text == nullptr || *text == '\0') {
    return fmt::format("ROCm SMI error (code {})", status);
  }
  return fmt::format("{} (code {})", text, status);
}

}  // namespace keepgpu::gpu::rocm
