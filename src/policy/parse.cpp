// Policy::Parse: JSON to statements, with every check AWS makes on a document's shape.
// Conditions are parsed in condition.cpp, principals in principal.cpp.

#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/conditions.h"
#include "policy/json_fields.h"
#include "policy/match.h"
#include "policy/principal.h"
#include "policy/statement.h"

namespace sparkify::policy {
namespace {

using Json = nlohmann::json;
using Statement = Policy::Statement;

constexpr size_t kMaxDepth = 32;  // real policies nest 5 deep

// Parses JSON, rejecting duplicate object keys (nlohmann would keep the last silently, and
// {"Effect":"Deny","Effect":"Allow"} must not read as Allow) and absurd nesting.
Status ParseJson(std::string_view text, Json* out) {
  std::string error;
  std::vector<std::set<std::string>> seen;  // keys of the open object at each depth
  auto check = [&](int depth, Json::parse_event_t event, Json& parsed) {
    auto d = static_cast<size_t>(depth);
    if (event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) {
      if (d >= kMaxDepth) {
        if (error.empty())
          error = "policy is nested more than " + std::to_string(kMaxDepth) + " levels deep";
        return false;
      }
      if (event == Json::parse_event_t::object_start) {
        seen.resize(d + 2);
        seen[d + 1].clear();
      }
    } else if (event == Json::parse_event_t::key && d < seen.size() && parsed.is_string()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!seen[d].insert(key).second && error.empty()) {
        error = "policy has duplicate key \"" + key + "\"";
      }
    }
    return true;
  };
  try {
    *out = Json::parse(text.begin(), text.end(), check);
  } catch (const Json::exception& e) {
    std::string what = e.what();
    size_t bracket = what.find("] ");
    if (bracket != std::string::npos) what.erase(0, bracket + 2);
    return Status::InvalidArgument("policy is not valid JSON: " + what);
  }
  if (!error.empty()) return Status::InvalidArgument(error);
  return Status::OK();
}

Status CheckFields(const Json& object, std::string_view where,
                   std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view name : allowed) known = known || key == name;
    if (!known) {
      std::string list;
      for (std::string_view name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return Status::InvalidArgument(std::string(where) + " has unknown field \"" + key +
                                     "\" (allowed: " + list + ")");
    }
  }
  return Status::OK();
}

bool ValidAction(std::string_view action) {
  if (action == "*") return true;
  size_t colon = action.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == action.size()) return false;
  for (char c : action.substr(0, colon)) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidResource(std::string_view resource) {
  if (resource == "*") return true;
  if (resource.substr(0, 4) != "arn:") return false;
  size_t colons = 0;
  for (char c : resource) colons += c == ':' ? 1 : 0;
  return colons >= 5;
}

Status ParseActions(const Json& value, const std::string& where, Statement* out) {
  std::vector<StringItem> items;
  SPARKIFY_RETURN_IF_ERROR(StringOrArray(value, where, &items));
  for (StringItem& item : items) {
    if (!ValidAction(item.text)) {
      return Status::InvalidArgument(item.where + " \"" + item.text +
                                     "\" must be \"*\" or service:action, as in s3:GetObject");
    }
    out->actions.push_back(std::move(item.text));
  }
  return Status::OK();
}

Status ParseResources(const Json& value, const std::string& where, bool variables, Statement* out) {
  std::vector<StringItem> items;
  SPARKIFY_RETURN_IF_ERROR(StringOrArray(value, where, &items));
  for (StringItem& item : items) {
    if (!ValidResource(item.text)) {
      return Status::InvalidArgument(item.where + " \"" + item.text +
                                     "\" must be \"*\" or an ARN, as in arn:aws:s3:::bucket/*");
    }
    ValueTemplate resource{std::move(item.text), false};
    if (variables && resource.text.find("${") != std::string::npos) {
      SPARKIFY_RETURN_IF_ERROR(CheckVariables(resource.text, item.where));
      resource.has_variables = true;
    }
    out->resources.push_back(std::move(resource));
  }
  return Status::OK();
}

// Exactly one of two alternative fields ("Action" / "NotAction"); null when neither.
Status OneOf(const Json& s, const std::string& where, const char* a, const char* b,
             const Json** value, bool* is_b) {
  bool has_a = s.contains(a), has_b = s.contains(b);
  if (has_a && has_b) {
    return Status::InvalidArgument(where + " has both " + a + " and " + b);
  }
  *is_b = has_b;
  *value = has_a ? &s[a] : has_b ? &s[b] : nullptr;
  return Status::OK();
}

