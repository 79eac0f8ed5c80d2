#include "access/access.h"

#include <nlohmann/json.hpp>

namespace sparkify::access {
namespace {

using nlohmann::ordered_json;

std::string ObjectArn(const PolicyTarget& target, std::string_view prefix) {
  return "arn:aws:s3:::" + target.bucket + "/" + std::string(prefix) + "*";
}

ordered_json Allow(std::string_view sid, std::vector<std::string> actions,
                   std::vector<std::string> resources) {
  ordered_json statement;
  statement["Sid"] = sid;
  statement["Effect"] = "Allow";
  statement["Action"] = std::move(actions);
  statement["Resource"] = std::move(resources);
  return statement;
}

ordered_json FunctionStatements(const PolicyTarget& t) {
  // GetObject also covers HEAD, which the function sends before doing work twice.
  return ordered_json::array({
      Allow("ReadCoversAndCutouts", {"s3:GetObject"},
            {ObjectArn(t, kUploadsPrefix), ObjectArn(t, kCutoutsPrefix)}),
      Allow("WriteCutouts", {"s3:PutObject"}, {ObjectArn(t, kCutoutsPrefix)}),
  });
}

ordered_json WebStatements(const PolicyTarget& t) {
  return ordered_json::array({
      Allow("WriteCoversAndCollages", {"s3:PutObject"},
            {ObjectArn(t, kUploadsPrefix), ObjectArn(t, kCollagesPrefix)}),
      // Reading is what lets the web app sign GET URLs that work.
      Allow("ReadImagesToSignUrls", {"s3:GetObject"},
            {ObjectArn(t, kUploadsPrefix), ObjectArn(t, kCutoutsPrefix),
             ObjectArn(t, kCollagesPrefix)}),
      // The jobs' state, which every replica of the web app reads and writes.
      Allow("ReadAndWriteJobs", {"s3:GetObject", "s3:PutObject"}, {ObjectArn(t, kJobsPrefix)}),
      Allow("InvokeTheFunction", {"lambda:InvokeFunction"}, {t.function_arn}),
  });
}

}  // namespace

std::string_view PrincipalName(Principal principal) {
  return principal == Principal::kFunction ? "function" : "web";
}

Result<Principal> ParsePrincipal(std::string_view name) {
  if (name == "function") return Principal::kFunction;
  if (name == "web") return Principal::kWeb;
  return Status::InvalidArgument("unknown principal \"" + std::string(name) +
                                 "\": expected function or web");
}

std::string PolicyDocument(Principal principal, const PolicyTarget& target) {
  ordered_json doc;
  doc["Version"] = "2012-10-17";
  doc["Statement"] =
      principal == Principal::kFunction ? FunctionStatements(target) : WebStatements(target);
  return doc.dump(2) + "\n";
}

}  // namespace sparkify::access
