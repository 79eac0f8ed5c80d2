#include "fetch/address.h"

#include <gtest/gtest.h>

namespace sparkify::fetch {
namespace {

struct AddressCase {
  const char* address;
  const char* reason;  // substring of ForbiddenReason, or nullptr when allowed
};

class AddressPolicy : public ::testing::TestWithParam<AddressCase> {};

TEST_P(AddressPolicy, Classifies) {
  const AddressCase& c = GetParam();
  auto a = IpAddress::Parse(c.address);
  ASSERT_TRUE(a) << c.address;
  auto why = ForbiddenReason(*a);
  if (c.reason == nullptr) {
    EXPECT_FALSE(why) << c.address << ": " << why.value_or("");
  } else {
    ASSERT_TRUE(why) << c.address << " should be refused";
    EXPECT_NE(why->find(c.reason), std::string::npos) << c.address << ": " << *why;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, AddressPolicy,
    ::testing::Values(
        AddressCase{"8.8.8.8", nullptr}, AddressCase{"93.184.216.34", nullptr},
        AddressCase{"172.15.255.255", nullptr}, AddressCase{"172.32.0.1", nullptr},
        AddressCase{"192.169.0.1", nullptr}, AddressCase{"11.0.0.1", nullptr},
        AddressCase{"2606:4700::1111", nullptr}, AddressCase{"2001:db8::1", nullptr},
        AddressCase{"0.0.0.0", "unspecified"}, AddressCase{"0.1.2.3", "unspecified"},
        AddressCase{"127.0.0.1", "loopback address 127.0.0.1"},
        AddressCase{"127.255.0.9", "loopback"}, AddressCase{"10.0.0.1", "private"},
        AddressCase{"10.255.255.255", "private"}, AddressCase{"172.16.0.1", "private"},
        AddressCase{"172.31.255.254", "private"}, AddressCase{"192.168.1.1", "private"},
        AddressCase{"100.64.0.1", "shared"},
        AddressCase{"169.254.169.254", "link-local address 169.254.169.254 (cloud metadata)"},
        AddressCase{"169.254.0.1", "link-local"}, AddressCase{"224.0.0.1", "multicast"},
        AddressCase{"239.255.255.250", "multicast"}, AddressCase{"255.255.255.255", "reserved"},
        AddressCase{"240.0.0.1", "reserved"}, AddressCase{"198.18.0.1", "benchmarking"},
        AddressCase{"::", "unspecified"}, AddressCase{"::1", "loopback address ::1"},
        AddressCase{"fc00::1", "unique local"}, AddressCase{"fd12:3456::1", "unique local"},
        AddressCase{"fe80::1", "link-local"}, AddressCase{"febf::1", "link-local"},
        AddressCase{"fec0::1", "site-local"}, AddressCase{"ff02::1", "multicast"},
        AddressCase{"::ffff:127.0.0.1", "loopback address 127.0.0.1 (as IPv4-mapped"},
        AddressCase{"::ffff:169.254.169.254", "cloud metadata"},
        AddressCase{"::ffff:8.8.8.8", nullptr}, AddressCase{"::10.0.0.1", "IPv4-compatible"},
        AddressCase{"64:ff9b::a00:1", "NAT64"}, AddressCase{"64:ff9b::808:808", nullptr},
        AddressCase{"2002:7f00:1::", "6to4"}, AddressCase{"2002:808:808::", nullptr}));

TEST(IpAddress, ParseAndPrint) {
  EXPECT_FALSE(IpAddress::Parse(""));
  EXPECT_FALSE(IpAddress::Parse("localhost"));
  EXPECT_FALSE(IpAddress::Parse("[::1]"));
  EXPECT_FALSE(IpAddress::Parse("1.2.3"));
  EXPECT_EQ(IpAddress::Parse("::FFFF:1.2.3.4")->ToString(), "::ffff:1.2.3.4");
  EXPECT_EQ(IpAddress::Parse("10.1.2.3")->ToString(), "10.1.2.3");
  EXPECT_TRUE(IpAddress::Parse("::1")->v6);
}

}  // namespace
}  // namespace sparkify::fetch
