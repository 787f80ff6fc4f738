#include "gpu/rocm/kernel_cache.hpp"

#include <stdexcept>

#include "gpu/backend.hpp"
#include "gpu/rocm/keepalive_source.hpp"

namespace keepgpu::gpu::rocm {
namespace {

// Destroys the program on every path out of compile_keepalive.
class Program {
 public:
  Program(const HiprtcApi& rtc, hiprtcProgram program) : rtc_(rtc), program_(program) {}
  ~Program() { rtc_.hiprtcDestroyProgram(&program_); }
  Program(const Program&) = delete;
  Program& operator=(const Program&) = delete;
  hiprtcProgram get() const { return program_; }

 private:
  const HiprtcApi& rtc_;
  hiprtcProgram program_;
};

std::string program_log(const HiprtcApi& rtc, hiprtcProgram program) {
  std::size_t bytes = 0;
  if (rtc.hiprtcGetProgramLogSize(program, &bytes) != kHiprtcSuccess || bytes <= 1) return {};
  std::string log(bytes, '\0');
  if (rtc.hiprtcGetProgramLog(program, log.data()) != kHiprtcSuccess) return {};
  log.resize(log.find('\0') == std::string::npos ? log.size() : log.find('\0'));
  while (!log.empty() && (log.back() == '\n' || log.back() == ' '))
    log.pop_back();
  return log;
}

}  // namespace

std::vector<char> compile_keepalive(const HiprtcApi& rtc, const std::optional<std::string>& arch) {
  hiprtcProgram raw = nullptr;
  if (const hiprtcResult status = rtc.hiprtcCreateProgram(
          &raw, keepalive_hip_source().data(), "keepgpu_keepalive.hip", 0, nullptr, nullptr);
      status != kHiprtcSuccess) {
    throw std::runtime_error(rtc.describe(status, "hiprtcCreateProgram"));
  }
  const Program program(rtc, raw);
  std::vector<std::string> options = {"-O3"};
  if (arch) options.push_back("--gpu-architecture=" + *arch);
  std::vector<const char*> pointers;
  pointers.reserve(options.size());
  for (const std::string& option : options)
    pointers.push_back(option.c_str());
  if (const hiprtcResult status = rtc.hiprtcCompileProgram(
          program.get(), static_cast<int>(pointers.size()), pointers.data());
      status != kHiprtcSuccess) {
    std::string message = rtc.describe(status, "hiprtcCompileProgram");
    if (const std::string log = program_log(rtc, program.get()); !log.empty()) {
      message += "; compile log: " + log;
    }
    throw std::runtime_error(message);
  }
  std::size_t bytes = 0;
  if (const hiprtcResult status = rtc.hiprtcGetCodeSize(program.get(), &bytes);
      status != kHiprtcSuccess || bytes == 0) {
    throw std::runtime_error(status != kHiprtcSuccess ? rtc.describe(status, "hiprtcGetCodeSize")
                                                      : "hiprtc produced an empty code object");
  }
  std::vector<char> code(bytes);
  if (const hiprtcResult status = rtc.hiprtcGetCode(program.get(), code.data());
      status != kHiprtcSuccess) {
    throw std::runtime_error(rtc.describe(status, "hiprtcGetCode"));
  }
  return code;
}

KernelCache::KernelCache(HiprtcLoader loader) : loader_(std::move(loader)) {}

KernelCache::Result KernelCache::get(const std::optional<std::string>& arch) {
  std::lock_guard lock(mutex_);
  const std::string key = arch.value_or("");
  if (auto it = results_.find(key); it != results_.end()) return it->second;
  Result result;
  try {
    const std::shared_ptr<const HiprtcApi> rtc = loader_();
    result.code = std::make_shared<const std::vector<char>>(compile_keepalive(*rtc, arch));
  } catch (const LibraryError& e) {
    result.reason = std::string("hiprtc is not available: ") + e.what();
    result.compiler_missing = true;
  } catch (const std::exception& e) {
    result.reason = std::string("hiprtc could not compile the keep-alive kernels: ") + e.what();
  }
  results_.emplace(key, result);
  return result;
}

}  // namespace keepgpu::gpu::rocm
