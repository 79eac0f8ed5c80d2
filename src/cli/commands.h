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

// The variable whose value CLI11's message `what` is about, or "": the message names an
// option of `command` ("--size: Value abc not in range 0 to 4096", "Could not convert:
// --allow-private-fetch = maybe"; each subcommand reads only its own variables,
// ReadOwnVariablesOnly), whose value came from its variable only if the command line did not
// give one (then the option holds the variable's value).
std::string VariableBehind(const CLI::App& command, const std::string& what);

// --size / --model-size: a number, 0 (the model's own default) up to vision::kMaxInputSize;
// the model's manifest says which sides it takes (a multiple of its size_multiple), checked
// against it before the model loads, naming the flag.
CLI::Validator ModelSideValidator();

// What main() returns for a parse error: help and the version are printed as CLI11 does
// (exit 0); any other error is printed with the variable behind it, if one is (e.g. "--precision:
// int4 not in {fp32,fast,bf16} (from SPARKIFY_PRECISION in the environment)"), and is exit 2, as
// the commands' own usage errors are (CLI11's own codes were 105-109).
int ExitForParseError(CLI::App& app, const CLI::ParseError& e);

}  // namespace sparkify::cli
