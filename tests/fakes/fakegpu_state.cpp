// The shared state of the fake vendor libraries: scenario loading, counters, the allocation table
// and the state file. See README.md for the contract the tests rely on.
#include "fakegpu_state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace fakegpu {
namespace {

using nlohmann::json;

std::string default_uuid(int index) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "GPU-00000000-0000-0000-0000-%012x", index);
  return buf;
}

DeviceConfig default_device(int index) {
  DeviceConfig d;
  d.name = "Fake GPU " + std::to_string(index);
  d.uuid = default_uuid(index);
  return d;
}

Config default_config() {
  Config c;
  c.devices.push_back(default_device(0));
  return c;
}

template <typename T>
T get_or(const json& obj, const char* key, T fallback) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  return it->get<T>();
}

// "ok" -> 0, "oom" -> CUDA_ERROR_OUT_OF_MEMORY, "error:N" -> N; integers are taken as they are.
int parse_alloc_step(const json& step) {
  if (step.is_number_integer()) return step.get<int>();
  const auto text = step.get<std::string>();
  if (text == "ok") return 0;
  if (text == "oom") return 2;
  if (text.rfind("error:", 0) == 0) {
    const std::string code = text.substr(6);
    char* end = nullptr;
    const long value = std::strtol(code.c_str(), &end, 10);
    if (!code.empty() && end && *end == '\0') return static_cast<int>(value);
  }
  throw std::runtime_error("bad alloc_script entry '" + text + "' (want ok, oom or error:N)");
}

CudaFaults parse_faults(const json& f) {
  if (!f.is_object()) throw std::runtime_error("cuda.faults entries must be objects");
  CudaFaults out;
  out.device_get_error = get_or(f, "device_get_error", 0);
  out.set_device_error = get_or(f, "set_device_error", 0);
  out.ctx_error = get_or(f, "ctx_error", 0);
  out.ctx_delay_ms = get_or(f, "ctx_delay_ms", 0);
  out.release_error = get_or(f, "release_error", 0);
  out.release_delay_ms = get_or(f, "release_delay_ms", 0);
  if (auto it = f.find("alloc_script"); it != f.end() && !it->is_null()) {
    if (!it->is_array()) throw std::runtime_error("alloc_script must be an array");
    for (const auto& step : *it)
      out.alloc_script.push_back(parse_alloc_step(step));
  }
  out.alloc_delay_ms = get_or(f, "alloc_delay_ms", 0);
  out.free_error = get_or(f, "free_error", 0);
  out.free_delay_ms = get_or(f, "free_delay_ms", 0);
  out.launch_error = get_or(f, "launch_error", 0);
  out.launch_error_after = get_or<std::uint64_t>(f, "launch_error_after", 0);
  out.launch_error_count = get_or<std::uint64_t>(f, "launch_error_count", 0);
  out.launch_delay_us = get_or(f, "launch_delay_us", 0);
  out.sync_error = get_or(f, "sync_error", 0);
  out.sync_error_after = get_or<std::uint64_t>(f, "sync_error_after", 0);
  out.sync_error_count = get_or<std::uint64_t>(f, "sync_error_count", 0);
  out.sync_delay_ms = get_or(f, "sync_delay_ms", 0);
  out.sync_hang = get_or(f, "sync_hang", false);
  out.module_load_error = get_or(f, "module_load_error", 0);
  out.fingerprint = f.dump();
  return out;
}

int parse_index_key(const std::string& key, const char* what) {
  char* end = nullptr;
  const long value = std::strtol(key.c_str(), &end, 10);
  if (key.empty() || !end || *end != '\0' || value < 0 || value >= kMaxDevices)
    throw std::runtime_error(std::string(what) + " key '" + key + "' is not a device index");
  return static_cast<int>(value);
}

