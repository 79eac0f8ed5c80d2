#include "web/internal/spotify.h"

#include <gtest/gtest.h>

namespace sparkify::web::internal {
namespace {

// RFC 7636, appendix B.
TEST(Pkce, MatchesTheRfcExample) {
  EXPECT_EQ(PkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

std::string Track(const std::string& album, const std::string& small, const std::string& large) {
  return R"({"album":{"id":")" + album + R"(","name":"Album )" + album +
         R"(","artists":[{"name":"Artist"}],"images":[{"url":")" + small +
         R"(","width":64,"height":64},{"url":")" + large + R"(","width":640,"height":640}]}})";
}

TEST(TopTracks, UniqueAlbumsInRankOrderLargestImage) {
  std::string body = "{\"items\":[" + Track("a", "a64", "a640") + "," + Track("b", "b64", "b640") +
                     "," + Track("a", "x", "y") + "," + Track("c", "c64", "c640") + "]}";
  auto covers = CoversFromTopTracks(body, 30);
  ASSERT_TRUE(covers.ok());
  ASSERT_EQ(covers->size(), 3u);
  EXPECT_EQ((*covers)[0].url, "a640");
  EXPECT_EQ((*covers)[1].url, "b640");
  EXPECT_EQ((*covers)[2].url, "c640");
  EXPECT_EQ((*covers)[0].name, "Album a - Artist");
  auto two = CoversFromTopTracks(body, 2);
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->size(), 2u);
}

TEST(TopTracks, RefusesOtherDocuments) {
  EXPECT_FALSE(CoversFromTopTracks("[]", 30).ok());
  EXPECT_FALSE(CoversFromTopTracks("{\"error\":1}", 30).ok());
  EXPECT_FALSE(CoversFromTopTracks("not json", 30).ok());
}

TEST(SpotifySession, StateIsCheckedAndSingleUse) {
  SpotifyOptions o;
  o.client_id = "id";
  o.client_secret = "secret";
  o.token_url = "http://127.0.0.1:1/token";  // never reached: the state is wrong
  ManualClock clock(FromUnixSeconds(1'700'000'000));
  Spotify spotify(o, "http://127.0.0.1:8080/auth/spotify/callback", &clock);
  SpotifySession session;
  std::string location = spotify.StartLogin(&session);
  EXPECT_NE(location.find("code_challenge_method=S256"), std::string::npos);
  EXPECT_NE(location.find("state=" + session.state), std::string::npos);
  EXPECT_NE(location.find("code_challenge=" + PkceChallenge(session.verifier)), std::string::npos);
  const std::string state = session.state;
  Status wrong = spotify.Complete(&session, "code", "not-the-state", "");
  EXPECT_EQ(wrong.code(), Status::Code::kInvalidArgument);
  // Spent: the right state no longer works either.
  EXPECT_EQ(spotify.Complete(&session, "code", state, "").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(spotify.Complete(nullptr, "code", "x", "").code(), Status::Code::kUnauthenticated);
  EXPECT_FALSE(spotify.Connected(session));
  EXPECT_EQ(spotify.FreshToken(&session).status().code(), Status::Code::kUnauthenticated);
}

TEST(SessionCookie, SealsOpensAndRefusesForgedOrExpiredOnes) {
  const std::string key = SessionKey("web secret");
  const TimePoint now = FromUnixSeconds(1'700'000'000);
  SpotifySession s;
  s.access_token = "BQ-access";
  s.refresh_token = "AQ-refresh";
  s.token_expires = now + std::chrono::minutes(50);
  s.expires = now + std::chrono::hours(1);
  const std::string cookie = SealSession(key, s);
  EXPECT_EQ(
      cookie.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);  // a cookie value as it is
  EXPECT_EQ(cookie.find("BQ-access"), std::string::npos);
  auto opened = OpenSession(key, cookie, now);
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->access_token, "BQ-access");
  EXPECT_EQ(opened->refresh_token, "AQ-refresh");
  EXPECT_EQ(opened->token_expires, s.token_expires);
  // Another replica with the same secret opens it; another secret does not.
  EXPECT_TRUE(OpenSession(SessionKey("web secret"), cookie, now));
  EXPECT_FALSE(OpenSession(SessionKey("other secret"), cookie, now));
  EXPECT_FALSE(OpenSession(key, cookie, now + std::chrono::hours(1)));
  std::string forged = cookie;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(OpenSession(key, forged, now));
  EXPECT_FALSE(OpenSession(key, "", now));
  EXPECT_FALSE(OpenSession(key, "not base64!", now));
  EXPECT_FALSE(OpenSession(key, std::string(5000, 'A'), now));
}

}  // namespace
}  // namespace sparkify::web::internal
