// `sparkify function`: the AI function. With AWS_LAMBDA_RUNTIME_API set it is the Lambda
// worker (function_worker.cpp); otherwise it runs the local emulator on --listen, whose worker
// is this same binary re-executed with AWS_LAMBDA_RUNTIME_API pointing at the emulator's
// Runtime API and the configuration in its environment.
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>

#include "cli/commands.h"
#include "cli/data_dirs.h"
#include "cli/env.h"
#include "cli/function_config.h"
#include "common/heap.h"
#include "iam/identity.h"
#include "lambda/emulator.h"
#include "vision/manifest.h"

namespace sparkify::cli {
namespace {

struct FunctionFlags {
  FunctionConfig config;
  std::string listen = "127.0.0.1:9000";
  int timeout_s = 300;
  int workers = 1;
  std::string iam_data;
  bool allow_unsigned_remote = false;
};

// Watches the emulator's log for the worker's first start-up outcome.
class Readiness {
 public:
  void See(std::string_view line) {
    std::lock_guard lock(mu_);
    if (state_ != State::kWaiting) return;
    if (line.find(kWorkerReadyLine) != std::string_view::npos) {
      state_ = State::kReady;
    } else if (size_t at = line.find(kWorkerFailedLine); at != std::string_view::npos) {
      state_ = State::kFailed;
      why_ = std::string(line.substr(at + std::string_view(kWorkerFailedLine).size()));
    } else if (line.find("INIT_REPORT") != std::string_view::npos ||
               line.find("cannot start:") != std::string_view::npos) {
      state_ = State::kFailed;
      why_ = std::string(line);
    } else {
      return;
    }
    cv_.notify_all();
  }
  // "" when the worker is ready; else why not.
  std::string Wait(std::chrono::seconds limit) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limit, [&] { return state_ != State::kWaiting; })) {
      return "no word from the worker within " + std::to_string(limit.count()) + " s";
    }
    return state_ == State::kReady ? "" : why_;
  }

 private:
  enum class State { kWaiting, kReady, kFailed };
  std::mutex mu_;
  std::condition_variable cv_;
  State state_ = State::kWaiting;
  std::string why_;
};

// The worker's whole environment: the configuration, the S3 credentials, and a few basics.
std::vector<std::string> WorkerEnvironment(const FunctionConfig& c, const std::string& model) {
  std::vector<std::string> env = {
      "SPARKIFY_MODEL=" + model,
      "SPARKIFY_MODEL_SIZE=" + std::to_string(c.size),
      "SPARKIFY_PRECISION=" + c.precision,
      "SPARKIFY_THRESHOLD=" + std::to_string(c.threshold),
      "SPARKIFY_HUGE_PAGES=" + c.huge_pages,
      "SPARKIFY_BUCKET=" + c.bucket,
      "SPARKIFY_S3_ENDPOINT=" + c.s3_endpoint,
      "SPARKIFY_ALLOW_PRIVATE_FETCH=" + std::string(c.allow_private_fetch ? "1" : "0"),
      "AWS_REGION=" + c.region,
  };
  // malloc in huge pages (common/heap.h), whether or not this process was started with it;
  // with --huge-pages off, glibc's tunables as they are (small pages, or the user's choice).
  const std::string tunables = Env(kGlibcTunables).value_or("");
  if (c.huge_pages == "off") {
    if (!tunables.empty()) env.push_back(std::string(kGlibcTunables) + "=" + tunables);
  } else {
    env.push_back(std::string(kGlibcTunables) + "=" + TunablesWithHugePageMalloc(tunables));
  }
  // The S3 credentials, a few basics, and the engine's own knobs (README): a thread cap, the
  // AVX2 cap.
  for (const char* name : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "PATH", "HOME", "TMPDIR", "TZ", "LANG", "SPDLOG_LEVEL", "SSL_CERT_FILE",
                           "SSL_CERT_DIR", "OMP_NUM_THREADS", "ONEDNN_MAX_CPU_ISA"}) {
    if (auto v = Env(name)) env.push_back(std::string(name) + "=" + *v);
  }
  return env;
}

