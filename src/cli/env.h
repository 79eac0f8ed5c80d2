// Environment helpers for the CLI: secrets may come from VAR or from the file named by
// VAR_FILE (as container platforms pass them).
#pragma once

#include <optional>
#include <string>

#include "common/status.h"

namespace sparkify::cli {

// VAR if set and non-empty, else the trimmed content of the file named by VAR_FILE, else
// nullopt. An unreadable VAR_FILE is an error.
Result<std::optional<std::string>> SecretFromEnv(const std::string& var);
std::optional<std::string> Env(const std::string& var);

// ${SPARKIFY_CACHE:-$HOME/.cache/sparkify}/models/isnet-general-medium/manifest.json
std::string DefaultModelManifest();

// Splits "host:port" / "[v6]:port" / ":port" / "port". InvalidArgument on garbage.
Status ParseListen(const std::string& text, std::string* host, uint16_t* port);

// Blocks SIGINT and SIGTERM in the calling thread (call before starting threads) and
// returns a function that waits for one of them.
void BlockStopSignals();
int WaitForStopSignal();

}  // namespace sparkify::cli
