// Self-test of the fake vendor libraries: loads them by absolute path, the way the product does
// with KEEP_GPU_LIBCUDA / KEEP_GPU_LIBNVML, and checks the contract in README.md.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "selftest_support.hpp"

namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr unsigned long long kMiB = 1ULL << 20;
constexpr unsigned long long kGiB = 1ULL << 30;

// The driver API and NVML types, declared the way the product declares them.
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void* CUcontext;
typedef void* CUmodule;
typedef void* CUfunction;
typedef void* CUstream;
typedef void* CUevent;
struct CUuuid {
  unsigned char bytes[16];
};
typedef void* nvmlDevice_t;
struct nvmlUtilization_t {
  unsigned gpu;
  unsigned memory;
};
struct nvmlMemory_t {
  unsigned long long total, free, used;
};
struct nvmlProcessInfo_t {
  unsigned pid;
  unsigned long long usedGpuMemory;
  unsigned gpuInstanceId;
  unsigned computeInstanceId;
};

using fakegpu::selftest::open_fake;
using fakegpu::selftest::read_state;
using fakegpu::selftest::symbol;
using fakegpu::selftest::write_scenario;

// Every entry point the tests call, resolved once from the loaded fakes.
struct Api {
  void* state_lib = open_fake("libfakegpu_state.so");
  void* cuda = open_fake("libcuda.so.1");
  void* nvml = open_fake("libnvidia-ml.so.1");

  char* (*state_json)() = symbol<char* (*)()>(state_lib, "fakegpu_state_json");
  void (*free_)(void*) = symbol<void (*)(void*)>(state_lib, "fakegpu_free");
  void (*reset)() = symbol<void (*)()>(state_lib, "fakegpu_reset");
  void (*external_shutdown)() = symbol<void (*)()>(state_lib, "fakegpu_nvml_external_shutdown");

  CUresult (*cuInit)(unsigned) = symbol<CUresult (*)(unsigned)>(cuda, "cuInit");
  CUresult (*cuDriverGetVersion)(int*) = symbol<CUresult (*)(int*)>(cuda, "cuDriverGetVersion");
  CUresult (*cuDeviceGetCount)(int*) = symbol<CUresult (*)(int*)>(cuda, "cuDeviceGetCount");
  CUresult (*cuDeviceGet)(CUdevice*, int) = symbol<CUresult (*)(CUdevice*, int)>(cuda,
                                                                                 "cuDeviceGet");
  CUresult (*cuDeviceGetName)(char*, int, CUdevice) =
      symbol<CUresult (*)(char*, int, CUdevice)>(cuda, "cuDeviceGetName");
  CUresult (*cuDeviceGetUuid_v2)(CUuuid*, CUdevice) =
      symbol<CUresult (*)(CUuuid*, CUdevice)>(cuda, "cuDeviceGetUuid_v2");
  CUresult (*cuDeviceTotalMem_v2)(size_t*, CUdevice) =
      symbol<CUresult (*)(size_t*, CUdevice)>(cuda, "cuDeviceTotalMem_v2");
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice) =
      symbol<CUresult (*)(int*, int, CUdevice)>(cuda, "cuDeviceGetAttribute");
  CUresult (*cuDeviceGetPCIBusId)(char*, int, CUdevice) =
      symbol<CUresult (*)(char*, int, CUdevice)>(cuda, "cuDeviceGetPCIBusId");
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice) =
      symbol<CUresult (*)(CUcontext*, CUdevice)>(cuda, "cuDevicePrimaryCtxRetain");
  CUresult (*cuDevicePrimaryCtxRelease_v2)(CUdevice) =
      symbol<CUresult (*)(CUdevice)>(cuda, "cuDevicePrimaryCtxRelease_v2");
  CUresult (*cuDevicePrimaryCtxReset_v2)(CUdevice) =
      symbol<CUresult (*)(CUdevice)>(cuda, "cuDevicePrimaryCtxReset_v2");
  CUresult (*cuCtxSetCurrent)(CUcontext) = symbol<CUresult (*)(CUcontext)>(cuda, "cuCtxSetCurrent");
  CUresult (*cuCtxGetCurrent)(CUcontext*) = symbol<CUresult (*)(CUcontext*)>(cuda,
                                                                             "cuCtxGetCurrent");
  CUresult (*cuCtxSynchronize)() = symbol<CUresult (*)()>(cuda, "cuCtxSynchronize");
  CUresult (*cuMemAlloc_v2)(CUdeviceptr*,
                            size_t) = symbol<CUresult (*)(CUdeviceptr*, size_t)>(cuda,
                                                                                 "cuMemAlloc_v2");
  CUresult (*cuMemFree_v2)(CUdeviceptr) = symbol<CUresult (*)(CUdeviceptr)>(cuda, "cuMemFree_v2");
  CUresult (*cuMemGetInfo_v2)(size_t*,
                              size_t*) = symbol<CUresult (*)(size_t*, size_t*)>(cuda,
                                                                                "cuMemGetInfo_v2");
  CUresult (*cuMemsetD32_v2)(CUdeviceptr, unsigned, size_t) =
      symbol<CUresult (*)(CUdeviceptr, unsigned, size_t)>(cuda, "cuMemsetD32_v2");
  CUresult (*cuModuleLoadData)(CUmodule*, const void*) =
      symbol<CUresult (*)(CUmodule*, const void*)>(cuda, "cuModuleLoadData");
  CUresult (*cuModuleLoadDataEx)(CUmodule*, const void*, unsigned, int*, void**) =
      symbol<CUresult (*)(CUmodule*, const void*, unsigned, int*, void**)>(cuda,
                                                                           "cuModuleLoadDataEx");
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*) =
      symbol<CUresult (*)(CUfunction*, CUmodule, const char*)>(cuda, "cuModuleGetFunction");
  CUresult (*cuModuleUnload)(CUmodule) = symbol<CUresult (*)(CUmodule)>(cuda, "cuModuleUnload");
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, CUstream, void**, void**) =
      symbol<CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                          unsigned, CUstream, void**, void**)>(cuda, "cuLaunchKernel");
  CUresult (*cuStreamSynchronize)(CUstream) = symbol<CUresult (*)(CUstream)>(cuda,
                                                                             "cuStreamSynchronize");
  CUresult (*cuEventCreate)(CUevent*,
                            unsigned) = symbol<CUresult (*)(CUevent*, unsigned)>(cuda,
                                                                                 "cuEventCreate");
  CUresult (*cuEventRecord)(CUevent,
                            CUstream) = symbol<CUresult (*)(CUevent, CUstream)>(cuda,
                                                                                "cuEventRecord");
  CUresult (*cuEventSynchronize)(CUevent) = symbol<CUresult (*)(CUevent)>(cuda,
                                                                          "cuEventSynchronize");
  CUresult (*cuEventQuery)(CUevent) = symbol<CUresult (*)(CUevent)>(cuda, "cuEventQuery");
  CUresult (*cuEventDestroy_v2)(CUevent) = symbol<CUresult (*)(CUevent)>(cuda, "cuEventDestroy_v2");
  CUresult (*cuGetErrorString)(CUresult, const char**) =
      symbol<CUresult (*)(CUresult, const char**)>(cuda, "cuGetErrorString");
  CUresult (*cuGetErrorName)(CUresult, const char**) =
      symbol<CUresult (*)(CUresult, const char**)>(cuda, "cuGetErrorName");

  int (*nvmlInit_v2)() = symbol<int (*)()>(nvml, "nvmlInit_v2");
  int (*nvmlShutdown)() = symbol<int (*)()>(nvml, "nvmlShutdown");
  const char* (*nvmlErrorString)(int) = symbol<const char* (*)(int)>(nvml, "nvmlErrorString");
  int (*nvmlDeviceGetCount_v2)(unsigned*) = symbol<int (*)(unsigned*)>(nvml,
                                                                       "nvmlDeviceGetCount_v2");
  int (*nvmlDeviceGetHandleByIndex_v2)(unsigned, nvmlDevice_t*) =
      symbol<int (*)(unsigned, nvmlDevice_t*)>(nvml, "nvmlDeviceGetHandleByIndex_v2");
  int (*nvmlDeviceGetHandleByUUID)(const char*, nvmlDevice_t*) =
      symbol<int (*)(const char*, nvmlDevice_t*)>(nvml, "nvmlDeviceGetHandleByUUID");
  int (*nvmlDeviceGetHandleByPciBusId_v2)(const char*, nvmlDevice_t*) =
      symbol<int (*)(const char*, nvmlDevice_t*)>(nvml, "nvmlDeviceGetHandleByPciBusId_v2");
  int (*nvmlDeviceGetIndex)(nvmlDevice_t, unsigned*) =
      symbol<int (*)(nvmlDevice_t, unsigned*)>(nvml, "nvmlDeviceGetIndex");
  int (*nvmlDeviceGetUUID)(nvmlDevice_t, char*, unsigned) =
      symbol<int (*)(nvmlDevice_t, char*, unsigned)>(nvml, "nvmlDeviceGetUUID");
  int (*nvmlDeviceGetName)(nvmlDevice_t, char*, unsigned) =
      symbol<int (*)(nvmlDevice_t, char*, unsigned)>(nvml, "nvmlDeviceGetName");
  int (*nvmlDeviceGetUtilizationRates)(nvmlDevice_t, nvmlUtilization_t*) =
      symbol<int (*)(nvmlDevice_t, nvmlUtilization_t*)>(nvml, "nvmlDeviceGetUtilizationRates");
  int (*nvmlDeviceGetMemoryInfo)(nvmlDevice_t, nvmlMemory_t*) =
      symbol<int (*)(nvmlDevice_t, nvmlMemory_t*)>(nvml, "nvmlDeviceGetMemoryInfo");
  int (*nvmlDeviceGetPowerUsage)(nvmlDevice_t, unsigned*) =
      symbol<int (*)(nvmlDevice_t, unsigned*)>(nvml, "nvmlDeviceGetPowerUsage");
  int (*nvmlDeviceGetTemperature)(nvmlDevice_t, int, unsigned*) =
      symbol<int (*)(nvmlDevice_t, int, unsigned*)>(nvml, "nvmlDeviceGetTemperature");
  int (*nvmlDeviceGetComputeRunningProcesses_v3)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*) =
      symbol<int (*)(nvmlDevice_t, unsigned*, nvmlProcessInfo_t*)>(
          nvml, "nvmlDeviceGetComputeRunningProcesses_v3");
  int (*nvmlSystemGetDriverVersion)(char*, unsigned) =
      symbol<int (*)(char*, unsigned)>(nvml, "nvmlSystemGetDriverVersion");
};

