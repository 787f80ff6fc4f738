// Click rules for the service subcommands' options.
#include "cli/subcommand_args.hpp"

#include <gtest/gtest.h>

#include "cli/commands.hpp"

namespace keepgpu::cli {
namespace {

std::string usage_error_of(const CommandSpec& spec, const std::vector<std::string>& argv) {
  try {
    parse_subcommand_args(spec, argv);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "<no error>";
}

TEST(SubcommandArgs, ValuesAreTakenVerbatimAndTheLastOneWins) {
  const auto a = parse_subcommand_args(start_spec(), {"--busy-threshold", "-1", "--vram", "2GiB",
                                                      "--util-threshold", "30", "--vram=3GiB"});
  EXPECT_EQ(*a.get("busy_threshold"), "30");
  EXPECT_EQ(*a.get("vram"), "3GiB");
  const auto b = parse_subcommand_args(status_spec(), {"--port", "1", "--port", "0"});
  EXPECT_EQ(*b.get("port"), "0");
}

TEST(SubcommandArgs, RunKeepsTheCommandWholeAfterItsOptions) {
  const auto a = parse_subcommand_args(run_spec(), {"--gpu-ids", "0", "--", "python", "-h", "--"});
  EXPECT_EQ(*a.get("gpu_ids"), "0");
  EXPECT_EQ(a.command, (std::vector<std::string>{"python", "-h", "--"}));
  EXPECT_FALSE(a.help) << "options after the command are the command's";
  const auto b = parse_subcommand_args(run_spec(), {"--vram", "1GiB", "sh", "-c", "exit 3"});
  EXPECT_EQ(b.command, (std::vector<std::string>{"sh", "-c", "exit 3"}));
  const auto c = parse_subcommand_args(run_spec(), {"--duration", "5m"});
  EXPECT_TRUE(c.command.empty());
  EXPECT_EQ(usage_error_of(run_spec(), {"--bogus", "--", "true"}), "No such option: --bogus");
  EXPECT_EQ(usage_error_of(start_spec(), {"--", "true"}), "Got unexpected extra argument (true)")
      << "only run takes a command";
}

TEST(SubcommandArgs, AValueOptionSwallowsTheNextToken) {
  const auto a = parse_subcommand_args(stop_spec(), {"--job-id", "--all"});
  EXPECT_EQ(*a.get("job_id"), "--all");
  EXPECT_FALSE(a.given("all"));
  EXPECT_EQ(usage_error_of(status_spec(), {"--job-id", "--port", "1"}),
            "Got unexpected extra argument (1)");
}

TEST(SubcommandArgs, EmptyValuesCountAsGiven) {
  const auto a = parse_subcommand_args(stop_spec(), {"--job-id="});
  EXPECT_TRUE(a.given("job_id"));
  EXPECT_EQ(*a.get("job_id"), "");
  const auto b = parse_subcommand_args(stop_spec(), {"--job-id", ""});
  EXPECT_TRUE(b.given("job_id"));
}

TEST(SubcommandArgs, FlagsAndTheirNegations) {
  EXPECT_EQ(*parse_subcommand_args(stop_spec(), {"--all"}).get("all"), "1");
  EXPECT_EQ(*parse_subcommand_args(start_spec(), {"--no-auto-start"}).get("auto_start"), "0");
  EXPECT_EQ(
      *parse_subcommand_args(start_spec(), {"--no-auto-start", "--auto-start"}).get("auto_start"),
      "1");
  EXPECT_FALSE(parse_subcommand_args(start_spec(), {}).given("auto_start"));
}

TEST(SubcommandArgs, UsageErrorsUseClicksTexts) {
  EXPECT_EQ(usage_error_of(stop_spec(), {"--all=1"}), "Option '--all' does not take a value.");
  EXPECT_EQ(usage_error_of(status_spec(), {"extra"}), "Got unexpected extra argument (extra)");
  EXPECT_EQ(usage_error_of(status_spec(), {"a", "b"}), "Got unexpected extra arguments (a b)");
  EXPECT_EQ(usage_error_of(status_spec(), {"--bogus"}), "No such option: --bogus");
  EXPECT_EQ(usage_error_of(start_spec(), {"--gpu"}),
            "No such option: --gpu Did you mean --gpu-ids?");
  EXPECT_EQ(usage_error_of(status_spec(), {"--job-id"}), "Option '--job-id' requires an argument.");
  EXPECT_EQ(usage_error_of(start_spec(), {"--gpu-ids"}),
            "Option '--gpu-ids' requires an argument.");
  EXPECT_EQ(usage_error_of(status_spec(), {"-x"}), "No such option: -x");
  EXPECT_EQ(usage_error_of(status_spec(), {"--help=1"}), "Option '--help' does not take a value.");
}

TEST(SubcommandArgs, DoubleDashEndsOptions) {
  EXPECT_EQ(usage_error_of(status_spec(), {"--", "--job-id"}),
            "Got unexpected extra argument (--job-id)");
}

TEST(SubcommandArgs, HelpWinsOverExtraArgumentsButNotOverBadOptions) {
  EXPECT_TRUE(parse_subcommand_args(status_spec(), {"-h"}).help);
  EXPECT_TRUE(parse_subcommand_args(status_spec(), {"--help", "extra"}).help);
  EXPECT_EQ(usage_error_of(status_spec(), {"--help", "--bogus"}), "No such option: --bogus");
}

TEST(SubcommandHelp, ListsOptionsWithMetavarsAndDefaults) {
  const std::string help = subcommand_help(start_spec());
  auto line_with = [&](const std::string& needle) {
    const auto at = help.find(needle);
    EXPECT_NE(at, std::string::npos) << needle;
    const auto start = help.rfind('\n', at) + 1;
    return help.substr(start, help.find('\n', at) - start);
  };
  EXPECT_NE(line_with("--interval").find("NUMBER"), std::string::npos);
  EXPECT_NE(line_with("--busy-threshold").find("INTEGER"), std::string::npos);
  EXPECT_NE(help.find("[default: 300]"), std::string::npos);
  EXPECT_NE(help.find("[default: 1GiB]"), std::string::npos);
  EXPECT_NE(help.find("--auto-start / --no-auto-start"), std::string::npos);
  EXPECT_NE(help.find("-h, --help"), std::string::npos);
  EXPECT_EQ(help.find("--threshold "), std::string::npos);
  for (const auto* spec :
       {&serve_spec(), &status_spec(), &stop_spec(), &list_gpus_spec(), &service_stop_spec()}) {
    const std::string text = subcommand_help(*spec);
    EXPECT_NE(text.find("--host TEXT"), std::string::npos) << spec->name;
    EXPECT_NE(text.find("[default: 8765]"), std::string::npos) << spec->name;
  }
  EXPECT_NE(subcommand_help(serve_spec()).find("--release-timeout SECONDS"), std::string::npos);
}

}  // namespace
}  // namespace keepgpu::cli
