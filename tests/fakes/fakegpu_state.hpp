// Shared in-process state of the fake vendor libraries. libcuda.so.1, libnvidia-ml.so.1 and the
// AMD fakes (libamdhip64, libhiprtc, librocm_smi64) all link libfakegpu_state.so, so the management
// library sees the memory the compute fake has handed out in the same process, exactly like the
// real driver and NVML (or HIP and ROCm SMI) agree about one GPU.
//
// Everything here is guarded by State::mu. The fakes take the lock, call refresh_config(), act,
// call publish() and drop the lock; they never sleep while holding it, because the keeper calls in
// from one thread per GPU and an injected delay on one device must not stall the others.
#pragma once

#include <sys/types.h>
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#define FAKEGPU_API __attribute__((visibility("default")))

namespace fakegpu {

// Handles (contexts, NVML devices) live in fixed arrays so that their addresses stay valid across
// config reloads and resets; a test may keep a handle while rewriting the scenario.
inline constexpr int kMaxDevices = 64;
inline constexpr std::uint64_t kDefaultTotalMemory = 16ULL << 30;

struct ProcessEntry {
  unsigned pid = 0;
  unsigned long long used_memory = 0;
};

struct DeviceConfig {
  std::string name;
  std::string uuid;
  std::uint64_t total_memory = kDefaultTotalMemory;
  std::uint64_t foreign_used = 0;
  double utilization = 0;
  std::vector<std::pair<double, double>> utilization_script;  // (seconds, percent)
  unsigned power_mw = 70000;
  unsigned temperature = 40;
  std::vector<ProcessEntry> processes;
  std::uint64_t context_bytes = 0;
  std::map<int, int> attributes;  // cuDeviceGetAttribute overrides
  int memory_error = 0;           // nvmlDeviceGetMemoryInfo status for this device
  int utilization_error = 0;      // nvmlDeviceGetUtilizationRates status for this device
  // AMD fakes.
  std::string gcn_arch = "gfx90a:sramecc+:xnack-";  // hipDeviceProp_t.gcnArchName
  std::uint64_t unique_id = 0;                      // rsmi_dev_unique_id_get; 0 = default
};

// Per visible ordinal. Zero means "no fault".
// The HIP fake takes the same faults (hip.faults), plus set_device_error; device_get_error,
// ctx_* and release_* are CUDA-only.
struct CudaFaults {
  int device_get_error = 0;
  int set_device_error = 0;  // HIP: returned by hipSetDevice
  int ctx_error = 0;
  int ctx_delay_ms = 0;
  int release_error = 0;
  int release_delay_ms = 0;
  std::vector<int> alloc_script;  // 0 = ok, otherwise the CUresult to return
  int alloc_delay_ms = 0;
  int free_error = 0;
  int free_delay_ms = 0;
  int launch_error = 0;
  std::uint64_t launch_error_after = 0;
  std::uint64_t launch_error_count = 0;  // 0 = forever
  int launch_delay_us = 0;
  int sync_error = 0;
  std::uint64_t sync_error_after = 0;
  std::uint64_t sync_error_count = 0;  // 0 = forever
  int sync_delay_ms = 0;
  bool sync_hang = false;
  int module_load_error = 0;
  std::string fingerprint;  // the JSON text; a change restarts the fault's counters
};

struct CudaConfig {
  int init_error = 0;
  int device_count_error = 0;
  int device_count = -1;  // >= 0 caps the visible device count
  bool check_kernel_args = true;
  std::map<int, CudaFaults> faults;
};

struct NvmlConfig {
  int init_error = 0;
  int device_count_error = 0;
  bool requires_init = false;
  std::set<std::string> missing_symbols;
  std::map<int, int> handle_errors;
  int utilization_error = 0;
  std::map<std::string, int> uuid_map;  // extra UUID -> physical index entries
  std::int64_t external_shutdown = 0;
};

struct HipConfig {
  int init_error = 0;
  int device_count_error = 0;
  int device_count = -1;  // >= 0 caps the visible device count
  int get_device_error = 0;
  int mem_info_error = 0;
  bool check_kernel_args = true;
  std::map<int, CudaFaults> faults;
};

struct HiprtcConfig {
  int create_error = 0;
  int compile_error = 0;
  std::string log;  // the compile log (a default text accompanies compile_error)
};

struct RsmiConfig {
  int init_error = 0;
  bool requires_init = false;
  int device_count = -1;  // >= 0 overrides the monitored device count
  int count_error = 0;
  std::map<int, int> busy_errors;  // SMI index -> status of rsmi_dev_busy_percent_get
  std::int64_t external_shutdown = 0;
};

struct Config {
  std::vector<DeviceConfig> devices;
  CudaConfig cuda;
  NvmlConfig nvml;
  HipConfig hip;
  HiprtcConfig hiprtc;
  RsmiConfig rsmi;
};

// The primary context of one physical device. CUcontext is a pointer to one of these.
struct Context {
  int physical = 0;
  int visible = 0;  // the ordinal it was retained through; faults are keyed by it
  int refcount = 0;
};

struct Function;
struct Module {
  int physical = 0;
  int visible = 0;
  std::vector<std::string> entries;  // kernel names declared with .entry in the PTX
  std::vector<std::unique_ptr<Function>> functions;
};
struct Function {
  Module* module = nullptr;
  std::string name;
};

struct Event {
  int physical = -1;
  int visible = -1;
  bool recorded = false;
  std::chrono::steady_clock::time_point when{};
};

struct Stream {
  int physical = 0;
  int visible = 0;
};

// NVML device handles point at these.
struct NvmlDevice {
  int index = 0;
};

struct Allocation {
  std::uint64_t bytes = 0;
  int physical = 0;
};

struct AllocRecord {
  std::uint64_t bytes = 0;
  int result = 0;
};

// One timed spin kernel (keepgpu_spin): when it was launched and how long it runs on the device.
struct SpinRecord {
  double wall_ms = 0;                           // launch time, milliseconds since the Unix epoch
  std::chrono::steady_clock::time_point start;  // when its simulated kernel time begins
  std::uint64_t ns = 0;
};

struct DeviceStats {
  std::uint64_t allocated_bytes = 0;
  std::uint64_t live_allocations = 0;
  std::uint64_t allocations = 0;
  std::uint64_t alloc_failures = 0;
  std::uint64_t frees = 0;
  std::uint64_t launches = 0;
  std::uint64_t fill_launches = 0;
  std::uint64_t relu_launches = 0;
  std::uint64_t launch_errors = 0;
  std::uint64_t syncs = 0;
  std::uint64_t event_syncs = 0;
  std::uint64_t sync_errors = 0;
  std::uint64_t memsets = 0;
  std::uint64_t context_retains = 0;
  std::uint64_t context_releases = 0;
  std::uint64_t context_resets = 0;
  std::uint64_t last_kernel_elements = 0;
  std::array<unsigned, 3> last_grid{};
  std::array<unsigned, 3> last_block{};
  std::uint64_t utilization_queries = 0;
  std::uint64_t memory_queries = 0;
  std::uint64_t copies = 0;  // HIP device-to-device copies
  std::uint64_t copy_bytes = 0;
  std::deque<AllocRecord> alloc_log;  // the last kAllocLogSize requests
  std::uint64_t spin_launches = 0;
  std::uint64_t spin_ns = 0;        // simulated kernel time of every spin so far
  std::deque<SpinRecord> spin_log;  // the last kAllocLogSize spins
  // Where this process's simulated kernel time ends: a spin launched earlier queues behind it, as
  // kernels of one context do on a real GPU.
  std::chrono::steady_clock::time_point busy_until{};
};
inline constexpr std::size_t kAllocLogSize = 256;

// Progress through the counted faults of one visible ordinal.
struct FaultProgress {
  std::string fingerprint;
  std::size_t alloc_pos = 0;
  std::uint64_t launches_ok = 0;
  std::uint64_t launch_errors = 0;
  std::uint64_t syncs_ok = 0;
  std::uint64_t sync_errors = 0;
};

struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

struct State {
  std::mutex mu;

