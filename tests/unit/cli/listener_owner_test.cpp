// Reading the owners of listening sockets from /proc/net/tcp{,6} text, and which listeners would
// take a connection to a loopback address. The samples are as a little-endian (x86) kernel
// prints them.
#include "service/listener_owner.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace keepgpu::service::listeners {
namespace {

using boost::asio::ip::make_address;

const char* const kTcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout "
    "inode\n"
    "   0: 0100007F:223D 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 "
    "1001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000:2328 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 "
    "1002 1 0000000000000000 100 0 0 10 0\n"
    // An established connection on the same port is not a listener.
    "   2: 0100007F:223D 0100007F:9C40 01 00000000:00000000 00:00000000 00000000 65534        0 "
    "1003 1 0000000000000000 20 4 30 10 -1\n"
    "   3: 0200007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 65534        0 "
    "1004 1 0000000000000000 100 0 0 10 0\n"
    "   4: garbage\n";

const char* const kTcp6 =
    "  sl  local_address                         remote_address                        st "
    "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000  1000        0 2001 1 0000000000000000 100 0 0 10 0\n"
    "   1: 00000000000000000000000000000000:2710 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000  4242        0 2002 1 0000000000000000 100 0 0 10 0\n"
    "   2: 0000000000000000FFFF00000100007F:2AF8 00000000000000000000000000000000:0000 0A "
    "00000000:00000000 00:00000000 00000000  777        0 2003 1 0000000000000000 100 0 0 10 0\n";

TEST(ListenerOwner, ParsesOnlyListenRowsWithAddressPortAndUid) {
  const auto rows = parse_listen_rows(kTcp);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].address, make_address("127.0.0.1"));
  EXPECT_EQ(rows[0].port, 8765u);
  EXPECT_EQ(rows[0].uid, 0u);
  EXPECT_EQ(rows[1].address, make_address("0.0.0.0"));
  EXPECT_EQ(rows[1].port, 9000u);
  EXPECT_EQ(rows[1].uid, 1000u);
  EXPECT_EQ(rows[2].address, make_address("127.0.0.2"));
  EXPECT_EQ(rows[2].uid, 65534u);
}

TEST(ListenerOwner, ParsesIpv6RowsIncludingV4Mapped) {
  const auto rows = parse_listen_rows(kTcp6);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].address, make_address("::1"));
  EXPECT_EQ(rows[0].port, 8080u);
  EXPECT_EQ(rows[1].address, make_address("::"));
  EXPECT_EQ(rows[1].uid, 4242u);
  EXPECT_EQ(rows[2].address, make_address("::ffff:127.0.0.1"));
  EXPECT_EQ(rows[2].port, 11000u);
  EXPECT_EQ(rows[2].uid, 777u);
}

TEST(ListenerOwner, EmptyAndHeaderOnlyTextHaveNoRows) {
  EXPECT_TRUE(parse_listen_rows("").empty());
  EXPECT_TRUE(parse_listen_rows("  sl  local_address rem_address   st\n").empty());
}

TEST(ListenerOwner, WhichBindsAcceptAConnection) {
  const auto lo = make_address("127.0.0.1");
  EXPECT_TRUE(accepts(make_address("127.0.0.1"), lo));
  EXPECT_TRUE(accepts(make_address("0.0.0.0"), lo));
  EXPECT_TRUE(accepts(make_address("::"), lo));
  EXPECT_TRUE(accepts(make_address("::ffff:127.0.0.1"), lo));
  EXPECT_FALSE(accepts(make_address("127.0.0.2"), lo));
  EXPECT_FALSE(accepts(make_address("::1"), lo));
  EXPECT_FALSE(accepts(make_address("10.0.0.1"), lo));

  const auto lo6 = make_address("::1");
  EXPECT_TRUE(accepts(make_address("::1"), lo6));
  EXPECT_TRUE(accepts(make_address("::"), lo6));
  EXPECT_FALSE(accepts(make_address("0.0.0.0"), lo6));
  EXPECT_FALSE(accepts(make_address("127.0.0.1"), lo6));

  // Connecting to an unspecified address reaches loopback.
  EXPECT_TRUE(accepts(make_address("127.0.0.1"), make_address("0.0.0.0")));
  EXPECT_TRUE(accepts(make_address("::1"), make_address("::")));
}

TEST(ListenerOwner, OwnersOfEveryRowThatWouldAccept) {
  auto rows = parse_listen_rows(kTcp);
  const auto more = parse_listen_rows(kTcp6);
  rows.insert(rows.end(), more.begin(), more.end());
  EXPECT_EQ(owners(rows, make_address("127.0.0.1"), 8765), (std::vector<unsigned>{0}));
  EXPECT_EQ(owners(rows, make_address("127.0.0.1"), 9000), (std::vector<unsigned>{1000}));
  EXPECT_EQ(owners(rows, make_address("127.0.0.1"), 8080), (std::vector<unsigned>{}));
  EXPECT_EQ(owners(rows, make_address("::1"), 8080), (std::vector<unsigned>{1000}));
  EXPECT_EQ(owners(rows, make_address("127.0.0.5"), 10000), (std::vector<unsigned>{4242}));
  EXPECT_EQ(owners(rows, make_address("127.0.0.1"), 11000), (std::vector<unsigned>{777}));
  EXPECT_EQ(owners(rows, make_address("127.0.0.2"), 8080), (std::vector<unsigned>{65534}));
}

TEST(ListenerOwner, LoopbackAddresses) {
  EXPECT_TRUE(is_local_loopback(make_address("127.0.0.1")));
  EXPECT_TRUE(is_local_loopback(make_address("127.3.2.1")));
  EXPECT_TRUE(is_local_loopback(make_address("::1")));
  EXPECT_TRUE(is_local_loopback(make_address("::ffff:127.0.0.1")));
  EXPECT_TRUE(is_local_loopback(make_address("0.0.0.0")));
  EXPECT_TRUE(is_local_loopback(make_address("::")));
  EXPECT_FALSE(is_local_loopback(make_address("10.1.2.3")));
  EXPECT_FALSE(is_local_loopback(make_address("::ffff:10.1.2.3")));
  EXPECT_FALSE(is_local_loopback(make_address("fe80::1")));
}

// The live table shows a socket this test opens, owned by this process's uid.
TEST(ListenerOwner, LiveTableShowsOurOwnListener) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const unsigned port = ntohs(addr.sin_port);
  const auto found = owners(read_listen_rows(), make_address("127.0.0.1"), port);
  ::close(fd);
  EXPECT_EQ(found, (std::vector<unsigned>{static_cast<unsigned>(::geteuid())}));
}

}  // namespace
}  // namespace keepgpu::service::listeners
