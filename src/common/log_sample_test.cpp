#include "common/log_sample.h"

#include <gtest/gtest.h>

#include <vector>

namespace sparkify {
namespace {

TEST(SampledOccurrence, TheFirstTenThenEveryHundredth) {
  std::atomic<uint64_t> count{0};
  std::vector<uint64_t> logged;
  for (int i = 0; i < 350; ++i) {
    if (const uint64_t n = SampledOccurrence(count)) logged.push_back(n);
  }
  EXPECT_EQ(logged, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 200, 300}));
  EXPECT_EQ(count.load(), 350u);
}

}  // namespace
}  // namespace sparkify