  // Configuration.
  std::string config_path;  // FAKEGPU_CONFIG, empty = built-in default
  std::string state_path;   // FAKEGPU_STATE with %p replaced, empty = no state file
  std::string events_path;  // FAKEGPU_EVENTS, "stderr" or a file, empty = no event log
  Config config;
  FileStamp stamp;
  std::string config_text;  // the text last loaded, to detect rewrites the stamp cannot tell apart
  std::chrono::steady_clock::time_point loaded_at{};
  std::uint64_t config_loads = 0;
  std::string config_error;
  bool config_loaded_once = false;

  // Bumped by fakegpu_reset(); waits started before a reset give up.
  std::uint64_t generation = 0;
  std::uint64_t publish_seq = 0;

  std::array<DeviceStats, kMaxDevices> devices{};
  std::array<Context, kMaxDevices> contexts{};
  std::array<NvmlDevice, kMaxDevices> nvml_devices{};
  std::map<std::uint64_t, Allocation> allocations;  // device pointer -> allocation
  std::uint64_t next_ptr = 0;
  std::map<int, FaultProgress> progress;  // by visible ordinal
  std::set<Module*> modules;
  std::set<Function*> functions;
  std::set<Event*> events;
  std::set<Stream*> streams;

  // CUDA driver.
  bool cuda_initialized = false;
  bool visible_env_set = false;
  std::string visible_env;  // CUDA_VISIBLE_DEVICES as captured by the first successful cuInit
  std::uint64_t cuda_init_calls = 0;
  std::vector<int> device_get_calls;  // cuDeviceGet ordinals
  std::vector<int> ctx_retain_calls;  // cuDevicePrimaryCtxRetain ordinals
  std::uint64_t launches_since_publish = 0;

