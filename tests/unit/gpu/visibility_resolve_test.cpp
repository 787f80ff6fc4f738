// Visible ordinal -> NVML device mapping (the monitor's lookup and the listing variant)
// against an in-process DeviceDirectory double, which can also lack the optional NVML entry points
// and answer "uninitialised" at any call.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "gpu/visibility.hpp"

namespace keepgpu::gpu {
namespace {

using Outcome = MonitorLookup::Outcome;

class FakeDirectory final : public DeviceDirectory {
 public:
  explicit FakeDirectory(int count) {
    for (int i = 0; i < count; ++i)
      uuids.push_back("GPU-dev-" + std::to_string(i));
  }

  int device_count(unsigned& count) override {
    ++count_calls;
    if (int status = gate("count")) return status;
    count = static_cast<unsigned>(uuids.size());
    return kSuccess;
  }
  int handle_by_index(unsigned index, DeviceHandle& handle) override {
    if (int status = gate("index")) return status;
    index_calls.push_back(index);
    if (auto it = handle_errors.find(index); it != handle_errors.end()) return it->second;
    if (index >= uuids.size()) return 2;
    handle = handle_of(index);
    return kSuccess;
  }
  bool has_handle_by_uuid() const override { return with_uuid_lookup; }
  int handle_by_uuid(const std::string& uuid, DeviceHandle& handle) override {
    if (int status = gate("uuid")) return status;
    uuid_calls.push_back(uuid);
    if (auto it = uuid_map.find(uuid); it != uuid_map.end()) {
      handle = handle_of(it->second);
      return kSuccess;
    }
    for (unsigned i = 0; i < uuids.size(); ++i) {
      if (uuids[i] == uuid) {
        handle = handle_of(i);
        return kSuccess;
      }
    }
    return 6;  // NVML_ERROR_NOT_FOUND
  }
  bool has_device_index() const override { return with_index; }
  int device_index(DeviceHandle handle, unsigned& index) override {
    if (int status = gate("device_index")) return status;
    if (index_error != 0) return index_error;
    index = static_cast<unsigned>(static_cast<const char*>(handle) - base());
    return kSuccess;
  }
  bool has_device_uuid() const override { return with_device_uuid; }
  int device_uuid(DeviceHandle handle, std::string& uuid) override {
    if (int status = gate("device_uuid")) return status;
    uuid = uuids[static_cast<std::size_t>(static_cast<const char*>(handle) - base())];
    return kSuccess;
  }
  std::string describe(int status) override { return "status " + std::to_string(status); }

  std::vector<std::string> uuids;
  std::map<std::string, unsigned> uuid_map;
  std::map<unsigned, int> handle_errors;
  int index_error = 0;
  bool with_uuid_lookup = true;
  bool with_index = true;
  bool with_device_uuid = true;
  std::set<std::string> uninitialized_calls;  // these calls answer "uninitialised"
  std::vector<unsigned> index_calls;
  std::vector<std::string> uuid_calls;
  int count_calls = 0;

