// S3ObjectStore against a real store in this process: a HEAD gives the SHA-256 the store
// verified at upload, and only then.
#include "function/object_store.h"

#include <gtest/gtest.h>

#include "common/crypto.h"
#include "function/test_util.h"

namespace sparkify::function {
namespace {

using testing::InProcessStore;

TEST(S3ObjectStoreTest, HeadGivesTheVerifiedSha256OfObjectsPutWithOne) {
  InProcessStore store;
  const std::string body = "the bytes of a cover";
  s3client::PutOptions summed;
  summed.checksum_sha256 = true;
  ASSERT_TRUE(store.client().PutObject(InProcessStore::kBucket, "uploads/a", body, summed).ok());
  store.Put("uploads/b", body);  // no checksum sent

  auto a = store.objects().Head("uploads/a");
  ASSERT_TRUE(a.ok() && a->has_value()) << a.status().ToString();
  EXPECT_EQ((*a)->sha256, Sha256Hex(body));
  EXPECT_EQ((*a)->size, body.size());
  auto b = store.objects().Head("uploads/b");
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_EQ((*b)->sha256, "");
  auto missing = store.objects().Head("uploads/none");
  ASSERT_TRUE(missing.ok());
  EXPECT_FALSE(missing->has_value());

  // The function's own PUTs (cut-outs) carry their checksum too.
  ASSERT_TRUE(store.objects().Put("cutouts/c.png", "png", "image/png", {{"model", "m"}}).ok());
  auto c = store.objects().Head("cutouts/c.png");
  ASSERT_TRUE(c.ok() && c->has_value());
  EXPECT_EQ((*c)->sha256, Sha256Hex("png"));
  EXPECT_EQ((*c)->Meta("model"), "m");
}

TEST(S3ObjectStoreTest, ACallersSha256IsUsedAndAWrongOneRefused) {
  InProcessStore store;
  const std::string body = "bytes hashed once, by the caller";
  s3client::PutOptions put;
  put.checksum_sha256 = true;
  put.body_sha256 = Sha256(body);
  ASSERT_TRUE(store.client().PutObject(InProcessStore::kBucket, "uploads/a", body, put).ok());
  auto a = store.objects().Head("uploads/a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ((*a)->sha256, Sha256Hex(body));

  put.body_sha256 = Sha256("other bytes");
  auto wrong = store.client().PutObject(InProcessStore::kBucket, "uploads/b", body, put);
  EXPECT_FALSE(wrong.ok());
  auto b = store.objects().Head("uploads/b");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());  // nothing stored
  put.body_sha256 = "short";
  EXPECT_EQ(
      store.client().PutObject(InProcessStore::kBucket, "uploads/c", body, put).status().code(),
      Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace sparkify::function
