// The Spotify sign-in routes (only reached when Spotify is configured).
#include <spdlog/spdlog.h>

#include "web/internal/app.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {

http::Response App::SpotifyLogin(const http::Request& req) {
  Spotify::Login login = spotify_.StartLogin();
  http::Response res;
  res.status = 302;
  res.Set("Location", login.location);
  res.Set("Cache-Control", "no-store");
  std::string cookie = std::string(kSessionCookie) + "=" + login.session_id +
                       "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" +
                       std::to_string(options_.spotify.session_ttl.count());
  if (req.secure) cookie += "; Secure";
  res.Set("Set-Cookie", cookie);
  return res;
}

http::Response App::SpotifyCallback(const http::Request& req) {
  std::string session = CookieValue(req, kSessionCookie);
  Status s = spotify_.Complete(session, QueryValue(req, "code").value_or(""),
                               QueryValue(req, "state").value_or(""),
                               QueryValue(req, "error").value_or(""));
  http::Response res;
  res.status = 302;
  res.Set("Cache-Control", "no-store");
  if (!s.ok()) {
    // The browser arrives here from Spotify: send it back to the page, which explains
    // (?spotify=error), rather than showing it a JSON document.
    std::string code = s.code() == Status::Code::kUnauthenticated   ? "spotify_session"
                       : s.code() == Status::Code::kInvalidArgument ? "spotify_state"
                                                                    : "spotify_error";
    spdlog::info("web: Spotify sign-in failed ({}): {}", code, s.message());
    res.Set("Location", "/?spotify=error&code=" + code);
    return res;
  }
  res.Set("Location", "/?spotify=connected");
  return res;
}

}  // namespace sparkify::web::internal
