// Run-time library loading: override variables, versioned symbol names, error texts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fake_gpu.hpp"
#include "gpu/backend.hpp"
#include "gpu/cuda/cuda_api.hpp"
#include "gpu/dynlib.hpp"
#include "gpu/nvml/nvml_api.hpp"

namespace keepgpu::gpu {
namespace {

using ::testing::HasSubstr;

TEST(DynamicLibraryTest, MissingLibraryNamesItAndQuotesTheLoader) {
  try {
    DynamicLibrary library("/nonexistent/libcuda.so.1");
    FAIL() << "loaded a missing library";
  } catch (const LibraryError& e) {
    EXPECT_THAT(e.what(), HasSubstr("cannot load /nonexistent/libcuda.so.1"));
    EXPECT_THAT(e.what(), HasSubstr("No such file"));
  }
}

TEST(DynamicLibraryTest, TriesVersionedNamesInOrder) {
  DynamicLibrary library(testing::kFakeCuda);
  EXPECT_EQ(library.find({"cuMemAlloc_v2", "cuMemAlloc"}), library.find({"cuMemAlloc_v2"}));
  EXPECT_NE(library.find({"cuNoSuchThing", "cuInit"}), nullptr);
  EXPECT_EQ(library.find({"cuNoSuchThing"}), nullptr);
}

TEST(DynamicLibraryTest, MissingRequiredSymbolNamesLibraryAndSymbols) {
  DynamicLibrary library(testing::kFakeCuda);
  try {
    library.require({"cuNoSuchThing_v2", "cuNoSuchThing"});
    FAIL() << "resolved a missing symbol";
  } catch (const LibraryError& e) {
    EXPECT_THAT(e.what(), HasSubstr(testing::kFakeCuda));
    EXPECT_THAT(e.what(), HasSubstr("cuNoSuchThing_v2, cuNoSuchThing"));
    EXPECT_THAT(e.what(), HasSubstr("undefined symbol"));
  }
}

TEST(DynamicLibraryTest, OverrideVariableWins) {
  {
    testing::ScopedEnv env("KEEP_GPU_TEST_LIB", testing::kFakeNvml);
    const auto library =
        DynamicLibrary::open_with_override("libdoes-not-exist.so.7", "KEEP_GPU_TEST_LIB");
    EXPECT_EQ(library.name(), testing::kFakeNvml);
  }
  {
    // Empty means unset: the default soname is used (and is missing here).
    testing::ScopedEnv env("KEEP_GPU_TEST_LIB", "");
    EXPECT_THROW(DynamicLibrary::open_with_override("libdoes-not-exist.so.7", "KEEP_GPU_TEST_LIB"),
                 LibraryError);
  }
}

TEST(VendorApiTest, CudaLoadFailureNamesTheLibrary) {
  EXPECT_THAT([] { cuda::CudaApi::load("/nonexistent/libcuda.so.1"); },
              ::testing::ThrowsMessage<LibraryError>(HasSubstr("/nonexistent/libcuda.so.1")));
  EXPECT_THAT([] { nvml::NvmlApi::load("/nonexistent/libnvidia-ml.so.1"); },
              ::testing::ThrowsMessage<LibraryError>(HasSubstr("/nonexistent/libnvidia-ml.so.1")));
}

TEST(VendorApiTest, LibraryWithoutTheEntryPointsIsRejected) {
  // The state library is a real shared object without any driver entry point.
  EXPECT_THAT([] { cuda::CudaApi::load(testing::kFakeDir + "/libfakegpu_state.so"); },
              ::testing::ThrowsMessage<LibraryError>(HasSubstr("cuInit")));
  EXPECT_THAT([] { nvml::NvmlApi::load(testing::kFakeDir + "/libfakegpu_state.so"); },
              ::testing::ThrowsMessage<LibraryError>(HasSubstr("nvmlInit_v2, nvmlInit")));
}

TEST(VendorApiTest, SharedInstancesComeFromTheOverride) {
  const auto cuda = cuda::CudaApi::shared();
  EXPECT_EQ(cuda->library->name(), testing::kFakeCuda);
  EXPECT_EQ(cuda::CudaApi::shared(), cuda);
  EXPECT_NE(cuda->cuDeviceGetUuid, nullptr);
  EXPECT_NE(cuda->cuDeviceTotalMem, nullptr);
  const auto nvml = nvml::NvmlApi::shared();
  EXPECT_EQ(nvml->library->name(), testing::kFakeNvml);
  EXPECT_NE(nvml->nvmlDeviceGetHandleByUUID, nullptr);
}

TEST(VendorApiTest, MinimalNvmlLacksOptionalEntryPoints) {
  const auto nvml = nvml::NvmlApi::load(testing::kFakeNvmlMinimal);
  EXPECT_EQ(nvml->nvmlDeviceGetHandleByUUID, nullptr);
  EXPECT_EQ(nvml->nvmlDeviceGetIndex, nullptr);
  EXPECT_NE(nvml->nvmlDeviceGetUtilizationRates, nullptr);
}

TEST(VendorApiTest, CudaErrorTexts) {
  const auto cuda = cuda::CudaApi::shared();
  const GpuError oom = cuda->error(2, "cuMemAlloc_v2");
  EXPECT_TRUE(oom.out_of_memory());
  EXPECT_EQ(oom.code(), 2);
  EXPECT_STREQ(oom.what(), "out of memory (CUDA_ERROR_OUT_OF_MEMORY, code 2) in cuMemAlloc_v2");
  const GpuError other = cuda->error(700, "cuLaunchKernel");
  EXPECT_FALSE(other.out_of_memory());
  EXPECT_THAT(other.what(), HasSubstr("an illegal memory access was encountered"));
  EXPECT_THAT(other.what(), HasSubstr("(CUDA_ERROR_ILLEGAL_ADDRESS, code 700) in cuLaunchKernel"));
  // A code the driver has no text for.
  EXPECT_STREQ(cuda->error(12345, "cuInit").what(), "unknown CUDA error (code 12345) in cuInit");
}

}  // namespace
}  // namespace keepgpu::gpu
