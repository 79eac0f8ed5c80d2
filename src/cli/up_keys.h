// `sparkify up`'s data dir and keys: DATA (0700), the root key (SPARKIFY_ROOT_* or
// DATA/root-credentials.json, made on the first run), DATA/store, and the function's and the web
// app's users with their least-privilege policies (made on the first run, kept after).
#pragma once

#include <string>

#include "cli/up_options.h"
#include "common/status.h"
#include "iam/identity.h"
#include "sigv4/sigv4.h"

namespace sparkify::cli {

// Every key of the tree: the root key (the store's) and the two principals' keys.
struct UpKeys {
  std::string store_dir;  // DATA/store
  sigv4::Credentials root;
  bool root_generated = false;  // made on this run
  iam::UserCredentials function;
  iam::UserCredentials web;
};

// The data dirs, the root key and the principals (made on the first run).
Result<UpKeys> PrepareKeys(const UpFlags& f);

}  // namespace sparkify::cli
