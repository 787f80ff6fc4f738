// The embedded keep-alive PTX: header, entry points, and (when the CUDA toolkit's assembler is
// installed) a real compile, so the text is known to be valid for GPUs, not only for the fake.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gpu/cuda/kernels_ptx.hpp"

namespace keepgpu::gpu::cuda {
namespace {

using ::testing::HasSubstr;

TEST(KeepaliveptxTest, HeaderTargetsOldDrivers) {
  const std::string ptx(keepalive_ptx());
  EXPECT_THAT(ptx, HasSubstr(".version 6.4\n"));
  EXPECT_THAT(ptx, HasSubstr(".target sm_50\n"));
  EXPECT_THAT(ptx, HasSubstr(".address_size 64\n"));
  EXPECT_THAT(ptx, HasSubstr(".visible .entry keepgpu_fill("));
  EXPECT_THAT(ptx, HasSubstr(".visible .entry keepgpu_relu("));
  // The driver reads the image up to its terminator.
  EXPECT_EQ(keepalive_ptx().data()[keepalive_ptx().size()], '\0');
  EXPECT_EQ(ptx.find('\0'), std::string::npos);
}

TEST(KeepaliveptxTest, ReluLoadsAndStoresEveryElementWith64BitIndices) {
  const std::string ptx(keepalive_ptx());
  const std::string relu = ptx.substr(ptx.find(".entry keepgpu_relu"));
  EXPECT_THAT(relu, HasSubstr("ld.global.f32"));
  EXPECT_THAT(relu, HasSubstr("max.f32"));
  EXPECT_THAT(relu, HasSubstr("st.global.f32"));
  EXPECT_THAT(relu, HasSubstr("mul.wide.u32"));
  EXPECT_THAT(relu, HasSubstr("setp.lt.u64"));
}

TEST(KeepaliveptxTest, GridIsBounded) {
  EXPECT_EQ(blocks_for(0), 1u);
  EXPECT_EQ(blocks_for(1), 1u);
  EXPECT_EQ(blocks_for(256), 1u);
  EXPECT_EQ(blocks_for(257), 2u);
  EXPECT_EQ(blocks_for(2097152), 8192u);
  EXPECT_EQ(blocks_for(1ULL << 32), 65535u);
  EXPECT_EQ(blocks_for(~0ULL), 65535u);
}

std::filesystem::path find_ptxas() {
  if (const char* dir = std::getenv("CUDA_HOME")) {
    const auto candidate = std::filesystem::path(dir) / "bin" / "ptxas";
    if (std::filesystem::exists(candidate)) return candidate;
  }
  for (const char* candidate : {"/usr/local/cuda/bin/ptxas", "/usr/bin/ptxas"}) {
    if (std::filesystem::exists(candidate)) return candidate;
  }
  return {};
}

std::string run(const std::string& command, int& status) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    status = -1;
    return output;
  }
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr)
    output += buffer.data();
  status = pclose(pipe);
  return output;
}

TEST(KeepaliveptxTest, AssemblesWithPtxas) {
  const auto ptxas = find_ptxas();
  if (ptxas.empty()) GTEST_SKIP() << "ptxas not installed";
  const auto dir =
      std::filesystem::temp_directory_path() / ("keepgpu-ptx-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto source = dir / "keepalive.ptx";
  std::ofstream(source) << keepalive_ptx();

  // Newer toolkits dropped the oldest architectures: use the lowest one this ptxas knows, plus a
  // current one.
  int status = 0;
  const std::string help = run(ptxas.string() + " --help 2>&1", status);
  int compiled = 0;
  for (const char* arch : {"sm_50", "sm_60", "sm_75", "sm_90"}) {
    if (help.find(std::string("'") + arch + "'") == std::string::npos &&
        help.find(std::string("'compute_") + (arch + 3) + "'") == std::string::npos) {
      continue;
    }
    const std::string output =
        run(ptxas.string() + " -arch=" + arch + " -o " + (dir / "out.cubin").string() + " " +
                source.string() + " 2>&1",
            status);
    EXPECT_EQ(status, 0) << arch << ": " << output;
    ++compiled;
  }
  std::filesystem::remove_all(dir);
  EXPECT_GT(compiled, 0) << "ptxas lists none of the tried architectures";
}

}  // namespace
}  // namespace keepgpu::gpu::cuda