Api& api() {
  static Api* a = new Api;
  return *a;
}

const char* kPtx =
    ".version 7.0\n.target sm_50\n.address_size 64\n"
    ".visible .entry keepgpu_fill(.param .u64 buf, .param .u64 n)\n{\n ret;\n}\n"
    ".visible .entry keepgpu_relu(.param .u64 buf, .param .u64 n)\n{\n ret;\n}\n"
    ".visible .entry keepgpu_spin(.param .u64 ns)\n{\n ret;\n}\n";

json device(const std::string& name, const std::string& uuid, unsigned long long total) {
  return json{{"name", name}, {"uuid", uuid}, {"total_memory", total}};
}

std::string uuid_of(int i) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "GPU-%08x-1111-2222-3333-44445555666%d", 0xa0 + i, i);
  return buf;
}

class Fakes : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fakegpu::selftest::make_temp_dir("fakegpu-selftest");
    config_path_ = (dir_ / "config.json").string();
    state_path_ = (dir_ / "state.json").string();
    unsetenv("CUDA_VISIBLE_DEVICES");
    unsetenv("FAKEGPU_EVENTS");
    setenv("FAKEGPU_STATE", state_path_.c_str(), 1);
  }
  void TearDown() override {
    // Leave the process as a fresh load would find it for the next test.
    unsetenv("FAKEGPU_CONFIG");
    unsetenv("FAKEGPU_STATE");
    unsetenv("CUDA_VISIBLE_DEVICES");
    a.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Writes the scenario atomically (temporary file + rename), as tests must.
  void write_config(const json& cfg) { write_scenario(config_path_, cfg); }
  // A fresh scenario: write it, point FAKEGPU_CONFIG at it, reset the fakes.
  void scenario(const json& cfg) {
    write_config(cfg);
    setenv("FAKEGPU_CONFIG", config_path_.c_str(), 1);
    a.reset();
  }
  json state() { return read_state(a.state_json, a.free_); }
  json state_file() {
    std::ifstream in(state_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return json::parse(ss.str());
  }
  // cuInit + retain + make current for one visible ordinal.
  CUcontext open(int ordinal) {
    CUcontext ctx = nullptr;
    EXPECT_EQ(a.cuDevicePrimaryCtxRetain(&ctx, ordinal), 0);
    EXPECT_EQ(a.cuCtxSetCurrent(ctx), 0);
    return ctx;
  }
  CUresult launch(CUfunction f, CUdeviceptr buffer, unsigned long long elements) {
    void* params[] = {&buffer, &elements};
    return a.cuLaunchKernel(f, 1024, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr);
  }
  CUfunction function(const char* name) {
    CUmodule module = nullptr;
    EXPECT_EQ(a.cuModuleLoadData(&module, kPtx), 0);
    CUfunction f = nullptr;
    EXPECT_EQ(a.cuModuleGetFunction(&f, module, name), 0);
    return f;
  }

  Api& a = api();
  fs::path dir_;
  std::string config_path_;
  std::string state_path_;
};

TEST_F(Fakes, DefaultScenarioIsOneIdle16GiBGpu) {
  unsetenv("FAKEGPU_CONFIG");
  a.reset();
  ASSERT_EQ(a.cuInit(0), 0);
  int count = -1;
  ASSERT_EQ(a.cuDeviceGetCount(&count), 0);
  EXPECT_EQ(count, 1);
  int version = 0;
  EXPECT_EQ(a.cuDriverGetVersion(&version), 0);
  EXPECT_EQ(version, 12040);
  char name[64];
  ASSERT_EQ(a.cuDeviceGetName(name, sizeof name, 0), 0);
  EXPECT_STREQ(name, "Fake GPU 0");
  size_t total = 0;
  ASSERT_EQ(a.cuDeviceTotalMem_v2(&total, 0), 0);
  EXPECT_EQ(total, 16 * kGiB);
  int value = -1;
  EXPECT_EQ(a.cuDeviceGetAttribute(&value, 16, 0), 0);
  EXPECT_EQ(value, 132);
  EXPECT_EQ(a.cuDeviceGetAttribute(&value, 75, 0), 0);
  EXPECT_EQ(value, 9);
  EXPECT_EQ(a.cuDeviceGetAttribute(&value, 76, 0), 0);
  EXPECT_EQ(value, 0);
  EXPECT_EQ(a.cuDeviceGetAttribute(&value, 0, 0), 1);
  char bus[32];
  ASSERT_EQ(a.cuDeviceGetPCIBusId(bus, sizeof bus, 0), 0);
  EXPECT_STREQ(bus, "00000000:00:00.0");
  EXPECT_EQ(a.cuDeviceGetName(name, sizeof name, 1), 101);

  ASSERT_EQ(a.nvmlInit_v2(), 0);
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  char uuid[96];
  ASSERT_EQ(a.nvmlDeviceGetUUID(h, uuid, sizeof uuid), 0);
  EXPECT_STREQ(uuid, "GPU-00000000-0000-0000-0000-000000000000");
  nvmlUtilization_t util{99, 99};
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 0u);
  unsigned mw = 0;
  ASSERT_EQ(a.nvmlDeviceGetPowerUsage(h, &mw), 0);
  EXPECT_EQ(mw, 70000u);
  unsigned temp = 0;
  ASSERT_EQ(a.nvmlDeviceGetTemperature(h, 0, &temp), 0);
  EXPECT_EQ(temp, 40u);
  char version_text[32];
  ASSERT_EQ(a.nvmlSystemGetDriverVersion(version_text, sizeof version_text), 0);
  EXPECT_STREQ(version_text, "550.54.15");
  EXPECT_EQ(a.nvmlSystemGetDriverVersion(version_text, 4), 7);
}

