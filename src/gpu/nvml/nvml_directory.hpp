// DeviceDirectory over the NVML library: the calls the visibility mapping needs.
#pragma once

#include "gpu/nvml/nvml_api.hpp"
#include "gpu/visibility.hpp"

namespace keepgpu::gpu::nvml {

class NvmlDirectory final : public DeviceDirectory {
 public:
  explicit NvmlDirectory(const NvmlApi& api) : api_(api) {}

  int device_count(unsigned& count) override;
  int handle_by_index(unsigned index, DeviceHandle& handle) override;
  bool has_handle_by_uuid() const override { return api_.nvmlDeviceGetHandleByUUID != nullptr; }
  int handle_by_uuid(const std::string& uuid, DeviceHandle& handle) override;
  bool has_device_index() const override { return api_.nvmlDeviceGetIndex != nullptr; }
  int device_index(DeviceHandle handle, unsigned& index) override;
  bool has_device_uuid() const override { return api_.nvmlDeviceGetUUID != nullptr; }
  int device_uuid(DeviceHandle handle, std::string& uuid) override;
  std::string describe(int status) override { return api_.error_text(status); }

 private:
  const NvmlApi& api_;
};

// The opaque DeviceHandle back as an NVML device.
inline nvmlDevice_t to_device(DeviceHandle handle) {
  return static_cast<nvmlDevice_t>(const_cast<void*>(handle));
}

}  // namespace keepgpu::gpu::nvml
