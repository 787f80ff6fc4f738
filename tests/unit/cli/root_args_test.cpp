// Click-compatible root argument parsing.
#include "cli/root_args.hpp"

#include <gtest/gtest.h>

namespace keepgpu::cli {
namespace {

std::string usage_error_of(const std::vector<std::string>& argv) {
  try {
    parse_root_args(argv);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(RootArgs, ValuesAreTakenVerbatimEvenWhenTheyLookLikeOptions) {
  const RootArgs a = parse_root_args({"--busy-threshold", "-1", "--vram", "start"});
  EXPECT_EQ(a.busy_threshold, "-1");
  EXPECT_EQ(a.vram, "start");
  EXPECT_FALSE(a.subcommand);
}

TEST(RootArgs, EqualsFormAndEmptyValue) {
  const RootArgs a = parse_root_args({"--gpu-ids=", "--interval=0.5"});
  EXPECT_EQ(a.gpu_ids, "");
  EXPECT_EQ(a.interval, "0.5");
}

TEST(RootArgs, LastOccurrenceWinsAndAliasesShareOneOption) {
  const RootArgs a = parse_root_args({"--busy-threshold", "10", "--util-threshold", "30"});
  EXPECT_EQ(a.busy_threshold, "30");
  const RootArgs b = parse_root_args({"--vram", "1GiB", "--vram", "2GiB"});
  EXPECT_EQ(b.vram, "2GiB");
}

TEST(RootArgs, UsageErrors) {
  EXPECT_EQ(usage_error_of({"--foo"}), "No such option: --foo");
  EXPECT_EQ(usage_error_of({"--gpu"}), "No such option: --gpu Did you mean --gpu-ids?");
  EXPECT_EQ(usage_error_of({"bogus"}), "No such command 'bogus'.");
  EXPECT_EQ(usage_error_of({"--gpu-ids"}), "Option '--gpu-ids' requires an argument.");
  EXPECT_EQ(usage_error_of({"--help=1"}), "Option '--help' does not take a value.");
  EXPECT_EQ(usage_error_of({"-x"}), "No such option: -x");
}

TEST(RootArgs, SubcommandTakesTheRest) {
  const RootArgs a = parse_root_args({"--log-level", "debug", "status", "--job-id", "x"});
  ASSERT_TRUE(a.subcommand);
  EXPECT_EQ(*a.subcommand, "status");
  EXPECT_EQ(a.subcommand_args, (std::vector<std::string>{"--job-id", "x"}));
  EXPECT_TRUE(a.blocking_option_labels().empty());
}

TEST(RootArgs, DoubleDashStillNamesTheSubcommand) {
  const RootArgs a = parse_root_args({"--", "start"});
  ASSERT_TRUE(a.subcommand);
  EXPECT_EQ(*a.subcommand, "start");
}

TEST(RootArgs, HelpIsEager) {
  const RootArgs a = parse_root_args({"--gpu-ids", "0", "--help", "start"});
  EXPECT_TRUE(a.help);
  EXPECT_TRUE(parse_root_args({"-h"}).help);
  EXPECT_TRUE(parse_root_args({"--help", "bogus"}).help);
}

TEST(RootArgs, BlockingLabelsInTheFixedOrder) {
  const RootArgs a = parse_root_args({"--interval", "5", "--busy-threshold", "3", "--threshold",
                                      "3", "--vram", "1GiB", "--gpu-ids", "0", "status"});
  EXPECT_EQ(a.blocking_option_labels(),
            (std::vector<std::string>{"--gpu-ids", "--vram", "--threshold",
                                      "--busy-threshold/--util-threshold", "--interval"}));
}

}  // namespace
}  // namespace keepgpu::cli
