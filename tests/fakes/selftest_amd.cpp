// Self-test of the fake AMD libraries (libamdhip64, libhiprtc, librocm_smi64): loads them by
// absolute path, the way the product does with KEEP_GPU_LIBHIP & co, and checks the contract in
// README.md (HIP masks, hiprtc code objects, ROCm SMI reference counting).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "selftest_support.hpp"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

using fakegpu::selftest::open_fake;
using fakegpu::selftest::symbol;

// The entry points the tests call, declared as the product declares them.
struct AmdApi {
  void* state = open_fake("libfakegpu_state.so");
  void* hip = open_fake("libamdhip64.so.6");
  void* rtc = open_fake("libhiprtc.so.6");
  void* smi = open_fake("librocm_smi64.so.7");
  void* smi_minimal = open_fake("librocm_smi64-minimal.so.7");

  char* (*state_json)() = symbol<char* (*)()>(state, "fakegpu_state_json");
  void (*free_)(void*) = symbol<void (*)(void*)>(state, "fakegpu_free");
  void (*reset)() = symbol<void (*)()>(state, "fakegpu_reset");
  void (*rsmi_external_shutdown)() = symbol<void (*)()>(state, "fakegpu_rsmi_external_shutdown");

  int (*hipInit)(unsigned) = symbol<int (*)(unsigned)>(hip, "hipInit");
  int (*hipGetDeviceCount)(int*) = symbol<int (*)(int*)>(hip, "hipGetDeviceCount");
  int (*hipSetDevice)(int) = symbol<int (*)(int)>(hip, "hipSetDevice");
  int (*hipGetDevicePropertiesR0600)(void*, int) =
      symbol<int (*)(void*, int)>(hip, "hipGetDevicePropertiesR0600");
  int (*hipMalloc)(void**, size_t) = symbol<int (*)(void**, size_t)>(hip, "hipMalloc");
  int (*hipFree)(void*) = symbol<int (*)(void*)>(hip, "hipFree");
  int (*hipMemcpyDtoDAsync)(void*, void*, size_t, void*) =
      symbol<int (*)(void*, void*, size_t, void*)>(hip, "hipMemcpyDtoDAsync");
  int (*hipModuleLoadData)(void**,
                           const void*) = symbol<int (*)(void**, const void*)>(hip,
                                                                               "hipModuleLoadData");
  int (*hipModuleUnload)(void*) = symbol<int (*)(void*)>(hip, "hipModuleUnload");

  int (*hiprtcCreateProgram)(void**, const char*, const char*, int, const char**, const char**) =
      symbol<int (*)(void**, const char*, const char*, int, const char**, const char**)>(
          rtc, "hiprtcCreateProgram");
  int (*hiprtcCompileProgram)(void*, int, const char**) =
      symbol<int (*)(void*, int, const char**)>(rtc, "hiprtcCompileProgram");
  int (*hiprtcGetCodeSize)(void*, size_t*) = symbol<int (*)(void*, size_t*)>(rtc,
                                                                             "hiprtcGetCodeSize");
  int (*hiprtcGetCode)(void*, char*) = symbol<int (*)(void*, char*)>(rtc, "hiprtcGetCode");
  int (*hiprtcDestroyProgram)(void**) = symbol<int (*)(void**)>(rtc, "hiprtcDestroyProgram");

  int (*rsmi_init)(std::uint64_t) = symbol<int (*)(std::uint64_t)>(smi, "rsmi_init");
  int (*rsmi_shut_down)() = symbol<int (*)()>(smi, "rsmi_shut_down");
  int (*rsmi_num_monitor_devices)(std::uint32_t*) =
      symbol<int (*)(std::uint32_t*)>(smi, "rsmi_num_monitor_devices");
  int (*rsmi_dev_busy_percent_get)(std::uint32_t, std::uint32_t*) =
      symbol<int (*)(std::uint32_t, std::uint32_t*)>(smi, "rsmi_dev_busy_percent_get");
  int (*rsmi_dev_memory_usage_get)(std::uint32_t, int, std::uint64_t*) =
      symbol<int (*)(std::uint32_t, int, std::uint64_t*)>(smi, "rsmi_dev_memory_usage_get");
};

AmdApi& amd() {
  static AmdApi* api = new AmdApi;
  return *api;
}

constexpr const char* kProgram =
    "extern \"C\" __global__ void keepgpu_fill(float* x, unsigned long long n) {}\n"
    "extern \"C\" __global__ void keepgpu_relu(float* x, unsigned long long n) {}\n"
    "__global__ void not_exported(float* x) {}\n";

