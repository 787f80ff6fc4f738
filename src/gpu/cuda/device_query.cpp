#include "gpu/cuda/device_query.hpp"

#include <cstring>

#include "core/errors.hpp"

namespace keepgpu::gpu::cuda {
namespace {

constexpr int kNameBufferSize = 256;

DeviceEnumerationUnavailableError enumeration_error(const std::string& detail) {
  return DeviceEnumerationUnavailableError("Unable to enumerate visible GPUs: " + detail);
}

}  // namespace

DeviceQuery::DeviceQuery(const CudaLoader& loader) {
  try {
    api_ = loader();
  } catch (const LibraryError&) {
    // No driver on this host: every question below has the "no device" answer.
  }
}

bool DeviceQuery::available() {
  if (!api_) return false;
  const CUresult status = api_->cuInit(0);
  if (status == kSuccess) return true;
  if (means_no_device(status)) return false;
  throw api_->error(status, "cuInit");
}

int DeviceQuery::count() {
  if (!api_) return 0;
  const CUresult init = api_->cuInit(0);
  if (means_no_device(init)) return 0;
  if (init != kSuccess) throw enumeration_error(api_->describe(init, "cuInit"));
  int devices = 0;
  const CUresult status = api_->cuDeviceGetCount(&devices);
  if (means_no_device(status)) return 0;
  if (status != kSuccess) throw enumeration_error(api_->describe(status, "cuDeviceGetCount"));
  if (devices < 0) throw enumeration_error("the driver reported a negative device count");
  return devices;
}

CUdevice DeviceQuery::device(int ordinal) {
  if (!api_) throw GpuError("CUDA driver not available", kErrorNoDevice, false);
  CUdevice device = 0;
  api_->check(api_->cuDeviceGet(&device, ordinal), "cuDeviceGet");
  return device;
}

std::optional<std::string> DeviceQuery::name(CUdevice device) {
  if (!api_) return std::nullopt;
  char buffer[kNameBufferSize] = {};
  if (api_->cuDeviceGetName(buffer, kNameBufferSize - 1, device) != kSuccess) return std::nullopt;
  std::string text(buffer, strnlen(buffer, kNameBufferSize));
  if (text.empty()) return std::nullopt;
  return text;
}

std::optional<std::uint64_t> DeviceQuery::total_memory(CUdevice device) {
  if (!api_ || api_->cuDeviceTotalMem == nullptr) return std::nullopt;
  std::size_t bytes = 0;
  if (api_->cuDeviceTotalMem(&bytes, device) != kSuccess) return std::nullopt;
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace keepgpu::gpu::cuda