// The model's manifest, checked against the flags: a broken one, or flags it cannot take, stop
// the start now. (A model not there yet is only reported: the workers retry loading it at each
// invoke.) The bucket must be set.
Status CheckModelAndBucket(const FunctionFlags& f, const std::string& model) {
  if (auto manifest = vision::LoadManifest(model); !manifest.ok()) {
    if (!manifest.status().IsNotFound()) return manifest.status();
  } else {
    const int size = f.config.size == 0 ? manifest->input.default_size : f.config.size;
    if (Status s = vision::CheckInputSize(*manifest, size); !s.ok()) {
      return Status::InvalidArgument("--size " + std::to_string(size) + ": " + s.message());
    }
    SPARKIFY_RETURN_IF_ERROR(vision::CheckPrecision(*manifest, f.config.precision));
  }
  if (f.config.bucket.empty()) {
    return Status::InvalidArgument(
        "no bucket: set --bucket or SPARKIFY_BUCKET (cut-outs are stored there), plus "
        "SPARKIFY_S3_ENDPOINT for a store other than AWS S3 and the S3 credentials in "
        "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (e.g. docker run -e SPARKIFY_BUCKET=... -e "
        "AWS_ACCESS_KEY_ID -e AWS_SECRET_ACCESS_KEY ...)");
  }
  return Status::OK();
}

// With --iam-data, the store's users and policies, for signed invokes; else null.
Result<std::unique_ptr<iam::IdentityStore>> OpenIdentities(const FunctionFlags& f) {
  if (f.iam_data.empty()) return std::unique_ptr<iam::IdentityStore>();
  SPARKIFY_RETURN_IF_ERROR(RequireDirectory(f.iam_data, "--iam-data"));
  SPARKIFY_RETURN_IF_ERROR(RefuseUpDataDir(f.iam_data, "--iam-data"));
  auto id = SecretFromEnv("SPARKIFY_ROOT_ACCESS_KEY_ID");
  auto secret = SecretFromEnv("SPARKIFY_ROOT_SECRET_ACCESS_KEY");
  if (!id.ok() || !secret.ok() || !id->has_value() || !secret->has_value()) {
    return Status::InvalidArgument(
        "--iam-data needs the store's root credentials in SPARKIFY_ROOT_ACCESS_KEY_ID and "
        "SPARKIFY_ROOT_SECRET_ACCESS_KEY (or *_FILE)");
  }
  return iam::IdentityStore::Open(f.iam_data, {**id, **secret, ""});
}

int RunLocal(const FunctionFlags& f) {
  auto fail = [](const Status& s) {
    std::cerr << "sparkify function: " << s.message() << "\n";
    return 2;
  };
  lambda::EmulatorOptions options;
  if (Status s = ParseListen(f.listen, &options.host, &options.port); !s.ok()) return fail(s);
  std::string model = f.config.model.empty() ? DefaultModelManifest() : f.config.model;
  model = std::filesystem::absolute(model).lexically_normal().string();
  auto identities = OpenIdentities(f);
  if (!identities.ok()) return fail(identities.status());
  if (Status s = CheckModelAndBucket(f, model); !s.ok()) return fail(s);

  auto readiness = std::make_shared<Readiness>();
  options.worker_command = {"/proc/self/exe", "function"};
  if (auto tmp = Env("TMPDIR"); tmp && !tmp->empty()) options.runtime_socket_parent = *tmp;
  options.worker_environment = WorkerEnvironment(f.config, model);
  options.region = f.config.region;
  options.timeout = std::chrono::seconds(f.timeout_s);
  options.workers = f.workers;
  options.identities = identities->get();
  options.allow_unsigned_remote = f.allow_unsigned_remote;
  options.log = [readiness](std::string_view line) {
    readiness->See(line);
    std::string out(line);
    out.push_back('\n');
    std::cerr << out << std::flush;
  };

  BlockStopSignals();
  auto emulator = lambda::Emulator::Start(options);
  if (!emulator.ok()) return fail(emulator.status());
  std::string why = readiness->Wait(std::chrono::seconds(150));
  std::string host = options.host.find(':') != std::string::npos ? "[" + options.host + "]"
                                                                  : options.host;
  // Tests and scripts read this line to learn the port.
  std::cout << "sparkify function listening on http://" << host << ":" << (*emulator)->port();
  if (!why.empty()) std::cout << " (worker init failed: " << why << "; invokes will retry it)";
  std::cout << std::endl;
  int sig = WaitForStopSignal();
  std::cerr << "sparkify function: signal " << sig << ", stopping\n";
  (*emulator)->Stop();
  return 0;
}

}  // namespace

