#include "gpu/rocm/library_search.hpp"

#include <cstdlib>
#include <string>
#include <vector>

#include "gpu/backend.hpp"

namespace keepgpu::gpu::rocm {

DynamicLibrary open_rocm_library(const char* override_env,
                                 std::initializer_list<const char*> sonames) {
  const char* chosen = override_env != nullptr ? std::getenv(override_env) : nullptr;
  if (chosen != nullptr && *chosen != '\0') return DynamicLibrary(std::string(chosen));

  std::vector<std::string> candidates(sonames.begin(), sonames.end());
  if (sonames.size() > 0) {
    const std::string first = *sonames.begin();
    if (const char* root = std::getenv("ROCM_PATH"); root != nullptr && *root != '\0') {
      candidates.push_back(std::string(root) + "/lib/" + first);
    }
    candidates.push_back("/opt/rocm/lib/" + first);
  }
  std::string first_error;
  std::string tried;
  for (const std::string& name : candidates) {
    try {
      return DynamicLibrary(name);
    } catch (const LibraryError& e) {
      if (first_error.empty()) first_error = e.what();
      if (!tried.empty()) tried += ", ";
      tried += name;
    }
  }
  throw LibraryError(first_error + " (tried " + tried + ")");
}

}  // namespace keepgpu::gpu::rocm