Config parse_config(const json& root) {
  if (!root.is_object()) throw std::runtime_error("the config must be a JSON object");
  Config c;
  if (auto it = root.find("devices"); it == root.end()) {
    c.devices.push_back(default_device(0));
  } else {
    if (!it->is_array()) throw std::runtime_error("devices must be an array");
    if (it->size() > static_cast<std::size_t>(kMaxDevices))
      throw std::runtime_error("at most 64 devices");
    int index = 0;
    for (const auto& d : *it) {
      if (!d.is_object()) throw std::runtime_error("devices entries must be objects");
      DeviceConfig dev = default_device(index);
      dev.name = get_or(d, "name", dev.name);
      dev.uuid = get_or(d, "uuid", dev.uuid);
      dev.total_memory = get_or<std::uint64_t>(d, "total_memory", dev.total_memory);
      dev.foreign_used = get_or<std::uint64_t>(d, "foreign_used", 0);
      dev.utilization = get_or<double>(d, "utilization", 0);
      if (auto s = d.find("utilization_script"); s != d.end() && !s->is_null()) {
        for (const auto& pair : *s) {
          if (!pair.is_array() || pair.size() != 2)
            throw std::runtime_error("utilization_script entries must be [seconds, percent]");
          dev.utilization_script.emplace_back(pair[0].get<double>(), pair[1].get<double>());
        }
      }
      dev.power_mw = get_or<unsigned>(d, "power_mw", dev.power_mw);
      dev.temperature = get_or<unsigned>(d, "temperature", dev.temperature);
      if (auto p = d.find("processes"); p != d.end() && !p->is_null()) {
        for (const auto& proc : *p) {
          dev.processes.push_back({get_or<unsigned>(proc, "pid", 0),
                                   get_or<unsigned long long>(proc, "used_memory", 0)});
        }
      }
      dev.context_bytes = get_or<std::uint64_t>(d, "context_bytes", 0);
      if (auto a = d.find("attributes"); a != d.end() && !a->is_null()) {
        for (const auto& [key, value] : a->items())
          dev.attributes[std::stoi(key)] = value.get<int>();
      }
      dev.memory_error = get_or(d, "memory_error", 0);
      dev.utilization_error = get_or(d, "utilization_error", 0);
      dev.gcn_arch = get_or(d, "gcn_arch", dev.gcn_arch);
      dev.unique_id = get_or<std::uint64_t>(d, "unique_id", 0);
      c.devices.push_back(std::move(dev));
      ++index;
    }
  }
  if (auto it = root.find("cuda"); it != root.end() && !it->is_null()) {
    const json& cu = *it;
    c.cuda.init_error = get_or(cu, "init_error", 0);
    c.cuda.device_count_error = get_or(cu, "device_count_error", 0);
    c.cuda.device_count = get_or(cu, "device_count", -1);
    c.cuda.check_kernel_args = get_or(cu, "check_kernel_args", true);
    if (auto f = cu.find("faults"); f != cu.end() && !f->is_null()) {
      for (const auto& [key, value] : f->items()) {
        const int ordinal = key == "*" ? -1 : parse_index_key(key, "cuda.faults");
        c.cuda.faults[ordinal] = parse_faults(value);
      }
    }
  }
  if (auto it = root.find("nvml"); it != root.end() && !it->is_null()) {
    const json& nv = *it;
    c.nvml.init_error = get_or(nv, "init_error", 0);
    c.nvml.device_count_error = get_or(nv, "device_count_error", 0);
    c.nvml.requires_init = get_or(nv, "requires_init", false);
    if (auto m = nv.find("missing_symbols"); m != nv.end() && !m->is_null()) {
      for (const auto& name : *m)
        c.nvml.missing_symbols.insert(name.get<std::string>());
    }
    if (auto h = nv.find("handle_errors"); h != nv.end() && !h->is_null()) {
      for (const auto& [key, value] : h->items())
        c.nvml.handle_errors[parse_index_key(key, "nvml.handle_errors")] = value.get<int>();
    }
    c.nvml.utilization_error = get_or(nv, "utilization_error", 0);
    if (auto u = nv.find("uuid_map"); u != nv.end() && !u->is_null()) {
      for (const auto& [key, value] : u->items())
        c.nvml.uuid_map[key] = value.get<int>();
    }
    c.nvml.external_shutdown = get_or<std::int64_t>(nv, "external_shutdown", 0);
  }
  if (auto it = root.find("hip"); it != root.end() && !it->is_null()) {
    const json& h = *it;
    c.hip.init_error = get_or(h, "init_error", 0);
    c.hip.device_count_error = get_or(h, "device_count_error", 0);
    c.hip.device_count = get_or(h, "device_count", -1);
    c.hip.get_device_error = get_or(h, "get_device_error", 0);
    c.hip.mem_info_error = get_or(h, "mem_info_error", 0);
    c.hip.check_kernel_args = get_or(h, "check_kernel_args", true);
    if (auto f = h.find("faults"); f != h.end() && !f->is_null()) {
      for (const auto& [key, value] : f->items()) {
        const int ordinal = key == "*" ? -1 : parse_index_key(key, "hip.faults");
        c.hip.faults[ordinal] = parse_faults(value);
      }
    }
  }
  if (auto it = root.find("hiprtc"); it != root.end() && !it->is_null()) {
    c.hiprtc.create_error = get_or(*it, "create_error", 0);
    c.hiprtc.compile_error = get_or(*it, "compile_error", 0);
    c.hiprtc.log = get_or<std::string>(*it, "log", "");
  }
  if (auto it = root.find("rsmi"); it != root.end() && !it->is_null()) {
    const json& r = *it;
    c.rsmi.init_error = get_or(r, "init_error", 0);
    c.rsmi.requires_init = get_or(r, "requires_init", false);
    c.rsmi.device_count = get_or(r, "device_count", -1);
    c.rsmi.count_error = get_or(r, "count_error", 0);
    if (auto b = r.find("busy_errors"); b != r.end() && !b->is_null()) {
      for (const auto& [key, value] : b->items())
        c.rsmi.busy_errors[parse_index_key(key, "rsmi.busy_errors")] = value.get<int>();
    }
    c.rsmi.external_shutdown = get_or<std::int64_t>(r, "external_shutdown", 0);
  }
  return c;
}

