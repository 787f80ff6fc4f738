// Error taxonomy shared by every layer. The subtype relations follow upstream's Python classes so
// callers can still "catch ValueError" or "catch ControllerStartupUnavailable".
#pragma once

#include <exception>
#include <stdexcept>
#include <string>

namespace keepgpu {

// Wrong input type (only reachable from dynamic layers such as JSON).
class TypeError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Bad input value.
class ValueError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Backend and worker failures.
class RuntimeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A worker did not stop in time during release (not a RuntimeError, as upstream).
class TimeoutError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class VisibleRankValidationError : public ValueError {
 public:
  using ValueError::ValueError;
};

class DeviceEnumerationUnavailableError : public RuntimeError {
 public:
  using RuntimeError::RuntimeError;
};

// Marker base for expected "no hardware" conditions.
class ControllerStartupUnavailable {
 public:
  virtual ~ControllerStartupUnavailable() = default;
};

class NoGPUAvailableError : public ValueError, public ControllerStartupUnavailable {
 public:
  using ValueError::ValueError;
};

class UnsupportedControllerPlatformError : public std::logic_error,
                                           public ControllerStartupUnavailable {
 public:
  using std::logic_error::logic_error;
};

class InvalidVisibleGPUSelectionError : public ValueError {
 public:
  using ValueError::ValueError;
};

// A VRAM request larger than the GPU's total memory: the request is wrong, not the device, so every
// transport reports it as bad input.
class VramExceedsDeviceError : public ValueError {
 public:
  using ValueError::ValueError;
};

// The message of a captured exception: what() of a std::exception, else "unknown error".
inline std::string message_of(const std::exception_ptr& error) {
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown error";
  }
}

}  // namespace keepgpu
