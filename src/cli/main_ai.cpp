// sparkify-ai: the AI subcommands of sparkify (function, segment, web), in their own binary so the
// rest of sparkify does not load OpenCV. Run through `sparkify function|segment ...`.
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"
#include "cli/function_config.h"

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::info);
  spdlog::cfg::load_env_levels();
  CLI::App app{"Sparkify's AI function and batch segmentation"};
  app.name("sparkify");
  app.require_subcommand(1);
  app.set_version_flag("--version", "sparkify 0.1.0");
  int exit_code = 0;
  sparkify::cli::RegisterFunction(app, &exit_code);
  sparkify::cli::RegisterSegment(app, &exit_code);
  sparkify::cli::RegisterWeb(app, &exit_code);
  sparkify::cli::ReadOwnVariablesOnly(app, argc, argv);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // As a Lambda worker, a bad variable is reported to the Runtime API, not only printed.
    if (auto code = sparkify::cli::ReportWorkerParseError(app, e)) return *code;
    return sparkify::cli::ExitForParseError(app, e);
  }
  return exit_code;
}