FileStamp stat_file(const std::string& path) {
  FileStamp st;
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return st;
  st.exists = true;
  st.dev = sb.st_dev;
  st.ino = sb.st_ino;
  st.size = sb.st_size;
  st.mtime_ns = static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1000000000LL + sb.st_mtim.tv_nsec;
  return st;
}

void read_environment(State& s) {
  const char* cfg = std::getenv("FAKEGPU_CONFIG");
  s.config_path = cfg ? cfg : "";
  const char* st = std::getenv("FAKEGPU_STATE");
  s.state_path = st ? st : "";
  // Several processes may load the fakes in one test (a CLI and the daemon it spawns); "%p" lets
  // each write its own file instead of overwriting the other's.
  if (auto pos = s.state_path.find("%p"); pos != std::string::npos)
    s.state_path.replace(pos, 2, std::to_string(::getpid()));
  const char* ev = std::getenv("FAKEGPU_EVENTS");
  s.events_path = ev ? ev : "";
}

void apply_config(State& s, Config next) {
  const bool first = !s.config_loaded_once;
  s.config = std::move(next);
  s.loaded_at = std::chrono::steady_clock::now();
  ++s.config_loads;
  s.config_loaded_once = true;
  // A changed external_shutdown value stands for some other user of NVML in this process having
  // shut it down completely (the case the monitor's re-init path exists for).
  if (!first && s.config.nvml.external_shutdown != s.last_external_shutdown &&
      s.nvml_refcount > 0) {
    s.nvml_refcount = 0;
    ++s.nvml_external_shutdowns;
    log_event(s, "nvml_external_shutdown");
  }
  s.last_external_shutdown = s.config.nvml.external_shutdown;
  if (!first && s.config.rsmi.external_shutdown != s.last_rsmi_external_shutdown &&
      s.rsmi_refcount > 0) {
    s.rsmi_refcount = 0;
    ++s.rsmi_external_shutdowns;
    log_event(s, "rsmi_external_shutdown");
  }
  s.last_rsmi_external_shutdown = s.config.rsmi.external_shutdown;
}

bool read_file(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream text;
  text << in.rdbuf();
  *out = text.str();
  return true;
}

// File timestamps advance in kernel ticks and a freed inode number is soon reused, so two atomic
// rewrites in quick succession can leave the same identity, size and mtime. While the file is that
// fresh its text is compared as well.
bool recently_modified(const FileStamp& st) {
  const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return now_ns - st.mtime_ns < 250'000'000;
}

void load_config(State& s, bool force) {
  if (s.config_path.empty()) {
    if (!s.config_loaded_once || force) {
      apply_config(s, default_config());
      s.config_error.clear();
      s.config_text.clear();
    }
    return;
  }
  const FileStamp st = stat_file(s.config_path);
  std::string text;
  if (!force && s.config_loaded_once && st == s.stamp) {
    if (!st.exists || !recently_modified(st)) return;
    if (!read_file(s.config_path, &text) || text == s.config_text) return;
  } else if (!st.exists) {
    s.config_error = "cannot stat " + s.config_path;
    if (!s.config_loaded_once) apply_config(s, default_config());
    s.stamp = st;
    return;
  } else if (!read_file(s.config_path, &text)) {
    s.config_error = "cannot open " + s.config_path;
    if (!s.config_loaded_once) apply_config(s, default_config());
    return;  // the stamp is not taken: the next call tries again
  }
  s.stamp = st;
  s.config_text = text;
  try {
    apply_config(s, parse_config(json::parse(text)));
    s.config_error.clear();
  } catch (const std::exception& e) {
    // Keep running the previous scenario: a test that writes a broken file sees the reason in the
    // state file and on stderr instead of a crash in the product under test.
    s.config_error = std::string("bad config ") + s.config_path + ": " + e.what();
    std::fprintf(stderr, "fakegpu: %s\n", s.config_error.c_str());
    if (!s.config_loaded_once) apply_config(s, default_config());
  }
}

