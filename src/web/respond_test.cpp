#include "web/internal/respond.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseUntrustedJson, RefusesDocumentsNestedDeeperThanTheLimit) {
  EXPECT_TRUE(ParseUntrustedJson(Nested(kMaxJsonDepth)).is_array());
  EXPECT_TRUE(ParseUntrustedJson(Nested(kMaxJsonDepth + 1)).is_discarded());
  // Deep enough that building, dumping or comparing it would overflow the stack.
  EXPECT_TRUE(ParseUntrustedJson("{\"urls\":[" + Nested(125000) + "]}").is_discarded());
  std::string objects;
  for (int i = 0; i < 100000; ++i) objects += "{\"a\":";
  objects += "1" + std::string(100000, '}');
  EXPECT_TRUE(ParseUntrustedJson(objects).is_discarded());
  // Brackets inside strings do not count.
  EXPECT_EQ(ParseUntrustedJson("{\"a\":\"" + Nested(1000) + "\"}")["a"], Nested(1000));
  EXPECT_EQ(ParseUntrustedJson("[[1]]", 2), nlohmann::json::parse("[[1]]"));
  EXPECT_TRUE(ParseUntrustedJson("[[[1]]]", 2).is_discarded());
  EXPECT_TRUE(ParseUntrustedJson("{\"a\":").is_discarded());
}

TEST(JsonTypeName, NamesEveryType) {
  using json = nlohmann::json;
  EXPECT_EQ(JsonTypeName(json(5)), "number");
  EXPECT_EQ(JsonTypeName(json(-5)), "number");
  EXPECT_EQ(JsonTypeName(json(0.5)), "number");
  EXPECT_EQ(JsonTypeName(json::array()), "array");
  EXPECT_EQ(JsonTypeName(json::object()), "object");
  EXPECT_EQ(JsonTypeName(json("x")), "string");
  EXPECT_EQ(JsonTypeName(json(nullptr)), "null");
}

// A visitor reads a sentence; the store's own words (codes, hosts, keys) stay in the log.
TEST(StoreTrouble, TellsThePersonWithoutTheStoresWords) {
  const Status cause = Status::PermissionDenied(
      "[HTTP 403 InvalidAccessKeyId] The AWS access key ID you provided does not exist in our "
      "records. (PUT http://127.0.0.1:9100/sparkify/uploads/abc.png)");
  const std::string said = StoreTrouble("Could not store the cover.", cause);
  EXPECT_EQ(said.rfind("Could not store the cover. ", 0), 0u) << said;
  for (const char* hidden : {"InvalidAccessKeyId", "403", "127.0.0.1", "uploads/"}) {
    EXPECT_EQ(said.find(hidden), std::string::npos) << said;
  }
  const http::Response res = StoreErrorResponse("Cannot prepare the upload.", cause);
  EXPECT_EQ(res.status, 502);
  EXPECT_NE(res.body.find("\"store_error\""), std::string::npos) << res.body;
  EXPECT_EQ(res.body.find("InvalidAccessKeyId"), std::string::npos) << res.body;
}

}  // namespace
}  // namespace sparkify::web::internal
