// sparkify: one command, one subcommand per part of the product. The AI subcommands are
// served by the sibling binary sparkify-ai (see ai_exec.h).
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include "cli/ai_exec.h"
#include "cli/commands.h"

int main(int argc, char** argv) {
  if (argc > 1 && sparkify::cli::IsAiSubcommand(argv[1])) return sparkify::cli::ExecAi(argc, argv);
  spdlog::set_level(spdlog::level::info);
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug, for example
  CLI::App app{"Sparkify: subject cut-outs of your album covers, served from a private bucket"};
  app.name("sparkify");  // in messages and help, whatever path it was run by
  app.require_subcommand(1);
  app.set_version_flag("--version", "sparkify 0.1.0");
  int exit_code = 0;
  sparkify::cli::RegisterUp(app, &exit_code);
  sparkify::cli::RegisterStore(app, &exit_code);
  sparkify::cli::RegisterPresign(app, &exit_code);
  sparkify::cli::RegisterUser(app, &exit_code);
  sparkify::cli::RegisterPolicy(app, &exit_code);
  sparkify::cli::RegisterAiPlaceholders(app);
  sparkify::cli::ReadOwnVariablesOnly(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return sparkify::cli::ExitForParseError(app, e);
  }
  return exit_code;
}
