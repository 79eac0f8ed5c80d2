#include "diskstore/internal/key_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>

#include "diskstore/test_util.h"

namespace sparkify::diskstore::internal {
namespace {

using testing::Entry;
using testing::PageEntries;
using testing::ReferenceEntries;

ObjectMeta Meta(const std::string& key) {
  ObjectMeta m;
  m.key = key;
  m.size = key.size();
  m.etag = testing::Md5HexOf(key);
  m.last_modified = TimePoint(std::chrono::seconds(1700000000));
  return m;
}

// Pages through the whole listing, feeding last_key back as start_after, and checks every page
// against the reference and the page size; returns all entries seen.
std::vector<Entry> WalkAll(const KeyIndex& index, ListOptions o, int* pages) {
  std::vector<Entry> all;
  *pages = 0;
  for (;;) {
    ListResult r = index.List(o);
    ++*pages;
    std::vector<Entry> page = PageEntries(r);
    EXPECT_LE(static_cast<int>(page.size()), o.max_keys);
    if (!page.empty()) {
      EXPECT_EQ(r.last_key, page.back().first);
    }
    all.insert(all.end(), page.begin(), page.end());
    if (!r.truncated) break;
    EXPECT_EQ(static_cast<int>(page.size()), o.max_keys) << "a truncated page must be full";
    o.start_after = r.last_key;
    if (*pages > 100000) {
      ADD_FAILURE() << "listing does not end";
      break;
    }
  }
  return all;
}

TEST(CompactEtagTest, RoundTrips) {
  const char* cases[] = {"d41d8cd98f00b204e9800998ecf8427e",
                         "d41d8cd98f00b204e9800998ecf8427e-1",
                         "d41d8cd98f00b204e9800998ecf8427e-10000",
                         "D41D8CD98F00B204E9800998ECF8427E",
                         "d41d8cd98f00b204e9800998ecf8427e-01",
                         "d41d8cd98f00b204e9800998ecf8427e-",
                         "d41d8cd98f00b204e9800998ecf8427e-1234567",
                         "short",
                         "",
                         "not-an-md5-at-all-but-longer-than-32-bytes"};
  for (const char* etag : cases) EXPECT_EQ(CompactEtag(etag).ToString(), etag);
}

TEST(KeyIndexTest, PutReplaceEraseGet) {
  KeyIndex index;
  index.Put(Meta("a"));
  ObjectMeta m = Meta("a");
  m.size = 99;
  index.Put(m);
  EXPECT_EQ(index.size(), 1u);
  ASSERT_TRUE(index.Get("a").has_value());
  EXPECT_EQ(index.Get("a")->size, 99u);
  EXPECT_EQ(index.Get("a")->etag, m.etag);
  EXPECT_EQ(index.Get("a")->last_modified, m.last_modified);
  index.Erase("a");
  index.Erase("missing");
  EXPECT_TRUE(index.empty());
  EXPECT_FALSE(index.Get("a").has_value());
}

// The S3 documentation's example shape, with exact expected pages.
TEST(KeyIndexTest, ExplicitCases) {
  KeyIndex index;
  for (const char* k : {"photos/2006/January/sample.jpg", "photos/2006/February/sample2.jpg",
                        "photos/2006/February/sample3.jpg", "photos/2006/index.html", "readme",
                        "zoo/a", "zoo/b"}) {
    index.Put(Meta(k));
  }
  struct Case {
    ListOptions options;
    std::vector<std::string> keys;
    std::vector<std::string> prefixes;
    bool truncated;
  };
  const Case cases[] = {
      {{"", "/", "", 1000}, {"readme"}, {"photos/", "zoo/"}, false},
      {{"photos/2006/", "/", "", 1000},
       {"photos/2006/index.html"},
       {"photos/2006/February/", "photos/2006/January/"},
       false},
      {{"photos/2006/", "/", "", 1}, {}, {"photos/2006/February/"}, true},
      {{"photos/2006/", "/", "photos/2006/February/", 1}, {}, {"photos/2006/January/"}, true},
      {{"photos/2006/", "/", "photos/2006/January/", 1}, {"photos/2006/index.html"}, {}, false},
      {{"", "/", "photos/", 2}, {"readme"}, {"zoo/"}, false},
      {{"", "", "", 0}, {}, {}, false},
      {{"", "", "zoo/b", 10}, {}, {}, false},
      {{"nothing", "/", "", 10}, {}, {}, false},
      {{"zoo/", "", "a", 1}, {"zoo/a"}, {}, true},
  };
  for (size_t i = 0; i < std::size(cases); ++i) {
    const Case& c = cases[i];
    ListResult r = index.List(c.options);
    std::vector<std::string> keys;
    for (const auto& o : r.objects) keys.push_back(o.key);
    EXPECT_EQ(keys, c.keys) << "case " << i;
    EXPECT_EQ(r.common_prefixes, c.prefixes) << "case " << i;
    EXPECT_EQ(r.truncated, c.truncated) << "case " << i;
  }
}

// Every combination of prefix, delimiter, start_after and max_keys against the brute-force
// reference, on keys made of a few bytes that include a multi-byte delimiter, 0xff and UTF-8.
TEST(KeyIndexTest, MatchesReferenceOnRandomKeys) {
  std::mt19937 rng(42);
  const std::vector<std::string> atoms = {"a", "b", "/", "-", "ab", "\xff", "\xc3\xa9", "/x"};
  std::set<std::string> key_set;
  while (key_set.size() < 600) {
    std::string k;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) k += atoms[rng() % atoms.size()];
    key_set.insert(k);
  }
  std::vector<std::string> keys(key_set.begin(), key_set.end());
  KeyIndex index;
  for (const auto& k : keys) index.Put(Meta(k));

