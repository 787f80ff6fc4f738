#include "gpu/rocm/amd_device_probe.hpp"

#include <fstream>
#include <string>

namespace keepgpu::gpu::rocm {

bool amd_device_present(const std::filesystem::path& root) {
  std::error_code ec;
  if (std::filesystem::exists(root / "dev/kfd", ec)) return true;
  const auto drm = root / "sys/class/drm";
  for (std::filesystem::directory_iterator it(drm, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    // card0, card1, ...; not the connectors (card0-DP-1) or render nodes.
    if (!name.starts_with("card") || name.find('-') != std::string::npos) continue;
    std::ifstream vendor(it->path() / "device/vendor");
    std::string text;
    if (vendor >> text && text == "0x1002") return true;
  }
  return false;
}

}  // namespace keepgpu::gpu::rocm
