#include "common/heap.h"

#include <gtest/gtest.h>

namespace sparkify {
namespace {

TEST(TunablesWithHugePageMallocTest, AddsHugeTlbToNothing) {
  EXPECT_EQ(TunablesWithHugePageMalloc(""), "glibc.malloc.hugetlb=1");
}

TEST(TunablesWithHugePageMallocTest, KeepsTheOtherTunables) {
  EXPECT_EQ(TunablesWithHugePageMalloc("glibc.malloc.arena_max=2"),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
  EXPECT_EQ(TunablesWithHugePageMalloc("glibc.malloc.arena_max=2:glibc.pthread.rseq=0"),
            "glibc.malloc.arena_max=2:glibc.pthread.rseq=0:glibc.malloc.hugetlb=1");
}

TEST(TunablesWithHugePageMallocTest, NoEmptyEntryAfterATrailingColon) {
  EXPECT_EQ(TunablesWithHugePageMalloc("glibc.malloc.arena_max=2:"),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
}

TEST(TunablesWithHugePageMallocTest, TheUsersHugeTlbStands) {
  EXPECT_EQ(TunablesWithHugePageMalloc("glibc.malloc.hugetlb=0"), "glibc.malloc.hugetlb=0");
  EXPECT_EQ(TunablesWithHugePageMalloc("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2"),
            "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=2");
}

TEST(TunablesWithHugePageMallocTest, ANameThatOnlyEndsLikeItIsAnother) {
  EXPECT_EQ(TunablesWithHugePageMalloc("x.glibc.malloc.hugetlb=0"),
            "x.glibc.malloc.hugetlb=0:glibc.malloc.hugetlb=1");
}

TEST(HugePagesOffTest, TheFlagFirstThenTheVariable) {
  const char* plain[] = {"sparkify", "segment", "a.jpg", "-o", "out"};
  EXPECT_FALSE(HugePagesOff(5, plain, nullptr));
  EXPECT_FALSE(HugePagesOff(5, plain, "on"));
  EXPECT_TRUE(HugePagesOff(5, plain, "off"));
  const char* off[] = {"sparkify", "function", "--huge-pages", "off"};
  EXPECT_TRUE(HugePagesOff(4, off, nullptr));
  EXPECT_TRUE(HugePagesOff(4, off, "on"));  // the flag wins, as CLI11 has it
  const char* on[] = {"sparkify", "function", "--huge-pages=on"};
  EXPECT_FALSE(HugePagesOff(3, on, "off"));
  const char* eq[] = {"sparkify", "segment", "--huge-pages=off", "x.png"};
  EXPECT_TRUE(HugePagesOff(4, eq, nullptr));
  const char* dangling[] = {"sparkify", "segment", "--huge-pages"};  // CLI11 refuses it later
  EXPECT_FALSE(HugePagesOff(3, dangling, nullptr));
}

}  // namespace
}  // namespace sparkify
