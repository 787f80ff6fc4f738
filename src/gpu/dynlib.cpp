#include "gpu/dynlib.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <utility>

#include "gpu/backend.hpp"

namespace keepgpu::gpu {
namespace {

std::string last_dl_error() {
  const char* text = dlerror();
  return text != nullptr ? text : "unknown dynamic loader error";
}

}  // namespace

DynamicLibrary::DynamicLibrary(const std::string& name) : name_(name) {
  dlerror();  // clear any stale error so the message below is about this call
  // RTLD_NODELETE: vendor driver libraries start threads and keep global state that does not
  // survive being unmapped, so a closed handle must never actually unload the library.
  handle_ = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (handle_ == nullptr) {
    throw LibraryError("cannot load " + name + ": " + last_dl_error());
  }
}

DynamicLibrary DynamicLibrary::open_with_override(std::string_view default_soname,
                                                  const char* override_env) {
  const char* chosen = override_env != nullptr ? std::getenv(override_env) : nullptr;
  if (chosen == nullptr || *chosen == '\0') return DynamicLibrary(std::string(default_soname));
  return DynamicLibrary(std::string(chosen));
}

DynamicLibrary::DynamicLibrary(DynamicLibrary&& other) noexcept
    : handle_(std::exchange(other.handle_, nullptr)), name_(std::move(other.name_)) {}

DynamicLibrary& DynamicLibrary::operator=(DynamicLibrary&& other) noexcept {
  if (this != &other) {
    if (handle_ != nullptr) dlclose(handle_);
    handle_ = std::exchange(other.handle_, nullptr);
    name_ = std::move(other.name_);
  }
  return *this;
}

DynamicLibrary::~DynamicLibrary() {
  if (handle_ != nullptr) dlclose(handle_);
}

void* DynamicLibrary::find(std::initializer_list<const char*> names) const noexcept {
  if (handle_ == nullptr) return nullptr;
  for (const char* symbol : names) {
    if (void* address = dlsym(handle_, symbol)) return address;
  }
  return nullptr;
}

void* DynamicLibrary::require(std::initializer_list<const char*> names) const {
  if (void* address = find(names)) return address;
  std::string tried;
  for (const char* symbol : names) {
    if (!tried.empty()) tried += ", ";
    tried += symbol;
  }
  // dlerror() now describes the last lookup that failed.
  throw LibraryError(name_ + " lacks the required entry point " + tried + " (" + last_dl_error() +
                     ")");
}

}  // namespace keepgpu::gpu