class AmdFakes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fakegpu::selftest::make_temp_dir("fakegpu-amd-selftest");
    for (const char* name : {"ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES",
                             "FAKEGPU_STATE", "FAKEGPU_EVENTS"})
      unsetenv(name);
  }
  void TearDown() override {
    for (const char* name :
         {"ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", "FAKEGPU_CONFIG"})
      unsetenv(name);
    a.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void scenario(const json& cfg) {
    const std::string path = (dir_ / "config.json").string();
    fakegpu::selftest::write_scenario(path, cfg);
    setenv("FAKEGPU_CONFIG", path.c_str(), 1);
    a.reset();
  }
  json state() { return fakegpu::selftest::read_state(a.state_json, a.free_); }
  json devices(int count) {
    json out = json::array();
    for (int i = 0; i < count; ++i)
      out.push_back({{"name", "AMD " + std::to_string(i)}, {"utilization", 10 * i}});
    return out;
  }
  std::vector<int> visible_with(const char* rocr, const char* hip, const char* cuda) {
    rocr ? setenv("ROCR_VISIBLE_DEVICES", rocr, 1) : unsetenv("ROCR_VISIBLE_DEVICES");
    hip ? setenv("HIP_VISIBLE_DEVICES", hip, 1) : unsetenv("HIP_VISIBLE_DEVICES");
    cuda ? setenv("CUDA_VISIBLE_DEVICES", cuda, 1) : unsetenv("CUDA_VISIBLE_DEVICES");
    scenario({{"devices", devices(4)}});
    EXPECT_EQ(a.hipInit(0), 0);
    return state()["hip"]["visible"].get<std::vector<int>>();
  }
  std::string compile(const std::vector<const char*>& options) {
    void* program = nullptr;
    EXPECT_EQ(a.hiprtcCreateProgram(&program, kProgram, "p.hip", 0, nullptr, nullptr), 0);
    EXPECT_EQ(a.hiprtcCompileProgram(program, static_cast<int>(options.size()),
                                     const_cast<const char**>(options.data())),
              0);
    size_t size = 0;
    EXPECT_EQ(a.hiprtcGetCodeSize(program, &size), 0);
    std::string code(size, '\0');
    EXPECT_EQ(a.hiprtcGetCode(program, code.data()), 0);
    EXPECT_EQ(a.hiprtcDestroyProgram(&program), 0);
    EXPECT_EQ(program, nullptr);
    code.pop_back();  // the NUL
    return code;
  }

  AmdApi& a = amd();
  fs::path dir_;
};

