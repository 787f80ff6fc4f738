// A vendor library opened at run time (no GPU SDK at build time). The
// library is found through the normal loader search by soname, unless an environment variable
// names another file or soname to load instead (KEEP_GPU_LIBCUDA, KEEP_GPU_LIBNVML), which is how
// tests point the product code at the fake vendor libraries.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

namespace keepgpu::gpu {

class DynamicLibrary {
 public:
  // Opens `name` (a soname or a path) with RTLD_NOW | RTLD_LOCAL. Throws LibraryError naming the
  // library and quoting dlerror().
  explicit DynamicLibrary(const std::string& name);
  // Opens the file named by the environment variable `override_env` when it is set and non-empty,
  // otherwise `default_soname`.
  static DynamicLibrary open_with_override(std::string_view default_soname,
                                           const char* override_env);

  DynamicLibrary(DynamicLibrary&& other) noexcept;
  DynamicLibrary& operator=(DynamicLibrary&& other) noexcept;
  DynamicLibrary(const DynamicLibrary&) = delete;
  DynamicLibrary& operator=(const DynamicLibrary&) = delete;
  ~DynamicLibrary();

  const std::string& name() const noexcept { return name_; }

  // The first of `names` that resolves, or nullptr (optional entry points).
  void* find(std::initializer_list<const char*> names) const noexcept;
  // The first of `names` that resolves; throws LibraryError naming the library and every name
  // tried when none does (required entry points).
  void* require(std::initializer_list<const char*> names) const;

  // Typed conveniences: `lib.require_as<int (*)(unsigned)>({"cuInit"})`.
  template <class Fn>
  Fn find_as(std::initializer_list<const char*> names) const noexcept {
    return reinterpret_cast<Fn>(find(names));
  }
  template <class Fn>
  Fn require_as(std::initializer_list<const char*> names) const {
    return reinterpret_cast<Fn>(require(names));
  }

 private:
  void* handle_ = nullptr;
  std::string name_;
};

}  // namespace keepgpu::gpu
