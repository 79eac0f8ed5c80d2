#include "cli/data_dirs.h"

#include <filesystem>
#include <system_error>

namespace sparkify::cli {

Status RefuseUpDataDir(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  const std::filesystem::path path(dir);
  if (std::filesystem::is_directory(path / "store", ec) &&
      !std::filesystem::exists(path / "iam", ec)) {
    const std::string store = (path / "store").string();
    return Status::InvalidArgument(flag + " " + dir +
                                   " is sparkify up's data dir, not a store's: its store keeps "
                                   "its data (and its users) in " +
                                   store + "; use " + flag + " " + store);
  }
  return Status::OK();
}

Status RequireDirectory(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::InvalidArgument(flag + " " + dir + ": no such directory");
  }
  return Status::OK();
}

}  // namespace sparkify::cli
