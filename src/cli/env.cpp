#include "cli/env.h"

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string_view>

#include "cli/commands.h"
#include "common/files.h"
#include "vision/manifest.h"

namespace sparkify::cli {

std::optional<std::string> Env(const std::string& var) {
  const char* v = std::getenv(var.c_str());
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string(v);
}

Result<std::optional<std::string>> SecretFromEnv(const std::string& var) {
  if (auto v = Env(var)) {
    // A trailing line break is the file's a secret was stored from (Secrets Manager hands
    // it to ECS as it was given), never part of a key.
    while (!v->empty() && (v->back() == '\n' || v->back() == '\r')) v->pop_back();
    if (v->empty()) return Status::InvalidArgument(var + " holds only a line break");
    return std::optional<std::string>(*v);
  }
  auto file = Env(var + "_FILE");
  if (!file) return std::optional<std::string>();
  auto content = ReadFileToString(*file, 64 * 1024);
  if (!content.ok()) {
    return Status::InvalidArgument(var + "_FILE: " + content.status().message());
  }
  std::string s = *content;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  if (s.empty()) return Status::InvalidArgument(var + "_FILE names an empty file");
  return std::optional<std::string>(s);
}

std::string DefaultModelManifest() {
  std::string cache;
  if (auto v = Env("SPARKIFY_CACHE")) {
    cache = *v;
  } else {
    cache = Env("HOME").value_or(".") + "/.cache/sparkify";
  }
  return cache + "/models/isnet-general-medium/manifest.json";
}

Status ParseListen(const std::string& text, std::string* host, uint16_t* port) {
  std::string h = "127.0.0.1", p = text;
  size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
    if (h.empty()) h = "127.0.0.1";
    if (h == "localhost") h = "127.0.0.1";
  }
  char* end = nullptr;
  long v = std::strtol(p.c_str(), &end, 10);
  if (p.empty() || *end != '\0' || v < 0 || v > 65535) {
    return Status::InvalidArgument("--listen wants HOST:PORT (e.g. 127.0.0.1:9000), got '" +
                                   text + "'");
  }
  *host = h;
  *port = static_cast<uint16_t>(v);
  return Status::OK();
}

void BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int WaitForStopSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

namespace {

// Gives every named subcommand of `app`, nested ones too, a parse-complete callback: such a
// subcommand processes its variables, checks and requirements as its own arguments end, and
// only if it was given; its final callback (the command's work) still runs after the whole
// command line is parsed.
void CheckEachWhenItRuns(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name().empty()) continue;  // an option group, part of its parent
    sub->parse_complete_callback([] {});
    CheckEachWhenItRuns(*sub);
  }
}

}  // namespace

void ReadOwnVariablesOnly(CLI::App& app, int argc, const char* const* argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "-h" || arg == "--help" || arg == "--version") return;
  }
  CheckEachWhenItRuns(app);
}

std::string VariableBehind(const CLI::App& command, const std::string& what) {
  for (const CLI::Option* opt : command.get_options()) {
    const std::string name = opt->get_name(), var = opt->get_envname();
    if (what.rfind(name + ":", 0) != 0 && what.rfind("Could not convert: " + name + " =", 0) != 0) {
      continue;
    }
    const auto value = var.empty() ? std::nullopt : Env(var);
    return value && opt->results() == std::vector<std::string>{*value} ? var : "";
  }
  return "";
}

CLI::Validator ModelSideValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        int side = 0;
        size_t used = 0;
        try {
          side = std::stoi(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size()) return "not a number: " + text;
        if (side >= 0 && side <= vision::kMaxInputSize) return "";
        return std::to_string(side) + " is not 0 (the model's default) or a side up to " +
               std::to_string(vision::kMaxInputSize);
      },
      "0.." + std::to_string(vision::kMaxInputSize));
}

int ExitForParseError(CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  // The deepest subcommand given names the command, and its options the variable.
  const CLI::App* command = &app;
  std::string path = app.get_name();
  for (;;) {
    const auto given = command->get_subcommands();
    if (given.empty()) break;
    command = given.front();
    path += " " + command->get_name();
  }
  const std::string what = e.what();
  const std::string var = VariableBehind(*command, what);
  std::cerr << path << ": " << what << (var.empty() ? "" : " (from " + var + " in the environment)")
            << "\nRun with --help for more information." << std::endl;
  return 2;
}

}  // namespace sparkify::cli
