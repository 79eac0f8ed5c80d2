// Helpers shared by the network's tests (network_test.cpp, network_compact_test.cpp): the
// engine's output against the naive reference, and which steps ran on what.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "nn/network.h"
#include "nn/test_util.h"

namespace sparkify::nn::testing {

struct Diff {
  double max = 0, mean = 0;
};

inline Diff Compare(const std::vector<float>& a, const std::vector<float>& b) {
  Diff d;
  EXPECT_EQ(a.size(), b.size());
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    double e = std::fabs(double(a[i]) - b[i]);
    d.max = std::max(d.max, e);
    d.mean += e;
  }
  d.mean /= std::max<size_t>(a.size(), 1);
  return d;
}

// Whether this CPU runs our own Winograd kernel (AVX-512 or AVX2), whose steps the tests name.
inline bool OwnWinogradCpu() {
  return CpuIsaName().rfind("avx512", 0) == 0 || CpuIsaName().rfind("avx2", 0) == 0;
}

// How many steps ran on an implementation whose name starts with `prefix` ("wino6x3c:").
inline int CountSteps(const std::vector<StepTiming>& timings, const std::string& prefix) {
  int n = 0;
  for (const auto& st : timings) n += st.impl.rfind(prefix, 0) == 0;
  return n;
}

// Runs `file` at h x w on `in` once, with `options`: the output, or why the network could not
// be made or run.
inline Result<Tensor> RunOnce(const std::string& file, const NetworkOptions& options,
                              const std::vector<float>& in, int h, int w,
                              std::vector<StepTiming>* timings = nullptr) {
  auto net = Network::Create(file, options);
  if (!net.ok()) return net.status();
  return (*net)->Run(in.data(), h, w, timings);
}

// Runs `file` at h x w with the engine and with the naive reference; returns the difference.
inline Diff RunBoth(const std::string& file, int h, int w, NetworkOptions options = {},
                    std::vector<StepTiming>* timings = nullptr) {
  auto net = Network::Create(file, options);
  EXPECT_TRUE(net.ok()) << net.status().ToString();
  if (!net.ok()) return {1e9, 1e9};
  std::vector<float> x = RandomInput((*net)->graph().input_channels, h, w);
  auto got = (*net)->Run(x.data(), h, w, timings);
  EXPECT_TRUE(got.ok()) << got.status().ToString();
  if (!got.ok()) return {1e9, 1e9};
  std::vector<float> want = Reference((*net)->graph(), x, h, w);
  return Compare(got->data, want);
}

}  // namespace sparkify::nn::testing
