// Internal: "Sync with Spotify". Authorization Code with PKCE (S256) and a random, checked,
// single-use `state`; the tokens stay in a server-side session that the browser names only by
// an httpOnly SameSite=Lax cookie. The user's top 50 tracks give the album covers: unique
// albums, in rank order, at most `max`, the largest image of each.
// Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "web/web.h"

namespace sparkify::web::internal {

inline constexpr char kSessionCookie[] = "sparkify_session";

// PKCE: the S256 challenge of a verifier (base64url of its SHA-256, no padding).
std::string PkceChallenge(const std::string& verifier);
std::string Base64Url(std::string_view bytes);

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

  // A new session with a fresh verifier and state; the authorize URL to send the browser to.
  struct Login {
    std::string session_id;
    std::string location;
  };
  Login StartLogin();

  // The callback. Unauthenticated: no or an expired session; InvalidArgument: a wrong state
  // (or Spotify's own `error`); Unavailable: the token endpoint failed.
  Status Complete(const std::string& session_id, const std::string& code, const std::string& state,
                  const std::string& error);

  // Whether the session holds an access token that is not expired or can be refreshed.
  bool Connected(const std::string& session_id);

  // The session's top album covers. Unauthenticated as for Complete (or a token Spotify
  // refuses), Unavailable when the API cannot be reached.
  Result<std::vector<AlbumCover>> TopCovers(const std::string& session_id, int max);

  // The session's access token, refreshed first (refresh_token grant) when it expires within
  // kRefreshMargin, so a person stays signed in past Spotify's one-hour tokens. Unauthenticated
  // when there is none, or Spotify refuses the refresh (invalid_grant); Unavailable when the
  // token endpoint fails otherwise.
  Result<std::string> FreshToken(const std::string& session_id);

  static constexpr std::chrono::seconds kRefreshMargin{60};

 private:
  struct Session {
    TimePoint last_used;
    std::string verifier;
    std::string state;
    std::string access_token;
    std::string refresh_token;
    TimePoint token_expires;
  };
  struct Grant {
    std::string access_token;
    std::string refresh_token;  // empty: keep the one the session has
    TimePoint expires;
  };
  // The token endpoint with this form (Basic client auth).
  Result<Grant> RequestToken(const std::vector<std::pair<std::string, std::string>>& form);
  static void Keep(const Grant& grant, Session* s);
  // The live session (expired ones are dropped); null when none. REQUIRES: mu_ held.
  Session* FindLocked(const std::string& session_id);

  SpotifyOptions options_;
  std::string redirect_uri_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;
};

}  // namespace sparkify::web::internal