TEST_F(Fakes, CallsBeforeCuInitFailNotInitialized) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}}});
  int count = 0;
  EXPECT_EQ(a.cuDeviceGetCount(&count), 3);
  CUdevice dev = 0;
  EXPECT_EQ(a.cuDeviceGet(&dev, 0), 3);
  CUcontext ctx = nullptr;
  EXPECT_EQ(a.cuDevicePrimaryCtxRetain(&ctx, 0), 3);
  CUdeviceptr p = 0;
  EXPECT_EQ(a.cuMemAlloc_v2(&p, 4), 3);
  int version = 0;
  EXPECT_EQ(a.cuDriverGetVersion(&version), 0);  // needs no init, like the driver
  ASSERT_EQ(a.cuInit(0), 0);
  EXPECT_EQ(a.cuDeviceGetCount(&count), 0);
  EXPECT_EQ(count, 1);
  // No current context yet.
  EXPECT_EQ(a.cuMemAlloc_v2(&p, 4), 201);
  EXPECT_EQ(state()["cuda_init_calls"], 1);
}

TEST_F(Fakes, InitAndCountErrors) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}}, {"cuda", {{"init_error", 999}}}});
  EXPECT_EQ(a.cuInit(0), 999);
  int count = 0;
  EXPECT_EQ(a.cuDeviceGetCount(&count), 3);
  write_config(
      {{"devices", {device("A", uuid_of(0), kGiB)}}, {"cuda", {{"device_count_error", 304}}}});
  EXPECT_EQ(a.cuInit(0), 0);
  EXPECT_EQ(a.cuDeviceGetCount(&count), 304);
  EXPECT_EQ(state()["cuda_init_calls"], 2);
  // No devices at all: the driver's "no CUDA-capable device".
  scenario({{"devices", json::array()}});
  EXPECT_EQ(a.cuInit(0), 100);
}

TEST_F(Fakes, CudaVisibleDevicesFollowsTheDriver) {
  json devices = json::array();
  for (int i = 0; i < 4; ++i)
    devices.push_back(device("GPU " + std::to_string(i), uuid_of(i), kGiB));
  write_config({{"devices", devices}});
  setenv("FAKEGPU_CONFIG", config_path_.c_str(), 1);

  struct Case {
    const char* mask;
    std::vector<std::string> names;  // empty: cuInit reports no device
  };
  const std::vector<Case> cases = {
      {"2,0", {"GPU 2", "GPU 0"}},
      {" 3 , 1 ", {"GPU 3", "GPU 1"}},
      {"0,2,-1,1", {"GPU 0", "GPU 2"}},
      {"1,7,2", {"GPU 1"}},         // out of range ends the list
      {"1,1,2", {"GPU 1"}},         // a repeat ends the list
      {"1,,2", {"GPU 1"}},          // an empty token ends the list
      {"001", {"GPU 1"}},           // leading zeros
      {"GPU-000000a2", {"GPU 2"}},  // unique UUID prefix
      {"gpu-000000A3,0", {"GPU 3", "GPU 0"}},
      {"GPU-000000a,1", {}},      // ambiguous prefix at the start: nothing visible
      {"2,GPU-ffff", {"GPU 2"}},  // unknown UUID ends the list
      {"3,MIG-abc", {"GPU 3"}},
      {"-1", {}},
      {"", {}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.mask);
    setenv("CUDA_VISIBLE_DEVICES", c.mask, 1);
    a.reset();
    if (c.names.empty()) {
      EXPECT_EQ(a.cuInit(0), 100);
      continue;
    }
    ASSERT_EQ(a.cuInit(0), 0);
    int count = 0;
    ASSERT_EQ(a.cuDeviceGetCount(&count), 0);
    ASSERT_EQ(count, static_cast<int>(c.names.size()));
    for (int i = 0; i < count; ++i) {
      char name[32];
      ASSERT_EQ(a.cuDeviceGetName(name, sizeof name, i), 0);
      EXPECT_EQ(name, c.names[static_cast<size_t>(i)]);
    }
  }
  // The PCI bus id and UUID follow the physical device behind a visible ordinal.
  setenv("CUDA_VISIBLE_DEVICES", "2,0", 1);
  a.reset();
  ASSERT_EQ(a.cuInit(0), 0);
  char bus[32];
  ASSERT_EQ(a.cuDeviceGetPCIBusId(bus, sizeof bus, 0), 0);
  EXPECT_STREQ(bus, "00000000:02:00.0");
  CUuuid uuid{};
  ASSERT_EQ(a.cuDeviceGetUuid_v2(&uuid, 0), 0);
  EXPECT_EQ(uuid.bytes[3], 0xa2);
  // Like the driver, the mask is read once at cuInit.
  setenv("CUDA_VISIBLE_DEVICES", "1", 1);
  int count = 0;
  ASSERT_EQ(a.cuDeviceGetCount(&count), 0);
  EXPECT_EQ(count, 2);
  EXPECT_EQ(state()["cuda"]["visible"], json({2, 0}));
  // The config can cap the runtime count below what the mask selects.
  write_config({{"devices", devices}, {"cuda", {{"device_count", 1}}}});
  ASSERT_EQ(a.cuDeviceGetCount(&count), 0);
  EXPECT_EQ(count, 1);
}

