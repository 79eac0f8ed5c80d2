// Internal: "Sync with Spotify". Authorization Code with PKCE (S256) and a random, checked,
// single-use `state`; the verifier and the tokens live in the browser's session
// (SpotifySession), which the caller keeps sealed in an httpOnly SameSite=Lax cookie
// (session_cookie.h) and seals again after each call that changes it. The user's top 50
// tracks give the album covers: unique albums, in rank order, at most `max`, the largest
// image of each.
// Thread-safe (it holds no sessions).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "web/internal/session_cookie.h"
#include "web/web.h"

namespace sparkify::web::internal {

// PKCE: the S256 challenge of a verifier (base64url of its SHA-256, no padding).
std::string PkceChallenge(const std::string& verifier);

struct AlbumCover {
  std::string url;
  std::string name;  // "Album - Artist"
};

// Album covers from a /v1/me/top/tracks answer. InvalidArgument when it is not one.
Result<std::vector<AlbumCover>> CoversFromTopTracks(const std::string& body, int max);

class Spotify {
 public:
  Spotify(SpotifyOptions options, std::string redirect_uri, const Clock* clock = &Clock::System());

  bool enabled() const { return options_.enabled(); }
  const std::string& redirect_uri() const { return redirect_uri_; }

  // A new session with a fresh verifier and state, into `*session`; the authorize URL to send
  // the browser to.
  std::string StartLogin(SpotifySession* session);

  // The callback: trades the code for tokens, kept in `*session`; the state is spent either
  // way. Unauthenticated: no session (null); InvalidArgument: a wrong state (or Spotify's
  // own `error`); Unavailable: the token endpoint failed.
  Status Complete(SpotifySession* session, const std::string& code, const std::string& state,
                  const std::string& error);

  // Whether the session holds an access token that is not expired or can be refreshed.
  bool Connected(const SpotifySession& session) const;

  // The session's top album covers. Unauthenticated as for FreshToken (or a token Spotify
  // refuses: the tokens are then dropped from `*session`), Unavailable when the API cannot be
  // reached.
  Result<std::vector<AlbumCover>> TopCovers(SpotifySession* session, int max);

  // The session's access token, refreshed first (refresh_token grant, kept in `*session`)
  // when it expires within kRefreshMargin, so a person stays signed in past Spotify's one-hour
  // tokens. Unauthenticated when there is none (or no session), or Spotify refuses the
  // refresh (invalid_grant: the tokens are dropped); Unavailable when the token endpoint
  // fails otherwise.
  Result<std::string> FreshToken(SpotifySession* session);

  static constexpr std::chrono::seconds kRefreshMargin{60};

 private:
  struct Grant {
    std::string access_token;
    std::string refresh_token;  // empty: keep the one the session has
    TimePoint expires;
  };
  // The token endpoint with this form (Basic client auth).
  Result<Grant> RequestToken(const std::vector<std::pair<std::string, std::string>>& form);
  static void Keep(const Grant& grant, SpotifySession* s);

  SpotifyOptions options_;
  std::string redirect_uri_;
  const Clock* clock_;
};

}  // namespace sparkify::web::internal
