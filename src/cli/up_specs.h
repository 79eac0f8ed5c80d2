// The three children of `sparkify up`: their command lines and environments. Each gets only
// its own principal's key.
#pragma once

#include <string>

#include "cli/up_keys.h"
#include "cli/up_options.h"
#include "process/child_process.h"

namespace sparkify::cli {

// The directory of this binary (sparkify-ai sits beside it).
std::string SelfDir();

// The store, with the root key.
process::SpawnSpec StoreSpec(const UpFlags& f, const std::string& dir, const UpKeys& keys);

// The function, with its own key for S3. Its invoke endpoint checks signatures against the
// store's key files (--iam-data); IdentityStore wants a root key, so it gets a throwaway one
// that is never written anywhere: the real root key stays out of this process.
process::SpawnSpec FunctionSpec(const UpFlags& f, const std::string& dir, const UpKeys& keys,
                                const std::string& store_url);

// The web app, with its own key (S3 and signed invokes) and the Spotify settings.
process::SpawnSpec WebSpec(const UpFlags& f, const std::string& dir, const UpKeys& keys,
                           const std::string& store_url, const std::string& function_url);

}  // namespace sparkify::cli