json device_json(State& s, int p) {
  const DeviceStats& d = s.devices[p];
  const DeviceConfig& cfg = s.config.devices[p];
  json alloc_log = json::array();
  for (const auto& r : d.alloc_log)
    alloc_log.push_back({r.bytes, r.result});
  json spin_log = json::array();
  for (const auto& spin : d.spin_log)
    spin_log.push_back({spin.wall_ms, spin.ns});
  return json{
      {"index", p},
      {"name", cfg.name},
      {"uuid", cfg.uuid},
      {"allocated_bytes", d.allocated_bytes},
      {"allocations", d.allocations},
      {"live_allocations", d.live_allocations},
      {"alloc_failures", d.alloc_failures},
      {"alloc_log", alloc_log},
      {"frees", d.frees},
      {"launches", d.launches},
      {"fill_launches", d.fill_launches},
      {"relu_launches", d.relu_launches},
      {"spin_launches", d.spin_launches},
      {"spin_ns", d.spin_ns},
      {"spin_log", spin_log},
      {"launch_errors", d.launch_errors},
      {"last_kernel_elements", d.last_kernel_elements},
      {"last_grid", d.last_grid},
      {"last_block", d.last_block},
      {"syncs", d.syncs},
      {"event_syncs", d.event_syncs},
      {"sync_errors", d.sync_errors},
      {"memsets", d.memsets},
      {"contexts_live", s.contexts[p].refcount > 0 ? 1 : 0},
      {"context_refcount", s.contexts[p].refcount},
      {"context_retains", d.context_retains},
      {"context_releases", d.context_releases},
      {"context_resets", d.context_resets},
      {"memory_used", device_used_bytes(s, p)},
      {"utilization_queries", d.utilization_queries},
      {"memory_queries", d.memory_queries},
      {"copies", d.copies},
      {"copy_bytes", d.copy_bytes},
  };
}

}  // namespace

State& state() {
  static State* const instance = [] {
    auto* s = new State;
    for (int i = 0; i < kMaxDevices; ++i) {
      s->contexts[i].physical = i;
      s->nvml_devices[i].index = i;
    }
    read_environment(*s);
    std::lock_guard<std::mutex> lock(s->mu);
    load_config(*s, true);
    return s;
  }();
  return *instance;
}

void refresh_config(State& s) {
  load_config(s, false);
}

std::string state_json_text(State& s) {
  json devices = json::array();
  for (std::size_t p = 0; p < s.config.devices.size(); ++p)
    devices.push_back(device_json(s, static_cast<int>(p)));
  json visible = nullptr;
  if (s.cuda_initialized) visible = visible_devices(s);
  json hip_visible = nullptr;
  if (s.hip_initialized) hip_visible = hip_visible_devices(s);
  json root{
      {"pid", ::getpid()},
      {"seq", s.publish_seq},
      {"config_loads", s.config_loads},
      {"config_error", s.config_error.empty() ? json(nullptr) : json(s.config_error)},
      {"devices", devices},
      {"cuda_init_calls", s.cuda_init_calls},
      {"cuda",
       {{"initialized", s.cuda_initialized},
        {"visible", visible},
        {"device_get_calls", s.device_get_calls},
        {"ctx_retain_calls", s.ctx_retain_calls},
        {"modules", s.modules.size()},
        {"events", s.events.size()},
        {"streams", s.streams.size()}}},
      {"nvml",
       {{"init_calls", s.nvml_init_calls},
        {"shutdown_calls", s.nvml_shutdown_calls},
        {"init_refcount", s.nvml_refcount},
        {"external_shutdowns", s.nvml_external_shutdowns},
        {"uninitialized_rejections", s.nvml_uninitialized_rejections},
        {"handle_by_index_calls", s.handle_by_index_calls},
        {"handle_by_uuid_calls", s.handle_by_uuid_calls},
        {"handle_by_pci_calls", s.handle_by_pci_calls},
        {"utilization_queries", s.nvml_utilization_queries},
        {"memory_queries", s.nvml_memory_queries}}},
      {"hip",
       {{"initialized", s.hip_initialized},
        {"init_calls", s.hip_init_calls},
        {"visible", hip_visible},
        {"set_device_calls", s.set_device_calls}}},
      {"hiprtc",
       {{"programs_created", s.hiprtc_programs_created},
        {"programs_live", s.hiprtc_programs_live},
        {"compiles", s.hiprtc_compiles},
        {"last_options", s.hiprtc_last_options}}},
      {"rsmi",
       {{"init_calls", s.rsmi_init_calls},
        {"shutdown_calls", s.rsmi_shutdown_calls},
        {"init_refcount", s.rsmi_refcount},
        {"calls", s.rsmi_calls},
        {"busy_percent_calls", s.busy_percent_calls},
        {"uninitialized_rejections", s.rsmi_uninitialized_rejections},
        {"external_shutdowns", s.rsmi_external_shutdowns}}},
  };
  return root.dump();
}

