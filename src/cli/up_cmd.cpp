// `sparkify up`: the whole product on one machine. One process tree on loopback: the store
// (`sparkify store`), the AI function (`sparkify-ai function`, whose invoke endpoint serves
// the seed's curl command on --function-port) and the web app (`sparkify-ai web`).
//
// First run in --data DIR: the root key (unless SPARKIFY_ROOT_* are set) is generated and
// saved as DIR/root-credentials.json (0600); the store's data go to DIR/store, where the
// users "function" and "web" get a key each (0600 files) and the least-privilege policies of
// src/access (policy.json files the user may edit); the bucket is created with Block Public
// Access on. Each child gets only its own principal's key in its environment.
//
// This file reads the flags and checks ports and the model; up_keys.cpp prepares the data dir
// and the keys, up_specs.cpp the children's command lines, up_children.cpp runs them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "cli/env.h"
#include "cli/up_children.h"
#include "cli/up_keys.h"
#include "cli/up_options.h"
#include "cli/up_specs.h"
#include "vision/manifest.h"

namespace sparkify::cli {
namespace {

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

void PrintReady(const UpFlags& f, const UpKeys& keys, int model_size, const std::string& web_url,
                const std::string& function_url, const std::string& store_url) {
  std::cout << "\nsparkify is up.\n"
            << "  open      " << web_url << "/\n"
            << "  function  " << function_url
            << "/2015-03-31/functions/function/invocations (model size " << model_size
            << (f.model_size > 0 ? "" : ", the model's default") << ", " << f.precision << ")\n"
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
// Returns the side the model will run at (the flag's, or the manifest's default).
Result<int> CheckModelFlags(const UpFlags& f) {
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
  return f.model_size != 0 ? f.model_size : m.input.default_size;
}

int RunUp(const UpFlags& f) {
  auto fail = [](const std::string& why) {
    std::cerr << "sparkify up: " << why << "\n";
    return why == "interrupted" ? 0 : 2;  // Ctrl-C while starting: a clean stop
  };
  if (Status s = CheckPorts(f); !s.ok()) return fail(s.message());
  auto model_size = CheckModelFlags(f);
  if (!model_size.ok()) return fail(model_size.status().message());
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
  PrintReady(f, *keys, *model_size, UrlOf(*web_line), function_url, store_url);
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
                  "The model's input side, a multiple of 64 (0, the default: the model's own, "
                  "1024)")
      ->check(ModelSideValidator());
  cmd->add_option("--precision", flags->precision,
                  "The model's arithmetic: fp32; fast (up to ~10% faster, masks within ~3e-4 of "
                  "fp32's); or bf16 (on CPUs with AVX512-BF16), where the manifest offers them")
      ->transform(CLI::IsMember({"fp32", "fast", "bf16"}, CLI::ignore_case))
      ->capture_default_str();
  cmd->add_option("--segment-concurrency", flags->segment_concurrency,
                  "Covers of one job segmented at once")
      ->check(CLI::Range(1, 32))
      ->capture_default_str();
  cmd->add_option("--retention-days", flags->retention_days,
                  "Days after which stored covers (uploads/), collages (collages/) and job "
                  "records (jobs/) are deleted, as the AWS template's lifecycle rules do")
      ->check(CLI::Range(1, 3650))
      ->capture_default_str();
  cmd->add_option("--function-workers", flags->function_workers,
                  "The function's worker processes (invocations run at once; each holds the "
                  "model, ~0.4 GB at size 1024 in fp32)")
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
