// Principal / NotPrincipal elements.

#include "policy/principal.h"

#include <array>
#include <string>
#include <vector>

#include "policy/json_fields.h"

namespace sparkify::policy {
namespace {

// The six colon-separated fields of an ARN (the last keeps any further colons).
bool SplitArn(std::string_view arn, std::array<std::string_view, 6>* fields) {
  for (size_t i = 0; i < 5; ++i) {
    size_t colon = arn.find(':');
    if (colon == std::string_view::npos) return false;
    (*fields)[i] = arn.substr(0, colon);
    arn.remove_prefix(colon + 1);
  }
  (*fields)[5] = arn;
  return (*fields)[0] == "arn";
}

bool IsAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status AddAws(std::string_view value, std::string_view where, PrincipalSet* out) {
  if (value == "*") {
    out->everyone = true;
  } else if (IsAccountId(value)) {
    out->aws.push_back("arn:aws:iam::" + std::string(value) + ":root");
  } else if (std::array<std::string_view, 6> f;
             SplitArn(value, &f) && value.find_first_of("*?") == value.npos) {
    out->aws.emplace_back(value);
  } else {
    return Status::InvalidArgument(std::string(where) + " \"" + std::string(value) +
                                   "\" must be \"*\", a 12-digit account id or an ARN "
                                   "without wildcards");
  }
  return Status::OK();
}

Status AddOther(std::string_view value, std::string_view where, PrincipalSet* out) {
  if (value.empty() || value.find_first_of("*?") != value.npos) {
    return Status::InvalidArgument(std::string(where) + " \"" + std::string(value) +
                                   "\" must be a non-empty name without wildcards");
  }
  out->others.emplace_back(value);
  return Status::OK();
}

}  // namespace

Status ParsePrincipal(const nlohmann::json& value, std::string_view where, PrincipalSet* out) {
  if (value.is_string()) {
    if (value.get_ref<const std::string&>() != "*") {
      return Status::InvalidArgument(std::string(where) +
                                     " must be \"*\" or an object such as {\"AWS\": \"...\"}");
    }
    out->everyone = true;
    return Status::OK();
  }
  if (!value.is_object() || value.empty()) {
    return Status::InvalidArgument(std::string(where) +
                                   " must be \"*\" or an object such as {\"AWS\": \"...\"}");
  }
  for (const auto& [type, names] : value.items()) {
    std::string type_where = std::string(where) + "." + type;
    bool aws = type == "AWS";
    if (!aws && type != "Service" && type != "Federated" && type != "CanonicalUser") {
      return Status::InvalidArgument(std::string(where) + " has unknown principal type \"" + type +
                                     "\" (expected AWS, Service, Federated or "
                                     "CanonicalUser)");
    }
    std::vector<StringItem> items;
    SPARKIFY_RETURN_IF_ERROR(StringOrArray(names, type_where, &items));
    for (const StringItem& item : items) {
      SPARKIFY_RETURN_IF_ERROR(aws ? AddAws(item.text, item.where, out)
                                   : AddOther(item.text, item.where, out));
    }
  }
  return Status::OK();
}

bool PrincipalMatches(const PrincipalSet& set, std::string_view principal_arn) {
  if (set.everyone) return true;
  if (principal_arn.empty()) return false;
  std::array<std::string_view, 6> caller{};
  bool caller_is_arn = SplitArn(principal_arn, &caller);
  for (const std::string& entry : set.aws) {
    if (entry == principal_arn) return true;
    std::array<std::string_view, 6> f{};
    if (caller_is_arn && SplitArn(entry, &f) && f[2] == "iam" && f[5] == "root" &&
        f[1] == caller[1] && f[4] == caller[4]) {
      return true;
    }
  }
  for (const std::string& entry : set.others) {
    if (entry == principal_arn) return true;
  }
  return false;
}

}  // namespace sparkify::policy
