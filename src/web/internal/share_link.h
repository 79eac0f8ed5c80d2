// Internal: share links on the web app's own origin, /s/<token>. A token says which collage
// PNG (its key in the bucket) and until when, sealed with an HMAC-SHA256 whose key is derived
// from the web app's secret key, so any replica holding that key honours the link and nobody
// else can make or stretch one. Nothing is stored: the link carries its own facts.
//
//   token = base64url(key "|" expiry-unix-seconds) "." base64url(first 16 bytes of
//           HMAC-SHA256(link key, "link|" key "|" expiry-unix-seconds))
//
// The page /s/<token> shows the collage (an image URL signed afresh at every view, so nobody
// ever meets an expired S3 URL) with Open Graph tags for link previews; /s/<token>.png
// redirects to the image. Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"

namespace sparkify::web::internal {

// The HMAC key for share links, from the web app's secret access key.
std::string ShareLinkKey(std::string_view secret_access_key);

std::string MakeShareToken(std::string_view link_key, std::string_view png_key, TimePoint expires);

struct ShareLink {
  std::string png_key;
  TimePoint expires{};
};
enum class ShareCheck { kValid, kExpired, kInvalid };
// kInvalid: malformed, forged, or naming a key outside collages/; kExpired: sound but past
// `now`. `out` is filled for kValid and kExpired.
ShareCheck CheckShareToken(std::string_view link_key, std::string_view token, TimePoint now,
                           ShareLink* out);

// The share page: `image_url` shows the collage, `preview_url` (absolute, for og:image) and
// `page_url` describe it to link previews, `expires` is stated on the page.
std::string SharePage(std::string_view image_url, std::string_view preview_url,
                      std::string_view page_url, TimePoint expires);
// The page for a link that cannot show its collage: expired (410), not valid (404), or its
// picture is no longer in the store (410).
enum class ShareGone { kExpired, kInvalid, kMissing };
std::string ShareGonePage(ShareGone why);

}  // namespace sparkify::web::internal
