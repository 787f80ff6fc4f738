// A short per-GPU telemetry history for the dashboard's charts: utilization, memory used (the
// device's own reading) against memory held by keep-gpu, and power, over the last minutes.
//
// TelemetryHistory is the bounded store (pure; time is passed in). TelemetrySampler fills it
// from the GPU listing on its own thread, but only while someone can use the data: every few
// seconds while a viewer asked for it recently, more slowly while sessions are tracked (so there
// is history when the page opens), and not at all otherwise: an idle daemon with nobody
// watching queries no GPU.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/json.hpp"

namespace keepgpu::service {

struct TelemetrySample {
  double t = 0.0;  // Unix seconds
  std::optional<double> utilization;
  std::optional<std::int64_t> memory_used;
  std::uint64_t memory_held = 0;
  std::optional<double> power_watts;
};

class TelemetryHistory {
 public:
  explicit TelemetryHistory(std::chrono::seconds window);

  // One sample per GPU record of a list_gpus listing (visible_id or id, name,
  // memory_total, memory_used, utilization, power_watts); `held` maps visible ordinals to bytes
  // held by keep-gpu. Samples older than the window are dropped, and so are GPUs that no listing
  // has shown for a whole window.
  void record(double now, const core::Json& records,
              const std::map<std::int64_t, std::uint64_t>& held);

  // {"window_seconds", "gpus": [{"id", "name", "memory_total", "samples": [{"t", "utilization",
  // "memory_used", "memory_held", "power_watts"}]}]}, GPUs by id, samples oldest first.
  core::Json to_json() const;

  // Time of the newest sample, or nullopt before the first.
  std::optional<double> last_sample_time() const;
  // The held bytes of the newest sample.
  std::map<std::int64_t, std::uint64_t> last_held() const;

 private:
  struct Gpu {
    std::string name;
    std::optional<std::int64_t> memory_total;
    double last_seen = 0.0;
    std::deque<TelemetrySample> samples;
  };

  const std::int64_t window_;  // seconds
  mutable std::mutex mutex_;
  std::map<std::int64_t, Gpu> gpus_;
  std::optional<double> last_sample_;
  std::map<std::int64_t, std::uint64_t> last_held_;
};

struct TelemetrySources {
  // The list_gpus result ({"gpus": [...]}); may throw (the sample is then skipped).
  std::function<core::Json()> list_gpus;
  // Bytes held per visible ordinal.
  std::function<std::map<std::int64_t, std::uint64_t>()> held_bytes;
  // True while any session or start is tracked.
  std::function<bool()> sessions_tracked;
};

struct TelemetryOptions {
  std::chrono::seconds period{5};  // between samples while someone is viewing
  // Between samples while sessions are tracked but nobody has viewed lately: the history is
  // there when the page opens, at a sixth of the listings (each one may initialise NVML).
  std::chrono::seconds background_period{30};
  std::chrono::seconds window{600};         // how much history is kept
  std::chrono::seconds viewer_linger{300};  // sample at `period` this long after the last view
};

class TelemetrySampler {
 public:
  TelemetrySampler(TelemetrySources sources, TelemetryOptions options = {});
  ~TelemetrySampler();  // stops and joins the thread
  TelemetrySampler(const TelemetrySampler&) = delete;
  TelemetrySampler& operator=(const TelemetrySampler&) = delete;

  // For GET /api/telemetry: counts as a viewer (sampling goes on at `period` for
  // viewer_linger), takes a sample first when the newest is older than the period or the bytes
  // held have changed since (a session started or ended: the chart must show it), and returns
  // the history with "period_seconds", "background_period_seconds" and "now" added. Blocks for
  // at most one listing.
  core::Json view();

  // Takes one sample when the newest is older than `max_age` (or there is none). Concurrent
  // callers share one listing. Returns true when a sample was recorded.
  bool sample_if_stale(std::chrono::milliseconds max_age);

 private:
  void run(const std::stop_token& stop);
  // The sampling period wanted now: `period` while viewed, `background_period` while sessions
  // are tracked, nullopt when nobody can use a sample.
  std::optional<std::chrono::seconds> wanted_period();

  TelemetrySources sources_;
  TelemetryOptions options_;
  TelemetryHistory history_;
  std::mutex sampling_;  // one listing at a time
  std::mutex state_;
  std::condition_variable_any wake_;
  std::optional<std::chrono::steady_clock::time_point> last_view_;
  std::jthread thread_;  // last: started after everything above exists
};

// Unix time now, in seconds.
double unix_seconds_now();

}  // namespace keepgpu::service
