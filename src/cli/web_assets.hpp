// The dashboard's files (web/index.html, web/assets/*), embedded at build time by
// cmake/embed_web.cmake: relative path -> bytes. Empty when the tree had no web/ folder.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace keepgpu::cli {

using WebAssets = std::map<std::string, std::string_view, std::less<>>;

WebAssets embedded_web_assets();

}  // namespace keepgpu::cli