TEST_F(Fakes, UuidBytesAreTheHexDigitsOfTheConfiguredUuid) {
  scenario({{"devices", {device("A", "GPU-01234567-89ab-cdef-0123-456789ABCDEF", kGiB)}}});
  ASSERT_EQ(a.cuInit(0), 0);
  CUuuid uuid{};
  ASSERT_EQ(a.cuDeviceGetUuid_v2(&uuid, 0), 0);
  const unsigned char want[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
  EXPECT_EQ(std::memcmp(uuid.bytes, want, 16), 0);
}

TEST_F(Fakes, AllocationAndFreeAccounting) {
  scenario({{"devices", {device("A", uuid_of(0), 4 * kGiB)}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUdeviceptr p1 = 0;
  CUdeviceptr p2 = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&p1, 256 * kMiB), 0);
  ASSERT_EQ(a.cuMemAlloc_v2(&p2, 512 * kMiB), 0);
  EXPECT_NE(p1, 0u);
  EXPECT_NE(p1, p2);
  size_t free_b = 0;
  size_t total_b = 0;
  ASSERT_EQ(a.cuMemGetInfo_v2(&free_b, &total_b), 0);
  EXPECT_EQ(total_b, 4 * kGiB);
  EXPECT_EQ(free_b, 4 * kGiB - 768 * kMiB);
  EXPECT_EQ(a.cuMemsetD32_v2(p1, 0, 64 * kMiB), 0);
  EXPECT_EQ(a.cuMemsetD32_v2(p1, 0, 64 * kMiB + 1), 1);  // past the end of the buffer

  json dev = state()["devices"][0];
  EXPECT_EQ(dev["allocated_bytes"], 768 * kMiB);
  EXPECT_EQ(dev["allocations"], 2);
  EXPECT_EQ(dev["live_allocations"], 2);
  EXPECT_EQ(dev["memsets"], 1);
  EXPECT_EQ(dev["alloc_log"], json({{256 * kMiB, 0}, {512 * kMiB, 0}}));

  ASSERT_EQ(a.cuMemFree_v2(p1), 0);
  EXPECT_EQ(a.cuMemFree_v2(p1), 1);  // double free
  dev = state()["devices"][0];
  EXPECT_EQ(dev["allocated_bytes"], 512 * kMiB);
  EXPECT_EQ(dev["frees"], 1);
  ASSERT_EQ(a.cuMemGetInfo_v2(&free_b, &total_b), 0);
  EXPECT_EQ(free_b, 4 * kGiB - 512 * kMiB);
}

TEST_F(Fakes, AllocationFailsWithOutOfMemoryWhenShort) {
  json d = device("A", uuid_of(0), kGiB);
  d["foreign_used"] = 768 * kMiB;
  d["context_bytes"] = 64 * kMiB;
  scenario({{"devices", {d}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUdeviceptr p = 0;
  EXPECT_EQ(a.cuMemAlloc_v2(&p, 256 * kMiB), 2);  // 1024 - 768 - 64 = 192 MiB free
  ASSERT_EQ(a.cuMemAlloc_v2(&p, 192 * kMiB), 0);
  CUdeviceptr q = 0;
  EXPECT_EQ(a.cuMemAlloc_v2(&q, 1), 2);
  const char* text = nullptr;
  ASSERT_EQ(a.cuGetErrorString(2, &text), 0);
  EXPECT_STREQ(text, "out of memory");
  json dev = state()["devices"][0];
  EXPECT_EQ(dev["alloc_failures"], 2);
  EXPECT_EQ(dev["allocations"], 1);
  EXPECT_EQ(dev["allocated_bytes"], 192 * kMiB);
}

TEST_F(Fakes, AllocScriptGivesSuccessiveResults) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}},
            {"cuda", {{"faults", {{"0", {{"alloc_script", {"ok", "oom", "error:999"}}}}}}}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUdeviceptr p = 0;
  EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 0);
  EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 2);
  EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 999);
  EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 0);  // script over: memory decides
  EXPECT_EQ(a.cuMemAlloc_v2(&p, 2 * kGiB), 2);
  json dev = state()["devices"][0];
  EXPECT_EQ(dev["alloc_log"], json({{kMiB, 0}, {kMiB, 2}, {kMiB, 999}, {kMiB, 0}, {2 * kGiB, 2}}));
  EXPECT_EQ(dev["allocations"], 2);
  // Rewriting the ordinal's faults restarts its script.
  write_config({{"devices", {device("A", uuid_of(0), kGiB)}},
                {"cuda", {{"faults", {{"0", {{"alloc_script", {"oom"}}}}}}}}});
  EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 2);
  EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 0);
}

TEST_F(Fakes, PrimaryContextRetainReleaseCounts) {
  json d = device("A", uuid_of(0), 8 * kGiB);
  d["context_bytes"] = 300 * kMiB;
  scenario({{"devices", {d}}});
  ASSERT_EQ(a.cuInit(0), 0);
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  nvmlMemory_t mem{};
  ASSERT_EQ(a.nvmlDeviceGetMemoryInfo(h, &mem), 0);
  EXPECT_EQ(mem.used, 0u);

  CUcontext c1 = open(0);
  CUcontext c2 = nullptr;
  ASSERT_EQ(a.cuDevicePrimaryCtxRetain(&c2, 0), 0);
  EXPECT_EQ(c1, c2);  // one primary context per device
  CUcontext current = nullptr;
  ASSERT_EQ(a.cuCtxGetCurrent(&current), 0);
  EXPECT_EQ(current, c1);
  CUdeviceptr p = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&p, kGiB), 0);
  ASSERT_EQ(a.nvmlDeviceGetMemoryInfo(h, &mem), 0);
  EXPECT_EQ(mem.used, kGiB + 300 * kMiB);
  EXPECT_EQ(mem.free, 8 * kGiB - kGiB - 300 * kMiB);
  json dev = state()["devices"][0];
  EXPECT_EQ(dev["context_retains"], 2);
  EXPECT_EQ(dev["context_refcount"], 2);
  EXPECT_EQ(dev["contexts_live"], 1);

  ASSERT_EQ(a.cuDevicePrimaryCtxRelease_v2(0), 0);
  ASSERT_EQ(a.nvmlDeviceGetMemoryInfo(h, &mem), 0);
  EXPECT_EQ(mem.used, kGiB + 300 * kMiB);  // still one reference
  ASSERT_EQ(a.cuDevicePrimaryCtxRelease_v2(0), 0);
  // The last release destroys the context and the memory allocated in it.
  ASSERT_EQ(a.nvmlDeviceGetMemoryInfo(h, &mem), 0);
  EXPECT_EQ(mem.used, 0u);
  dev = state()["devices"][0];
  EXPECT_EQ(dev["context_releases"], 2);
  EXPECT_EQ(dev["contexts_live"], 0);
  EXPECT_EQ(dev["allocated_bytes"], 0);
  EXPECT_EQ(a.cuDevicePrimaryCtxRelease_v2(0), 201);
  EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 201);  // the current context is gone
  EXPECT_EQ(a.cuMemFree_v2(p), 1);
  EXPECT_EQ(state()["cuda"]["ctx_retain_calls"], json({0, 0}));

  // Reset frees the allocations but keeps the reference.
  open(0);
  ASSERT_EQ(a.cuMemAlloc_v2(&p, kGiB), 0);
  ASSERT_EQ(a.cuDevicePrimaryCtxReset_v2(0), 0);
  dev = state()["devices"][0];
  EXPECT_EQ(dev["allocated_bytes"], 0);
  EXPECT_EQ(dev["context_refcount"], 1);
  EXPECT_EQ(dev["context_resets"], 1);
}

TEST_F(Fakes, NvmlMemoryAndProcessesReflectCudaAllocations) {
  json d0 = device("A", uuid_of(0), 8 * kGiB);
  d0["foreign_used"] = kGiB;
  d0["processes"] = {{{"pid", 4242}, {"used_memory", kGiB}}};
  json d1 = device("B", uuid_of(1), 8 * kGiB);
  scenario({{"devices", {d0, d1}}});
  setenv("CUDA_VISIBLE_DEVICES", "1,0", 1);
  a.reset();
  ASSERT_EQ(a.cuInit(0), 0);
  open(1);  // visible 1 = physical 0
  CUdeviceptr p = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&p, 2 * kGiB), 0);

  ASSERT_EQ(a.nvmlInit_v2(), 0);
  nvmlDevice_t h0 = nullptr;
  nvmlDevice_t h1 = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h0), 0);
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(1, &h1), 0);
  nvmlMemory_t mem{};
  ASSERT_EQ(a.nvmlDeviceGetMemoryInfo(h0, &mem), 0);
  EXPECT_EQ(mem.total, 8 * kGiB);
  EXPECT_EQ(mem.used, 3 * kGiB);
  EXPECT_EQ(mem.free, 5 * kGiB);
  ASSERT_EQ(a.nvmlDeviceGetMemoryInfo(h1, &mem), 0);
  EXPECT_EQ(mem.used, 0u);

  unsigned n = 0;
  EXPECT_EQ(a.nvmlDeviceGetComputeRunningProcesses_v3(h0, &n, nullptr), 7);
  ASSERT_EQ(n, 2u);
  nvmlProcessInfo_t procs[4];
  n = 4;
  ASSERT_EQ(a.nvmlDeviceGetComputeRunningProcesses_v3(h0, &n, procs), 0);
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(procs[0].pid, 4242u);
  EXPECT_EQ(procs[0].usedGpuMemory, kGiB);
  EXPECT_EQ(procs[1].pid, static_cast<unsigned>(getpid()));
  EXPECT_EQ(procs[1].usedGpuMemory, 2 * kGiB);
  n = 4;
  ASSERT_EQ(a.nvmlDeviceGetComputeRunningProcesses_v3(h1, &n, procs), 0);
  EXPECT_EQ(n, 0u);
  ASSERT_EQ(a.cuMemFree_v2(p), 0);
  ASSERT_EQ(a.nvmlDeviceGetMemoryInfo(h0, &mem), 0);
  EXPECT_EQ(mem.used, kGiB);
  EXPECT_EQ(state()["devices"][0]["memory_used"], kGiB);
}