  const std::vector<std::string> prefixes = {"", "a", "a/", "ab", "/", "\xff", "b-", "zz"};
  const std::vector<std::string> delimiters = {"", "/", "-", "ab", "\xff"};
  std::vector<std::string> starts = {"", "a", "a/", "a/a", "b", "\xff\xff", "/x/", "ab-"};
  for (int i = 0; i < 8; ++i) starts.push_back(keys[rng() % keys.size()]);
  const std::vector<int> page_sizes = {1, 2, 3, 7, 1000};
  int checked = 0;
  for (const auto& prefix : prefixes) {
    for (const auto& delim : delimiters) {
      for (const auto& start : starts) {
        ListOptions o{prefix, delim, start, 1000};
        std::vector<Entry> expected = ReferenceEntries(keys, o);
        for (int max_keys : page_sizes) {
          o.max_keys = max_keys;
          ListResult first = index.List(o);
          std::vector<Entry> page = PageEntries(first);
          size_t want = std::min<size_t>(expected.size(), static_cast<size_t>(max_keys));
          ASSERT_EQ(page, std::vector<Entry>(expected.begin(), expected.begin() + want))
              << "prefix=" << prefix << " delim=" << delim << " start=" << start
              << " max=" << max_keys;
          EXPECT_EQ(first.truncated, expected.size() > want);
          int pages = 0;
          EXPECT_EQ(WalkAll(index, o, &pages), expected)
              << "prefix=" << prefix << " delim=" << delim << " start=" << start
              << " max=" << max_keys;
          ++checked;
        }
      }
    }
  }
  EXPECT_EQ(checked, 8 * 5 * 16 * 5);
}

TEST(KeyIndexTest, MaxKeysZeroReturnsNothing) {
  KeyIndex index;
  index.Put(Meta("a"));
  ListResult r = index.List({"", "", "", 0});
  EXPECT_TRUE(r.objects.empty());
  EXPECT_TRUE(r.common_prefixes.empty());
  EXPECT_FALSE(r.truncated);
}

// One huge group under one common prefix is skipped in one seek: listing it is as fast as
// listing a single key.
TEST(KeyIndexTest, LargeGroupIsSkippedInOneSeek) {
  KeyIndex index;
  char buf[32];
  for (int i = 0; i < 200000; ++i) {
    std::snprintf(buf, sizeof(buf), "big/%07d", i);
    index.Put(Meta(buf));
  }
  index.Put(Meta("small"));
  auto start = std::chrono::steady_clock::now();
  ListResult r;
  for (int i = 0; i < 1000; ++i) r = index.List({"", "/", "", 1000});
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
                  .count() / 1000;
  std::printf("[ timing ] delimiter listing over a 200000-key group: %.1f us per page\n", us);
  EXPECT_EQ(r.common_prefixes, std::vector<std::string>{"big/"});
  ASSERT_EQ(r.objects.size(), 1u);
  EXPECT_LT(us, 10000.0);
}

}  // namespace
}  // namespace sparkify::diskstore::internal
