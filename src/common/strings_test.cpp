#include "common/strings.h"

#include <gtest/gtest.h>

namespace sparkify {
namespace {

TEST(StringsTest, CaseIsFoldedForAsciiLettersOnly) {
  EXPECT_EQ(AsciiLowerString("Content-MD5 \xC3\x89"), "content-md5 \xC3\x89");
  EXPECT_TRUE(EqualsIgnoreCase("X-Amz-Date", "x-amz-date"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("host", "hosts"));
  EXPECT_FALSE(EqualsIgnoreCase("\xC3\x89", "\xC3\xA9"));  // not ASCII: compared as bytes
  EXPECT_FALSE(EqualsIgnoreCase("[", "{"));                // 0x5b vs 0x7b are not letters
}

TEST(StringsTest, TrimsOnlyWhatItSays) {
  EXPECT_EQ(TrimSpaceAndTab(" \t a b \t "), "a b");
  EXPECT_EQ(TrimSpaceAndTab("\r a \r"), "\r a \r");
  EXPECT_EQ(TrimSpaceAndTab(" \t "), "");
  EXPECT_EQ(TrimSpaceAndTab(""), "");
  EXPECT_EQ(TrimAsciiWhitespace("\r\n\t a\tb \f\v"), "a\tb");
  EXPECT_EQ(TrimChars("xxaxbxx", "x"), "axb");
}

}  // namespace
}  // namespace sparkify
