#include "service/telemetry_history.hpp"

#include <stop_token>

#include "core/log.hpp"

namespace keepgpu::service {
namespace {

const std::shared_ptr<spdlog::logger>& logger() {
  static const auto instance = log::get("keep_gpu.service.telemetry");
  return instance;
}

std::optional<double> number_field(const core::Json& record, const char* key) {
  const auto found = record.find(key);
  if (found == record.end() || !found->is_number()) return std::nullopt;
  return found->get<double>();
}

std::optional<std::int64_t> integer_field(const core::Json& record, const char* key) {
  const auto found = record.find(key);
  if (found == record.end() || !found->is_number_integer()) return std::nullopt;
  return found->get<std::int64_t>();
}

core::Json optional_json(const std::optional<double>& value) {
  return value ? core::Json(*value) : core::Json(nullptr);
}

core::Json optional_json(const std::optional<std::int64_t>& value) {
  return value ? core::Json(*value) : core::Json(nullptr);
}

}  // namespace

double unix_seconds_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// ---- TelemetryHistory ----

TelemetryHistory::TelemetryHistory(std::chrono::seconds window)
    : window_(static_cast<std::int64_t>(window.count())) {}

void TelemetryHistory::record(double now, const core::Json& records,
                              const std::map<std::int64_t, std::uint64_t>& held) {
  std::lock_guard lock(mutex_);
  if (records.is_array()) {
    for (const auto& record : records) {
      if (!record.is_object()) continue;
      auto id = integer_field(record, "visible_id");
      if (!id) id = integer_field(record, "id");
      if (!id) continue;
      Gpu& gpu = gpus_[*id];
      if (const auto name = record.find("name"); name != record.end() && name->is_string()) {
        gpu.name = name->get<std::string>();
      }
      gpu.memory_total = integer_field(record, "memory_total");
      gpu.last_seen = now;
      TelemetrySample sample;
      sample.t = now;
      sample.utilization = number_field(record, "utilization");
      sample.memory_used = integer_field(record, "memory_used");
      sample.power_watts = number_field(record, "power_watts");
      if (const auto found = held.find(*id); found != held.end())
        sample.memory_held = found->second;
      gpu.samples.push_back(sample);
    }
  }
  last_sample_ = now;
  last_held_ = held;
  for (auto it = gpus_.begin(); it != gpus_.end();) {
    auto& samples = it->second.samples;
    while (!samples.empty() && samples.front().t < now - static_cast<double>(window_))
      samples.pop_front();
    it =
        it->second.last_seen < now - static_cast<double>(window_) ? gpus_.erase(it) : std::next(it);
  }
}

core::Json TelemetryHistory::to_json() const {
  std::lock_guard lock(mutex_);
  core::Json gpus = core::Json::array();
  for (const auto& [id, gpu] : gpus_) {
    core::Json samples = core::Json::array();
    for (const auto& sample : gpu.samples) {
      samples.push_back({{"t", sample.t},
                         {"utilization", optional_json(sample.utilization)},
                         {"memory_used", optional_json(sample.memory_used)},
                         {"memory_held", sample.memory_held},
                         {"power_watts", optional_json(sample.power_watts)}});
    }
    gpus.push_back({{"id", id},
                    {"name", gpu.name},
                    {"memory_total", optional_json(gpu.memory_total)},
                    {"samples", std::move(samples)}});
  }
  return {{"window_seconds", window_}, {"gpus", std::move(gpus)}};
}

std::optional<double> TelemetryHistory::last_sample_time() const {
  std::lock_guard lock(mutex_);
  return last_sample_;
}

std::map<std::int64_t, std::uint64_t> TelemetryHistory::last_held() const {
  std::lock_guard lock(mutex_);
  return last_held_;
}

// ---- TelemetrySampler ----

TelemetrySampler::TelemetrySampler(TelemetrySources sources, TelemetryOptions options)
    : sources_(std::move(sources)),
      options_(options),
      history_(options.window),
      thread_([this](const std::stop_token& stop) { run(stop); }) {}

TelemetrySampler::~TelemetrySampler() {
  thread_.request_stop();
  wake_.notify_all();
}

std::optional<std::chrono::seconds> TelemetrySampler::wanted_period() {
  {
    std::lock_guard lock(state_);
    if (last_view_ && std::chrono::steady_clock::now() - *last_view_ < options_.viewer_linger) {
      return options_.period;
    }
  }
  if (sources_.sessions_tracked && sources_.sessions_tracked()) return options_.background_period;
  return std::nullopt;
}

void TelemetrySampler::run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    if (const auto period = wanted_period()) {
      // A little slack so a view that just sampled does not make this one skip a whole period.
      sample_if_stale(std::chrono::duration_cast<std::chrono::milliseconds>(*period) * 9 / 10);
    }
    std::unique_lock lock(state_);
    wake_.wait_for(lock, stop, options_.period, [] { return false; });
  }
}

bool TelemetrySampler::sample_if_stale(std::chrono::milliseconds max_age) {
  std::lock_guard sampling(sampling_);
  const auto last = history_.last_sample_time();
  const double now = unix_seconds_now();
  if (last && now - *last < std::chrono::duration<double>(max_age).count() && now >= *last) {
    return false;
  }
  try {
    const core::Json listing = sources_.list_gpus();
    const auto held =
        sources_.held_bytes ? sources_.held_bytes() : std::map<std::int64_t, std::uint64_t>{};
    const auto gpus = listing.find("gpus");
    history_.record(unix_seconds_now(), gpus == listing.end() ? core::Json::array() : *gpus, held);
    return true;
  } catch (const std::exception& e) {
    KG_DEBUG(logger(), "Telemetry sample skipped: {}", e.what());
    return false;
  }
}

core::Json TelemetrySampler::view() {
  {
    std::lock_guard lock(state_);
    last_view_ = std::chrono::steady_clock::now();
  }
  auto max_age = std::chrono::duration_cast<std::chrono::milliseconds>(options_.period);
  if (sources_.held_bytes && sources_.held_bytes() != history_.last_held()) {
    max_age = std::chrono::milliseconds(0);
  }
  sample_if_stale(max_age);
  core::Json out = history_.to_json();
  out["period_seconds"] = options_.period.count();
  out["background_period_seconds"] = options_.background_period.count();
  out["now"] = unix_seconds_now();
  return out;
}

}  // namespace keepgpu::service