TEST_F(Fakes, NvmlRequiresInitAndExternalShutdown) {
  json devices = json::array();
  for (int i = 0; i < 3; ++i)
    devices.push_back(device("GPU", uuid_of(i), kGiB));
  scenario({{"devices", devices}, {"nvml", {{"requires_init", true}}}});
  nvmlDevice_t h = nullptr;
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 1);
  unsigned count = 0;
  EXPECT_EQ(a.nvmlDeviceGetCount_v2(&count), 1);
  EXPECT_EQ(a.nvmlShutdown(), 1);
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  // Someone else in the process shuts NVML down: handles stop working until a re-init.
  a.external_shutdown();
  nvmlUtilization_t util{};
  EXPECT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 1);
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(1, &h), 1);
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(1, &h), 0);
  // The same through the config file, for black-box tests.
  json cfg = {{"devices", devices}, {"nvml", {{"requires_init", true}, {"external_shutdown", 1}}}};
  write_config(cfg);
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(2, &h), 1);
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  ASSERT_EQ(a.nvmlInit_v2(), 0);  // reference counted
  ASSERT_EQ(a.nvmlShutdown(), 0);
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(2, &h), 0);
  ASSERT_EQ(a.nvmlShutdown(), 0);
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(2, &h), 1);

  json nv = state()["nvml"];
  EXPECT_EQ(nv["init_calls"], 4);
  EXPECT_EQ(nv["shutdown_calls"], 3);
  EXPECT_EQ(nv["external_shutdowns"], 2);
  EXPECT_EQ(nv["init_refcount"], 0);
  // Calls rejected as uninitialised are not logged: a re-init retry shows as one lookup.
  EXPECT_EQ(nv["handle_by_index_calls"], json({0, 1, 2}));
  EXPECT_EQ(nv["uninitialized_rejections"], 6);
  EXPECT_STREQ(a.nvmlErrorString(1), "Uninitialized");
}

TEST_F(Fakes, NvmlInitErrorAndLenientMode) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}}, {"nvml", {{"init_error", 9}}}});
  EXPECT_EQ(a.nvmlInit_v2(), 9);
  // Not in requires_init mode: queries work without init.
  nvmlDevice_t h = nullptr;
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  EXPECT_EQ(state()["nvml"]["init_calls"], 1);
  EXPECT_EQ(state()["nvml"]["init_refcount"], 0);
}

TEST_F(Fakes, NvmlLookupsAndHandleErrors) {
  json devices = json::array();
  for (int i = 0; i < 6; ++i)
    devices.push_back(device("GPU " + std::to_string(i), uuid_of(i), kGiB));
  devices[2]["uuid"] = "GPU-abc123-dead-beef";
  scenario({{"devices", devices},
            {"nvml", {{"handle_errors", {{"3", 999}}}, {"uuid_map", {{"GPU-alias", 4}}}}}});
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  unsigned count = 0;
  ASSERT_EQ(a.nvmlDeviceGetCount_v2(&count), 0);
  EXPECT_EQ(count, 6u);
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(3, &h), 999);
  nvmlDevice_t h5 = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(5, &h5), 0);
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(6, &h), 2);
  unsigned index = 0;
  ASSERT_EQ(a.nvmlDeviceGetIndex(h5, &index), 0);
  EXPECT_EQ(index, 5u);
  char name[96];
  ASSERT_EQ(a.nvmlDeviceGetName(h5, name, sizeof name), 0);
  EXPECT_STREQ(name, "GPU 5");
  EXPECT_EQ(a.nvmlDeviceGetName(h5, name, 3), 7);
  EXPECT_EQ(a.nvmlDeviceGetName(reinterpret_cast<nvmlDevice_t>(&count), name, sizeof name), 2);

  ASSERT_EQ(a.nvmlDeviceGetHandleByUUID("GPU-abc123-dead-beef", &h), 0);
  ASSERT_EQ(a.nvmlDeviceGetIndex(h, &index), 0);
  EXPECT_EQ(index, 2u);
  EXPECT_EQ(a.nvmlDeviceGetHandleByUUID("GPU-abc123", &h), 6);  // exact match only
  ASSERT_EQ(a.nvmlDeviceGetHandleByUUID("GPU-alias", &h), 0);
  ASSERT_EQ(a.nvmlDeviceGetIndex(h, &index), 0);
  EXPECT_EQ(index, 4u);

  ASSERT_EQ(a.nvmlDeviceGetHandleByPciBusId_v2("00000000:04:00.0", &h), 0);
  ASSERT_EQ(a.nvmlDeviceGetIndex(h, &index), 0);
  EXPECT_EQ(index, 4u);
  ASSERT_EQ(a.nvmlDeviceGetHandleByPciBusId_v2("0000:05:00.0", &h), 0);
  EXPECT_EQ(h, h5);
  EXPECT_EQ(a.nvmlDeviceGetHandleByPciBusId_v2("00000000:09:00.0", &h), 6);
  EXPECT_EQ(a.nvmlDeviceGetHandleByPciBusId_v2("bogus", &h), 2);

  json nv = state()["nvml"];
  EXPECT_EQ(nv["handle_by_index_calls"], json({0, 3, 5, 6}));
  EXPECT_EQ(nv["handle_by_uuid_calls"], 3);
  EXPECT_EQ(nv["handle_by_pci_calls"], 4);
}

TEST_F(Fakes, MissingSymbolsFromConfigAnswerFunctionNotFound) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}},
            {"nvml", {{"missing_symbols", {"nvmlDeviceGetHandleByUUID"}}}}});
  nvmlDevice_t h = nullptr;
  EXPECT_EQ(a.nvmlDeviceGetHandleByUUID(uuid_of(0).c_str(), &h), 13);
  EXPECT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  EXPECT_STREQ(a.nvmlErrorString(13), "Function Not Found");
}

