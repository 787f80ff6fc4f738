// The per-listener connection budget: places, taking back the oldest idle place for a newcomer,
// busy places kept, and releases after an eviction not counted twice.
#include <gtest/gtest.h>

#include <vector>

#include "service/http/connection_budget.hpp"

namespace keepgpu::service::http {
namespace {

TEST(ConnectionBudget, AdmitsUpToItsCapacityThenEvictsTheOldestIdle) {
  ConnectionBudget budget(2);
  std::vector<int> evicted;
  const auto first = budget.admit([&] { evicted.push_back(1); });
  const auto second = budget.admit([&] { evicted.push_back(2); });
  ASSERT_TRUE(first && second);
  EXPECT_EQ(budget.in_use(), 2U);
  EXPECT_TRUE(evicted.empty());

  const auto third = budget.admit([&] { evicted.push_back(3); });
  ASSERT_TRUE(third);
  EXPECT_EQ(evicted, std::vector<int>{1});
  EXPECT_EQ(budget.in_use(), 2U);
  // The evicted holder's release does not free a place that is no longer its own.
  budget.release(*first);
  EXPECT_EQ(budget.in_use(), 2U);
  budget.release(*second);
  EXPECT_EQ(budget.in_use(), 1U);
}

TEST(ConnectionBudget, BusyPlacesAreKeptAndAFullBusyBudgetRefuses) {
  ConnectionBudget budget(2);
  std::vector<int> evicted;
  const auto first = budget.admit([&] { evicted.push_back(1); });
  const auto second = budget.admit([&] { evicted.push_back(2); });
  budget.set_busy(*first, true);
  ASSERT_TRUE(budget.admit([&] { evicted.push_back(3); }));
  EXPECT_EQ(evicted, std::vector<int>{2}) << "the busy one is older but stays";

  ConnectionBudget busy(1);
  const auto only = busy.admit([] {});
  busy.set_busy(*only, true);
  EXPECT_FALSE(busy.admit([] { FAIL() << "a refused newcomer is never evicted"; }));
  // Once its reply is out the place can go again.
  busy.set_busy(*only, false);
  EXPECT_TRUE(busy.admit([] {}));
  (void)second;
}

TEST(ConnectionBudget, ReleasedPlacesAreReused) {
  ConnectionBudget budget(1);
  bool evicted = false;
  const auto first = budget.admit([&] { evicted = true; });
  budget.release(*first);
  EXPECT_TRUE(budget.admit([] {}));
  EXPECT_FALSE(evicted);
  EXPECT_FALSE(ConnectionBudget(0).admit([] {}));
}

}  // namespace
}  // namespace keepgpu::service::http
