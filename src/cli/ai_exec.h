// The AI subcommands (function, segment, web) live in a sibling binary, sparkify-ai, so that the
// store and the other light commands do not map OpenCV and its ~140 shared libraries (they
// cost the store ~43 MB of resident memory at start). `sparkify function ...` re-executes
// itself as `sparkify-ai function ...`; users only ever type `sparkify`.
#pragma once

#include <CLI/CLI.hpp>

namespace sparkify::cli {

// True for the subcommands sparkify-ai serves.
bool IsAiSubcommand(const char* name);
// Replaces this process with sparkify-ai (next to this executable) and the same arguments.
// Returns only on failure, with the exit code to use after printing why.
int ExecAi(int argc, char** argv);
// Lists the AI subcommands in `sparkify --help` (they are dispatched before parsing).
void RegisterAiPlaceholders(CLI::App& app);

}  // namespace sparkify::cli
