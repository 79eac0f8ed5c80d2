// IdentityStore (library sparkify_iam): who may call the store and the function, read from
// readable files in the store's data dir.
//
//   <data>/iam/users/<name>/credentials.json  {"access_key_id", "secret_access_key",
//                                              optional "session_token", "expiration"}
//                                              (mode 0600; secrets never logged)
//   <data>/iam/users/<name>/policy.json       an IAM identity policy the user may edit
//
// The root key comes from the caller (main reads the environment); it may do everything.
// Files are re-read when they change (checked at most once a second), so editing a policy
// takes effect without a restart. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "policy/policy.h"
#include "sigv4/sigv4.h"

namespace sparkify::iam {

inline constexpr std::string_view kAccountId = "000000000000";

struct Principal {
  std::string user;  // "root" for the root key
  std::string arn;   // arn:aws:iam::000000000000:user/NAME, or ...:root
  bool is_root = false;
  std::shared_ptr<const policy::Policy> policy;  // null: no identity policy (denies all)
};

struct UserCredentials {
  std::string user;
  std::string access_key_id;
  std::string secret_access_key;
};

class IdentityStore {
 public:
  // REQUIRES: root.access_key_id and root.secret_access_key non-empty.
  static Result<std::unique_ptr<IdentityStore>> Open(const std::string& data_dir,
                                                     const sigv4::Credentials& root,
                                                     const Clock* clock = &Clock::System());
  ~IdentityStore();

  // For SigV4 verification. nullopt for unknown or expired keys.
  std::optional<sigv4::KeyInfo> LookupKey(std::string_view access_key_id);
  std::optional<Principal> PrincipalFor(std::string_view access_key_id);

  // Creates (or replaces the policy of) a user; new credentials are generated only when the
  // user has none yet. Returns the user's credentials. Name: [A-Za-z0-9+=,.@_-]{1,64}.
  Result<UserCredentials> EnsureUser(std::string_view name, std::string_view policy_json);

  // Provisioning of a principal a program runs as (`sparkify up`'s function and web app): a
  // user that already has a policy.json and a credentials.json is kept as it is (its policy
  // is there to be edited); otherwise it is made with `policy_json` (EnsureUser).
  Result<UserCredentials> ProvisionUser(std::string_view name, std::string_view policy_json);

  // Re-reads the files now (also happens by itself when they change).
  Status Reload();

 private:
  struct Snapshot;
  IdentityStore(std::string dir, sigv4::Credentials root, const Clock* clock);
  std::shared_ptr<const Snapshot> Current();

  std::string dir_;
  sigv4::Credentials root_;
  const Clock* clock_;
  std::mutex reload_mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // accessed with std::atomic_load/store
  std::atomic<int64_t> last_check_ms_{0};
};

// A fresh random key pair: "SPK" + 17 uppercase letters/digits, and a 40-character secret.
sigv4::Credentials GenerateCredentials();

// A credentials file's text, {"access_key_id": "...", "secret_access_key": "..."} -> the key
// pair; nullopt for anything else (not JSON, missing, non-string or empty fields).
std::optional<sigv4::Credentials> ParseCredentialsFile(std::string_view text);

// The credentials of user `name` in the data dir, read from its credentials.json; nullopt
// when there is none; InvalidArgument naming the file when it is not a credentials file.
Result<std::optional<UserCredentials>> ReadUserCredentials(const std::string& data_dir,
                                                           std::string_view name);

}  // namespace sparkify::iam
