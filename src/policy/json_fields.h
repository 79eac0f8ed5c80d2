// Small helpers for reading policy JSON. Private to the policy library.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace sparkify::policy {

// One string of a "string or array of strings" element, with its location for messages:
// "Statement[0].Action" for a lone string, "Statement[0].Action[2]" inside an array.
struct StringItem {
  std::string text;
  std::string where;
};

inline Status StringOrArray(const nlohmann::json& value, std::string_view where,
                            std::vector<StringItem>* out) {
  if (value.is_string()) {
    out->push_back({value.get<std::string>(), std::string(where)});
    return Status::OK();
  }
  if (!value.is_array()) {
    return Status::InvalidArgument(std::string(where) + " must be a string or an array of strings");
  }
  if (value.empty()) return Status::InvalidArgument(std::string(where) + " must not be empty");
  for (size_t i = 0; i < value.size(); ++i) {
    std::string item_where = std::string(where) + "[" + std::to_string(i) + "]";
    if (!value[i].is_string()) {
      return Status::InvalidArgument(item_where + " must be a string");
    }
    out->push_back({value[i].get<std::string>(), std::move(item_where)});
  }
  return Status::OK();
}

}  // namespace sparkify::policy
