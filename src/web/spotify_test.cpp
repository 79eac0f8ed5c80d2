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
  Spotify::Login login = spotify.StartLogin();
  EXPECT_NE(login.location.find("code_challenge_method=S256"), std::string::npos);
  EXPECT_NE(login.location.find("state="), std::string::npos);
  Status wrong = spotify.Complete(login.session_id, "code", "not-the-state", "");
  EXPECT_EQ(wrong.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(spotify.Complete("no-such-session", "code", "x", "").code(),
            Status::Code::kUnauthenticated);
  EXPECT_FALSE(spotify.Connected(login.session_id));
  Spotify::Login later = spotify.StartLogin();
  clock.Advance(std::chrono::hours(2));
  EXPECT_EQ(spotify.Complete(later.session_id, "code", "x", "").code(),
            Status::Code::kUnauthenticated);
}

}  // namespace
}  // namespace sparkify::web::internal
