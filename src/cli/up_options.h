// `sparkify up`'s options and the names its parts share (up_cmd.cpp reads the flags,
// up_keys.cpp prepares the data dir and keys, up_specs.cpp describes the children).
#pragma once

#include <string>

namespace sparkify::cli {

// The bucket of the whole tree.
inline constexpr char kBucket[] = "sparkify";

struct UpFlags {
  std::string data_dir;
  int web_port = 8080;
  int function_port = 9000;
  int store_port = 9100;
  bool allow_private_fetch = false;
  int model_size = 0;
  std::string precision = "fp32";
  int segment_concurrency = 4;
  int function_workers = 2;
  int retention_days = 30;  // as the AWS template's UploadRetentionDays
};

}  // namespace sparkify::cli
