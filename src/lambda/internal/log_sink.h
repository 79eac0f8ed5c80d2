// Internal to the lambda libraries: the default log sink, one line to stderr per call (defined
// in the runtime library, used by the emulator too).
#pragma once

#include <string_view>

namespace sparkify::lambda::internal {

// Writes `line` and a newline to stderr in one go (lines from several threads do not mix).
void WriteStderrLine(std::string_view line);

}  // namespace sparkify::lambda::internal