void publish(State& s) {
  ++s.publish_seq;
  s.launches_since_publish = 0;
  if (s.state_path.empty()) return;
  const std::string text = state_json_text(s) + "\n";
  // Temporary file + rename: a reader never sees a half-written file. The pid in the name keeps two
  // processes that share one state path from renaming each other's half-written files.
  const std::string tmp = s.state_path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done == text.size()) {
    ::rename(tmp.c_str(), s.state_path.c_str());
  } else {
    ::unlink(tmp.c_str());
  }
}

void log_event(State& s, const std::string& line) {
  if (s.events_path.empty()) return;
  const std::string text = "fakegpu[" + std::to_string(::getpid()) + "]: " + line + "\n";
  if (s.events_path == "stderr") {
    [[maybe_unused]] const ssize_t n = ::write(2, text.data(), text.size());
    return;
  }
  const int fd = ::open(s.events_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  // One write per line with O_APPEND keeps lines from several threads and processes whole.
  [[maybe_unused]] const ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
}

std::vector<int> parse_visible(const std::string& value, const std::vector<DeviceConfig>& devices) {
  // The real driver walks the list and stops at the first token it cannot use (-1, garbage, an
  // index out of range, an unknown or ambiguous UUID prefix, a repeat); what came before stays.
  std::vector<int> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    std::size_t end = value.find(',', start);
    if (end == std::string::npos) end = value.size();
    std::string token = value.substr(start, end - start);
    start = end + 1;
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    token.erase(token.begin(), std::find_if(token.begin(), token.end(), not_space));
    token.erase(std::find_if(token.rbegin(), token.rend(), not_space).base(), token.end());
    if (token.empty()) break;
    int found = -1;
    if (std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c); })) {
      const std::size_t first = token.find_first_not_of('0');
      const std::string digits = first == std::string::npos ? "0" : token.substr(first);
      if (digits.size() > 9) break;
      const long index = std::stol(digits);
      if (index >= static_cast<long>(devices.size())) break;
      found = static_cast<int>(index);
    } else {
      std::string lower = token;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower.rfind("gpu-", 0) != 0) break;
      int matches = 0;
      for (std::size_t i = 0; i < devices.size(); ++i) {
        std::string uuid = devices[i].uuid;
        std::transform(uuid.begin(), uuid.end(), uuid.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (uuid.rfind(lower, 0) == 0) {
          ++matches;
          found = static_cast<int>(i);
        }
      }
      if (matches != 1) break;
    }
    if (std::find(out.begin(), out.end(), found) != out.end()) break;
    out.push_back(found);
    if (end == value.size()) break;
  }
  return out;
}

std::vector<int> visible_devices(State& s) {
  std::vector<int> out;
  if (s.visible_env_set) {
    out = parse_visible(s.visible_env, s.config.devices);
  } else {
    for (std::size_t i = 0; i < s.config.devices.size(); ++i)
      out.push_back(static_cast<int>(i));
  }
  if (s.config.cuda.device_count >= 0 &&
      out.size() > static_cast<std::size_t>(s.config.cuda.device_count))
    out.resize(static_cast<std::size_t>(s.config.cuda.device_count));
  return out;
}

std::uint64_t process_used_bytes(State& s, int physical) {
  std::uint64_t used = s.devices[physical].allocated_bytes;
  if (s.contexts[physical].refcount > 0 && physical < static_cast<int>(s.config.devices.size()))
    used += s.config.devices[physical].context_bytes;
  return used;
}

std::uint64_t device_used_bytes(State& s, int physical) {
  return s.config.devices[physical].foreign_used + process_used_bytes(s, physical);
}

std::uint64_t device_free_bytes(State& s, int physical) {
  const std::uint64_t total = s.config.devices[physical].total_memory;
  const std::uint64_t used = device_used_bytes(s, physical);
  return used >= total ? 0 : total - used;
}

double current_utilization(State& s, int physical) {
  const DeviceConfig& d = s.config.devices[physical];
  double value = d.utilization;
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - s.loaded_at).count();
  for (const auto& [at, percent] : d.utilization_script) {
    if (at <= elapsed) value = percent;
  }
  // NVML's counter: the share of the sample period (here the last second) with a kernel running.
  const auto window_start = now - std::chrono::seconds(1);
  std::chrono::nanoseconds busy{0};
  for (const SpinRecord& spin : s.devices[physical].spin_log) {
    const auto begin = std::max(spin.start, window_start);
    const auto end = std::min(spin.start + std::chrono::nanoseconds(spin.ns), now);
    if (end > begin) busy += std::chrono::duration_cast<std::chrono::nanoseconds>(end - begin);
  }
  // The scenario's own value passes unchanged (tests give out-of-range readings on purpose).
  if (busy.count() > 0)
    value = std::min(100.0, value + 100.0 * std::chrono::duration<double>(busy).count());
  return value;
}

