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

}  // namespace
}  // namespace sparkify
