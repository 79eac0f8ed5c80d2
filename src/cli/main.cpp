// sparkify: one binary, one subcommand per part of the product.
#include <spdlog/cfg/env.h>
#include <spdlog/spdlog.h>

#include "cli/commands.h"

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::info);
  spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL=debug, for example
  CLI::App app{"Sparkify: subject cut-outs of your album covers, served from a private bucket"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sparkify 0.1.0");
  int exit_code = 0;
  sparkify::cli::RegisterStore(app, &exit_code);
  sparkify::cli::RegisterPresign(app, &exit_code);
  sparkify::cli::RegisterUser(app, &exit_code);
  sparkify::cli::RegisterFunction(app, &exit_code);
  sparkify::cli::RegisterSegment(app, &exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
