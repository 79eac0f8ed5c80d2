#include "iam/identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/crypto.h"
#include "common/files.h"

namespace sparkify::iam {
namespace fs = std::filesystem;

struct IdentityStore::Snapshot {
  struct Key {
    std::string secret;
    std::string session_token;
    std::optional<TimePoint> expiration;
    Principal principal;
  };
  std::map<std::string, Key, std::less<>> keys;
  std::string signature;  // what the files looked like when read
};

namespace {

std::string UsersDir(const std::string& data_dir) { return data_dir + "/iam/users"; }

// Paths, sizes and mtimes of every file under the users dir: changes when anything changes.
std::string DirSignature(const std::string& dir) {
  std::ostringstream sig;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::stat(it->path().c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      sig << it->path().native() << ':' << st.st_size << ':' << st.st_mtim.tv_sec << '.'
          << st.st_mtim.tv_nsec << ';';
    }
  }
  return sig.str();
}

bool ValidUserName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || std::strchr("+=,.@_-", c) != nullptr;
    if (!ok) return false;
  }
  return name != "root" && name != "." && name != "..";
}

std::string UserArn(std::string_view user) {
  return "arn:aws:iam::" + std::string(kAccountId) + ":user/" + std::string(user);
}

}  // namespace

sigv4::Credentials GenerateCredentials() {
  static constexpr char kUpper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  static constexpr char kSecret[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string id_bytes = RandomBytes(17), secret_bytes = RandomBytes(40);
  sigv4::Credentials c;
  c.access_key_id = "SPK";
  for (char b : id_bytes) c.access_key_id += kUpper[static_cast<unsigned char>(b) % 32];
  for (char b : secret_bytes) c.secret_access_key += kSecret[static_cast<unsigned char>(b) % 64];
  return c;
}

IdentityStore::IdentityStore(std::string dir, sigv4::Credentials root, const Clock* clock)
    : dir_(std::move(dir)), root_(std::move(root)), clock_(clock) {}
IdentityStore::~IdentityStore() = default;

Result<std::unique_ptr<IdentityStore>> IdentityStore::Open(const std::string& data_dir,
                                                           const sigv4::Credentials& root,
                                                           const Clock* clock) {
  if (root.access_key_id.empty() || root.secret_access_key.empty()) {
    return Status::InvalidArgument("the root access key id and secret must both be set");
  }
  std::error_code ec;
  fs::create_directories(UsersDir(data_dir), ec);
  if (ec) return Status::IOError("cannot create " + UsersDir(data_dir) + ": " + ec.message());
  std::unique_ptr<IdentityStore> store(new IdentityStore(data_dir, root, clock));
  SPARKIFY_RETURN_IF_ERROR(store->Reload());
  return store;
}

Status IdentityStore::Reload() {
  std::lock_guard lock(reload_mu_);
  auto snap = std::make_shared<Snapshot>();
  snap->signature = DirSignature(UsersDir(dir_));
  Principal root{"root", "arn:aws:iam::" + std::string(kAccountId) + ":root", true, nullptr};
  snap->keys[root_.access_key_id] = {root_.secret_access_key, root_.session_token, {}, root};
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(UsersDir(dir_), ec)) {
    if (!entry.is_directory()) continue;
    std::string user = entry.path().filename().string();
    auto creds_text = ReadFileToString(entry.path() / "credentials.json");
    if (!creds_text.ok()) continue;  // a user without keys cannot sign anything
    auto creds = nlohmann::json::parse(*creds_text, nullptr, false);
    auto is_text = [&creds](const char* field, bool required) {
      auto it = creds.find(field);
      return it == creds.end() ? !required : it->is_string();
    };
    if (creds.is_discarded() || !creds.is_object() || !is_text("access_key_id", true) ||
        !is_text("secret_access_key", true) || !is_text("session_token", false) ||
        !is_text("expiration", false)) {
      spdlog::warn(
          "iam: ignoring {}: not a credentials document (text fields access_key_id, "
          "secret_access_key, optional session_token and expiration)",
          user);
      continue;
    }
    Snapshot::Key key;
    key.secret = creds.value("secret_access_key", "");
    key.session_token = creds.value("session_token", "");
    if (creds.contains("expiration")) {
      key.expiration = ParseIso8601(creds.value("expiration", ""));
    }
    key.principal = {user, UserArn(user), false, nullptr};
    auto policy_text = ReadFileToString(entry.path() / "policy.json");
    if (policy_text.ok()) {
      auto parsed = policy::Policy::Parse(*policy_text);
      if (parsed.ok()) {
        key.principal.policy = std::make_shared<policy::Policy>(std::move(*parsed));
      } else {
        spdlog::warn("iam: user {} has an invalid policy.json ({}); it is denied everything", user,
                     parsed.status().message());
      }
    }
    std::string id = creds.value("access_key_id", "");
    if (id == root_.access_key_id) {
      spdlog::warn("iam: user {} reuses the root access key id; ignored", user);
      continue;
    }
    snap->keys[id] = std::move(key);
  }
  std::atomic_store(&snapshot_, std::shared_ptr<const Snapshot>(std::move(snap)));
  return Status::OK();
}

