// How the service writes every JSON it sends or stores: json.dumps spelling with the members of
// each object sorted by key. Sorted keys are what upstream's MCP tool texts use (clients compare
// them verbatim), and one rule for every reply, record and file keeps their bytes independent of
// the order the code happens to build them in.
#pragma once

#include <string>

#include "core/json.hpp"

namespace keepgpu::service {

inline std::string wire_json(const core::Json& value,
                             core::json::Separators separators = core::json::Separators::python) {
  core::json::WriteOptions options;
  options.separators = separators;
  options.sort_keys = true;
  return core::json::dump(value, options);
}

}  // namespace keepgpu::service