TEST_F(Fakes, VariantsReallyLackTheirEntryPoints) {
  void* minimal = open_fake("libnvidia-ml-minimal.so.1");
  EXPECT_EQ(dlsym(minimal, "nvmlDeviceGetHandleByUUID"), nullptr);
  EXPECT_EQ(dlsym(minimal, "nvmlDeviceGetIndex"), nullptr);
  EXPECT_EQ(dlsym(minimal, "nvmlDeviceGetHandleByPciBusId_v2"), nullptr);
  EXPECT_NE(dlsym(minimal, "nvmlDeviceGetUUID"), nullptr);
  EXPECT_NE(dlsym(minimal, "nvmlDeviceGetUtilizationRates"), nullptr);
  // The control functions live in the state library, reachable through a fake's handle.
  Dl_info info{};
  void* reset = dlsym(a.cuda, "fakegpu_reset");
  ASSERT_NE(reset, nullptr);
  ASSERT_NE(dladdr(reset, &info), 0);
  EXPECT_NE(std::string(info.dli_fname).find("libfakegpu_state.so"), std::string::npos);
  void* bare = open_fake("libnvidia-ml-bare.so.1");
  EXPECT_EQ(dlsym(bare, "nvmlDeviceGetUUID"), nullptr);
  EXPECT_EQ(dlsym(bare, "nvmlDeviceGetPowerUsage"), nullptr);
  for (const char* name : {"nvmlInit_v2", "nvmlShutdown", "nvmlDeviceGetCount_v2",
                           "nvmlDeviceGetHandleByIndex_v2", "nvmlDeviceGetUtilizationRates",
                           "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetName", "nvmlErrorString"})
    EXPECT_NE(dlsym(bare, name), nullptr) << name;

  // A variant shares the state: memory the CUDA fake allocated shows up there too.
  scenario({{"devices", {device("A", uuid_of(0), 4 * kGiB)}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUdeviceptr p = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&p, kGiB), 0);
  auto get_handle = reinterpret_cast<int (*)(unsigned, nvmlDevice_t*)>(
      dlsym(minimal, "nvmlDeviceGetHandleByIndex_v2"));
  auto get_memory = reinterpret_cast<int (*)(nvmlDevice_t, nvmlMemory_t*)>(
      dlsym(minimal, "nvmlDeviceGetMemoryInfo"));
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(get_handle(0, &h), 0);
  nvmlMemory_t mem{};
  ASSERT_EQ(get_memory(h, &mem), 0);
  EXPECT_EQ(mem.used, kGiB);
}

TEST_F(Fakes, StateFileIsWrittenAtomically) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB), device("B", uuid_of(1), kGiB)}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(1);
  CUdeviceptr p = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&p, 8 * kMiB), 0);
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(1, &h), 0);
  json st = state_file();
  EXPECT_EQ(st["pid"], getpid());
  EXPECT_EQ(st["cuda_init_calls"], 1);
  ASSERT_EQ(st["devices"].size(), 2u);
  EXPECT_EQ(st["devices"][0]["allocated_bytes"], 0);
  EXPECT_EQ(st["devices"][1]["allocated_bytes"], 8 * kMiB);
  EXPECT_EQ(st["devices"][1]["allocations"], 1);
  EXPECT_EQ(st["devices"][1]["contexts_live"], 1);
  EXPECT_EQ(st["devices"][1]["context_retains"], 1);
  EXPECT_EQ(st["nvml"]["init_calls"], 1);
  EXPECT_EQ(st["nvml"]["handle_by_index_calls"], json({1}));
  EXPECT_EQ(st, state());
  // No temporary file is left behind.
  int files = 0;
  for (const auto& entry : fs::directory_iterator(dir_)) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2);  // config.json and state.json
}

TEST_F(Fakes, EventLogRecordsLifecycle) {
  const std::string events = (dir_ / "events.log").string();
  setenv("FAKEGPU_EVENTS", events.c_str(), 1);
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUdeviceptr p = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&p, kMiB), 0);
  ASSERT_EQ(a.cuMemFree_v2(p), 0);
  ASSERT_EQ(a.cuDevicePrimaryCtxRelease_v2(0), 0);
  std::ifstream in(events);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  const std::string prefix = "fakegpu[" + std::to_string(getpid()) + "]: ";
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(lines[0], prefix + "cuInit result=0");
  EXPECT_EQ(lines[1], prefix + "ctx_retain device=0 visible=0 refs=1");
  EXPECT_EQ(lines[2].rfind(prefix + "alloc device=0 visible=0 bytes=1048576 ptr=0x", 0), 0u);
  EXPECT_EQ(lines[3].rfind(prefix + "free_begin device=0 visible=0", 0), 0u);
  EXPECT_EQ(lines[4], prefix + "free device=0 visible=0 bytes=1048576");
  EXPECT_EQ(lines[5], prefix + "ctx_release_begin device=0 visible=0");
  EXPECT_EQ(lines[6], prefix + "ctx_release device=0 visible=0 refs=0");
}

TEST_F(Fakes, ConfigIsReReadAfterRewrite) {
  json d = device("A", uuid_of(0), kGiB);
  d["utilization"] = 10;
  scenario({{"devices", {d}}});
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  nvmlUtilization_t util{};
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 10u);
  const auto loads = state()["config_loads"].get<int>();
  d["utilization"] = 80;
  d["name"] = "Renamed";
  write_config({{"devices", {d}}});
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 80u);
  char name[96];
  ASSERT_EQ(a.nvmlDeviceGetName(h, name, sizeof name), 0);
  EXPECT_STREQ(name, "Renamed");
  EXPECT_EQ(state()["config_loads"], loads + 1);
  // A broken file keeps the previous scenario and says why.
  {
    std::ofstream(config_path_ + ".tmp") << "{not json";
    fs::rename(config_path_ + ".tmp", config_path_);
  }
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 80u);
  EXPECT_TRUE(state()["config_error"].is_string());
  // Out-of-range values pass through for the product to reject.
  d["utilization"] = 101;
  write_config({{"devices", {d}}});
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 101u);
  EXPECT_TRUE(state()["config_error"].is_null());
  d["utilization"] = -1;
  write_config({{"devices", {d}}});
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 0xFFFFFFFFu);
  d["utilization_error"] = 999;
  write_config({{"devices", {d}}});
  EXPECT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 999);
  EXPECT_EQ(state()["nvml"]["utilization_queries"], 6);
}

TEST_F(Fakes, RapidSameSizeRewritesAreAllSeen) {
  // Rewrites faster than the file timestamp tick, of equal size, recycling inode numbers.
  json d = device("A", uuid_of(0), kGiB);
  d["utilization"] = 10;
  scenario({{"devices", {d}}});
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  for (int i = 0; i < 200; ++i) {
    d["utilization"] = 10 + i % 2 * 10;
    write_config({{"devices", {d}}});
    nvmlUtilization_t util{};
    ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
    ASSERT_EQ(util.gpu, 10u + static_cast<unsigned>(i % 2) * 10) << "rewrite " << i;
  }
}

TEST_F(Fakes, UtilizationScriptFollowsTheClock) {
  json d = device("A", uuid_of(0), kGiB);
  d["utilization"] = 5;
  d["utilization_script"] = {{0.0, 100}, {0.3, 0}, {0.6, 55}};
  // The script clock starts when the config is loaded, somewhere between these two instants; a
  // step is checked only when the whole uncertainty lies inside it, so a slow machine cannot fail.
  const auto before = Clock::now();
  scenario({{"devices", {d}}});
  const auto after = Clock::now();
  const auto expect_at = [&](double lo, double hi, unsigned want) {
    nvmlDevice_t h = nullptr;
    ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
    const auto t0 = Clock::now();
    nvmlUtilization_t util{};
    ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
    const auto t1 = Clock::now();
    const double min_age = std::chrono::duration<double>(t0 - after).count();
    const double max_age = std::chrono::duration<double>(t1 - before).count();
    if (min_age >= lo && max_age < hi) {
      EXPECT_EQ(util.gpu, want) << "at " << min_age << ".." << max_age << " s";
    }
  };
  expect_at(0.0, 0.3, 100);
  std::this_thread::sleep_until(after + std::chrono::milliseconds(420));
  expect_at(0.3, 0.6, 0);
  std::this_thread::sleep_until(after + std::chrono::milliseconds(700));
  expect_at(0.6, 1e9, 55);
  // A rewrite restarts the clock; before the first step the constant applies.
  d["utilization_script"] = {{0.2, 30}};
  write_config({{"devices", {d}}});
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  nvmlUtilization_t util{};
  const auto rewritten = Clock::now();
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  if (Clock::now() - rewritten < std::chrono::milliseconds(150)) {
    EXPECT_EQ(util.gpu, 5u);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 30u);
  EXPECT_GE(state()["devices"][0]["utilization_queries"].get<int>(), 5);
}

