#include "web/internal/share_link.h"

#include <charconv>

#include "common/crypto.h"

namespace sparkify::web::internal {
namespace {

constexpr size_t kMacBytes = 16;

std::string Escape(std::string_view s) {  // HTML text and attribute values
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Head(std::string_view title, std::string_view extra) {
  return "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         Escape(title) +
         "</title>\n<link rel=\"icon\" href=\"data:,\">\n"
         "<link rel=\"stylesheet\" href=\"/static/app.css\">\n" +
         std::string(extra) + "</head>\n";
}

// The MAC of a token's payload; "link|" keeps it apart from the PNG names made with the same
// key (share.h), whatever either input holds.
std::string TokenMac(std::string_view link_key, std::string_view payload) {
  return HmacSha256(link_key, "link|" + std::string(payload)).substr(0, kMacBytes);
}

}  // namespace

std::string ShareLinkKey(std::string_view secret_access_key) {
  return HmacSha256(secret_access_key, "sparkify share links v1");
}

std::string MakeShareToken(std::string_view link_key, std::string_view png_key, TimePoint expires) {
  std::string payload = std::string(png_key) + "|" + std::to_string(ToUnixSeconds(expires));
  std::string mac = TokenMac(link_key, payload);
  return Base64UrlEncode(payload) + "." + Base64UrlEncode(mac);
}

ShareCheck CheckShareToken(std::string_view link_key, std::string_view token, TimePoint now,
                           ShareLink* out) {
  size_t dot = token.find('.');
  if (dot == std::string_view::npos) return ShareCheck::kInvalid;
  auto payload = Base64UrlDecode(token.substr(0, dot));
  auto mac = Base64UrlDecode(token.substr(dot + 1));
  if (!payload || !mac || mac->size() != kMacBytes) return ShareCheck::kInvalid;
  if (!ConstantTimeEquals(*mac, TokenMac(link_key, *payload))) {
    return ShareCheck::kInvalid;
  }
  size_t bar = payload->rfind('|');
  if (bar == std::string::npos) return ShareCheck::kInvalid;
  std::string_view key = std::string_view(*payload).substr(0, bar);
  std::string_view when = std::string_view(*payload).substr(bar + 1);
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(when.data(), when.data() + when.size(), seconds);
  if (ec != std::errc() || end != when.data() + when.size()) return ShareCheck::kInvalid;
  // Sealed by us, but checked all the same: only our collage PNGs are ever signed.
  if (!key.starts_with("collages/") || !key.ends_with(".png") ||
      key.find("..") != std::string_view::npos) {
    return ShareCheck::kInvalid;
  }
  out->png_key = std::string(key);
  out->expires = FromUnixSeconds(seconds);
  return now < out->expires ? ShareCheck::kValid : ShareCheck::kExpired;
}

std::string SharePage(std::string_view image_url, std::string_view preview_url,
                      std::string_view page_url, TimePoint expires) {
  const std::string title = "A Sparkify collage";
  const std::string meta =
      "<meta name=\"description\" content=\"Album covers cut out and laid out in their "
      "dominant colour.\">\n"
      "<meta property=\"og:type\" content=\"website\">\n"
      "<meta property=\"og:title\" content=\"" +
      Escape(title) +
      "\">\n"
      "<meta property=\"og:url\" content=\"" +
      Escape(page_url) +
      "\">\n"
      "<meta property=\"og:image\" content=\"" +
      Escape(preview_url) +
      "\">\n"
      "<meta property=\"og:image:type\" content=\"image/png\">\n"
      "<meta property=\"og:image:width\" content=\"1080\">\n"
      "<meta property=\"og:image:height\" content=\"1080\">\n"
      "<meta name=\"twitter:card\" content=\"summary_large_image\">\n"
      "<meta name=\"robots\" content=\"noindex\">\n";
  return Head(title, meta) +
         "<body class=\"share-page\">\n<main id=\"main\">\n"
         "<header class=\"masthead\"><a class=\"brand\" href=\"/\">Sparkify</a></header>\n"
         "<figure class=\"shared\">\n<img id=\"shared-collage\" src=\"" +
         Escape(image_url) +
         "\" alt=\"A collage of album covers\" width=\"1080\" height=\"1080\">\n"
         "<figcaption>This shared collage can be opened until <time datetime=\"" +
         FormatIso8601(expires) + "\">" + FormatIso8601(expires).substr(0, 10) +
         "</time>.</figcaption>\n</figure>\n"
         "<p><a class=\"button primary\" href=\"/\">Make your own collage</a></p>\n"
         "</main>\n</body>\n</html>\n";
}

std::string ShareGonePage(ShareGone why) {
  std::string title, text;
  switch (why) {
    case ShareGone::kExpired:
      title = "This shared collage has expired";
      text =
          "Share links last a limited time, and this one has run out. Ask for a new link, or "
          "make a collage of your own.";
      break;
    case ShareGone::kInvalid:
      title = "No such collage";
      text = "This link does not lead to a collage: it may be cut short or mistyped.";
      break;
    case ShareGone::kMissing:
      title = "This collage is no longer kept";
      text =
          "The picture behind this link has been removed from the store. Ask for a new "
          "link, or make a collage of your own.";
      break;
  }
  return Head(title, "") +
         "<body class=\"share-page\">\n<main id=\"main\">\n"
         "<header class=\"masthead\"><a class=\"brand\" href=\"/\">Sparkify</a></header>\n"
         "<h1>" +
         Escape(title) + "</h1>\n<p>" + Escape(text) +
         "</p>\n"
         "<p><a class=\"button primary\" href=\"/\">Make a collage</a></p>\n"
         "</main>\n</body>\n</html>\n";
}

}  // namespace sparkify::web::internal
