// What the engine takes from the process: its threads (DefaultThreads, OMP_NUM_THREADS) and
// its large buffers' pages (AllocateLarge, NetworkOptions::huge_pages).
#include <gtest/gtest.h>
#include <sched.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "nn/internal/compile.h"
#include "nn/network.h"

namespace sparkify::nn {
namespace {

TEST(ResourcesTest, OmpNumThreadsCapsTheDefaultThreads) {
  cpu_set_t set;
  ASSERT_EQ(sched_getaffinity(0, sizeof set, &set), 0);
  const int cpus = CPU_COUNT(&set);
  const char* before = std::getenv("OMP_NUM_THREADS");
  const std::string saved = before != nullptr ? before : "";
  unsetenv("OMP_NUM_THREADS");
  EXPECT_EQ(DefaultThreads(), cpus);
  setenv("OMP_NUM_THREADS", "1", 1);
  EXPECT_EQ(DefaultThreads(), 1);
  setenv("OMP_NUM_THREADS", "1,4", 1);  // nested levels: the first is ours
  EXPECT_EQ(DefaultThreads(), 1);
  for (const char* one : {" 1", "+1", "1 ", "\t1\t"}) {  // as libgomp reads them
    setenv("OMP_NUM_THREADS", one, 1);
    EXPECT_EQ(DefaultThreads(), 1) << "OMP_NUM_THREADS=\"" << one << "\"";
  }
  setenv("OMP_NUM_THREADS", "4096", 1);  // a cap, never more than the CPUs
  EXPECT_EQ(DefaultThreads(), cpus);
  for (const char* junk : {"0", "-2", "two", "", "1x", "1,", "99999999999999999999999"}) {
    setenv("OMP_NUM_THREADS", junk, 1);
    EXPECT_EQ(DefaultThreads(), cpus) << "OMP_NUM_THREADS=\"" << junk << "\"";
  }
  if (before != nullptr) {
    setenv("OMP_NUM_THREADS", saved.c_str(), 1);
  } else {
    unsetenv("OMP_NUM_THREADS");
  }
}

// The VmFlags line of the mapping that holds `p`, from /proc/self/smaps.
std::string VmFlagsOf(const void* p) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(p);
  bool inside = false;
  for (std::string line; std::getline(smaps, line);) {
    uintptr_t from = 0, to = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> from >> dash >> to && dash == '-') {
      inside = from <= at && at < to;
    } else if (inside && line.rfind("VmFlags:", 0) == 0) {
      return line;
    }
  }
  return "";
}

TEST(ResourcesTest, LargeBuffersAskForHugePagesOrNot) {
  if (!std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled")) {
    GTEST_SKIP() << "this kernel has no transparent huge pages: madvise refuses both advices";
  }
  for (bool huge : {true, false}) {
    std::shared_ptr<void> m = internal::AllocateLarge(5u << 20, huge);
    ASSERT_NE(m, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(m.get()) % (2u << 20), 0u);  // huge-page aligned
    static_cast<char*>(m.get())[(5u << 20) - 1] = 1;                   // the whole size is there
    const std::string flags = VmFlagsOf(m.get());
    ASSERT_FALSE(flags.empty());
    // hg: MADV_HUGEPAGE; nh: MADV_NOHUGEPAGE (proc(5)).
    EXPECT_NE(flags.find(huge ? " hg" : " nh"), std::string::npos) << huge << ": " << flags;
    EXPECT_EQ(flags.find(huge ? " nh" : " hg"), std::string::npos) << huge << ": " << flags;
  }
}

}  // namespace
}  // namespace sparkify::nn
