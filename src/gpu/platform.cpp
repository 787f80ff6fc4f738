#include "gpu/platform.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "core/log.hpp"
#include "gpu/cuda/cuda_backend.hpp"
#include "gpu/cuda/device_query.hpp"
#include "gpu/rocm/hip_device_query.hpp"
#include "gpu/rocm/rocm_backend.hpp"
#include "gpu/rocm/smi_queries.hpp"

namespace keepgpu::gpu {
namespace {

std::shared_ptr<spdlog::logger> platform_log() {
  static const auto logger = keepgpu::log::get("keep_gpu.utilities.platform_manager");
  return logger;
}

std::string lower_ascii(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

std::string to_string(Platform platform) {
  switch (platform) {
    case Platform::cuda:
      return "cuda";
    case Platform::rocm:
      return "rocm";
    case Platform::cpu:
      return "cpu";
  }
  return "cpu";
}

PlatformDetector::PlatformDetector(cuda::CudaLoader cuda, nvml::NvmlLoader nvml,
                                   rocm::HipLoader hip, rocm::RsmiLoader rsmi)
    : cuda_(std::move(cuda)),
      nvml_(std::move(nvml)),
      hip_(std::move(hip)),
      rsmi_(std::move(rsmi)) {}

Platform PlatformDetector::detect() {
  std::call_once(once_, [this] { platform_ = decide(); });
  return platform_;
}

PlatformDetector& PlatformDetector::process() {
  static auto* detector = new PlatformDetector();  // never destroyed: usable during teardown
  return *detector;
}

Platform PlatformDetector::decide() {
  if (auto chosen = from_override()) return *chosen;
  Platform detected = Platform::cpu;
  if (cuda_present()) {
    detected = Platform::cuda;
  } else if (rocm_present()) {
    detected = Platform::rocm;
  }
  KG_INFO(platform_log(), "Detected computing platform: {}", to_string(detected));
  return detected;
}

std::optional<Platform> PlatformDetector::from_override() {
  const char* raw = std::getenv("KEEP_GPU_PLATFORM");
  if (raw == nullptr || *raw == '\0') return std::nullopt;
  // Lower-cased but not trimmed, as upstream.
  const std::string value = lower_ascii(raw);
  std::optional<Platform> chosen;
  if (value == "cuda") chosen = Platform::cuda;
  if (value == "rocm") chosen = Platform::rocm;
  if (value == "cpu" || value == "macm") chosen = Platform::cpu;
  if (!chosen) {
    KG_WARN(platform_log(), "Invalid KEEP_GPU_PLATFORM={}; falling back to auto-detect", raw);
    return std::nullopt;
  }
  KG_INFO(platform_log(), "Using KEEP_GPU_PLATFORM={} override", value);
  if (value == "macm") {
    KG_WARN(platform_log(),
            "KEEP_GPU_PLATFORM=macm selects Apple MPS, which this build does not support; "
            "using cpu");
  }
  return chosen;
}

bool PlatformDetector::cuda_present() {
  const auto lg = platform_log();
  try {
    if (cuda::DeviceQuery(cuda_).count() > 0) return true;
  } catch (const std::exception& e) {
    KG_DEBUG(lg, "Platform check {} failed: {}", "cuda", e.what());
  }
  // No usable driver: NVML alone still means an NVIDIA host (upstream's rule).
  std::shared_ptr<const nvml::NvmlApi> nvml;
  try {
    nvml = nvml_();
  } catch (const std::exception& e) {
    KG_DEBUG(lg, "NVML unavailable: {}", e.what());
    return false;
  }
  if (const auto status = nvml->nvmlInit(); status != nvml::kSuccess) {
    KG_DEBUG(lg, "NVML unavailable: {}", nvml->error_text(status));
    return false;
  }
  if (const auto status = nvml->nvmlShutdown(); status != nvml::kSuccess) {
    KG_DEBUG(lg, "NVML shutdown after probe failed: {}", nvml->error_text(status));
  }
  return true;
}

bool PlatformDetector::rocm_present() {
  try {
    if (rocm::HipDeviceQuery(hip_).count() > 0) return true;
  } catch (const std::exception& e) {
    KG_DEBUG(platform_log(), "Platform check {} failed: {}", "rocm", e.what());
  }
  // No HIP runtime (or no device through it): ROCm SMI alone still means an AMD host.
  return rocm_smi_sees_devices();
}

bool PlatformDetector::rocm_smi_sees_devices() {
  const auto lg = platform_log();
  std::shared_ptr<const rocm::RsmiApi> rsmi;
  try {
    rsmi = rsmi_();
  } catch (const std::exception& e) {
    KG_DEBUG(lg, "ROCm SMI unavailable: {}", e.what());
    return false;
  }
  if (const auto status = rsmi->rsmi_init(0); status != rocm::kRsmiSuccess) {
    KG_DEBUG(lg, "ROCm SMI unavailable: {}", rsmi->status_text(status));
    return false;
  }
  rocm::rsmi_status_t count_status = rocm::kRsmiSuccess;
  const auto count = rocm::monitor_count(*rsmi, count_status);
  if (const auto status = rsmi->rsmi_shut_down(); status != rocm::kRsmiSuccess) {
    KG_DEBUG(lg, "ROCm SMI shutdown after probe failed: {}", rsmi->status_text(status));
  }
  // A library without the count entry point cannot tell; upstream's rule (init works) decides.
  if (rsmi->rsmi_num_monitor_devices == nullptr) return true;
  if (!count || *count == 0) {
    KG_DEBUG(lg, "ROCm SMI unavailable: {}",
             count ? "no AMD GPU is monitored"
                   : "rsmi_num_monitor_devices: " + rsmi->status_text(count_status));
    return false;
  }
  return true;
}

Platform detect_platform() {
  return PlatformDetector::process().detect();
}

std::shared_ptr<Backend> make_backend(Platform platform) {
  if (platform == Platform::cuda) return std::make_shared<cuda::CudaBackend>();
  if (platform == Platform::rocm) return std::make_shared<rocm::RocmBackend>();
  return nullptr;
}

}  // namespace keepgpu::gpu
