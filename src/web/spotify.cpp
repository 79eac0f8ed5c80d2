#include "web/internal/spotify.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/uri.h"
#include "web/internal/http_client.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

using json = nlohmann::json;

std::string Form(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += UriEncode(k) + "=" + UriEncode(v);
  }
  return out;
}

}  // namespace

std::string PkceChallenge(const std::string& verifier) { return Base64UrlEncode(Sha256(verifier)); }

Result<std::vector<AlbumCover>> CoversFromTopTracks(const std::string& body, int max) {
  json doc = ParseUntrustedJson(body);
  if (!doc.is_object() || !doc.contains("items") || !doc["items"].is_array()) {
    return Status::InvalidArgument("Spotify's top tracks answer has no items");
  }
  std::vector<AlbumCover> out;
  std::vector<std::string> seen;
  for (const json& track : doc["items"]) {
    if (static_cast<int>(out.size()) >= max) break;
    if (!track.is_object() || !track.contains("album") || !track["album"].is_object()) continue;
    const json& album = track["album"];
    std::string id = JsonString(album, "id", JsonString(album, "name"));
    if (id.empty() || std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    const json* best = nullptr;
    int64_t best_area = -1;
    if (album.contains("images") && album["images"].is_array()) {
      for (const json& img : album["images"]) {
        if (!img.is_object() || !img.contains("url") || !img["url"].is_string()) continue;
        int64_t w = JsonMember(img, "width").is_number_integer() ? img["width"].get<int64_t>() : 0;
        int64_t h =
            JsonMember(img, "height").is_number_integer() ? img["height"].get<int64_t>() : 0;
        if (w * h > best_area) {
          best_area = w * h;
          best = &img;
        }
      }
    }
    if (best == nullptr) continue;
    seen.push_back(id);
    std::string name = JsonString(album, "name", "album");
    if (album.contains("artists") && album["artists"].is_array() && !album["artists"].empty() &&
        album["artists"][0].is_object()) {
      name += " - " + JsonString(album["artists"][0], "name");
    }
    out.push_back({(*best)["url"].get<std::string>(), name});
  }
  return out;
}

Spotify::Spotify(SpotifyOptions options, std::string redirect_uri, const Clock* clock)
    : options_(std::move(options)), redirect_uri_(std::move(redirect_uri)), clock_(clock) {}

std::string Spotify::StartLogin(SpotifySession* s) {
  *s = SpotifySession{};
  s->verifier = Base64UrlEncode(RandomBytes(48));
  s->state = Base64UrlEncode(RandomBytes(24));
  return options_.auth_url + (options_.auth_url.find('?') == std::string::npos ? "?" : "&") +
         Form({{"client_id", options_.client_id},
               {"response_type", "code"},
               {"redirect_uri", redirect_uri_},
               {"scope", "user-top-read"},
               {"code_challenge_method", "S256"},
               {"code_challenge", PkceChallenge(s->verifier)},
               {"state", s->state}});
}

Status Spotify::Complete(SpotifySession* s, const std::string& code, const std::string& state,
                         const std::string& error) {
  if (s == nullptr || s->verifier.empty()) {
    return Status::Unauthenticated(
        "No Spotify sign-in is in progress in this browser (or it "
        "expired). Start again with Sync with Spotify.");
  }
  const std::string expected = std::move(s->state);
  s->state.clear();  // single use, also when wrong
  if (expected.empty() || !ConstantTimeEquals(expected, state)) {
    return Status::InvalidArgument(
        "The Spotify sign-in answer does not match this browser's "
        "request (state mismatch). Start again.");
  }
  if (!error.empty()) return Status::InvalidArgument("Spotify refused the sign-in: " + error);
  if (code.empty()) return Status::InvalidArgument("Spotify's answer has no code");
  SPARKIFY_ASSIGN_OR_RETURN(Grant grant, RequestToken({{"grant_type", "authorization_code"},
                                                       {"code", code},
                                                       {"redirect_uri", redirect_uri_},
                                                       {"client_id", options_.client_id},
                                                       {"code_verifier", s->verifier}}));
  Keep(grant, s);
  s->verifier.clear();
  return Status::OK();
}

Result<Spotify::Grant> Spotify::RequestToken(
    const std::vector<std::pair<std::string, std::string>>& form) {
  HttpCall call;
  call.method = "POST";
  call.url = options_.token_url;
  call.headers = {{"content-type", "application/x-www-form-urlencoded"},
                  {"authorization",
                   "Basic " + Base64Encode(options_.client_id + ":" + options_.client_secret)}};
  call.body = Form(form);
  auto reply = Perform(call);
  if (!reply.ok())
    return Status::Unavailable("Spotify cannot be reached: " + reply.status().message());
  json doc = ParseUntrustedJson(reply->body);
  if (reply->status != 200 || !doc.is_object() || !doc.contains("access_token") ||
      !doc["access_token"].is_string()) {
    std::string why = JsonString(doc, "error");
    Status refused =
        Status::Unavailable("Spotify did not give a token (HTTP " + std::to_string(reply->status) +
                            (why.empty() ? "" : ", " + why) + ")");
    // invalid_grant: the refresh token was revoked or expired; the person must sign in again.
    if (why == "invalid_grant") return Status::Unauthenticated(refused.message());
    return refused;
  }
  Grant grant;
  grant.access_token = doc["access_token"].get<std::string>();
  grant.refresh_token = JsonString(doc, "refresh_token");
  int64_t expires_in =
      JsonMember(doc, "expires_in").is_number_integer() ? doc["expires_in"].get<int64_t>() : 3600;
  grant.expires = clock_->Now() + std::chrono::seconds(std::clamp<int64_t>(expires_in, 0, 86400));
  return grant;
}

void Spotify::Keep(const Grant& grant, SpotifySession* s) {
  s->access_token = grant.access_token;
  s->token_expires = grant.expires;
  // Spotify may or may not rotate the refresh token; without a new one the old one stays.
  if (!grant.refresh_token.empty()) s->refresh_token = grant.refresh_token;
}

bool Spotify::Connected(const SpotifySession& s) const {
  return !s.access_token.empty() && (clock_->Now() < s.token_expires || !s.refresh_token.empty());
}

Result<std::string> Spotify::FreshToken(SpotifySession* s) {
  if (s == nullptr || s->access_token.empty()) {
    return Status::Unauthenticated(
        "Not signed in to Spotify (or the sign-in expired): use Sync with Spotify first.");
  }
  if (clock_->Now() + kRefreshMargin < s->token_expires) return s->access_token;
  if (s->refresh_token.empty()) {
    if (clock_->Now() < s->token_expires) return s->access_token;
    return Status::Unauthenticated("The Spotify sign-in expired: use Sync with Spotify again.");
  }
  auto grant = RequestToken({{"grant_type", "refresh_token"},
                             {"refresh_token", s->refresh_token},
                             {"client_id", options_.client_id}});
  if (!grant.ok()) {
    if (grant.status().code() == Status::Code::kUnauthenticated) {
      s->access_token.clear();
      s->refresh_token.clear();
    }
    return grant.status();
  }
  Keep(*grant, s);
  return s->access_token;
}

Result<std::vector<AlbumCover>> Spotify::TopCovers(SpotifySession* s, int max) {
  SPARKIFY_ASSIGN_OR_RETURN(std::string token, FreshToken(s));
  HttpCall call;
  call.url = options_.api_url + "/v1/me/top/tracks?limit=50";
  call.headers = {{"authorization", "Bearer " + token}, {"accept", "application/json"}};
  auto reply = Perform(call);
  if (!reply.ok())
    return Status::Unavailable("Spotify cannot be reached: " + reply.status().message());
  if (reply->status == 401) {
    s->access_token.clear();
    s->refresh_token.clear();
    return Status::Unauthenticated("Spotify no longer accepts the sign-in: sync again.");
  }
  if (reply->status != 200) {
    return Status::Unavailable("Spotify answered HTTP " + std::to_string(reply->status));
  }
  return CoversFromTopTracks(reply->body, max);
}

}  // namespace sparkify::web::internal
