#include "web/internal/share_link.h"
#include "web/internal/share.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

const TimePoint kNow = FromUnixSeconds(1800000000);
const std::string kKey = ShareLinkKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");

TEST(ShareLinkTest, ATokenNamesItsPngUntilItExpires) {
  std::string token = MakeShareToken(kKey, "collages/abc-7.png", kNow + std::chrono::hours(1));
  EXPECT_EQ(token.find_first_of("+/= "), std::string::npos) << token;  // URL-safe as it is
  ShareLink link;
  EXPECT_EQ(CheckShareToken(kKey, token, kNow, &link), ShareCheck::kValid);
  EXPECT_EQ(link.png_key, "collages/abc-7.png");
  EXPECT_EQ(link.expires, kNow + std::chrono::hours(1));
  EXPECT_EQ(CheckShareToken(kKey, token, kNow + std::chrono::hours(2), &link),
            ShareCheck::kExpired);
}

TEST(ShareLinkTest, ForgedStretchedOrForeignTokensAreInvalid) {
  std::string token = MakeShareToken(kKey, "collages/abc-7.png", kNow + std::chrono::hours(1));
  ShareLink link;
  // Another replica's key, or none of ours.
  EXPECT_EQ(CheckShareToken(ShareLinkKey("other secret"), token, kNow, &link),
            ShareCheck::kInvalid);
  // A later expiry or another object with the old seal.
  std::string stretched =
      MakeShareToken("attacker", "collages/abc-7.png", kNow + std::chrono::hours(9999));
  std::string seal = token.substr(token.find('.'));
  EXPECT_EQ(CheckShareToken(kKey, stretched.substr(0, stretched.find('.')) + seal, kNow, &link),
            ShareCheck::kInvalid);
  // Properly sealed, but not one of our collage PNGs: refused all the same.
  for (const char* key : {"uploads/x.png", "collages/../uploads/x.png", "collages/a.jpg"}) {
    EXPECT_EQ(
        CheckShareToken(kKey, MakeShareToken(kKey, key, kNow + std::chrono::hours(1)), kNow, &link),
        ShareCheck::kInvalid)
        << key;
  }
  for (const char* bad : {"", ".", "abc", "abc.def", "a+b.c", "!!!.???"}) {
    EXPECT_EQ(CheckShareToken(kKey, bad, kNow, &link), ShareCheck::kInvalid) << bad;
  }
  EXPECT_EQ(CheckShareToken(kKey, token.substr(0, token.size() - 2), kNow, &link),
            ShareCheck::kInvalid);
}

TEST(ShareLinkTest, PagesEscapeWhatTheyShow) {
  std::string page = SharePage("https://s3/x?a=1&b=<2>", "http://h/s/t.png", "http://h/s/t", kNow);
  EXPECT_NE(page.find("src=\"https://s3/x?a=1&amp;b=&lt;2&gt;\""), std::string::npos);
  EXPECT_NE(page.find("<meta property=\"og:image\" content=\"http://h/s/t.png\">"),
            std::string::npos);
  EXPECT_NE(page.find("datetime=\"2027-01-15T08:00:00.000Z\""), std::string::npos) << page;
  EXPECT_NE(ShareGonePage(ShareGone::kExpired).find("has expired"), std::string::npos);
  EXPECT_NE(ShareGonePage(ShareGone::kInvalid).find("No such collage"), std::string::npos);
  EXPECT_NE(ShareGonePage(ShareGone::kMissing).find("no longer kept"), std::string::npos);
}

TEST(ShareLinkTest, TheSharedPngsNameHidesTheJob) {
  const std::string key = SharedPngKey(kKey, "0123abcd", 7);
  EXPECT_EQ(key.size(), std::string("collages/").size() + 32 + 4);
  EXPECT_TRUE(key.starts_with("collages/") && key.ends_with(".png")) << key;
  EXPECT_EQ(key.find("0123abcd"), std::string::npos);
  EXPECT_EQ(key, SharedPngKey(kKey, "0123abcd", 7));  // rendered once per seed
  EXPECT_NE(key, SharedPngKey(kKey, "0123abcd", 8));
  EXPECT_NE(key, SharedPngKey(kKey, "0123abce", 7));
  EXPECT_NE(key, SharedPngKey("another key", "0123abcd", 7));
}

}  // namespace
}  // namespace sparkify::web::internal