 private:
  int gate(const std::string& call) const {
    return uninitialized_calls.contains(call) ? kUninitialized : kSuccess;
  }
  const char* base() const { return storage_; }
  DeviceHandle handle_of(unsigned index) const { return storage_ + index; }
  char storage_[64] = {};
};

CudaVisibleMask mask(const char* value) {
  return parse_cuda_visible_devices(std::string_view(value));
}
CudaVisibleMask unset() {
  return parse_cuda_visible_devices(std::nullopt);
}

unsigned index_of(FakeDirectory& nvml, DeviceHandle handle) {
  unsigned index = 0;
  EXPECT_EQ(nvml.device_index(handle, index), DeviceDirectory::kSuccess);
  return index;
}

TEST(MonitorLookupTest, UnsetMaskLooksUpTheOrdinalDirectly) {
  FakeDirectory nvml(4);
  const auto lookup = resolve_monitor_handle(unset(), 2, nvml);
  ASSERT_EQ(lookup.outcome, Outcome::found);
  EXPECT_EQ(index_of(nvml, lookup.handle), 2u);
  EXPECT_EQ(nvml.index_calls, std::vector<unsigned>{2});
  EXPECT_EQ(nvml.count_calls, 0);  // no range check on this path
}

TEST(MonitorLookupTest, UnsetMaskHandleErrors) {
  FakeDirectory nvml(4);
  nvml.handle_errors[1] = 999;
  EXPECT_EQ(resolve_monitor_handle(unset(), 1, nvml).outcome, Outcome::unavailable);
  nvml.uninitialized_calls.insert("index");
  EXPECT_EQ(resolve_monitor_handle(unset(), 1, nvml).outcome, Outcome::uninitialized);
}

TEST(MonitorLookupTest, NumericMaskResolvesEveryToken) {
  FakeDirectory nvml(8);
  const auto lookup = resolve_monitor_handle(mask("3, 5"), 1, nvml);
  ASSERT_EQ(lookup.outcome, Outcome::found);
  EXPECT_EQ(index_of(nvml, lookup.handle), 5u);
  EXPECT_EQ(nvml.index_calls, (std::vector<unsigned>{3, 5}));
  EXPECT_TRUE(nvml.uuid_calls.empty());
}

TEST(MonitorLookupTest, TruncatedMask) {
  FakeDirectory nvml(8);
  const auto lookup = resolve_monitor_handle(mask("0,2,-1,1"), 1, nvml);
  ASSERT_EQ(lookup.outcome, Outcome::found);
  EXPECT_EQ(index_of(nvml, lookup.handle), 2u);
  EXPECT_EQ(nvml.index_calls, (std::vector<unsigned>{0, 2}));
}

TEST(MonitorLookupTest, OutOfMaskOrdinalsMakeNoCalls) {
  for (auto [value, ordinal] : std::vector<std::pair<const char*, int>>{
           {"3,5", 2}, {"3,5", -1}, {"0,-1,2", 2}, {"-1,0", 0}, {"", 0}, {"-1", 0}}) {
    FakeDirectory nvml(8);
    EXPECT_EQ(resolve_monitor_handle(mask(value), ordinal, nvml).outcome, Outcome::unavailable)
        << value;
    EXPECT_TRUE(nvml.index_calls.empty()) << value;
    EXPECT_EQ(nvml.count_calls, 0) << value;
  }
}

TEST(MonitorLookupTest, InvalidMasksMakeNoCalls) {
  for (const std::string& value :
       {std::string("0,0"), std::string("0,00"), std::string("GPU-abc123,GPU-abc123"),
        std::string("GPU-abc123,gpu-abc123"), std::string("\xc2\xb2"), std::string("GPU-\xc2\xb2"),
        std::string(100, '9'), std::string("0,,"), std::string("0,,2"), std::string("3,,5")}) {
    FakeDirectory nvml(8);
    EXPECT_EQ(resolve_monitor_handle(mask(value.c_str()), 0, nvml).outcome, Outcome::unavailable)
        << value;
    EXPECT_TRUE(nvml.index_calls.empty()) << value;
    EXPECT_TRUE(nvml.uuid_calls.empty()) << value;
  }
}

TEST(MonitorLookupTest, NumericTokenBeyondCountStopsBeforeAnyLookup) {
  FakeDirectory nvml(8);
  EXPECT_EQ(resolve_monitor_handle(mask("0,99,2"), 0, nvml).outcome, Outcome::unavailable);
  EXPECT_EQ(nvml.count_calls, 1);
  EXPECT_TRUE(nvml.index_calls.empty());
}

TEST(MonitorLookupTest, CountErrors) {
  FakeDirectory nvml(8);
  nvml.uninitialized_calls.insert("count");
  EXPECT_EQ(resolve_monitor_handle(mask("0,1"), 0, nvml).outcome, Outcome::uninitialized);
  EXPECT_TRUE(nvml.index_calls.empty());
}

TEST(MonitorLookupTest, DirectUuidHit) {
  FakeDirectory nvml(4);
  nvml.uuid_map["GPU-abc123"] = 2;
  const auto lookup = resolve_monitor_handle(mask("GPU-abc123"), 0, nvml);
  ASSERT_EQ(lookup.outcome, Outcome::found);
  EXPECT_EQ(index_of(nvml, lookup.handle), 2u);
  EXPECT_TRUE(nvml.index_calls.empty());
  EXPECT_EQ(nvml.uuid_calls, std::vector<std::string>{"GPU-abc123"});
}

TEST(MonitorLookupTest, UniquePrefixScan) {
  FakeDirectory nvml(4);
  nvml.uuids[2] = "GPU-abc123-dead-beef";
  for (const char* token : {"GPU-abc123", "gpu-ABC123"}) {
    nvml.index_calls.clear();
    const auto lookup = resolve_monitor_handle(mask(token), 0, nvml);
    ASSERT_EQ(lookup.outcome, Outcome::found) << token;
    EXPECT_EQ(index_of(nvml, lookup.handle), 2u);
    EXPECT_EQ(nvml.index_calls, (std::vector<unsigned>{0, 1, 2, 3})) << token;
  }
}

TEST(MonitorLookupTest, AmbiguousOrMissingPrefixIsUnavailable) {
  FakeDirectory nvml(4);
  nvml.uuids[1] = "GPU-abc123-one";
  nvml.uuids[2] = "GPU-abc123-two";
  EXPECT_EQ(resolve_monitor_handle(mask("GPU-abc123"), 0, nvml).outcome, Outcome::unavailable);
  FakeDirectory none(4);
  EXPECT_EQ(resolve_monitor_handle(mask("GPU-typo"), 0, none).outcome, Outcome::unavailable);
  EXPECT_EQ(none.index_calls, (std::vector<unsigned>{0, 1, 2, 3}));
}

TEST(MonitorLookupTest, ScanNeedsTheUuidQuery) {
  FakeDirectory nvml(4);
  nvml.uuids[2] = "GPU-abc123-dead-beef";
  nvml.with_device_uuid = false;
  EXPECT_EQ(resolve_monitor_handle(mask("GPU-abc123"), 0, nvml).outcome, Outcome::unavailable);
  EXPECT_TRUE(nvml.index_calls.empty());
}

TEST(MonitorLookupTest, MissingUuidLookupMeansNoCallsAtAll) {
  FakeDirectory nvml(4);
  nvml.with_uuid_lookup = false;
  nvml.with_index = false;
  nvml.uuids[0] = "GPU-abc123";
  EXPECT_EQ(resolve_monitor_handle(mask("GPU-abc123"), 0, nvml).outcome, Outcome::unavailable);
  EXPECT_TRUE(nvml.index_calls.empty());
  EXPECT_TRUE(nvml.uuid_calls.empty());
}

TEST(MonitorLookupTest, UuidTokensResolveFirstAndFailTheWholeMask) {
  FakeDirectory nvml(8);
  EXPECT_EQ(resolve_monitor_handle(mask("0,GPU-typo"), 0, nvml).outcome, Outcome::unavailable);
  EXPECT_EQ(nvml.uuid_calls, std::vector<std::string>{"GPU-typo"});
  // Only the scan's lookups: the numeric token 0 was never reached.
  EXPECT_EQ(nvml.index_calls, (std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7}));

