#pragma once

#include <string>

namespace keepgpu::cli {

std::string root_help();
std::string version_text();

}  // namespace keepgpu::cli
