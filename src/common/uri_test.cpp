#include "common/uri.h"

#include <gtest/gtest.h>

namespace sparkify {
namespace {

TEST(UriTest, EncodesEverythingButUnreserved) {
  EXPECT_EQ(UriEncode("a b+c/d~e"), "a%20b%2Bc%2Fd~e");
  EXPECT_EQ(UriEncode("a b+c/d~e", true), "a%20b%2Bc/d~e");
  EXPECT_EQ(UriEncode("\xc3\xa9"), "%C3%A9");
}

TEST(UriTest, DecodesAndRejectsMalformed) {
  EXPECT_EQ(UriDecode("a%20b%2bc"), "a b+c");
  EXPECT_EQ(UriDecode("a+b"), "a+b");
  EXPECT_EQ(UriDecode("a+b", true), "a b");
  EXPECT_FALSE(UriDecode("%"));
  EXPECT_FALSE(UriDecode("%2"));
  EXPECT_FALSE(UriDecode("%zz"));
}

TEST(UriTest, Utf8IsCheckedStrictly) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain/key.txt"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\xB5"));  // é € 🎵
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));                           // U+10FFFF
  EXPECT_FALSE(IsValidUtf8("h\xFF"));
  EXPECT_FALSE(IsValidUtf8("\xAE\x8A-"));         // continuation bytes first
  EXPECT_FALSE(IsValidUtf8("\xC3"));              // cut short
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // a surrogate
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // past U+10FFFF
}

TEST(UriTest, ParsesQueryKeepingOrderAndValuelessKeys) {
  auto q = ParseQuery("uploads&prefix=a%2Fb&x=");
  ASSERT_TRUE(q);
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ((*q)[0].key, "uploads");
  EXPECT_FALSE((*q)[0].has_value);
  EXPECT_EQ((*q)[1].value, "a/b");
  EXPECT_TRUE((*q)[2].has_value);
  EXPECT_EQ((*q)[2].value, "");
  EXPECT_FALSE(ParseQuery("a=%G0"));
}

}  // namespace
}  // namespace sparkify
