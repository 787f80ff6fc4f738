// How the executables end: everything worth keeping (logs, stdout, stdio buffers) is flushed,
// then the process leaves without running static destructors, so a keeper thread still stuck in
// the driver after a timed-out release cannot race the teardown of the objects it uses.
#pragma once

namespace keepgpu::cli {

[[noreturn]] void exit_without_teardown(int status);

}  // namespace keepgpu::cli
