#include <chrono>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/match.h"
#include "policy/policy.h"

namespace sparkify::policy {
namespace {

struct WildcardCase {
  int id;
  const char* pattern;
  const char* text;
  bool ignore_case;
  bool want;
};

TEST(WildcardMatchTest, Table) {
  const WildcardCase cases[] = {
      {1, "", "", false, true},
      {2, "", "a", false, false},
      {3, "*", "", false, true},
      {4, "*", "anything/at all", false, true},
      {5, "?", "", false, false},
      {6, "?", "a", false, true},
      {7, "?", "ab", false, false},
      {8, "a?c", "abc", false, true},
      {9, "a?c", "ac", false, false},
      {10, "a*c", "ac", false, true},
      {11, "a*c", "abbbc", false, true},
      {12, "a*c", "abbbd", false, false},
      {13, "s3:Get*", "s3:GetObject", false, true},
      {14, "s3:Get*", "s3:PutObject", false, false},
      {15, "s3:get*", "s3:GetObject", false, false},
      {16, "s3:get*", "s3:GetObject", true, true},
      {17, "S3:GETOBJECT", "s3:getobject", true, true},
      {18, "**", "x", false, true},
      {19, "a*", "b", false, false},
      {20, "*.png", "x.png.jpg", false, false},
      {21, "*.png", "x.jpg.png", false, true},
      {22, "ab*cd*ef", "abxxcdyyef", false, true},
      {23, "ab*cd*ef", "abxxcdyyeff", false, false},
      {24, "*x*", "axbxc", false, true},
      {25, "*a*b", "ab", false, true},
      {26, "uploads/??.png", "uploads/ab.png", false, true},
      {27, "uploads/??.png", "uploads/abc.png", false, false},
      {28, "*?", "", false, false},
      {29, "*?*", "z", false, true},
      {30, "a*b*c", "aXbYbZc", false, true},
      {31, "a*b*c", "acb", false, false},
      {32, "\xc3\x89", "\xc3\xa9", true, false},  // only ASCII folds
      {33, "*/*", "no-slash", false, false},
      {34, "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false, false},
      {35, "arn:aws:s3:::bucket*", "arn:aws:s3:::bucket", false, true},
  };
  for (const WildcardCase& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c.id) + ": " + c.pattern + " ~ " + c.text);
    EXPECT_EQ(WildcardMatch(c.pattern, c.text, c.ignore_case), c.want);
  }
}

// Reference matcher: dynamic programming over (pattern prefix, text prefix).
bool ReferenceMatch(const std::string& p, const std::string& t) {
  std::vector<std::vector<bool>> m(p.size() + 1, std::vector<bool>(t.size() + 1, false));
  m[0][0] = true;
  for (size_t i = 1; i <= p.size(); ++i) {
    for (size_t j = 0; j <= t.size(); ++j) {
      if (p[i - 1] == '*') {
        m[i][j] = m[i - 1][j] || (j > 0 && m[i][j - 1]);
      } else if (j > 0) {
        m[i][j] = m[i - 1][j - 1] && (p[i - 1] == '?' || p[i - 1] == t[j - 1]);
      }
    }
  }
  return m[p.size()][t.size()];
}

TEST(WildcardMatchTest, AgreesWithReferenceOnRandomInputs) {
  std::mt19937 rng(12345);
  const char pattern_alphabet[] = "ab*?";
  const char text_alphabet[] = "ab";
  for (int round = 0; round < 20000; ++round) {
    std::string p, t;
    for (int i = rng() % 9; i > 0; --i) p += pattern_alphabet[rng() % 4];
    for (int i = rng() % 11; i > 0; --i) t += text_alphabet[rng() % 2];
    ASSERT_EQ(WildcardMatch(p, t), ReferenceMatch(p, t)) << "pattern " << p << " text " << t;
  }
}

TEST(WildcardMatchTest, PathologicalPatternsStayFast) {
  const std::string text(100000, 'a');
  const char* patterns[] = {"*a*a*a*a*b", "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", "*?*?*?*?*?*?b",
                            "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*ab"};
  auto start = std::chrono::steady_clock::now();
  for (const char* p : patterns) {
    EXPECT_FALSE(WildcardMatch(p, text)) << p;
    EXPECT_TRUE(WildcardMatch(std::string(p).substr(0, std::string(p).size() - 1), text)) << p;
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  // Exponential backtracking would not finish at all; linear-ish takes milliseconds.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(GlobMatchTest, LiteralMaskDisablesWildcards) {
  const std::string pattern = "home/*x";
  const uint8_t literal[] = {0, 0, 0, 0, 0, 1, 0};
  EXPECT_TRUE(GlobMatch(pattern, literal, "home/*x", false));
  EXPECT_FALSE(GlobMatch(pattern, literal, "home/abcx", false));
  EXPECT_TRUE(GlobMatch(pattern, nullptr, "home/abcx", false));
}

struct ArnCase {
  int id;
  const char* pattern;
  const char* arn;
  bool want;
};

TEST(ArnMatchTest, Table) {
  const ArnCase cases[] = {
      {1, "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c", true},
      {2, "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket", false},
      {3, "arn:aws:lambda:*:111122223333:function:f",
       "arn:aws:lambda:us-east-1:111122223333:function:f", true},
      // A wildcard stays inside its field: "*" cannot swallow "s3:x:y".
      {4, "arn:aws:*:::b", "arn:aws:s3:x:y:::b", false},
      {5, "arn:aws:*:::b", "arn:aws:s3:::b", true},
      {6, "*", "arn:aws:s3:::b", true},
      {7, "arn:aws:s3:::B", "arn:aws:s3:::b", false},
      {8, "arn:aws:s3:::b?", "arn:aws:s3:::b1", true},
      {9, "arn:*", "arn:aws:s3:::b", true},  // too few fields: whole-string match
      {10, "arn:aws:s3:::b", "not-an-arn", false},
  };
  for (const ArnCase& c : cases) {
    SCOPED_TRACE("case " + std::to_string(c.id));
    EXPECT_EQ(ArnMatch(c.pattern, nullptr, c.arn), c.want);
  }
}

}  // namespace
}  // namespace sparkify::policy
