#include "cli/up_keys.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "access/access.h"
#include "cli/env.h"
#include "common/files.h"

namespace sparkify::cli {
namespace {

// The data dir exists (created 0700 if missing: it holds every key) and is writable. An
// existing one that its group or others may enter is used as it is, with a warning (it may be
// a directory the user shares on purpose; chmod 700 is theirs to run).
Status PrepareDataDir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::path path(dir);
  if (!std::filesystem::exists(path, ec)) {
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    // mkdir with 0700 at once, so the directory is never open to others, even briefly.
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
      return Status::IOError("cannot create data dir " + dir + ": " + std::strerror(errno));
    }
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::IOError("data dir " + dir + " is not a directory");
  }
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%03o", static_cast<unsigned>(st.st_mode & 0777));
    std::cerr << "sparkify up: warning: " << dir << " (mode " << mode
              << ") is open to other users, and it holds keys; run chmod 700 on it\n";
  }
  std::string probe = dir + "/.sparkify-write-test";
  if (Status s = WriteFileAtomic(probe, "ok\n", 0600); !s.ok()) {
    return Status::IOError("data dir " + dir + " is not writable: " + s.message());
  }
  std::filesystem::remove(probe, ec);
  return Status::OK();
}

// SPARKIFY_ROOT_* if set, else DIR/root-credentials.json (generated on first run, 0600).
Result<sigv4::Credentials> RootCredentials(const std::string& dir, bool* generated) {
  auto id = SecretFromEnv("SPARKIFY_ROOT_ACCESS_KEY_ID");
  auto secret = SecretFromEnv("SPARKIFY_ROOT_SECRET_ACCESS_KEY");
  if (!id.ok()) return id.status();
  if (!secret.ok()) return secret.status();
  if (id->has_value() && secret->has_value()) return sigv4::Credentials{**id, **secret, ""};
  std::string path = dir + "/root-credentials.json";
  if (std::filesystem::exists(path)) {
    SPARKIFY_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 64 * 1024));
    auto key = iam::ParseCredentialsFile(text);
    if (!key) {
      return Status::InvalidArgument(path +
                                     " is not a credentials file ({\"access_key_id\": \"...\", "
                                     "\"secret_access_key\": \"...\"}); fix or remove it");
    }
    return *key;
  }
  sigv4::Credentials fresh = iam::GenerateCredentials();
  nlohmann::json doc = {{"access_key_id", fresh.access_key_id},
                        {"secret_access_key", fresh.secret_access_key}};
  SPARKIFY_RETURN_IF_ERROR(WriteFileAtomic(path, doc.dump(2) + "\n", 0600));
  *generated = true;
  return fresh;
}

// The principals' key files that exist are well-formed (checked before the identity store
// reads them, so the error names the file).
Status CheckPrincipalKeyFiles(const std::string& store_dir) {
  for (auto principal : {access::Principal::kFunction, access::Principal::kWeb}) {
    SPARKIFY_RETURN_IF_ERROR(
        iam::ReadUserCredentials(store_dir, access::PrincipalName(principal)).status());
  }
  return Status::OK();
}

}  // namespace

// The data dirs, the root key and the principals (made on the first run).
Result<UpKeys> PrepareKeys(const UpFlags& f) {
  SPARKIFY_RETURN_IF_ERROR(PrepareDataDir(f.data_dir));
  UpKeys keys;
  SPARKIFY_ASSIGN_OR_RETURN(keys.root, RootCredentials(f.data_dir, &keys.root_generated));
  keys.store_dir = f.data_dir + "/store";
  SPARKIFY_RETURN_IF_ERROR(PrepareDataDir(keys.store_dir));
  SPARKIFY_RETURN_IF_ERROR(CheckPrincipalKeyFiles(keys.store_dir));
  SPARKIFY_ASSIGN_OR_RETURN(auto identities, iam::IdentityStore::Open(keys.store_dir, keys.root));
  access::PolicyTarget target;
  target.bucket = kBucket;
  // On the first run each principal is made with its default policy; later runs keep the
  // user's policy.json as it is (it is there to be edited).
  SPARKIFY_ASSIGN_OR_RETURN(
      keys.function,
      identities->ProvisionUser(access::PrincipalName(access::Principal::kFunction),
                                access::PolicyDocument(access::Principal::kFunction, target)));
  SPARKIFY_ASSIGN_OR_RETURN(
      keys.web, identities->ProvisionUser(access::PrincipalName(access::Principal::kWeb),
                                          access::PolicyDocument(access::Principal::kWeb, target)));
  return keys;
}

}  // namespace sparkify::cli