Status ParseStatement(const Json& s, const std::string& where, bool variables, Statement* out) {
  if (!s.is_object()) return Status::InvalidArgument(where + " must be an object");
  SPARKIFY_RETURN_IF_ERROR(CheckFields(s, where,
                                       {"Sid", "Effect", "Principal", "NotPrincipal", "Action",
                                        "NotAction", "Resource", "NotResource", "Condition"}));
  if (s.contains("Sid")) {
    if (!s["Sid"].is_string()) return Status::InvalidArgument(where + ".Sid must be a string");
    out->sid = s["Sid"].get<std::string>();
  }
  if (!s.contains("Effect")) return Status::InvalidArgument(where + ".Effect is required");
  const Json& effect = s["Effect"];
  if (effect == "Allow") {
    out->effect = Effect::kAllow;
  } else if (effect == "Deny") {
    out->effect = Effect::kDeny;
  } else {
    return Status::InvalidArgument(where + ".Effect must be Allow or Deny");
  }

  const Json* value = nullptr;
  bool negated = false;
  SPARKIFY_RETURN_IF_ERROR(OneOf(s, where, "Principal", "NotPrincipal", &value, &negated));
  if (negated && out->effect == Effect::kAllow) {
    // As AWS: an Allow for everyone but a few grants far more than its writer means.
    return Status::InvalidArgument(where + ".NotPrincipal can only be used with Effect Deny");
  }
  if (value != nullptr) {
    out->principal_mode = negated ? PrincipalMode::kNotPrincipal : PrincipalMode::kPrincipal;
    SPARKIFY_RETURN_IF_ERROR(ParsePrincipal(
        *value, where + (negated ? ".NotPrincipal" : ".Principal"), &out->principals));
  }

  SPARKIFY_RETURN_IF_ERROR(OneOf(s, where, "Action", "NotAction", &value, &negated));
  if (value == nullptr) return Status::InvalidArgument(where + " needs Action or NotAction");
  out->not_action = negated;
  SPARKIFY_RETURN_IF_ERROR(ParseActions(*value, where + (negated ? ".NotAction" : ".Action"), out));

  SPARKIFY_RETURN_IF_ERROR(OneOf(s, where, "Resource", "NotResource", &value, &negated));
  if (value == nullptr) return Status::InvalidArgument(where + " needs Resource or NotResource");
  out->not_resource = negated;
  SPARKIFY_RETURN_IF_ERROR(
      ParseResources(*value, where + (negated ? ".NotResource" : ".Resource"), variables, out));

  if (s.contains("Condition")) {
    SPARKIFY_RETURN_IF_ERROR(
        ParseConditionBlock(s["Condition"], where + ".Condition", variables, &out->conditions));
  }
  return Status::OK();
}

// Checks that apply across statements: unique Sids, and Principal present in all or none
// (or as `kind` demands).
Status CheckDocument(const std::vector<Statement>& statements,
                     const std::vector<std::string>& wheres, PolicyKind kind) {
  std::set<std::string> sids;
  for (size_t i = 0; i < statements.size(); ++i) {
    const Statement& s = statements[i];
    if (!s.sid.empty() && !sids.insert(s.sid).second) {
      return Status::InvalidArgument(wheres[i] + ".Sid \"" + s.sid + "\" is not unique");
    }
    bool has = s.principal_mode != PrincipalMode::kNone;
    if (kind == PolicyKind::kIdentity && has) {
      return Status::InvalidArgument(wheres[i] +
                                     " names a Principal, which an identity policy must not");
    }
    if (kind == PolicyKind::kResource && !has) {
      return Status::InvalidArgument(wheres[i] +
                                     " needs Principal or NotPrincipal in a resource policy");
    }
    bool first_has = statements[0].principal_mode != PrincipalMode::kNone;
    if (kind == PolicyKind::kAny && has != first_has) {
      return Status::InvalidArgument(
          wheres[i] + (has ? " names a Principal but " : " names no Principal but ") + wheres[0] +
          (first_has ? " does" : " does not") +
          ": in a resource policy every statement names one, in an identity policy none does");
    }
  }
  return Status::OK();
}

Status ParseDocument(std::string_view text, const ParseOptions& options,
                     std::vector<Statement>* statements) {
  if (text.size() > options.max_bytes) {
    return Status::InvalidArgument("policy is " + std::to_string(text.size()) +
                                   " bytes, over the limit of " +
                                   std::to_string(options.max_bytes));
  }
  Json doc;
  SPARKIFY_RETURN_IF_ERROR(ParseJson(text, &doc));
  if (!doc.is_object()) return Status::InvalidArgument("policy must be a JSON object");
  SPARKIFY_RETURN_IF_ERROR(CheckFields(doc, "policy", {"Version", "Id", "Statement"}));

  bool variables = false;  // AWS: no Version means 2008-10-17, where ${...} is plain text
  if (doc.contains("Version")) {
    const Json& version = doc["Version"];
    if (version == "2012-10-17") {
      variables = true;
    } else if (version != "2008-10-17") {
      return Status::InvalidArgument("Version must be \"2012-10-17\" or \"2008-10-17\"");
    }
  }
  if (doc.contains("Id") && !doc["Id"].is_string()) {
    return Status::InvalidArgument("Id must be a string");
  }
  if (!doc.contains("Statement")) return Status::InvalidArgument("policy needs a Statement");
  const Json& list = doc["Statement"];
  std::vector<std::string> wheres;
  if (list.is_object()) {
    wheres.push_back("Statement");
    statements->emplace_back();
    SPARKIFY_RETURN_IF_ERROR(ParseStatement(list, wheres[0], variables, &statements->back()));
  } else if (list.is_array() && !list.empty()) {
    for (size_t i = 0; i < list.size(); ++i) {
      wheres.push_back("Statement[" + std::to_string(i) + "]");
      statements->emplace_back();
      SPARKIFY_RETURN_IF_ERROR(ParseStatement(list[i], wheres[i], variables, &statements->back()));
    }
  } else {
    return Status::InvalidArgument("Statement must be an object or a non-empty array");
  }
  return CheckDocument(*statements, wheres, options.kind);
}

}  // namespace

Result<Policy> Policy::Parse(std::string_view json) { return Parse(json, ParseOptions{}); }

Result<Policy> Policy::Parse(std::string_view json, const ParseOptions& options) {
  try {
    auto statements = std::make_shared<std::vector<Statement>>();
    SPARKIFY_RETURN_IF_ERROR(ParseDocument(json, options, statements.get()));
    Policy policy;
    policy.statements_ = std::move(statements);
    policy.json_ = std::string(json);
    return policy;
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("policy could not be parsed: ") + e.what());
  } catch (...) {
    return Status::InvalidArgument("policy could not be parsed");
  }
}

}  // namespace sparkify::policy
