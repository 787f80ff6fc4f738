// What both self-tests of the fake libraries (NVIDIA: selftest.cpp, AMD: selftest_amd.cpp) need:
// loading a fake by path as the product does, resolving its entry points, writing a scenario the
// way tests must (temporary file, then rename) and reading the published state.
#pragma once

#include <dlfcn.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace fakegpu::selftest {

using json = nlohmann::json;

// dlopen of a fake in the build's fakes folder; a fake that does not load ends the test binary.
inline void* open_fake(const std::string& name) {
  const std::string path = std::string(FAKEGPU_DIR) + "/" + name;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    std::fprintf(stderr, "dlopen %s: %s\n", path.c_str(), dlerror());
    std::abort();
  }
  return handle;
}

// An entry point of a loaded fake, as the function type the product declares.
template <typename F>
F symbol(void* lib, const char* name) {
  void* p = dlsym(lib, name);
  if (!p) {
    std::fprintf(stderr, "dlsym %s: missing\n", name);
    std::abort();
  }
  return reinterpret_cast<F>(p);
}

// A fresh temporary directory, e.g. "/tmp/fakegpu-selftest-XXXXXX".
inline std::filesystem::path make_temp_dir(const char* prefix) {
  std::string pattern = std::string("/tmp/") + prefix + "-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  return pattern;
}

// Writes a scenario atomically (temporary file, then rename): a fake re-reading its config never
// sees half a file.
inline void write_scenario(const std::string& path, const json& scenario) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << scenario.dump(2);
  std::filesystem::rename(tmp, path);
}

// The state the fakes publish, read through libfakegpu_state's fakegpu_state_json.
inline json read_state(char* (*state_json)(), void (*free_text)(void*)) {
  char* text = state_json();
  json state = json::parse(text);
  free_text(text);
  return state;
}

}  // namespace fakegpu::selftest