void record_spin(State& s, int physical, std::uint64_t ns) {
  DeviceStats& d = s.devices[physical];
  const auto now = std::chrono::steady_clock::now();
  const auto start = std::max(now, d.busy_until);
  d.busy_until = start + std::chrono::nanoseconds(ns);
  const double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  d.spin_log.push_back({wall_ms, start, ns});
  if (d.spin_log.size() > kAllocLogSize) d.spin_log.pop_front();
  ++d.spin_launches;
  d.spin_ns += ns;
}

const CudaFaults& faults_for(State& s, int visible) {
  static const CudaFaults none;
  const auto& faults = s.config.cuda.faults;
  if (auto it = faults.find(visible); it != faults.end()) return it->second;
  if (auto it = faults.find(-1); it != faults.end()) return it->second;
  return none;
}

FaultProgress& progress_for(State& s, int visible) {
  FaultProgress& p = s.progress[visible];
  const std::string& fingerprint = faults_for(s, visible).fingerprint;
  if (p.fingerprint != fingerprint) {
    p = FaultProgress{};
    p.fingerprint = fingerprint;
  }
  return p;
}

namespace {

// A HIP_VISIBLE_DEVICES-style list of indices into `limit` entries: it ends at the first token
// that is empty, not a plain index, out of range or a repeat, like the runtime's parser.
std::vector<int> parse_index_list(const std::string& value, std::size_t limit) {
  std::vector<int> out;
  std::stringstream tokens(value);
  std::string token;
  while (std::getline(tokens, token, ',')) {
    const auto not_space = [](unsigned char c) { return !std::isspace(c); };
    token.erase(token.begin(), std::find_if(token.begin(), token.end(), not_space));
    token.erase(std::find_if(token.rbegin(), token.rend(), not_space).base(), token.end());
    if (token.empty() || token.size() > 9 ||
        !std::all_of(token.begin(), token.end(), [](unsigned char c) { return std::isdigit(c); }))
      break;
    const int index = std::stoi(token);
    if (static_cast<std::size_t>(index) >= limit) break;
    if (std::find(out.begin(), out.end(), index) != out.end()) break;
    out.push_back(index);
  }
  return out;
}

}  // namespace

std::vector<int> hip_visible_devices(State& s) {
  std::vector<int> base;
  if (s.hip_rocr_set) {
    base = parse_visible(s.hip_rocr, s.config.devices);
  } else {
    for (std::size_t i = 0; i < s.config.devices.size(); ++i)
      base.push_back(static_cast<int>(i));
  }
  std::vector<int> out = base;
  if (s.hip_overlay_set) {
    out.clear();
    for (int position : parse_index_list(s.hip_overlay, base.size()))
      out.push_back(base[static_cast<std::size_t>(position)]);
  }
  if (s.config.hip.device_count >= 0 &&
      out.size() > static_cast<std::size_t>(s.config.hip.device_count))
    out.resize(static_cast<std::size_t>(s.config.hip.device_count));
  return out;
}

const CudaFaults& hip_faults_for(State& s, int visible) {
  static const CudaFaults none;
  const auto& faults = s.config.hip.faults;
  if (auto it = faults.find(visible); it != faults.end()) return it->second;
  if (auto it = faults.find(-1); it != faults.end()) return it->second;
  return none;
}

FaultProgress& hip_progress_for(State& s, int visible) {
  FaultProgress& p = s.hip_progress[visible];
  const std::string& fingerprint = hip_faults_for(s, visible).fingerprint;
  if (p.fingerprint != fingerprint) {
    p = FaultProgress{};
    p.fingerprint = fingerprint;
  }
  return p;
}

int& hip_current_device() {
  thread_local int current = 0;
  return current;
}

std::uint64_t rsmi_unique_id(State& s, int physical) {
  const std::uint64_t configured = s.config.devices[physical].unique_id;
  return configured != 0 ? configured
                         : 0xa1b2c3d4e5f60000ULL + static_cast<std::uint64_t>(physical);
}

void rsmi_log_call(State& s, const std::string& call) {
  s.rsmi_calls.push_back(call);
  if (s.rsmi_calls.size() > kAllocLogSize) s.rsmi_calls.pop_front();
}

void drop_device_resources(State& s, int physical) {
  std::erase_if(s.allocations, [&](const auto& a) { return a.second.physical == physical; });
  s.devices[physical].allocated_bytes = 0;
  s.devices[physical].live_allocations = 0;
  std::erase_if(s.modules, [&](Module* m) {
    if (m->physical != physical) return false;
    for (const auto& f : m->functions)
      s.functions.erase(f.get());
    delete m;
    return true;
  });
  std::erase_if(s.events, [&](Event* e) {
    if (e->physical != physical) return false;
    delete e;
    return true;
  });
  std::erase_if(s.streams, [&](Stream* st) {
    if (st->physical != physical) return false;
    delete st;
    return true;
  });
}