TEST_F(Fakes, SyncHangIsReleasedByRewritingTheConfig) {
  json devices = {device("A", uuid_of(0), kGiB), device("B", uuid_of(1), kGiB)};
  scenario({{"devices", devices}, {"cuda", {{"faults", {{"0", {{"sync_hang", true}}}}}}}});
  ASSERT_EQ(a.cuInit(0), 0);
  std::atomic<bool> done{false};
  auto hung = std::async(std::launch::async, [&] {
    open(0);
    const CUresult rc = a.cuCtxSynchronize();
    done = true;
    return rc;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(done.load());
  // The other device is not blocked by the hang (no lock is held while waiting).
  auto other = std::async(std::launch::async, [&] {
    open(1);
    CUdeviceptr p = 0;
    EXPECT_EQ(a.cuMemAlloc_v2(&p, kMiB), 0);
    return a.cuCtxSynchronize();
  });
  ASSERT_EQ(other.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_EQ(other.get(), 0);
  EXPECT_FALSE(done.load());
  write_config({{"devices", devices}});
  ASSERT_EQ(hung.wait_for(std::chrono::seconds(2)), std::future_status::ready);
  EXPECT_EQ(hung.get(), 0);
  EXPECT_EQ(state()["devices"][0]["syncs"], 1);
  EXPECT_EQ(state()["devices"][1]["syncs"], 1);
}

TEST_F(Fakes, SyncDelayAndScriptedSyncErrors) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}},
            {"cuda",
             {{"faults",
               {{"0",
                 {{"sync_delay_ms", 150},
                  {"sync_error", 2},
                  {"sync_error_after", 1},
                  {"sync_error_count", 1}}}}}}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  const auto start = Clock::now();
  EXPECT_EQ(a.cuCtxSynchronize(), 0);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(150));
  EXPECT_EQ(a.cuStreamSynchronize(nullptr), 2);
  EXPECT_EQ(a.cuCtxSynchronize(), 0);
  json dev = state()["devices"][0];
  EXPECT_EQ(dev["syncs"], 2);
  EXPECT_EQ(dev["sync_errors"], 1);
}

TEST_F(Fakes, ModulesLaunchesAndLaunchFaults) {
  scenario({{"devices", {device("A", uuid_of(0), 32 * kGiB)}},
            {"cuda", {{"faults", {{"0", {{"launch_error", 700}, {"launch_error_after", 3}}}}}}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUmodule bad = nullptr;
  char log[128] = {};
  int options[] = {5, 6};
  void* values[] = {log, reinterpret_cast<void*>(static_cast<uintptr_t>(sizeof log))};
  EXPECT_EQ(a.cuModuleLoadDataEx(&bad, ".version 7.0\n.target sm_50\n", 2, options, values), 218);
  EXPECT_NE(std::string(log).find("no .entry"), std::string::npos);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(values[1]), std::strlen(log) + 1);

  CUmodule module = nullptr;
  ASSERT_EQ(a.cuModuleLoadData(&module, kPtx), 0);
  CUfunction fill = nullptr;
  CUfunction relu = nullptr;
  CUfunction missing = nullptr;
  ASSERT_EQ(a.cuModuleGetFunction(&fill, module, "keepgpu_fill"), 0);
  ASSERT_EQ(a.cuModuleGetFunction(&relu, module, "keepgpu_relu"), 0);
  EXPECT_EQ(a.cuModuleGetFunction(&missing, module, "keepgpu_gelu"), 500);

  // 2**32 float32 elements: the count must arrive as a 64-bit value.
  const unsigned long long elements = 1ULL << 32;
  CUdeviceptr buf = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&buf, elements * 4), 0);
  EXPECT_EQ(launch(fill, buf, elements), 0);
  EXPECT_EQ(launch(relu, buf, elements), 0);
  EXPECT_EQ(launch(relu, buf, elements), 0);
  EXPECT_EQ(launch(relu, buf, elements), 700);  // launch_error after 3 successes
  EXPECT_EQ(launch(relu, buf, elements), 700);
  const char* text = nullptr;
  ASSERT_EQ(a.cuGetErrorString(700, &text), 0);
  EXPECT_STREQ(text, "an illegal memory access was encountered");
  json dev = state()["devices"][0];
  EXPECT_EQ(dev["launches"], 3);
  EXPECT_EQ(dev["fill_launches"], 1);
  EXPECT_EQ(dev["relu_launches"], 2);
  EXPECT_EQ(dev["launch_errors"], 2);
  EXPECT_EQ(dev["last_kernel_elements"], elements);
  EXPECT_EQ(dev["last_grid"], json({1024, 1, 1}));
  EXPECT_EQ(dev["last_block"], json({256, 1, 1}));

  // Without faults: the kernel arguments must describe a live buffer, and the limits hold.
  write_config({{"devices", {device("A", uuid_of(0), 32 * kGiB)}},
                {"cuda", {{"faults", {{"0", {{"launch_error", 2}, {"launch_error_count", 1}}}}}}}});
  EXPECT_EQ(launch(relu, buf, elements), 2);  // once
  EXPECT_EQ(launch(relu, buf, elements), 0);
  EXPECT_EQ(launch(relu, buf, elements + 1), 700);
  EXPECT_EQ(launch(relu, buf + 4, elements), 700);
  EXPECT_EQ(launch(relu, 0x1234, 1), 700);
  CUdeviceptr b = buf;
  unsigned long long n = 16;
  void* params[] = {&b, &n};
  EXPECT_EQ(a.cuLaunchKernel(relu, 0, 1, 1, 256, 1, 1, 0, nullptr, params, nullptr), 1);
  EXPECT_EQ(a.cuLaunchKernel(relu, 1, 1, 1, 2048, 1, 1, 0, nullptr, params, nullptr), 1);
  EXPECT_EQ(a.cuLaunchKernel(relu, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr), 1);
  // Arguments packed through `extra` are understood too.
  unsigned char packed[16];
  std::memcpy(packed, &b, 8);
  std::memcpy(packed + 8, &n, 8);
  size_t packed_size = sizeof packed;
  void* extra[] = {reinterpret_cast<void*>(1), packed, reinterpret_cast<void*>(2), &packed_size,
                   nullptr};
  EXPECT_EQ(a.cuLaunchKernel(relu, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, extra), 0);
  EXPECT_EQ(state()["devices"][0]["last_kernel_elements"], 16);

  ASSERT_EQ(a.cuModuleUnload(module), 0);
  EXPECT_EQ(launch(relu, buf, 16), 400);
  EXPECT_EQ(a.cuModuleUnload(module), 400);

  // Injected JIT failure.
  write_config({{"devices", {device("A", uuid_of(0), 32 * kGiB)}},
                {"cuda", {{"faults", {{"0", {{"module_load_error", 209}}}}}}}});
  EXPECT_EQ(a.cuModuleLoadDataEx(&module, kPtx, 2, options, values), 209);
  EXPECT_NE(std::string(log).find("module_load_error 209"), std::string::npos);
}

TEST_F(Fakes, LaunchDelayBlocksAndStateIsFlushedEvery100Launches) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}},
            {"cuda", {{"faults", {{"0", {{"launch_delay_us", 2000}}}}}}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUfunction relu = function("keepgpu_relu");
  CUdeviceptr buf = 0;
  ASSERT_EQ(a.cuMemAlloc_v2(&buf, kMiB), 0);
  const auto start = Clock::now();
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(launch(relu, buf, kMiB / 4), 0);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(20));
  write_config({{"devices", {device("A", uuid_of(0), kGiB)}}});
  for (int i = 0; i < 95; ++i)
    ASSERT_EQ(launch(relu, buf, kMiB / 4), 0);
  // The file lags by fewer than 100 launches and is exact after a sync.
  const auto in_file = state_file()["devices"][0]["launches"].get<int>();
  EXPECT_GE(in_file, 100);
  EXPECT_LE(in_file, 105);
  ASSERT_EQ(a.cuCtxSynchronize(), 0);
  EXPECT_EQ(state_file()["devices"][0]["launches"], 105);
}

