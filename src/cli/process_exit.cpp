#include "cli/process_exit.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "core/log.hpp"

namespace keepgpu::cli {

void exit_without_teardown(int status) {
  log::flush();
  std::cout.flush();
  std::fflush(nullptr);
  std::_Exit(status);
}

}  // namespace keepgpu::cli
