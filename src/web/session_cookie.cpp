#include "web/internal/session_cookie.h"

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "web/internal/respond.h"

namespace sparkify::web::internal {
namespace {

constexpr std::string_view kAad = "sparkify spotify session v1";

using json = nlohmann::json;

int64_t Seconds(const json& doc, const char* name) {
  const json& v = JsonMember(doc, name);
  return v.is_number_integer() ? v.get<int64_t>() : 0;
}

}  // namespace

std::string SessionKey(std::string_view secret) {
  return HmacSha256(secret, "sparkify sessions v1");
}

std::string SealSession(std::string_view key, const SpotifySession& s) {
  json doc = {{"v", s.verifier},
              {"s", s.state},
              {"a", s.access_token},
              {"r", s.refresh_token},
              {"t", ToUnixSeconds(s.token_expires)},
              {"e", ToUnixSeconds(s.expires)}};
  return Base64UrlEncode(AeadSeal(key, doc.dump(), kAad));
}

std::optional<SpotifySession> OpenSession(std::string_view key, std::string_view cookie,
                                          TimePoint now) {
  auto sealed = Base64UrlDecode(cookie, kMaxSessionCookie);
  if (!sealed) return std::nullopt;
  auto plain = AeadOpen(key, *sealed, kAad);
  if (!plain) return std::nullopt;
  // Sealed by a replica holding the key: well formed unless the format changed, and still
  // read as untrusted.
  json doc = ParseUntrustedJson(*plain, 4);
  if (!doc.is_object()) return std::nullopt;
  SpotifySession s;
  s.verifier = JsonString(doc, "v");
  s.state = JsonString(doc, "s");
  s.access_token = JsonString(doc, "a");
  s.refresh_token = JsonString(doc, "r");
  s.token_expires = FromUnixSeconds(Seconds(doc, "t"));
  s.expires = FromUnixSeconds(Seconds(doc, "e"));
  if (now >= s.expires) return std::nullopt;
  return s;
}

}  // namespace sparkify::web::internal
