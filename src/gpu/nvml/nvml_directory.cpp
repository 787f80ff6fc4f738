#include "gpu/nvml/nvml_directory.hpp"

#include <cstring>

namespace keepgpu::gpu::nvml {

int NvmlDirectory::device_count(unsigned& count) {
  return api_.nvmlDeviceGetCount(&count);
}

int NvmlDirectory::handle_by_index(unsigned index, DeviceHandle& handle) {
  nvmlDevice_t device = nullptr;
  const int status = api_.nvmlDeviceGetHandleByIndex(index, &device);
  if (status == kSuccess) handle = device;
  return status;
}

int NvmlDirectory::handle_by_uuid(const std::string& uuid, DeviceHandle& handle) {
  if (api_.nvmlDeviceGetHandleByUUID == nullptr) return kErrorNotSupported;
  nvmlDevice_t device = nullptr;
  const int status = api_.nvmlDeviceGetHandleByUUID(uuid.c_str(), &device);
  if (status == kSuccess) handle = device;
  return status;
}

int NvmlDirectory::device_index(DeviceHandle handle, unsigned& index) {
  if (api_.nvmlDeviceGetIndex == nullptr) return kErrorNotSupported;
  return api_.nvmlDeviceGetIndex(to_device(handle), &index);
}

int NvmlDirectory::device_uuid(DeviceHandle handle, std::string& uuid) {
  if (api_.nvmlDeviceGetUUID == nullptr) return kErrorNotSupported;
  char buffer[kTextBufferSize + 1] = {};
  const int status = api_.nvmlDeviceGetUUID(to_device(handle), buffer, kTextBufferSize);
  if (status == kSuccess) uuid.assign(buffer, strnlen(buffer, kTextBufferSize));
  return status;
}

}  // namespace keepgpu::gpu::nvml
