// The keep-alive code objects of one backend, compiled by hiprtc once per GPU architecture and
// shared by every session on a GPU of that architecture (a hiprtc compile takes a noticeable part
// of the keeper's 5 s startup handshake, so it is not repeated per keep()).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "gpu/rocm/hiprtc_api.hpp"

namespace keepgpu::gpu::rocm {

// Compiles the keep-alive program with `--gpu-architecture=<arch>` (no architecture option when
// `arch` is std::nullopt: hiprtc then targets the current device). Throws std::runtime_error whose
// text includes hiprtc's log.
std::vector<char> compile_keepalive(const HiprtcApi& rtc, const std::optional<std::string>& arch);

class KernelCache {
 public:
  explicit KernelCache(HiprtcLoader loader = HiprtcApi::shared);

  struct Result {
    std::shared_ptr<const std::vector<char>> code;  // nullptr: no kernels, see `reason`
    std::string reason;                             // why there are none
    bool compiler_missing = false;                  // the reason is a missing libhiprtc
  };
  // The code object for `arch`; a failure (hiprtc missing, compile error) is remembered too, so a
  // broken compiler is asked once. Thread-safe.
  Result get(const std::optional<std::string>& arch);

 private:
  HiprtcLoader loader_;
  std::mutex mutex_;
  std::map<std::string, Result> results_;  // by architecture ("" = hiprtc's default)
};

}  // namespace keepgpu::gpu::rocm
