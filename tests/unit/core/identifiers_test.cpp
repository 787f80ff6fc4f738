#include "core/identifiers.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/errors.hpp"
#include "core/thrown.hpp"

namespace keepgpu::core {
namespace {

using keepgpu::test::thrown;

constexpr const char* kJobId = "job_id must be a URL-path-safe non-empty string";
constexpr const char* kHost = "host must be a DNS hostname or IPv4 address";
constexpr const char* kPort = "port must be an integer between 1 and 65535";

TEST(JobId, Accepted) {
  for (const char* id : {"job-123", "job_123", "job.123", "job~123",
                         "123e4567-e89b-42d3-a456-426614174000", "...", "a", "-", "~", "._~-"}) {
    EXPECT_EQ(validate_job_id(id), id);
    EXPECT_TRUE(is_valid_job_id(id)) << id;
  }
  EXPECT_EQ(validate_job_id(std::string(10000, 'x')), std::string(10000, 'x'));
}

TEST(JobId, Rejected) {
  for (const char* id : {"", " ", "\t", ".", "..", "job/123", "job?123", "job#123", "job 123",
                         " job-123", "job-123 ", "job%123", "job:123", "job\n", "j\xC3\xA9"}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_job_id(id); }), kJobId) << id;
  }
}

TEST(JobId, GeneratedIdsAreUuid4) {
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = generate_job_id();
    ASSERT_EQ(id.size(), 36u) << id;
    for (std::size_t at : {8u, 13u, 18u, 23u})
      EXPECT_EQ(id[at], '-') << id;
    EXPECT_EQ(id[14], '4') << id;
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;
    for (std::size_t at = 0; at < id.size(); ++at) {
      if (at == 8 || at == 13 || at == 18 || at == 23) continue;
      EXPECT_NE(std::string("0123456789abcdef").find(id[at]), std::string::npos) << id;
    }
    EXPECT_TRUE(is_valid_job_id(id));
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

TEST(Host, Accepted) {
  for (const char* host :
       {"localhost", "gpu-box", "gpu-box.local", "node-01.cluster.local", "127.0.0.1", "0.0.0.0",
        "255.255.255.255", "LOCALHOST", "a", "x1", "1a", "foo.1a", "10.0.0.254"}) {
    EXPECT_EQ(validate_host(host), host);
  }
  const std::string label63(63, 'a');
  EXPECT_TRUE(is_valid_host(label63));
  // 253 characters: four 63-letter labels would be 255, so trim the last one.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  ASSERT_EQ(name253.size(), 253u);
  EXPECT_TRUE(is_valid_host(name253));
  EXPECT_FALSE(is_valid_host(name253 + "b"));
  EXPECT_FALSE(is_valid_host(std::string(64, 'a')));
}

TEST(Host, Rejected) {
  for (const char* host : {"",
                           " ",
                           "bad host",
                           "%",
                           "%zz",
                           "\\host",
                           "host\\path",
                           "*",
                           "-bad",
                           "bad-",
                           "bad..host",
                           "999.999.999.999",
                           "256.0.0.1",
                           "123",
                           "foo.123",
                           "1.2.3",
                           "01.2.3.4",
                           "1.2.3.04",
                           "127.000.000.001",
                           "http://localhost",
                           "localhost:8765",
                           "::1",
                           "::ffff:1.2.3.4",
                           "fe80::1%eth0",
                           "[::1]",
                           "\xEF\xBC\x91.com",
                           "gpu_box",
                           ".a",
                           "localhost.",
                           " localhost",
                           "localhost ",
                           "1.2.3.4.5"}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_host(host); }), kHost) << host;
  }
}

TEST(Port, TextAccepted) {
  EXPECT_EQ(parse_port_text("1"), 1);
  EXPECT_EQ(parse_port_text("8765"), 8765);
  EXPECT_EQ(parse_port_text("65535"), 65535);
  EXPECT_EQ(parse_port_text("08765"), 8765);
  EXPECT_EQ(parse_port_text(std::string(50, '0') + "80"), 80);
}

TEST(Port, TextRejected) {
  for (const char* text :
       {"0", "00", "65536", "70000", "-1", "", " ", "abc", " 8765", "8765 ", "+8765", "8_765",
        "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93", "8765.0", "99999999999999999999999"}) {
    EXPECT_EQ(thrown<ValueError>([&] { parse_port_text(text); }), kPort) << text;
  }
}

TEST(Port, IntegersInRange) {
  EXPECT_EQ(validate_port(1), 1);
  EXPECT_EQ(validate_port(65535), 65535);
  for (long long port : {0LL, 65536LL, -1LL}) {
    EXPECT_EQ(thrown<ValueError>([&] { validate_port(port); }), kPort) << port;
  }
}

}  // namespace
}  // namespace keepgpu::core
