// Internal: the browser's Spotify session, kept by the browser itself in a sealed cookie, so
// any replica of the web app that shares the key serves it and a restart loses nothing. The
// cookie is base64url(AES-256-GCM(key, JSON of the session)), authenticated under a label
// that names its purpose and version; the key comes from SPARKIFY_SESSION_SECRET or from the
// web principal's secret key (SessionKey). Nobody without the key can read the tokens in it
// or make or alter one; a cookie past its `expires` is refused like a forged one.
// Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace sparkify::web::internal {

inline constexpr char kSessionCookie[] = "sparkify_session";
// Browsers keep cookies up to 4096 bytes; a longer value is refused unread.
inline constexpr size_t kMaxSessionCookie = 4000;

struct SpotifySession {
  std::string verifier;  // PKCE, while signing in
  std::string state;     // single use: cleared by the callback
  std::string access_token;
  std::string refresh_token;
  TimePoint token_expires{};
  TimePoint expires{};  // the cookie's end: session_ttl after it was last sealed
};

// The sealing key (32 bytes) made from a secret (SPARKIFY_SESSION_SECRET, or the web
// principal's secret key).
std::string SessionKey(std::string_view secret);
// The cookie's value.
std::string SealSession(std::string_view key, const SpotifySession& session);
// The session in a cookie's value; nullopt when it is malformed, too long, forged, sealed
// with another key, or past its `expires` at `now`.
std::optional<SpotifySession> OpenSession(std::string_view key, std::string_view cookie,
                                          TimePoint now);

}  // namespace sparkify::web::internal
