// The sparkify subcommands. Only this folder reads flags and environment variables.
#pragma once

#include <CLI/CLI.hpp>

namespace sparkify::cli {

// Each Register* adds one subcommand to `app`; the callback runs it and sets *exit_code.
void RegisterStore(CLI::App& app, int* exit_code);
void RegisterPresign(CLI::App& app, int* exit_code);
void RegisterUser(CLI::App& app, int* exit_code);
void RegisterPolicy(CLI::App& app, int* exit_code);
void RegisterFunction(CLI::App& app, int* exit_code);
void RegisterSegment(CLI::App& app, int* exit_code);
void RegisterWeb(CLI::App& app, int* exit_code);  // sparkify-ai
void RegisterUp(CLI::App& app, int* exit_code);

// Call once every subcommand is registered, with the command line: each subcommand (nested
// ones too) then reads and checks its options' environment variables only when it runs. CLI11
// otherwise reads those of every subcommand, so a bad SPARKIFY_URL_EXPIRES (`web`'s) stopped
// `sparkify segment` with a message about a flag segment does not have. Not when the command
// line asks for help or the version anywhere: a subcommand checked on its own would report
// its missing arguments before the help is shown (`sparkify --help user`).
void ReadOwnVariablesOnly(CLI::App& app, int argc, const char* const* argv);

}  // namespace sparkify::cli