TEST_F(AmdFakes, HipMasksFollowTheRuntime) {
  EXPECT_EQ(visible_with(nullptr, nullptr, nullptr), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(visible_with("3,1", nullptr, nullptr), (std::vector<int>{3, 1}));
  EXPECT_EQ(visible_with("3,1", "1", nullptr), (std::vector<int>{1}));
  EXPECT_EQ(visible_with(nullptr, nullptr, "2"), (std::vector<int>{2}));
  // HIP_VISIBLE_DEVICES wins over CUDA_VISIBLE_DEVICES.
  EXPECT_EQ(visible_with(nullptr, "2", "1"), (std::vector<int>{2}));
  // Lists stop at the first unusable token.
  EXPECT_EQ(visible_with(nullptr, "0,,2", nullptr), (std::vector<int>{0}));
  EXPECT_EQ(visible_with("1,2", "0,5,1", nullptr), (std::vector<int>{1}));
  EXPECT_EQ(visible_with("GPU-00000000-0000-0000-0000-000000000003", nullptr, nullptr),
            (std::vector<int>{3}));
  int count = -1;
  visible_with(nullptr, "-1", nullptr);
  EXPECT_EQ(a.hipGetDeviceCount(&count), 100);  // hipErrorNoDevice
  EXPECT_EQ(count, 0);
}

TEST_F(AmdFakes, PropertiesCarryTheArchitectureAtTheR0600Offset) {
  json devs = devices(2);
  devs[1]["gcn_arch"] = "gfx942:sramecc+:xnack-";
  scenario({{"devices", devs}});
  std::vector<std::uint64_t> buffer(4096 / 8, ~0ULL);
  ASSERT_EQ(a.hipGetDevicePropertiesR0600(buffer.data(), 1), 0);
  const char* props = reinterpret_cast<const char*>(buffer.data());
  EXPECT_STREQ(props, "AMD 1");
  EXPECT_STREQ(props + 1160, "gfx942:sramecc+:xnack-");
  EXPECT_EQ(static_cast<unsigned char>(props[1472]), 0xff) << "writes only the struct's bytes";
  EXPECT_EQ(a.hipGetDevicePropertiesR0600(buffer.data(), 2), 101);
}

TEST_F(AmdFakes, CodeObjectsNameTheTargetAndLoadOnlyWhereTheyFit) {
  scenario({{"devices", devices(1)}});
  ASSERT_EQ(a.hipSetDevice(0), 0);
  const std::string code = compile({"--gpu-architecture=gfx90a:sramecc+:xnack-"});
  EXPECT_EQ(code,
            "FAKEGPU-HSACO v1\narch gfx90a:sramecc+:xnack-\nentry keepgpu_fill\nentry "
            "keepgpu_relu\n");
  // Without an option hiprtc targets the current device.
  EXPECT_EQ(compile({}), code);
  void* module = nullptr;
  EXPECT_EQ(a.hipModuleLoadData(&module, code.c_str()), 0);
  EXPECT_EQ(a.hipModuleUnload(module), 0);
  EXPECT_EQ(a.hipModuleLoadData(&module, compile({"--offload-arch=gfx90a"}).c_str()), 0);
  EXPECT_EQ(a.hipModuleUnload(module), 0);
  EXPECT_EQ(a.hipModuleLoadData(&module, compile({"--offload-arch=gfx90a:xnack+"}).c_str()), 209);
  EXPECT_EQ(a.hipModuleLoadData(&module, "not a code object"), 200);
  EXPECT_EQ(state()["hiprtc"]["programs_live"], 0);
}

TEST_F(AmdFakes, CopiesMustStayInsideTheBuffer) {
  scenario({{"devices", devices(1)}});
  void* p = nullptr;
  ASSERT_EQ(a.hipMalloc(&p, 1 << 20), 0);
  char* base = static_cast<char*>(p);
  EXPECT_EQ(a.hipMemcpyDtoDAsync(base + (1 << 19), base, 1 << 19, nullptr), 0);
  EXPECT_EQ(a.hipMemcpyDtoDAsync(base + (1 << 19) + 1, base, 1 << 19, nullptr), 1);
  EXPECT_EQ(state()["devices"][0]["copies"], 1);
  EXPECT_EQ(state()["devices"][0]["copy_bytes"], 1 << 19);
  std::uint64_t used = 0;
  ASSERT_EQ(a.rsmi_dev_memory_usage_get(0, 0, &used), 0);
  EXPECT_EQ(used, 1u << 20) << "ROCm SMI sees the HIP allocation";
  EXPECT_EQ(a.hipFree(p), 0);
}

TEST_F(AmdFakes, RocmSmiIsReferenceCounted) {
  scenario({{"devices", devices(3)}, {"rsmi", {{"requires_init", true}}}});
  std::uint32_t value = 0;
  EXPECT_EQ(a.rsmi_dev_busy_percent_get(2, &value), 8) << "not initialised";
  EXPECT_EQ(a.rsmi_init(0), 0);
  EXPECT_EQ(a.rsmi_init(0), 0);
  EXPECT_EQ(a.rsmi_dev_busy_percent_get(2, &value), 0);
  EXPECT_EQ(value, 20u);
  EXPECT_EQ(a.rsmi_num_monitor_devices(&value), 0);
  EXPECT_EQ(value, 3u);
  a.rsmi_external_shutdown();
  EXPECT_EQ(a.rsmi_num_monitor_devices(&value), 8);
  EXPECT_EQ(a.rsmi_shut_down(), 8) << "nothing left to shut down";
  const json rsmi = state()["rsmi"];
  EXPECT_EQ(rsmi["calls"], json::array({"init", "init", "shutdown"}));
  EXPECT_EQ(rsmi["busy_percent_calls"], json::array({2}));
  EXPECT_EQ(rsmi["uninitialized_rejections"], 2);
  EXPECT_EQ(rsmi["external_shutdowns"], 1);
}

TEST_F(AmdFakes, MinimalRocmSmiLacksTheOptionalEntryPoints) {
  for (const char* name :
       {"rsmi_num_monitor_devices", "rsmi_dev_current_socket_power_get", "rsmi_dev_power_ave_get",
        "rsmi_dev_temp_metric_get", "rsmi_dev_unique_id_get", "rsmi_status_string"}) {
    EXPECT_EQ(dlsym(a.smi_minimal, name), nullptr) << name;
    EXPECT_NE(dlsym(a.smi, name), nullptr) << name;
  }
  for (const char* name : {"rsmi_init", "rsmi_shut_down", "rsmi_dev_busy_percent_get"})
    EXPECT_NE(dlsym(a.smi_minimal, name), nullptr) << name;
}

}  // namespace