std::shared_ptr<const IdentityStore::Snapshot> IdentityStore::Current() {
  int64_t now = ToUnixSeconds(Clock::System().Now()) * 1000;
  int64_t last = last_check_ms_.load();
  if (now - last >= 1000 && last_check_ms_.compare_exchange_strong(last, now)) {
    auto snap = std::atomic_load(&snapshot_);
    if (DirSignature(UsersDir(dir_)) != snap->signature) {
      Status s = Reload();
      if (!s.ok()) spdlog::warn("iam: reload failed: {}", s.ToString());
    }
  }
  return std::atomic_load(&snapshot_);
}

std::optional<sigv4::KeyInfo> IdentityStore::LookupKey(std::string_view access_key_id) {
  auto snap = Current();
  auto it = snap->keys.find(access_key_id);
  if (it == snap->keys.end()) return std::nullopt;
  if (it->second.expiration && *it->second.expiration <= clock_->Now()) return std::nullopt;
  return sigv4::KeyInfo{it->second.secret, it->second.session_token};
}

std::optional<Principal> IdentityStore::PrincipalFor(std::string_view access_key_id) {
  auto snap = Current();
  auto it = snap->keys.find(access_key_id);
  if (it == snap->keys.end()) return std::nullopt;
  return it->second.principal;
}

std::optional<sigv4::Credentials> ParseCredentialsFile(std::string_view text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  auto id = doc.find("access_key_id");
  auto secret = doc.find("secret_access_key");
  if (id == doc.end() || secret == doc.end() || !id->is_string() || !secret->is_string() ||
      id->get<std::string>().empty() || secret->get<std::string>().empty()) {
    return std::nullopt;
  }
  return sigv4::Credentials{id->get<std::string>(), secret->get<std::string>(), ""};
}

Result<std::optional<UserCredentials>> ReadUserCredentials(const std::string& data_dir,
                                                           std::string_view name) {
  if (!ValidUserName(name)) {
    return Status::InvalidArgument("user names are 1-64 of [A-Za-z0-9+=,.@_-], not 'root'");
  }
  std::string path = UsersDir(data_dir) + "/" + std::string(name) + "/credentials.json";
  if (!fs::exists(path)) return std::optional<UserCredentials>();
  SPARKIFY_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 64 * 1024));
  auto key = ParseCredentialsFile(text);
  if (!key) {
    return Status::InvalidArgument(path +
                                   " is not a credentials file ({\"access_key_id\": \"...\", "
                                   "\"secret_access_key\": \"...\"}); fix or remove it");
  }
  return std::optional<UserCredentials>(
      UserCredentials{std::string(name), key->access_key_id, key->secret_access_key});
}

Result<UserCredentials> IdentityStore::ProvisionUser(std::string_view name,
                                                     std::string_view policy_json) {
  if (!ValidUserName(name)) {
    return Status::InvalidArgument("user names are 1-64 of [A-Za-z0-9+=,.@_-], not 'root'");
  }
  if (fs::exists(UsersDir(dir_) + "/" + std::string(name) + "/policy.json")) {
    SPARKIFY_ASSIGN_OR_RETURN(auto existing, ReadUserCredentials(dir_, name));
    if (existing) return *existing;
  }
  return EnsureUser(name, policy_json);
}

Result<UserCredentials> IdentityStore::EnsureUser(std::string_view name,
                                                  std::string_view policy_json) {
  if (!ValidUserName(name)) {
    return Status::InvalidArgument("user names are 1-64 of [A-Za-z0-9+=,.@_-], not 'root'");
  }
  auto parsed = policy::Policy::Parse(policy_json);
  if (!parsed.ok()) return parsed.status();
  fs::path dir = fs::path(UsersDir(dir_)) / std::string(name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IOError("cannot create " + dir.string() + ": " + ec.message());
  SPARKIFY_RETURN_IF_ERROR(WriteFileAtomic(dir / "policy.json", policy_json, 0644));
  UserCredentials out{std::string(name), "", ""};
  auto existing = ReadFileToString(dir / "credentials.json");
  auto creds = existing.ok() ? nlohmann::json::parse(*existing, nullptr, false) : nlohmann::json();
  if (creds.is_object() && creds.contains("access_key_id")) {
    out.access_key_id = creds.value("access_key_id", "");
    out.secret_access_key = creds.value("secret_access_key", "");
  } else {
    auto fresh = GenerateCredentials();
    out.access_key_id = fresh.access_key_id;
    out.secret_access_key = fresh.secret_access_key;
    nlohmann::json doc = {{"access_key_id", out.access_key_id},
                          {"secret_access_key", out.secret_access_key}};
    SPARKIFY_RETURN_IF_ERROR(WriteFileAtomic(dir / "credentials.json", doc.dump(2) + "\n", 0600));
  }
  SPARKIFY_RETURN_IF_ERROR(Reload());
  return out;
}

}  // namespace sparkify::iam
