// ChildTree (sparkify up's process tree) with /bin/sh children: what it relays while stopping
// and whether it reports a child it had to kill.
#include "cli/up_children.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace sparkify::cli
