// What a flag naming a store's data dir must not be given instead: `sparkify up`'s own data
// dir, whose store keeps its data one level down (DATA/store). Shared by `user create --data`
// (in sparkify) and `function --iam-data` (in sparkify-ai).
#pragma once

#include <string>

#include "common/status.h"

namespace sparkify::cli {

// InvalidArgument naming `flag` and DIR/store when `dir` is `sparkify up`'s data dir (it has
// store/iam/, or store/ beside root-credentials.json) where a store's data dir is meant: users
// made there would never be read, and keys looked up there never found.
Status RefuseUpDataDir(const std::string& dir, const std::string& flag);

// OK when `dir` is an existing directory, else InvalidArgument naming `flag`.
Status RequireDirectory(const std::string& dir, const std::string& flag);

}  // namespace sparkify::cli