void AddModelOptions(CLI::App* cmd, FunctionConfig* config) {
  cmd->add_option("--model", config->model,
                  "Model manifest (default: $SPARKIFY_CACHE/models/isnet-general-medium/"
                  "manifest.json)")
      ->envname("SPARKIFY_MODEL");
  cmd->add_option("--size", config->size,
                  "Model input side, a multiple of 64 (0, the default: the manifest's, 1024)")
      ->envname("SPARKIFY_MODEL_SIZE")
      ->check(ModelSideValidator());
  cmd->add_option("--precision", config->precision,
                  "Arithmetic of the model: fp32; fast (fp32 with larger Winograd tiles: up to "
                  "10% faster, masks within ~3e-4 of fp32's); or bf16 (on CPUs with "
                  "AVX512-BF16). fast and bf16 only for models whose manifest offers them")
      ->envname("SPARKIFY_PRECISION")
      ->transform(CLI::IsMember({"fp32", "fast", "bf16"}, CLI::ignore_case))
      ->capture_default_str();
  cmd->add_option("--threshold", config->threshold,
                  "Foreground share from which a cut-out is used")
      ->envname("SPARKIFY_THRESHOLD")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--huge-pages", config->huge_pages,
                  "The engine's activations and converted weights, and malloc's memory, in "
                  "transparent huge pages: on (a faster forward), or off (4 KiB pages: a cold "
                  "start 0.1-0.35 s shorter on a virtual machine whose balloon gives free memory "
                  "back to the host, e.g. Firecracker)")
      ->envname("SPARKIFY_HUGE_PAGES")
      ->transform(CLI::IsMember({"on", "off"}, CLI::ignore_case))
      ->capture_default_str();
}

void RegisterFunction(CLI::App& app, int* exit_code) {
  auto flags = std::make_shared<FunctionFlags>();
  auto* cmd = app.add_subcommand(
      "function", "Run the AI function: the Lambda worker when AWS_LAMBDA_RUNTIME_API is set, "
                  "else a local Lambda emulator serving the invoke API");
  FunctionConfig& c = flags->config;
  cmd->add_option("--listen", flags->listen, "HOST:PORT of the invoke API (port 0: any free port)")
      ->envname("SPARKIFY_LISTEN")
      ->capture_default_str();
  cmd->add_flag("--allow-unsigned-remote", flags->allow_unsigned_remote,
                "Accept unsigned invokes from any address, not only loopback (for a container's "
                "published port, as the Lambda Runtime Interface Emulator does)")
      ->envname("SPARKIFY_ALLOW_UNSIGNED_REMOTE");
  AddModelOptions(cmd, &c);
  cmd->add_option("--bucket", c.bucket, "Bucket for cut-outs and key inputs")
      ->envname("SPARKIFY_BUCKET");
  cmd->add_option("--s3-endpoint", c.s3_endpoint,
                  "S3 endpoint, e.g. http://127.0.0.1:9100 (default: AWS S3 in the region)")
      ->envname("SPARKIFY_S3_ENDPOINT");
  cmd->add_option("--region", c.region, "Region (S3 signing, function ARN)")
      ->envname("AWS_REGION")
      ->capture_default_str();
  cmd->add_option("--timeout", flags->timeout_s, "Invocation time limit, seconds")
      ->check(CLI::Range(1, 900))
      ->capture_default_str();
  cmd->add_option("--workers", flags->workers,
                  "Worker processes, each one invocation at a time with its own copy of the "
                  "model (~0.4 GB at size 1024 in fp32)")
      ->envname("SPARKIFY_FUNCTION_WORKERS")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  cmd->add_flag("--allow-private-fetch", c.allow_private_fetch,
                "Let image URLs reach loopback, private and link-local addresses")
      ->envname("SPARKIFY_ALLOW_PRIVATE_FETCH");
  cmd->add_option("--iam-data", flags->iam_data,
                  "The store's data dir: keys and policies for signed invokes "
                  "(lambda:InvokeFunction); needs SPARKIFY_ROOT_* as the store does");
  cmd->callback([flags, exit_code] {
    if (auto api = Env("AWS_LAMBDA_RUNTIME_API")) {
      *exit_code = RunFunctionWorker(*api, flags->config);
    } else {
      *exit_code = RunLocal(*flags);
    }
  });
}

}  // namespace sparkify::cli
