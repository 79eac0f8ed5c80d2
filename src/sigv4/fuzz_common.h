// Shared fixtures of the SigV4 fuzzers: one known key, a fixed clock at the time the seed
// corpus was signed (2024-03-01T12:00:00Z). Test-only.
#pragma once

#include <string>

#include "common/clock.h"
#include "sigv4/sigv4.h"

namespace sparkify::sigv4::fuzz {

inline constexpr char kAccessKey[] = "AKIDFUZZ";
inline constexpr char kSecret[] = "fuzz/secret";
inline constexpr char kTempKey[] = "ASIAFUZZ";
inline constexpr char kToken[] = "fuzz-token";

inline const ManualClock& FixedClock() {
  static const ManualClock clock(*ParseAmzDate("20240301T120000Z"));
  return clock;
}

inline KeyLookup Keys() {
  return [](std::string_view id) -> std::optional<KeyInfo> {
    if (id == kAccessKey) return KeyInfo{kSecret, ""};
    if (id == kTempKey) return KeyInfo{kSecret, kToken};
    return std::nullopt;
  };
}

inline VerifyOptions Options() {
  VerifyOptions o;
  o.region = "us-east-1";
  o.clock = &FixedClock();
  return o;
}

// Every outcome is either a verification or a failure with a message; the message never
// reveals the server's secret or session token (unless the client itself sent that text).
inline void CheckOutcome(const VerifyOutcome& out, std::string_view input) {
  if (out.ok() == out.failure.has_value()) __builtin_trap();
  if (!out.failure) return;
  const std::string& m = out.failure->message;
  if (m.empty()) __builtin_trap();
  for (std::string_view secret : {std::string_view(kSecret), std::string_view(kToken)}) {
    if (m.find(secret) != std::string::npos && input.find(secret) == std::string_view::npos) {
      __builtin_trap();
    }
  }
}

}  // namespace sparkify::sigv4::fuzz
