// Fake hiprtc (libhiprtc.so): "compiles" a program by finding its extern "C" __global__ functions
// and returns a small text code object naming the target architecture and the kernels, which the
// fake HIP runtime's hipModuleLoadData accepts only on a device of that architecture. So a test
// sees that the product asked for the device's own gcnArchName and found its kernels by name.
#include <cctype>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "fakegpu_state.hpp"

using fakegpu::State;

namespace {

enum : int {
  HIPRTC_SUCCESS = 0,
  HIPRTC_ERROR_INVALID_INPUT = 3,
  HIPRTC_ERROR_INVALID_PROGRAM = 4,
  HIPRTC_ERROR_COMPILATION = 6,
};

struct Program {
  std::string source;
  std::string code;  // the code object text, empty until compiled
  std::string log;
};

using Lock = std::unique_lock<std::mutex>;

// Programs handed out and not destroyed yet (guarded by the state mutex).
std::set<Program*>& programs() {
  static auto* live = new std::set<Program*>();
  return *live;
}

// The names of `extern "C" __global__ void NAME(` in the source.
std::vector<std::string> kernel_names(const std::string& source) {
  std::vector<std::string> names;
  const std::string marker = "__global__ void";
  for (std::size_t pos = source.find(marker); pos != std::string::npos;
       pos = source.find(marker, pos + 1)) {
    std::size_t i = pos + marker.size();
    while (i < source.size() && std::isspace(static_cast<unsigned char>(source[i])))
      ++i;
    std::size_t j = i;
    while (j < source.size() &&
           (std::isalnum(static_cast<unsigned char>(source[j])) || source[j] == '_'))
      ++j;
    if (j > i && source.compare(pos >= 11 ? pos - 11 : 0, 10, "extern \"C\"") == 0)
      names.push_back(source.substr(i, j - i));
  }
  return names;
}

// With no architecture option hiprtc targets the device current on the calling thread.
std::string current_device_arch(State& s) {
  if (!s.hip_initialized) return "";
  const auto visible = fakegpu::hip_visible_devices(s);
  const int ordinal = fakegpu::hip_current_device();
  if (ordinal < 0 || ordinal >= static_cast<int>(visible.size())) return "";
  return s.config.devices[static_cast<std::size_t>(visible[ordinal])].gcn_arch;
}

}  // namespace

#define HIPRTC_API extern "C" __attribute__((visibility("default")))

HIPRTC_API int hiprtcCreateProgram(Program** program, const char* source, const char* /*name*/,
                                   int /*header_count*/, const char** /*headers*/,
                                   const char** /*include_names*/) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (!program || !source) return HIPRTC_ERROR_INVALID_INPUT;
  if (s.config.hiprtc.create_error != 0) return s.config.hiprtc.create_error;
  auto* p = new Program;
  p->source = source;
  programs().insert(p);
  ++s.hiprtc_programs_created;
  ++s.hiprtc_programs_live;
  *program = p;
  fakegpu::publish(s);
  return HIPRTC_SUCCESS;
}

HIPRTC_API int hiprtcCompileProgram(Program* program, int option_count, const char** options) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  fakegpu::refresh_config(s);
  if (!programs().contains(program)) return HIPRTC_ERROR_INVALID_PROGRAM;
  ++s.hiprtc_compiles;
  s.hiprtc_last_options.clear();
  std::string arch;
  for (int i = 0; i < option_count; ++i) {
    const std::string option = options[i];
    s.hiprtc_last_options.push_back(option);
    for (const char* prefix : {"--gpu-architecture=", "--offload-arch="}) {
      if (option.rfind(prefix, 0) == 0) arch = option.substr(std::strlen(prefix));
    }
  }
  fakegpu::publish(s);
  if (s.config.hiprtc.compile_error != 0) {
    program->log = s.config.hiprtc.log.empty() ? "error: fakegpu: injected compile_error"
                                               : s.config.hiprtc.log;
    return s.config.hiprtc.compile_error;
  }
  const auto names = kernel_names(program->source);
  if (names.empty()) {
    program->log = "error: fakegpu: no extern \"C\" __global__ function in the program";
    return HIPRTC_ERROR_COMPILATION;
  }
  if (arch.empty()) arch = current_device_arch(s);
  program->code = "FAKEGPU-HSACO v1\narch " + arch + "\n";
  for (const auto& name : names)
    program->code += "entry " + name + "\n";
  program->log = s.config.hiprtc.log;
  return HIPRTC_SUCCESS;
}

HIPRTC_API int hiprtcGetCodeSize(Program* program, std::size_t* bytes) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!programs().contains(program) || program->code.empty()) return HIPRTC_ERROR_INVALID_PROGRAM;
  if (!bytes) return HIPRTC_ERROR_INVALID_INPUT;
  *bytes = program->code.size() + 1;  // the NUL ends the text for hipModuleLoadData
  return HIPRTC_SUCCESS;
}

HIPRTC_API int hiprtcGetCode(Program* program, char* code) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!programs().contains(program) || program->code.empty()) return HIPRTC_ERROR_INVALID_PROGRAM;
  if (!code) return HIPRTC_ERROR_INVALID_INPUT;
  std::memcpy(code, program->code.c_str(), program->code.size() + 1);
  return HIPRTC_SUCCESS;
}

HIPRTC_API int hiprtcGetProgramLogSize(Program* program, std::size_t* bytes) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!programs().contains(program)) return HIPRTC_ERROR_INVALID_PROGRAM;
  if (!bytes) return HIPRTC_ERROR_INVALID_INPUT;
  *bytes = program->log.size() + 1;
  return HIPRTC_SUCCESS;
}

HIPRTC_API int hiprtcGetProgramLog(Program* program, char* log) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!programs().contains(program)) return HIPRTC_ERROR_INVALID_PROGRAM;
  if (!log) return HIPRTC_ERROR_INVALID_INPUT;
  std::memcpy(log, program->log.c_str(), program->log.size() + 1);
  return HIPRTC_SUCCESS;
}

HIPRTC_API int hiprtcDestroyProgram(Program** program) {
  State& s = fakegpu::state();
  Lock lock(s.mu);
  if (!program || !programs().erase(*program)) return HIPRTC_ERROR_INVALID_PROGRAM;
  delete *program;
  *program = nullptr;
  if (s.hiprtc_programs_live > 0) --s.hiprtc_programs_live;
  fakegpu::publish(s);
  return HIPRTC_SUCCESS;
}

HIPRTC_API const char* hiprtcGetErrorString(int result) {
  switch (result) {
    case 0:
      return "HIPRTC_SUCCESS";
    case 1:
      return "HIPRTC_ERROR_OUT_OF_MEMORY";
    case 2:
      return "HIPRTC_ERROR_PROGRAM_CREATION_FAILURE";
    case 3:
      return "HIPRTC_ERROR_INVALID_INPUT";
    case 4:
      return "HIPRTC_ERROR_INVALID_PROGRAM";
    case 5:
      return "HIPRTC_ERROR_INVALID_OPTION";
    case 6:
      return "HIPRTC_ERROR_COMPILATION";
    default:
      return "HIPRTC_ERROR_INTERNAL_ERROR";
  }
}
