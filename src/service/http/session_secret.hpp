// The dashboard's session secret: what the login cookie carries instead of the token. Browsers
// send a 127.0.0.1 cookie to every port of the host, so a page another user serves on loopback
// would receive it; a secret made fresh at every server start is worth less than the token there
// (it opens only this daemon's HTTP side until it ends, and never the token file's other uses).
#pragma once

#include <string>

namespace keepgpu::service::http {

// 32 bytes from the kernel's random source (getrandom), as 64 lower-case hex digits. Throws
// std::runtime_error when no random bytes can be had.
std::string new_session_secret();

}  // namespace keepgpu::service::http
