// `sparkify up`: the whole product on one machine. One process tree on loopback: the store
// (`sparkify store`), the AI function (`sparkify-ai function`, whose invoke endpoint serves
// the seed's curl command on --function-port) and the web app (`sparkify-ai web`).
//
// First run in --data DIR: the root key (unless SPARKIFY_ROOT_* are set) is generated and
// saved as DIR/root-credentials.json (0600); the store's data go to DIR/store, where the
// users "function" and "web" get a key each (0600 files) and the least-privilege policies of
// src/access (policy.json files the user may edit); the bucket is created with Block Public
// Access on. Each child gets only its own principal's key in its environment.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <utility>

#include "access/access.h"
#include "cli/commands.h"
#include "cli/env.h"
#include "cli/up_children.h"
#include "common/files.h"
#include "iam/identity.h"
#include "vision/manifest.h"

namespace sparkify::cli {
namespace {

constexpr char kBucket[] = "sparkify";

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

std::string SelfDir() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return ".";
  self[n] = '\0';
  std::string path(self);
  return path.substr(0, path.rfind('/'));
}

// A clear error when the port is taken (port 0 always passes: the child picks one).
Status CheckPortFree(int port, const char* flag) {
  if (port == 0) return Status::OK();
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::IOError("socket failed");
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::close(fd);
  if (rc != 0) {
    return Status::Unavailable("port " + std::to_string(port) + " on 127.0.0.1 is busy (" + flag +
                               " picks another)");
  }
  return Status::OK();
}

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

std::vector<std::string> BaseEnvironment() {
  std::vector<std::string> env;
  for (const char* name : {"PATH", "HOME", "TMPDIR", "TZ", "LANG", "SPDLOG_LEVEL", "SPARKIFY_CACHE",
                           "SSL_CERT_FILE", "SSL_CERT_DIR"}) {
    if (auto v = Env(name)) env.push_back(std::string(name) + "=" + *v);
  }
  return env;
}

void AddKey(std::vector<std::string>* env, const std::string& prefix, const std::string& id,
            const std::string& secret) {
  env->push_back(prefix + "ACCESS_KEY_ID=" + id);
  env->push_back(prefix + "SECRET_ACCESS_KEY=" + secret);
}

// "... listening on http://127.0.0.1:PORT ..." -> "http://127.0.0.1:PORT"
std::string UrlOf(const std::string& line) {
  size_t at = line.find("http://");
  if (at == std::string::npos) return "";
  size_t end = line.find(' ', at);
  return line.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

// The ports are free (or 0) and distinct.
Status CheckPorts(const UpFlags& f) {
  struct {
    int port;
    const char* flag;
  } ports[] = {{f.web_port, "--web-port"},
               {f.function_port, "--function-port"},
               {f.store_port, "--store-port"}};
  for (const auto& p : ports) {
    SPARKIFY_RETURN_IF_ERROR(CheckPortFree(p.port, p.flag));
    for (const auto& q : ports) {
      if (&p != &q && p.port != 0 && p.port == q.port) {
        return Status::InvalidArgument(std::string(p.flag) + " and " + q.flag +
                                       " are the same port");
      }
    }
  }
  return Status::OK();
}

// Every key of the tree: the root key (the store's) and the two principals' keys.
struct UpKeys {
  std::string store_dir;  // DATA/store
  sigv4::Credentials root;
  bool root_generated = false;  // made on this run
  iam::UserCredentials function;
  iam::UserCredentials web;
};

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

// The store, with the root key.
process::SpawnSpec StoreSpec(const UpFlags& f, const std::string& dir, const UpKeys& keys) {
  process::SpawnSpec store;
  // The AWS template's lifecycle rules: covers and collages expire, unfinished multipart
  // uploads are aborted after a day; and its bucket encryption: everything SSE-S3.
  std::string retention = std::to_string(f.retention_days) + "d";
  store.argv = {dir + "/sparkify",       "store",    "--data",
                keys.store_dir,          "--listen", "127.0.0.1:" + std::to_string(f.store_port),
                "--create-bucket",       kBucket,    "--expire",
                "uploads/=" + retention, "--expire", "collages/=" + retention,
                "--abort-uploads-after", "1d",
                "--default-encryption",  "AES256"};
  store.env = BaseEnvironment();
  AddKey(&store.env, "SPARKIFY_ROOT_", keys.root.access_key_id, keys.root.secret_access_key);
  return store;
}

// The function, with its own key for S3. Its invoke endpoint checks signatures against the
// store's key files (--iam-data); IdentityStore wants a root key, so it gets a throwaway one
// that is never written anywhere: the real root key stays out of this process.
process::SpawnSpec FunctionSpec(const UpFlags& f, const std::string& dir, const UpKeys& keys,
                                const std::string& store_url) {
  process::SpawnSpec function;
  function.argv = {dir + "/sparkify-ai", "function",
                   "--listen",           "127.0.0.1:" + std::to_string(f.function_port),
                   "--bucket",           kBucket,
                   "--s3-endpoint",      store_url,
                   "--iam-data",         keys.store_dir};
  function.argv.push_back("--precision");
  function.argv.push_back(f.precision);
  if (f.model_size > 0) {
    function.argv.push_back("--size");
    function.argv.push_back(std::to_string(f.model_size));
  }
  if (f.allow_private_fetch) function.argv.push_back("--allow-private-fetch");
  function.argv.push_back("--workers");
  function.argv.push_back(std::to_string(f.function_workers));
  function.env = BaseEnvironment();
  AddKey(&function.env, "AWS_", keys.function.access_key_id, keys.function.secret_access_key);
  sigv4::Credentials throwaway = iam::GenerateCredentials();
  AddKey(&function.env, "SPARKIFY_ROOT_", throwaway.access_key_id, throwaway.secret_access_key);
  return function;
}

// The web app, with its own key (S3 and signed invokes) and the Spotify settings.
process::SpawnSpec WebSpec(const UpFlags& f, const std::string& dir, const UpKeys& keys,
                           const std::string& store_url, const std::string& function_url) {
  process::SpawnSpec web;
  web.argv = {dir + "/sparkify-ai",
              "web",
              "--listen",
              "127.0.0.1:" + std::to_string(f.web_port),
              "--bucket",
              kBucket,
              "--s3-endpoint",
              store_url,
              "--function-url",
              function_url,
              "--segment-concurrency",
              std::to_string(f.segment_concurrency)};
  if (f.allow_private_fetch) web.argv.push_back("--allow-private-fetch");
  web.env = BaseEnvironment();
  AddKey(&web.env, "AWS_", keys.web.access_key_id, keys.web.secret_access_key);
  for (const char* name :
       {"SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "SPOTIFY_CLIENT_SECRET_FILE",
        "SPOTIFY_REDIRECT_URI", "SPOTIFY_AUTH_URL", "SPOTIFY_TOKEN_URL", "SPOTIFY_API_URL",
        "SPARKIFY_SAMPLES_DIR", "SPARKIFY_URL_EXPIRES", "SPARKIFY_SHARE_EXPIRES",
        "SPARKIFY_PUBLIC_URL", "SPARKIFY_SHARE_SECRET", "SPARKIFY_SHARE_SECRET_FILE"}) {
    if (auto v = Env(name)) web.env.push_back(std::string(name) + "=" + *v);
  }
  return web;
}

void PrintReady(const UpFlags& f, const UpKeys& keys, const std::string& web_url,
                const std::string& function_url, const std::string& store_url) {
  std::cout << "\nsparkify is up.\n"
            << "  open      " << web_url << "/\n"
            << "  function  " << function_url
            << "/2015-03-31/functions/function/invocations (model size "
            << (f.model_size > 0 ? std::to_string(f.model_size) : std::string("default")) << ")\n"
            << "  store     " << store_url << " (bucket " << kBucket << ", data " << keys.store_dir
            << ")\n"
            << "  keys      " << (keys.root_generated ? "new root key in " : "root key: ")
            << (Env("SPARKIFY_ROOT_ACCESS_KEY_ID") ? std::string("SPARKIFY_ROOT_*")
                                                   : f.data_dir + "/root-credentials.json")
            << "; function and web keys and policies in " << keys.store_dir << "/iam/users/\n"
            << "Press Ctrl-C to stop." << std::endl;
  // Tests read this line.
  std::cout << "sparkify up ready: web " << web_url << " function " << function_url << " store "
            << store_url << std::endl;
}

// The model the function will load, checked against --model-size and --precision before any
// child starts: a flag the model cannot take is a clear error now, not a failed start later.
Status CheckModelFlags(const UpFlags& f) {
  const std::string path = DefaultModelManifest();
  auto manifest = vision::LoadManifest(path);
  if (!manifest.ok()) {
    return Status::FailedPrecondition(
        "the AI function cannot start: cannot load the model: " + manifest.status().message() +
        (manifest.status().IsNotFound() ? " (scripts/setup.sh prepares the model)" : ""));
  }
  const vision::ModelManifest& m = *manifest;
  if (std::error_code ec; !std::filesystem::is_regular_file(vision::ModelFilePath(path, m), ec)) {
    return Status::FailedPrecondition(
        "the AI function cannot start: cannot load the model: model file missing: " +
        vision::ModelFilePath(path, m) + " (scripts/setup.sh prepares the model)");
  }
  if (f.model_size != 0 && !vision::CheckInputSize(m, f.model_size).ok()) {
    const auto& in = m.input;
    return Status::InvalidArgument(
        "--model-size " + std::to_string(f.model_size) + ": " +
        (in.fixed_size ? "the model " + m.name + " only runs at " + std::to_string(in.default_size)
                       : "the model " + m.name + " takes a side that is a multiple of " +
                             std::to_string(in.size_multiple) + " (its default is " +
                             std::to_string(in.default_size) + ")"));
  }
  if (Status s = vision::CheckPrecision(m, f.precision); !s.ok()) {
    return Status::InvalidArgument("--precision " + f.precision + ": " + s.message());
  }
  return Status::OK();
}

int RunUp(const UpFlags& f) {
  auto fail = [](const std::string& why) {
    std::cerr << "sparkify up: " << why << "\n";
    return why == "interrupted" ? 0 : 2;  // Ctrl-C while starting: a clean stop
  };
  if (Status s = CheckPorts(f); !s.ok()) return fail(s.message());
  if (Status s = CheckModelFlags(f); !s.ok()) return fail(s.message());
  auto keys = PrepareKeys(f);
  if (!keys.ok()) return fail(keys.status().message());

  BlockStopSignals();
  ChildTree tree;
  const std::string dir = SelfDir();
  auto store_line = tree.StartAndWait("store", StoreSpec(f, dir, *keys),
                                      "sparkify store listening on", std::chrono::seconds(30));
  if (!store_line.ok()) return fail(store_line.status().message());
  const std::string store_url = UrlOf(*store_line);

  auto function_line =
      tree.StartAndWait("function", FunctionSpec(f, dir, *keys, store_url),
                        "sparkify function listening on", std::chrono::seconds(200));
  if (!function_line.ok()) return fail(function_line.status().message());
  if (size_t at = function_line->find("(worker init failed: "); at != std::string::npos) {
    // The endpoint is up but the model is not: nothing would work, say why now.
    std::string why = function_line->substr(at + 21);
    why = why.substr(0, why.find("; invokes will retry it"));
    return fail("the AI function cannot start: " + why);
  }
  const std::string function_url = UrlOf(*function_line);

  auto web_line = tree.StartAndWait("web", WebSpec(f, dir, *keys, store_url, function_url),
                                    "sparkify web listening on", std::chrono::seconds(30));
  if (!web_line.ok()) return fail(web_line.status().message());
  PrintReady(f, *keys, UrlOf(*web_line), function_url, store_url);
  return tree.Supervise();
}

}  // namespace

void RegisterUp(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<UpFlags>();
  flags->data_dir = Env("HOME").value_or(".") + "/.local/share/sparkify";
  auto* cmd = app.add_subcommand(
      "up", "Run everything on this machine: the store, the AI function and the web app");
  cmd->add_option("--data", flags->data_dir, "Data directory (keys, policies, the bucket)")
      ->capture_default_str();
  cmd->add_option("--web-port", flags->web_port, "The web app's port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--function-port", flags->function_port,
                  "The function's invoke endpoint port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--store-port", flags->store_port, "The store's port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_flag("--allow-private-fetch", flags->allow_private_fetch,
                "Let image URLs reach loopback and private addresses (function and web)");
  cmd->add_option("--model-size", flags->model_size,
                  "The model's input side, a multiple of 64 (default: the model's, 1024)")
      ->check(CLI::Range(0, 2048));
  cmd->add_option("--precision", flags->precision,
                  "The model's arithmetic: fp32, or bf16 (faster, on CPUs with AVX512-BF16)")
      ->check(CLI::IsMember({"fp32", "bf16"}))
      ->capture_default_str();
  cmd->add_option("--segment-concurrency", flags->segment_concurrency,
                  "Covers of one job segmented at once")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  cmd->add_option("--retention-days", flags->retention_days,
                  "Days after which stored covers (uploads/) and collages (collages/) are "
                  "deleted, as the AWS template's lifecycle rules do")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  cmd->add_option("--function-workers", flags->function_workers,
                  "The function's worker processes (invocations run at once; each holds the "
                  "model, ~0.9 GB at size 1024 in fp32)")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->callback([flags, exit_code] {
    // Whatever escapes (a malformed file read by a library that throws) is a clear error,
    // not std::terminate; the ChildTree's destructor has stopped any child by then.
    try {
      *exit_code = RunUp(*flags);
    } catch (const std::exception& e) {
      std::cerr << "sparkify up: " << e.what() << "\n";
      *exit_code = 2;
    }
  });
}

}  // namespace sparkify::cli