  // NVML.
  int nvml_refcount = 0;
  std::uint64_t nvml_init_calls = 0;
  std::uint64_t nvml_shutdown_calls = 0;
  std::uint64_t nvml_external_shutdowns = 0;
  std::uint64_t nvml_uninitialized_rejections = 0;
  std::vector<unsigned> handle_by_index_calls;
  std::uint64_t handle_by_uuid_calls = 0;
  std::uint64_t handle_by_pci_calls = 0;
  std::uint64_t nvml_utilization_queries = 0;
  std::uint64_t nvml_memory_queries = 0;
  std::int64_t last_external_shutdown = 0;

  // HIP runtime.
  bool hip_initialized = false;
  bool hip_rocr_set = false;  // the masks as captured by the first successful hipInit
  std::string hip_rocr;
  bool hip_overlay_set = false;  // HIP_VISIBLE_DEVICES, else CUDA_VISIBLE_DEVICES
  std::string hip_overlay;
  std::uint64_t hip_init_calls = 0;
  std::vector<int> set_device_calls;  // hipSetDevice ordinals
  std::map<int, FaultProgress> hip_progress;

  // hiprtc.
  std::uint64_t hiprtc_programs_created = 0;
  std::uint64_t hiprtc_programs_live = 0;
  std::uint64_t hiprtc_compiles = 0;
  std::vector<std::string> hiprtc_last_options;

