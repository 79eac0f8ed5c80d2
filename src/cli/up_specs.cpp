#include "cli/up_specs.h"

#include <unistd.h>

#include "cli/env.h"

namespace sparkify::cli {
namespace {

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

}  // namespace

std::string SelfDir() {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return ".";
  self[n] = '\0';
  std::string path(self);
  return path.substr(0, path.rfind('/'));
}

// The store, with the root key.
process::SpawnSpec StoreSpec(const UpFlags& f, const std::string& dir, const UpKeys& keys) {
  process::SpawnSpec store;
  // The AWS template's lifecycle rules: covers, collages and job records expire, unfinished
  // multipart uploads are aborted after a day; and its bucket encryption: everything SSE-S3.
  std::string retention = std::to_string(f.retention_days) + "d";
  store.argv = {dir + "/sparkify",
                "store",
                "--data",
                keys.store_dir,
                "--listen",
                "127.0.0.1:" + std::to_string(f.store_port),
                "--create-bucket",
                kBucket,
                "--expire",
                "uploads/=" + retention,
                "--expire",
                "collages/=" + retention,
                "--expire",
                "jobs/=" + retention,
                "--abort-uploads-after",
                "1d",
                "--default-encryption",
                "AES256"};
  // The page uploads covers straight to the bucket (POST forms): it needs the bucket's CORS
  // rule for the web app's origin, by either loopback name. An unknown port (0): any port.
  std::string port = f.web_port > 0 ? std::to_string(f.web_port) : "*";
  for (const char* host : {"http://127.0.0.1:", "http://localhost:"}) {
    store.argv.push_back("--cors-origin");
    store.argv.push_back(host + port);
  }
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
  // The engine's knobs (README): a thread cap, the AVX2 cap, huge pages or not, and glibc's
  // tunables (the function adds malloc in huge pages to them, keeping a setting of yours).
  for (const char* name :
       {"OMP_NUM_THREADS", "ONEDNN_MAX_CPU_ISA", "SPARKIFY_HUGE_PAGES", "GLIBC_TUNABLES"}) {
    if (auto v = Env(name)) function.env.push_back(std::string(name) + "=" + *v);
  }
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
        "SPARKIFY_PUBLIC_URL", "SPARKIFY_SHARE_SECRET", "SPARKIFY_SHARE_SECRET_FILE",
        "SPARKIFY_SESSION_SECRET", "SPARKIFY_SESSION_SECRET_FILE"}) {
    if (auto v = Env(name)) web.env.push_back(std::string(name) + "=" + *v);
  }
  return web;
}

}  // namespace sparkify::cli
