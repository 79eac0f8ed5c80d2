// ChildTree (sparkify up's process tree) with /bin/sh children: what it relays while stopping
// and whether it reports a child it had to kill.
#include "cli/up_children.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace sparkify::cli {
namespace {

process::SpawnSpec Shell(const std::string& script) {
  process::SpawnSpec spec;
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {"PATH=/usr/bin:/bin"};
  return spec;
}

TEST(SupervisedChildren, StopAllRelaysLastWordsAndReportsAKilledChild) {
  ChildTree tree;
  // Says goodbye on SIGTERM and exits.
  ASSERT_TRUE(tree.StartAndWait("polite",
                                Shell("trap 'echo polite bye; exit 0' TERM; echo ready; "
                                      "while :; do sleep 0.1; done"),
                                "ready", std::chrono::seconds(20))
                  .ok());
  // Ignores SIGTERM: only SIGKILL ends it.
  ASSERT_TRUE(tree.StartAndWait("stubborn",
                                Shell("trap '' TERM; echo ready; while :; do sleep 0.1; done"),
                                "ready", std::chrono::seconds(20))
                  .ok());
  testing::internal::CaptureStderr();
  std::vector<std::string> killed = tree.StopAll(std::chrono::seconds(1));
  std::string said = testing::internal::GetCapturedStderr();
  EXPECT_EQ(killed, std::vector<std::string>{"stubborn"});
  EXPECT_NE(said.find("[polite] polite bye"), std::string::npos) << said;
}

TEST(SupervisedChildren, StopAllOfCleanChildrenKillsNone) {
  ChildTree tree;
  ASSERT_TRUE(tree.StartAndWait("quick", Shell("echo ready; exec sleep 30"), "ready",
                                std::chrono::seconds(20))
                  .ok());
  EXPECT_TRUE(tree.StopAll(std::chrono::seconds(5)).empty());
}

// The web app saves its jobs' state to the store as it stops: a child is stopped only after
// every child started after it has exited.
TEST(SupervisedChildren, StopAllStopsTheLastStartedFirstAndWaitsForIt) {
  const std::string dir = testing::TempDir() + "/stop_order_" + std::to_string(::getpid());
  ASSERT_EQ(std::system(("rm -rf " + dir + " && mkdir -p " + dir).c_str()), 0);
  ChildTree tree;
  // The store: on SIGTERM, notes whether the web app had already finished stopping.
  ASSERT_TRUE(tree.StartAndWait("store",
                                Shell("trap 'if [ -e " + dir + "/web-done ]; then echo after > " +
                                      dir + "/order; else echo before > " + dir +
                                      "/order; fi; exit 0' TERM; echo ready; "
                                      "while :; do sleep 0.05; done"),
                                "ready", std::chrono::seconds(20))
                  .ok());
  // The web app: takes a while to stop (saving its jobs), then says it is done.
  ASSERT_TRUE(tree.StartAndWait("web",
                                Shell("trap 'sleep 0.5; touch " + dir +
                                      "/web-done; exit 0' TERM; echo ready; "
                                      "while :; do sleep 0.05; done"),
                                "ready", std::chrono::seconds(20))
                  .ok());
  EXPECT_TRUE(tree.StopAll(std::chrono::seconds(10)).empty());
  std::ifstream order(dir + "/order");
  std::string word;
  order >> word;
  EXPECT_EQ(word, "after");
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace sparkify::cli