void sleep_ms(long ms) {
  if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void sleep_us(long us) {
  if (us > 0) std::this_thread::sleep_for(std::chrono::microseconds(us));
}

// --- The device work both runtimes model ---------------------------------------------------

const CudaFaults& runtime_faults(State& s, Runtime runtime, int visible) {
  return runtime == Runtime::cuda ? faults_for(s, visible) : hip_faults_for(s, visible);
}

FaultProgress& runtime_progress(State& s, Runtime runtime, int visible) {
  return runtime == Runtime::cuda ? progress_for(s, visible) : hip_progress_for(s, visible);
}

std::string hex(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

void log_device_event(State& s, const std::string& what, int physical, int visible,
                      const std::string& extra) {
  log_event(s, what + " device=" + std::to_string(physical) +
                   " visible=" + std::to_string(visible) + (extra.empty() ? "" : " " + extra));
}

const Allocation* find_range(State& s, std::uint64_t ptr, std::uint64_t bytes,
                             std::uint64_t* base) {
  auto it = s.allocations.upper_bound(ptr);
  if (it == s.allocations.begin()) return nullptr;
  --it;
  const std::uint64_t start = it->first;
  const std::uint64_t end = start + it->second.bytes;
  if (ptr < start || ptr >= end || bytes > end - ptr) return nullptr;
  if (base) *base = start;
  return &it->second;
}

int allocate(State& s, Runtime runtime, const ResultCodes& codes, int physical, int visible,
             std::uint64_t bytes, std::uint64_t pointer_base, std::uint64_t* ptr) {
  constexpr std::uint64_t kAlign = 2ULL << 20;
  auto& dev = s.devices[physical];
  const auto& f = runtime_faults(s, runtime, visible);
  auto& progress = runtime_progress(s, runtime, visible);
  int rc = 0;
  if (progress.alloc_pos < f.alloc_script.size()) rc = f.alloc_script[progress.alloc_pos++];
  if (rc == 0 && bytes > device_free_bytes(s, physical)) rc = codes.out_of_memory;
  dev.alloc_log.push_back({bytes, rc});
  if (dev.alloc_log.size() > kAllocLogSize) dev.alloc_log.pop_front();
  if (rc != 0) {
    ++dev.alloc_failures;
    log_device_event(s, "alloc_failed", physical, visible,
                     "bytes=" + std::to_string(bytes) + " result=" + std::to_string(rc));
    publish(s);
    return rc;
  }
  const std::uint64_t start = s.next_ptr == 0 ? pointer_base : s.next_ptr;
  // Spaced out with a gap so that an access past the end never lands in the next buffer.
  s.next_ptr = start + ((bytes + kAlign - 1) / kAlign + 1) * kAlign;
  s.allocations[start] = {bytes, physical};
  dev.allocated_bytes += bytes;
  ++dev.live_allocations;
  ++dev.allocations;
  *ptr = start;
  log_device_event(s, "alloc", physical, visible,
                   "bytes=" + std::to_string(bytes) + " ptr=" + hex(start));
  publish(s);
  return 0;
}

int release(State& s, Runtime runtime, const ResultCodes& codes, int visible, std::uint64_t ptr) {
  auto it = s.allocations.find(ptr);
  if (it == s.allocations.end()) return codes.invalid_value;
  const int physical = it->second.physical;
  if (int err = runtime_faults(s, runtime, visible).free_error; err != 0) {
    log_device_event(s, "free_failed", physical, visible, "result=" + std::to_string(err));
    return err;
  }
  auto& dev = s.devices[physical];
  dev.allocated_bytes -= it->second.bytes;
  --dev.live_allocations;
  ++dev.frees;
  log_device_event(s, "free", physical, visible, "bytes=" + std::to_string(it->second.bytes));
  s.allocations.erase(it);
  publish(s);
  return 0;
}

int take_launch_fault(State& s, Runtime runtime, int physical, int visible) {
  const auto& f = runtime_faults(s, runtime, visible);
  auto& progress = runtime_progress(s, runtime, visible);
  auto& dev = s.devices[physical];
  if (f.launch_error != 0 && progress.launches_ok >= f.launch_error_after &&
      (f.launch_error_count == 0 || progress.launch_errors < f.launch_error_count)) {
    ++progress.launch_errors;
    ++dev.launch_errors;
    log_device_event(s, "launch_failed", physical, visible,
                     "result=" + std::to_string(f.launch_error));
    publish(s);
    return f.launch_error;
  }
  ++progress.launches_ok;
  return 0;
}

int synchronize(Runtime runtime, const ResultCodes& codes, int physical, int visible,
                SyncKind kind) {
  State& s = state();
  long delay = 0;
  bool hang = false;
  std::uint64_t generation = 0;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    refresh_config(s);
    const auto& f = runtime_faults(s, runtime, visible);
    delay = f.sync_delay_ms;
    hang = f.sync_hang;
    generation = s.generation;
  }
  sleep_ms(delay);
  while (hang) {
    sleep_ms(50);
    std::unique_lock<std::mutex> lock(s.mu);
    refresh_config(s);
    hang = s.generation == generation && runtime_faults(s, runtime, visible).sync_hang;
  }
  std::unique_lock<std::mutex> lock(s.mu);
  refresh_config(s);
  if (physical >= static_cast<int>(s.config.devices.size())) return codes.invalid_device;
  const auto& f = runtime_faults(s, runtime, visible);
  auto& progress = runtime_progress(s, runtime, visible);
  auto& dev = s.devices[physical];
  if (f.sync_error != 0 && progress.syncs_ok >= f.sync_error_after &&
      (f.sync_error_count == 0 || progress.sync_errors < f.sync_error_count)) {
    ++progress.sync_errors;
    ++dev.sync_errors;
    publish(s);
    return f.sync_error;
  }
  ++progress.syncs_ok;
  ++(kind == SyncKind::event ? dev.event_syncs : dev.syncs);
  publish(s);
  return 0;
}

}  // namespace fakegpu

