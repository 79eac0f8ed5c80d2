#include "cli/data_dirs.h"

#include <filesystem>
#include <system_error>

namespace sparkify::cli {

Status RefuseUpDataDir(const std::string& dir, const std::string& flag) {
  std::error_code ec;
  const std::filesystem::path path(dir);
  // up's own marks: its store's IAM data one level down, or its root key file beside store/.
  // (DATA/iam may be there too: made by a command pointed here before this check existed.)
  if (std::filesystem::is_directory(path / "store" / "iam", ec) ||
      (std::filesystem::is_directory(path / "store", ec) &&
       std::filesystem::exists(path / "root-credentials.json", ec))) {
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