  // ROCm SMI.
  int rsmi_refcount = 0;
  std::uint64_t rsmi_init_calls = 0;
  std::uint64_t rsmi_shutdown_calls = 0;
  std::deque<std::string> rsmi_calls;  // "init" / "shutdown", the last kAllocLogSize
  std::vector<unsigned> busy_percent_calls;
  std::uint64_t rsmi_uninitialized_rejections = 0;
  std::uint64_t rsmi_external_shutdowns = 0;
  std::int64_t last_rsmi_external_shutdown = 0;
};

// The process-wide state, created (and the config loaded) on first use. Never destroyed, so that
// threads still calling in during process exit do not touch a dead mutex.
FAKEGPU_API State& state();

// All of the following require State::mu to be held.

// Re-reads FAKEGPU_CONFIG when its identity, size or modification time changed. A file that cannot
// be read or parsed leaves the previous scenario in place and is recorded in config_error.
FAKEGPU_API void refresh_config(State& s);
// Rewrites FAKEGPU_STATE atomically (no-op without it).
FAKEGPU_API void publish(State& s);
// Appends one line to the event log (no-op without FAKEGPU_EVENTS).
FAKEGPU_API void log_event(State& s, const std::string& line);
FAKEGPU_API std::string state_json_text(State& s);

// Physical indices of the devices the CUDA fake exposes, in visible order, following the real
// driver's CUDA_VISIBLE_DEVICES rules for the value captured at cuInit.
FAKEGPU_API std::vector<int> visible_devices(State& s);
// Parses a CUDA_VISIBLE_DEVICES value against a device list; exposed for the self-test.
FAKEGPU_API std::vector<int> parse_visible(const std::string& value,
                                           const std::vector<DeviceConfig>& devices);

// Bytes this process holds on a physical device: allocations plus a live primary context.
FAKEGPU_API std::uint64_t process_used_bytes(State& s, int physical);
FAKEGPU_API std::uint64_t device_used_bytes(State& s, int physical);
FAKEGPU_API std::uint64_t device_free_bytes(State& s, int physical);
// The utilization NVML and ROCm SMI report: the scenario's value (other processes' load) plus the
// share of the last second in which this process's simulated spin kernels ran (the sum capped at
// 100; without spins the scenario's value unchanged, out-of-range readings included).
FAKEGPU_API double current_utilization(State& s, int physical);
// Records a spin of `ns` nanoseconds launched now on `physical`.
FAKEGPU_API void record_spin(State& s, int physical, std::uint64_t ns);

// Faults of a visible ordinal (all zero when the config has none) and the progress through them;
// the progress restarts whenever that ordinal's fault block changes.
FAKEGPU_API const CudaFaults& faults_for(State& s, int visible);
FAKEGPU_API FaultProgress& progress_for(State& s, int visible);

// Physical indices of the devices the HIP fake exposes, in visible order: ROCR_VISIBLE_DEVICES
// (indices or GPU- UUID prefixes, read like CUDA_VISIBLE_DEVICES) picks from all devices, then
// HIP_VISIBLE_DEVICES (else CUDA_VISIBLE_DEVICES) indexes into that list, stopping at the first
// token it cannot use; hip.device_count caps the result. Uses the masks captured at hipInit.
FAKEGPU_API std::vector<int> hip_visible_devices(State& s);
FAKEGPU_API const CudaFaults& hip_faults_for(State& s, int visible);
FAKEGPU_API FaultProgress& hip_progress_for(State& s, int visible);
// The HIP device current on the calling thread (hipSetDevice), shared with the hiprtc fake, which
// compiles for it when no architecture option is given.
FAKEGPU_API int& hip_current_device();
// The unique id ROCm SMI reports for a physical device (the configured one, or a default).
FAKEGPU_API std::uint64_t rsmi_unique_id(State& s, int physical);
// Appends to the ROCm SMI call log.
FAKEGPU_API void rsmi_log_call(State& s, const std::string& call);

// Drops every allocation, module, stream and event of a physical device (its primary context was
// destroyed or reset, which takes them all with it in the real driver).
FAKEGPU_API void drop_device_resources(State& s, int physical);

// --- The device work both runtimes model ---------------------------------------------------
// The CUDA driver API fake and the HIP fake simulate the same allocations, launches and
// synchronisations; they differ in names, handles and result codes. These are the shared steps,
// each told which runtime's fault block applies and which codes to answer.

enum class Runtime { cuda, hip };

// The fault block and progress of a visible ordinal in that runtime's section of the scenario.
FAKEGPU_API const CudaFaults& runtime_faults(State& s, Runtime runtime, int visible);
FAKEGPU_API FaultProgress& runtime_progress(State& s, Runtime runtime, int visible);

// "0x7f0000200000".
FAKEGPU_API std::string hex(std::uint64_t value);
// An event-log line naming the device: "<what> device=<physical> visible=<visible> <extra>".
FAKEGPU_API void log_device_event(State& s, const std::string& what, int physical, int visible,
                                  const std::string& extra = {});
// The live allocation that contains [ptr, ptr + bytes), or nullptr; its start in *base.
FAKEGPU_API const Allocation* find_range(State& s, std::uint64_t ptr, std::uint64_t bytes,
                                         std::uint64_t* base = nullptr);

// The result codes a shared step answers with, in the calling runtime's numbering.
struct ResultCodes {
  int out_of_memory;
  int invalid_value;  // a pointer that names no allocation
  int invalid_device;
};

// After the allocation delay: the scripted result or an out-of-memory when the device lacks the
// bytes, else a new allocation (spaced from the last by a gap, starting at `pointer_base`).
// Returns 0 with *ptr set, or the error code.
FAKEGPU_API int allocate(State& s, Runtime runtime, const ResultCodes& codes, int physical,
                         int visible, std::uint64_t bytes, std::uint64_t pointer_base,
                         std::uint64_t* ptr);
// After the free delay: the scripted free_error, or the allocation released. Returns 0 or the
// error code.
FAKEGPU_API int release(State& s, Runtime runtime, const ResultCodes& codes, int visible,
                        std::uint64_t ptr);
// Work queued on a device (a launch, a device-to-device copy): the scripted launch_error, or 0.
FAKEGPU_API int take_launch_fault(State& s, Runtime runtime, int physical, int visible);

enum class SyncKind { work, event };
// A synchronisation: the configured delay, the hang (polled, so a rewritten scenario releases
// it), then the scripted result. Takes State::mu itself; call it without the lock.
FAKEGPU_API int synchronize(Runtime runtime, const ResultCodes& codes, int physical, int visible,
                            SyncKind kind);

// Sleeps without any lock held.
FAKEGPU_API void sleep_ms(long ms);
FAKEGPU_API void sleep_us(long us);

}  // namespace fakegpu

extern "C" {
// Returns the state JSON (same content as the FAKEGPU_STATE file) as a malloc'ed string.
FAKEGPU_API char* fakegpu_state_json(void);
FAKEGPU_API void fakegpu_free(void* p);
// Clears counters, allocations, contexts, modules, CUDA/NVML init state, re-reads the FAKEGPU_*
// environment variables and reloads the config.
FAKEGPU_API void fakegpu_reset(void);
// Simulates another component of the process calling nvmlShutdown until the count reaches 0.
FAKEGPU_API void fakegpu_nvml_external_shutdown(void);
// The same for ROCm SMI (rsmi_shut_down until its count reaches 0).
FAKEGPU_API void fakegpu_rsmi_external_shutdown(void);
}
