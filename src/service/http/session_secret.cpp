#include "service/http/session_secret.hpp"

#include <fmt/format.h>
#include <sys/random.h>

#include <cerrno>
#include <cstddef>
#include <stdexcept>
#include <system_error>

namespace keepgpu::service::http {

std::string new_session_secret() {
  unsigned char bytes[32];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      throw std::runtime_error("Cannot make a session secret: " +
                               std::system_category().message(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  std::string hex;
  hex.reserve(2 * sizeof bytes);
  for (const unsigned char byte : bytes)
    hex += fmt::format("{:02x}", byte);
  return hex;
}

}  // namespace keepgpu::service::http
