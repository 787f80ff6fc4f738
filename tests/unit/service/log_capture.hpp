// Collects what the service logs while a test runs (the console sink is swapped for an in-memory
// one and put back on destruction), so tests can check that a failure was reported, and at which
// level.
#pragma once

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>
#include <string>

#include "core/log.hpp"

namespace keepgpu::service_testing {

class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<Sink>()) { log::set_console_sink(sink_); }
  ~LogCapture() { log::set_console_sink(nullptr); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // Everything logged so far, one "<level> <message>" line per record (level as spdlog names it:
  // "warning", "error").
  std::string text() const { return sink_->text(); }

 private:
  class Sink final : public spdlog::sinks::base_sink<std::mutex> {
   public:
    std::string text() {
      std::lock_guard lock(mutex_);
      return text_;
    }

   protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
      text_ += std::string(spdlog::level::to_string_view(msg.level).data(),
                           spdlog::level::to_string_view(msg.level).size());
      text_ += ' ';
      text_.append(msg.payload.data(), msg.payload.size());
      text_ += '\n';
    }
    void flush_() override {}

   private:
    std::string text_;
  };

  std::shared_ptr<Sink> sink_;
};

}  // namespace keepgpu::service_testing
