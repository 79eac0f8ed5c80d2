// The Spotify sign-in routes (only reached when Spotify is configured).
#include <spdlog/spdlog.h>

#include "common/clock.h"
#include "web/internal/app.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {

std::optional<SpotifySession> App::OpenSpotifySession(const http::Request& req) const {
  std::string cookie = CookieValue(req, kSessionCookie);
  if (cookie.empty()) return std::nullopt;
  return OpenSession(session_key_, cookie, Clock::System().Now());
}

void App::KeepSpotifySession(const http::Request& req, SpotifySession session,
                             http::Response* res) const {
  session.expires = Clock::System().Now() + options_.spotify.session_ttl;
  std::string cookie = std::string(kSessionCookie) + "=" + SealSession(session_key_, session) +
                       "; Path=/; HttpOnly; SameSite=Lax; Max-Age=" +
                       std::to_string(options_.spotify.session_ttl.count());
  if (req.secure) cookie += "; Secure";
  res->Set("Set-Cookie", cookie);
}

http::Response App::SpotifyLogin(const http::Request& req) {
  SpotifySession session;
  http::Response res;
  res.status = 302;
  res.Set("Location", spotify_.StartLogin(&session));
  res.Set("Cache-Control", "no-store");
  KeepSpotifySession(req, std::move(session), &res);
  return res;
}

http::Response App::SpotifyCallback(const http::Request& req) {
  std::optional<SpotifySession> session = OpenSpotifySession(req);
  Status s = spotify_.Complete(session ? &*session : nullptr, QueryValue(req, "code").value_or(""),
                               QueryValue(req, "state").value_or(""),
                               QueryValue(req, "error").value_or(""));
  http::Response res;
  res.status = 302;
  res.Set("Cache-Control", "no-store");
  if (session) KeepSpotifySession(req, std::move(*session), &res);  // the state is spent
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
