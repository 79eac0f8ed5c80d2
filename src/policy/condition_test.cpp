// Condition operators, one table per family: each case is a Condition block guarding an
// Allow, a request context, and whether the request is allowed.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "policy/policy.h"
#include "policy/test_util.h"

namespace sparkify::policy {
namespace {

using testing::AllowWhen;
using testing::ConditionCase;
using testing::Context;
using testing::RunTable;

TEST(ConditionTest, StringOperators) {
  RunTable({
      {1, R"({"StringEquals":{"s3:prefix":"home/"}})", {{"s3:prefix", {"home/"}}}, true},
      {2, R"({"StringEquals":{"s3:prefix":"home/"}})", {{"s3:prefix", {"Home/"}}}, false},
      {3, R"({"StringEquals":{"s3:prefix":["a","b"]}})", {{"s3:prefix", {"b"}}}, true},
      {4, R"({"StringEquals":{"S3:Prefix":"a"}})", {{"s3:PREFIX", {"a"}}}, true},
      {5, R"({"StringNotEquals":{"s3:prefix":"a"}})", {{"s3:prefix", {"b"}}}, true},
      {6, R"({"StringNotEquals":{"s3:prefix":"a"}})", {{"s3:prefix", {"a"}}}, false},
      {7, R"({"StringNotEquals":{"s3:prefix":"a"}})", {}, true},  // missing key
      {8, R"({"StringEqualsIgnoreCase":{"s3:prefix":"HOME/"}})", {{"s3:prefix", {"home/"}}}, true},
      {9,
       R"({"StringNotEqualsIgnoreCase":{"s3:prefix":"HOME/"}})",
       {{"s3:prefix", {"home/"}}},
       false},
      {10, R"({"StringNotEqualsIgnoreCase":{"s3:prefix":"HOME/"}})", {{"s3:prefix", {"x"}}}, true},
      {11, R"({"StringLike":{"s3:prefix":"home/*"}})", {{"s3:prefix", {"home/x/y"}}}, true},
      {12, R"({"StringLike":{"s3:prefix":"home/*"}})", {{"s3:prefix", {"other"}}}, false},
      {13, R"({"StringLike":{"s3:prefix":"home/?"}})", {{"s3:prefix", {"home/xy"}}}, false},
      {14, R"({"StringNotLike":{"s3:prefix":"home/*"}})", {{"s3:prefix", {"other"}}}, true},
      {15, R"({"StringNotLike":{"s3:prefix":"home/*"}})", {{"s3:prefix", {"home/a"}}}, false},
      {16, R"({"StringNotLike":{"s3:prefix":"home/*"}})", {}, true},
      {17, R"({"StringEquals":{"s3:prefix":"a"}})", {}, false},
      {18, R"({"StringLike":{"s3:prefix":"a"}})", {}, false},
      {19, R"({"StringEquals":{"s3:prefix":"home/*"}})", {{"s3:prefix", {"home/x"}}}, false},
      {20, R"({"StringEquals":{"s3:prefix":"home/*"}})", {{"s3:prefix", {"home/*"}}}, true},
      {21, R"({"StringEqualsIfExists":{"s3:prefix":"a"}})", {}, true},
      {22, R"({"StringEqualsIfExists":{"s3:prefix":"a"}})", {{"s3:prefix", {"b"}}}, false},
      {23, R"({"StringLikeIfExists":{"s3:prefix":"a*"}})", {{"s3:prefix", {"ab"}}}, true},
      {24, R"({"StringEquals":{"s3:prefix":""}})", {{"s3:prefix", {""}}}, true},
      // Several keys under one operator are AND'ed.
      {25,
       R"({"StringEquals":{"s3:prefix":"a","aws:username":"alice"}})",
       {{"s3:prefix", {"a"}}, {"aws:username", {"alice"}}},
       true},
      {26,
       R"({"StringEquals":{"s3:prefix":"a","aws:username":"alice"}})",
       {{"s3:prefix", {"a"}}, {"aws:username", {"bob"}}},
       false},
      // Several operators are AND'ed.
      {27,
       R"({"StringEquals":{"s3:prefix":"a"},"Bool":{"aws:SecureTransport":"true"}})",
       {{"s3:prefix", {"a"}}, {"aws:SecureTransport", {"true"}}},
       true},
      {28,
       R"({"StringEquals":{"s3:prefix":"a"},"Bool":{"aws:SecureTransport":"true"}})",
       {{"s3:prefix", {"a"}}, {"aws:SecureTransport", {"false"}}},
       false},
      {29, R"({"stringequals":{"s3:prefix":"a"}})", {{"s3:prefix", {"a"}}}, true},
      {30,
       R"({"StringEquals":{"s3:authType":"REST-QUERY-STRING"}})",
       {{"s3:authType", {"REST-HEADER"}}},
       false},
  });
}

TEST(ConditionTest, NumericOperators) {
  RunTable({
      {1, R"({"NumericLessThan":{"s3:max-keys":"10"}})", {{"s3:max-keys", {"5"}}}, true},
      {2, R"({"NumericLessThan":{"s3:max-keys":"10"}})", {{"s3:max-keys", {"10"}}}, false},
      {3, R"({"NumericLessThanEquals":{"s3:max-keys":10}})", {{"s3:max-keys", {"10"}}}, true},
      {4, R"({"NumericGreaterThan":{"s3:max-keys":10}})", {{"s3:max-keys", {"11"}}}, true},
      {5, R"({"NumericGreaterThan":{"s3:max-keys":10}})", {{"s3:max-keys", {"10"}}}, false},
      {6, R"({"NumericGreaterThanEquals":{"s3:max-keys":10}})", {{"s3:max-keys", {"10"}}}, true},
      {7, R"({"NumericEquals":{"s3:max-keys":10}})", {{"s3:max-keys", {"10.0"}}}, true},
      {8, R"({"NumericEquals":{"s3:max-keys":[1,2,3]}})", {{"s3:max-keys", {"2"}}}, true},
      {9, R"({"NumericNotEquals":{"s3:max-keys":10}})", {{"s3:max-keys", {"11"}}}, true},
      {10, R"({"NumericNotEquals":{"s3:max-keys":10}})", {{"s3:max-keys", {"10"}}}, false},
      {11, R"({"NumericEquals":{"s3:max-keys":10}})", {{"s3:max-keys", {"ten"}}}, false},
      {12, R"({"NumericNotEquals":{"s3:max-keys":10}})", {{"s3:max-keys", {"ten"}}}, true},
      {13, R"({"NumericLessThan":{"s3:max-keys":10}})", {}, false},
      {14, R"({"NumericLessThanIfExists":{"s3:max-keys":10}})", {}, true},
      {15,
       R"({"NumericLessThan":{"s3:signatureAge":600000}})",
       {{"s3:signatureAge", {"1234"}}},
       true},
      {16,
       R"({"NumericLessThan":{"s3:signatureAge":"6e5"}})",
       {{"s3:signatureAge", {"700000"}}},
       false},
      {17, R"({"NumericGreaterThan":{"x:n":-1.5}})", {{"x:n", {"-1"}}}, true},
      {18, R"({"NumericNotEquals":{"s3:max-keys":10}})", {}, true},
  });
}

TEST(ConditionTest, DateOperators) {
  const Context now = {{"aws:CurrentTime", {"2026-11-27T10:00:00Z"}}};
  RunTable({
      {1, R"({"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}})", now, true},
      {2, R"({"DateGreaterThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}})", now, false},
      {3, R"({"DateGreaterThan":{"aws:CurrentTime":"2026-01-01"}})", now, true},
      {4, R"({"DateEquals":{"aws:CurrentTime":"2026-11-27T11:00:00+01:00"}})", now, true},
      {5, R"({"DateEquals":{"aws:CurrentTime":"2026-11-27T10:00:00.000Z"}})", now, true},
      {6, R"({"DateNotEquals":{"aws:CurrentTime":"2026-11-27T10:00:01Z"}})", now, true},
      {7, R"({"DateLessThanEquals":{"aws:CurrentTime":"2026-11-27T10:00:00Z"}})", now, true},
      {8, R"({"DateLessThan":{"aws:CurrentTime":"2026-11-27T10:00:00Z"}})", now, false},
      {9, R"({"DateGreaterThanEquals":{"aws:CurrentTime":"20261127T100000Z"}})", now, true},
      // Epoch seconds on either side: 1795000000 is 2026-11-18T11:06:40Z.
      {10,
       R"({"DateEquals":{"aws:CurrentTime":"1795000000"}})",
       {{"aws:CurrentTime", {"2026-11-18T11:06:40Z"}}},
       true},
      {11,
       R"({"DateLessThan":{"aws:EpochTime":"2026-11-18T11:06:41Z"}})",
       {{"aws:EpochTime", {"1795000000"}}},
       true},
      {12,
       R"({"DateLessThan":{"aws:EpochTime":1795000000}})",
       {{"aws:EpochTime", {"1795000000"}}},
       false},
      {13, R"({"DateLessThan":{"aws:CurrentTime":"2030-01-01"}})", {}, false},
      {14, R"({"DateLessThanIfExists":{"aws:CurrentTime":"2030-01-01"}})", {}, true},
      {15,
       R"({"DateLessThan":{"aws:CurrentTime":"2030-01-01"}})",
       {{"aws:CurrentTime", {"not a date"}}},
       false},
      {16, R"({"DateGreaterThan":{"aws:CurrentTime":["2030-01-01","2020-01-01"]}})", now, true},
      {17, R"({"DateLessThan":{"aws:CurrentTime":"2026-11-27T10:00-00:30"}})", now, true},
  });
}

TEST(ConditionTest, BoolOperator) {
  RunTable({
      {1, R"({"Bool":{"aws:SecureTransport":"true"}})", {{"aws:SecureTransport", {"true"}}}, true},
      {2,
       R"({"Bool":{"aws:SecureTransport":"true"}})",
       {{"aws:SecureTransport", {"false"}}},
       false},
      {3, R"({"Bool":{"aws:SecureTransport":true}})", {{"aws:SecureTransport", {"TRUE"}}}, true},
      {4, R"({"Bool":{"aws:SecureTransport":"false"}})", {}, false},
      {5, R"({"BoolIfExists":{"aws:SecureTransport":"false"}})", {}, true},
      {6,
       R"({"BoolIfExists":{"aws:SecureTransport":"false"}})",
       {{"aws:SecureTransport", {"true"}}},
       false},
      {7, R"({"Bool":{"aws:SecureTransport":"True"}})", {{"aws:SecureTransport", {"true"}}}, true},
  });
}

}  // namespace
}  // namespace sparkify::policy