  FakeDirectory other(4);
  EXPECT_EQ(resolve_monitor_handle(mask("GPU-abc123,2"), 1, other).outcome, Outcome::unavailable);
  EXPECT_EQ(other.index_calls, (std::vector<unsigned>{0, 1, 2, 3}));
}

TEST(MonitorLookupTest, AliasedTokensAreUnavailable) {
  FakeDirectory nvml(4);
  nvml.uuid_map["GPU-zero"] = 0;
  EXPECT_EQ(resolve_monitor_handle(mask("0,GPU-zero"), 0, nvml).outcome, Outcome::unavailable);
  // Without nvmlDeviceGetIndex the handle itself is the identity.
  FakeDirectory bare(4);
  bare.uuid_map["GPU-zero"] = 0;
  bare.with_index = false;
  EXPECT_EQ(resolve_monitor_handle(mask("0,GPU-zero"), 1, bare).outcome, Outcome::unavailable);
  // When the index query fails the handle is still compared.
  FakeDirectory failing(4);
  failing.uuid_map["GPU-zero"] = 0;
  failing.index_error = 999;
  EXPECT_EQ(resolve_monitor_handle(mask("0,GPU-zero"), 1, failing).outcome, Outcome::unavailable);
}

TEST(MonitorLookupTest, UninitializedAnywhereIsPassedUp) {
  for (const char* call : {"uuid", "count", "index", "device_uuid", "device_index"}) {
    FakeDirectory nvml(4);
    nvml.uuids[1] = "GPU-abc123-x";
    nvml.uninitialized_calls.insert(call);
    EXPECT_EQ(resolve_monitor_handle(mask("GPU-abc123,0"), 0, nvml).outcome, Outcome::uninitialized)
        << call;
  }
}

TEST(MonitorLookupTest, NonUninitializedErrorsAreUnavailable) {
  FakeDirectory nvml(4);
  nvml.handle_errors[3] = 999;
  EXPECT_EQ(resolve_monitor_handle(mask("1,3"), 0, nvml).outcome, Outcome::unavailable);
}

TEST(ListingResolutionTest, NumericTokensUseTheirValueAsPhysicalId) {
  FakeDirectory nvml(4);
  const auto resolved = resolve_listing_handles(mask("2, 0").tokens, nvml);
  ASSERT_TRUE(resolved);
  ASSERT_EQ(resolved->size(), 2u);
  EXPECT_EQ((*resolved)[0].physical_id, 2u);
  EXPECT_EQ((*resolved)[1].physical_id, 0u);
  EXPECT_EQ(nvml.index_calls, (std::vector<unsigned>{2, 0}));
}

TEST(ListingResolutionTest, UuidTokensTakeThePhysicalIdFromNvml) {
  FakeDirectory nvml(4);
  nvml.uuid_map["GPU-abc123"] = 2;
  const auto resolved = resolve_listing_handles(mask("GPU-abc123").tokens, nvml);
  ASSERT_TRUE(resolved);
  EXPECT_EQ((*resolved)[0].physical_id, 2u);
  EXPECT_TRUE(nvml.index_calls.empty());

  nvml.with_index = false;
  const auto unknown = resolve_listing_handles(mask("GPU-abc123").tokens, nvml);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE((*unknown)[0].physical_id);
}

TEST(ListingResolutionTest, DuplicatesAndFailuresFailTheWholeResolution) {
  FakeDirectory aliases(4);
  aliases.uuid_map["GPU-a"] = 2;
  aliases.uuid_map["GPU-b"] = 2;
  EXPECT_FALSE(resolve_listing_handles(mask("GPU-a,GPU-b").tokens, aliases));
  FakeDirectory mixed(4);
  mixed.uuid_map["GPU-a"] = 1;
  EXPECT_FALSE(resolve_listing_handles(mask("GPU-a,1").tokens, mixed));
  FakeDirectory ambiguous(4);
  ambiguous.uuids[1] = "GPU-abc-1";
  ambiguous.uuids[2] = "GPU-abc-2";
  EXPECT_FALSE(resolve_listing_handles(mask("GPU-abc").tokens, ambiguous));
  FakeDirectory failing(4);
  failing.handle_errors[1] = 999;
  EXPECT_FALSE(resolve_listing_handles(mask("0,1").tokens, failing));
}

TEST(ListingResolutionTest, UninitializedIsJustAFailure) {
  FakeDirectory nvml(4);
  nvml.uninitialized_calls = {"uuid", "index"};
  EXPECT_FALSE(resolve_listing_handles(mask("GPU-dev-1").tokens, nvml));
  // A failed direct lookup, whatever the status, still allows the prefix scan.
  FakeDirectory scan(4);
  scan.uninitialized_calls = {"uuid"};
  const auto resolved = resolve_listing_handles(mask("GPU-dev-1").tokens, scan);
  ASSERT_TRUE(resolved);
  EXPECT_EQ((*resolved)[0].physical_id, 1u);
}

}  // namespace
}  // namespace keepgpu::gpu