TEST_F(Fakes, FaultsAreKeyedByVisibleOrdinal) {
  json devices = {device("A", uuid_of(0), kGiB), device("B", uuid_of(1), kGiB)};
  scenario({{"devices", devices},
            {"cuda",
             {{"faults",
               {{"0", {{"ctx_error", 999}}},
                {"1", {{"ctx_delay_ms", 200}, {"alloc_delay_ms", 300}}}}}}}});
  setenv("CUDA_VISIBLE_DEVICES", "1,0", 1);
  a.reset();
  ASSERT_EQ(a.cuInit(0), 0);
  CUcontext ctx = nullptr;
  EXPECT_EQ(a.cuDevicePrimaryCtxRetain(&ctx, 0), 999);  // visible 0 = physical 1
  auto start = Clock::now();
  ASSERT_EQ(a.cuDevicePrimaryCtxRetain(&ctx, 1), 0);
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
  ASSERT_EQ(a.cuCtxSetCurrent(ctx), 0);
  // A slow allocation on one device does not hold up the others (no lock while sleeping).
  auto slow = std::async(std::launch::async, [&] {
    EXPECT_EQ(a.cuCtxSetCurrent(ctx), 0);
    CUdeviceptr p = 0;
    return a.cuMemAlloc_v2(&p, kMiB);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  start = Clock::now();
  char name[32];
  ASSERT_EQ(a.cuDeviceGetName(name, sizeof name, 1), 0);
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(100));
  EXPECT_EQ(slow.get(), 0);
  json st = state();
  EXPECT_EQ(st["devices"][0]["context_retains"], 1);
  EXPECT_EQ(st["devices"][0]["allocations"], 1);
  EXPECT_EQ(st["devices"][1]["context_retains"], 0);
  EXPECT_EQ(st["cuda"]["ctx_retain_calls"], json({0, 1}));
}

TEST_F(Fakes, ConcurrentKeepersKeepConsistentCounts) {
  json devices = json::array();
  for (int i = 0; i < 4; ++i)
    devices.push_back(device("GPU", uuid_of(i), 4 * kGiB));
  scenario({{"devices", devices}});
  ASSERT_EQ(a.cuInit(0), 0);
  std::vector<std::thread> threads;
  for (int d = 0; d < 4; ++d) {
    threads.emplace_back([this, d] {
      CUcontext ctx = nullptr;
      ASSERT_EQ(a.cuDevicePrimaryCtxRetain(&ctx, d), 0);
      ASSERT_EQ(a.cuCtxSetCurrent(ctx), 0);
      CUfunction relu = function("keepgpu_relu");
      for (int round = 0; round < 50; ++round) {
        CUdeviceptr p = 0;
        ASSERT_EQ(a.cuMemAlloc_v2(&p, 64 * kMiB), 0);
        for (int i = 0; i < 10; ++i)
          ASSERT_EQ(launch(relu, p, 16 * kMiB), 0);
        ASSERT_EQ(a.cuCtxSynchronize(), 0);
        ASSERT_EQ(a.cuMemFree_v2(p), 0);
      }
      ASSERT_EQ(a.cuDevicePrimaryCtxRelease_v2(d), 0);
    });
  }
  for (auto& t : threads)
    t.join();
  json st = state();
  for (int d = 0; d < 4; ++d) {
    EXPECT_EQ(st["devices"][d]["allocations"], 50);
    EXPECT_EQ(st["devices"][d]["frees"], 50);
    EXPECT_EQ(st["devices"][d]["launches"], 500);
    EXPECT_EQ(st["devices"][d]["syncs"], 50);
    EXPECT_EQ(st["devices"][d]["allocated_bytes"], 0);
    EXPECT_EQ(st["devices"][d]["contexts_live"], 0);
  }
}

TEST_F(Fakes, EventsSynchronizeSeparatelyFromContextSyncs) {
  scenario({{"devices", {device("A", uuid_of(0), kGiB)}},
            {"cuda", {{"faults", {{"0", {{"sync_hang", true}}}}}}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  CUevent e = nullptr;
  ASSERT_EQ(a.cuEventCreate(&e, 0), 0);
  EXPECT_EQ(a.cuEventSynchronize(e), 0);  // never recorded: complete
  ASSERT_EQ(a.cuEventRecord(e, nullptr), 0);
  EXPECT_EQ(a.cuEventQuery(e), 600);  // the device is hung
  write_config({{"devices", {device("A", uuid_of(0), kGiB)}}});
  EXPECT_EQ(a.cuEventQuery(e), 0);
  EXPECT_EQ(a.cuEventSynchronize(e), 0);
  ASSERT_EQ(a.cuEventDestroy_v2(e), 0);
  EXPECT_EQ(a.cuEventDestroy_v2(e), 400);
  json dev = state()["devices"][0];
  EXPECT_EQ(dev["event_syncs"], 1);
  EXPECT_EQ(dev["syncs"], 0);
}

TEST_F(Fakes, SpinKernelsAreRecordedAndCountInTheUtilizationOfTheLastSecond) {
  scenario({{"devices", {json{{"name", "A"}, {"uuid", uuid_of(0)}, {"utilization", 20}}}}});
  ASSERT_EQ(a.cuInit(0), 0);
  open(0);
  ASSERT_EQ(a.nvmlInit_v2(), 0);
  nvmlDevice_t h = nullptr;
  ASSERT_EQ(a.nvmlDeviceGetHandleByIndex_v2(0, &h), 0);
  nvmlUtilization_t util{};
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 20u) << "the scenario's load alone";
  const CUfunction spin = function("keepgpu_spin");
  unsigned long long ns = 300'000'000;  // 300 ms of simulated kernel time
  void* params[] = {&ns};
  const auto launched = std::chrono::steady_clock::now();
  ASSERT_EQ(a.cuLaunchKernel(spin, 1, 1, 1, 32, 1, 1, 0, nullptr, params, nullptr), 0);
  EXPECT_EQ(a.cuLaunchKernel(spin, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  // The whole spin lies in the last second unless this thread slept far longer than asked.
  if (std::chrono::steady_clock::now() - launched < std::chrono::milliseconds(950)) {
    EXPECT_GE(util.gpu, 49u) << "20% + 300 ms of the last second";
    EXPECT_LE(util.gpu, 50u);
  }
  const json dev = state()["devices"][0];
  EXPECT_EQ(dev["spin_launches"], 1);
  EXPECT_EQ(dev["spin_ns"], 300'000'000);
  ASSERT_EQ(dev["spin_log"].size(), 1u);
  EXPECT_EQ(dev["spin_log"][0][1], 300'000'000);
  EXPECT_EQ(dev["relu_launches"], 0);
  EXPECT_EQ(dev["last_block"], json({32, 1, 1}));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  ASSERT_EQ(a.nvmlDeviceGetUtilizationRates(h, &util), 0);
  EXPECT_EQ(util.gpu, 20u) << "a spin older than the sample period no longer counts";
}

TEST_F(Fakes, ErrorTextsMatchTheDriver) {
  const struct {
    CUresult code;
    const char* name;
    const char* text;
  } cases[] = {
      {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
      {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
      {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
      {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
      {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
      {700, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
      {999, "CUDA_ERROR_UNKNOWN", "unknown error"},
  };
  for (const auto& c : cases) {
    const char* text = nullptr;
    const char* name = nullptr;
    ASSERT_EQ(a.cuGetErrorString(c.code, &text), 0);
    ASSERT_EQ(a.cuGetErrorName(c.code, &name), 0);
    EXPECT_STREQ(text, c.text);
    EXPECT_STREQ(name, c.name);
  }
  const char* text = "unchanged";
  EXPECT_EQ(a.cuGetErrorString(12345, &text), 1);
  EXPECT_EQ(text, nullptr);
  EXPECT_STREQ(a.nvmlErrorString(0), "Success");
  EXPECT_STREQ(a.nvmlErrorString(6), "Not Found");
  EXPECT_STREQ(a.nvmlErrorString(999), "Unknown Error");
}

}  // namespace