namespace {
// Reading the scenario when the library is loaded (not at the first call) makes the utilization
// script clock start at load, which is what tests measure against.
__attribute__((constructor)) void load_at_startup() {
  fakegpu::state();
}
}  // namespace

extern "C" {

char* fakegpu_state_json(void) {
  auto& s = fakegpu::state();
  std::string text;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    text = fakegpu::state_json_text(s);
  }
  char* out = static_cast<char*>(std::malloc(text.size() + 1));
  if (out) std::memcpy(out, text.c_str(), text.size() + 1);
  return out;
}

void fakegpu_free(void* p) {
  std::free(p);
}

void fakegpu_reset(void) {
  auto& s = fakegpu::state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.devices = {};
  for (auto& ctx : s.contexts)
    ctx.refcount = 0;
  s.allocations.clear();
  s.progress.clear();
  for (auto* m : s.modules)
    delete m;
  s.modules.clear();
  s.functions.clear();
  for (auto* e : s.events)
    delete e;
  s.events.clear();
  for (auto* st : s.streams)
    delete st;
  s.streams.clear();
  s.cuda_initialized = false;
  s.visible_env_set = false;
  s.visible_env.clear();
  s.cuda_init_calls = 0;
  s.device_get_calls.clear();
  s.ctx_retain_calls.clear();
  s.nvml_refcount = 0;
  s.nvml_init_calls = 0;
  s.nvml_shutdown_calls = 0;
  s.nvml_external_shutdowns = 0;
  s.nvml_uninitialized_rejections = 0;
  s.handle_by_index_calls.clear();
  s.handle_by_uuid_calls = 0;
  s.handle_by_pci_calls = 0;
  s.nvml_utilization_queries = 0;
  s.nvml_memory_queries = 0;
  s.hip_initialized = false;
  s.hip_rocr_set = false;
  s.hip_rocr.clear();
  s.hip_overlay_set = false;
  s.hip_overlay.clear();
  s.hip_init_calls = 0;
  s.set_device_calls.clear();
  s.hip_progress.clear();
  s.hiprtc_programs_created = 0;
  s.hiprtc_programs_live = 0;
  s.hiprtc_compiles = 0;
  s.hiprtc_last_options.clear();
  s.rsmi_refcount = 0;
  s.rsmi_init_calls = 0;
  s.rsmi_shutdown_calls = 0;
  s.rsmi_calls.clear();
  s.busy_percent_calls.clear();
  s.rsmi_uninitialized_rejections = 0;
  s.rsmi_external_shutdowns = 0;
  s.config_loads = 0;
  s.config_error.clear();
  ++s.generation;
  fakegpu::read_environment(s);
  s.config_loaded_once = false;  // a fresh load: no external-shutdown edge, script clock restarts
  fakegpu::load_config(s, true);
  fakegpu::publish(s);
}

void fakegpu_rsmi_external_shutdown(void) {
  auto& s = fakegpu::state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.rsmi_refcount > 0) {
    s.rsmi_refcount = 0;
    ++s.rsmi_external_shutdowns;
    fakegpu::log_event(s, "rsmi_external_shutdown");
  }
  fakegpu::publish(s);
}

void fakegpu_nvml_external_shutdown(void) {
  auto& s = fakegpu::state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (s.nvml_refcount > 0) {
    s.nvml_refcount = 0;
    ++s.nvml_external_shutdowns;
    fakegpu::log_event(s, "nvml_external_shutdown");
  }
  fakegpu::publish(s);
}

}  // extern "C"
