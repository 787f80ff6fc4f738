#include "gpu/rocm/hip_device_query.hpp"

#include <cstring>
#include <vector>

#include "core/errors.hpp"

namespace keepgpu::gpu::rocm {
namespace {

constexpr int kNameBufferSize = 256;

DeviceEnumerationUnavailableError enumeration_error(const std::string& detail) {
  return DeviceEnumerationUnavailableError("Unable to enumerate visible GPUs: " + detail);
}

}  // namespace

std::optional<std::string> gcn_arch_name(const HipApi& api, int ordinal) {
  if (api.hipGetDevicePropertiesR0600 == nullptr) return std::nullopt;
  // 8-byte aligned and larger than the struct (see kPropsBufferSize).
  std::vector<std::uint64_t> buffer(kPropsBufferSize / sizeof(std::uint64_t), 0);
  if (api.hipGetDevicePropertiesR0600(buffer.data(), ordinal) != kHipSuccess) return std::nullopt;
  const char* field = reinterpret_cast<const char*>(buffer.data()) + kPropsR0600GcnArchNameOffset;
  std::string arch(field, strnlen(field, kPropsGcnArchNameSize));
  // Anything but a gfx target means the layout is not what we expect: better no option at all
  // (hiprtc then targets the current device) than a wrong one.
  if (arch.rfind("gfx", 0) != 0) return std::nullopt;
  return arch;
}

HipDeviceQuery::HipDeviceQuery(const HipLoader& loader) {
  try {
    api_ = loader();
  } catch (const LibraryError&) {
    // No HIP runtime on this host: every question below has the "no device" answer.
  }
}

bool HipDeviceQuery::available() {
  if (!api_) return false;
  const hipError_t status = api_->hipInit(0);
  if (status == kHipSuccess) return true;
  if (means_no_device(status)) return false;
  throw api_->error(status, "hipInit");
}

int HipDeviceQuery::count() {
  if (!api_) return 0;
  const hipError_t init = api_->hipInit(0);
  if (means_no_device(init)) return 0;
  if (init != kHipSuccess) throw enumeration_error(api_->describe(init, "hipInit"));
  int devices = 0;
  const hipError_t status = api_->hipGetDeviceCount(&devices);
  if (means_no_device(status)) return 0;
  if (status != kHipSuccess) throw enumeration_error(api_->describe(status, "hipGetDeviceCount"));
  if (devices < 0) throw enumeration_error("the HIP runtime reported a negative device count");
  return devices;
}

int HipDeviceQuery::current() {
  if (!api_) throw GpuError("HIP runtime not available", kHipErrorNoDevice, false);
  int device = 0;
  api_->check(api_->hipGetDevice(&device), "hipGetDevice");
  return device;
}

void HipDeviceQuery::select(int ordinal) {
  if (!api_) throw GpuError("HIP runtime not available", kHipErrorNoDevice, false);
  api_->check(api_->hipSetDevice(ordinal), "hipSetDevice");
}

std::optional<std::string> HipDeviceQuery::name(int ordinal) {
  if (!api_) return std::nullopt;
  char buffer[kNameBufferSize] = {};
  if (api_->hipDeviceGetName(buffer, kNameBufferSize - 1, ordinal) != kHipSuccess) {
    return std::nullopt;
  }
  std::string text(buffer, strnlen(buffer, kNameBufferSize));
  if (text.empty()) return std::nullopt;
  return text;
}

std::optional<std::string> HipDeviceQuery::architecture(int ordinal) {
  if (!api_) return std::nullopt;
  return gcn_arch_name(*api_, ordinal);
}

MemoryInfo HipDeviceQuery::memory_info() {
  if (!api_) throw GpuError("HIP runtime not available", kHipErrorNoDevice, false);
  std::size_t free = 0;
  std::size_t total = 0;
  api_->check(api_->hipMemGetInfo(&free, &total), "hipMemGetInfo");
  return {static_cast<std::uint64_t>(free), static_cast<std::uint64_t>(total)};
}

}  // namespace keepgpu::gpu::rocm
