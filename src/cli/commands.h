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

}  // namespace sparkify::cli
