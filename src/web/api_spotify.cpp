// The Spotify sign-in routes (only reached when Spotify is configured).
#include "web/app.h"
#include "web/respond.h"

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
  if (!s.ok()) {
    switch (s.code()) {
      case Status::Code::kUnauthenticated:
        return ErrorResponse(401, "spotify_session", s.message());
      case Status::Code::kInvalidArgument:
        return ErrorResponse(400, "spotify_state", s.message());
      default:
        return ErrorResponse(502, "spotify_error", s.message());
    }
  }
  http::Response res;
  res.status = 302;
  res.Set("Location", "/?spotify=connected");
  res.Set("Cache-Control", "no-store");
  return res;
}

}  // namespace sparkify::web::internal
