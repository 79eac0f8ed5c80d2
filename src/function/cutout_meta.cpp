#include "function/cutout_meta.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "vision/mask_quality.h"

namespace sparkify::function {
namespace {

constexpr const char* kShareMeta = "foreground-share";
constexpr const char* kQualityMeta = "mask-quality";
constexpr const char* kSizeMeta = "cutout-size";  // "WxH"
constexpr const char* kModelMeta = "model";
constexpr const char* kSourceMeta = "source-sha256";
constexpr const char* kPaletteMeta = "palette";
constexpr const char* kFingerprintMeta = "fingerprint";
// How the palette and fingerprint were computed: those of another version are not used.
constexpr const char* kSummaryVersionMeta = "summary-version";
// Of S3's 2 KB of user metadata (names and values), what the palette may take.
constexpr size_t kMaxPaletteText = 1024;

// "WxH" with both in 1..65535, as stored with a cut-out.
bool ParseSize(const std::optional<std::string>& text, int* w, int* h) {
  if (!text) return false;
  const char* begin = text->data();
  const char* end = begin + text->size();
  auto [x, w_error] = std::from_chars(begin, end, *w);
  if (w_error != std::errc() || x == begin || x == end || *x != 'x') return false;
  auto [tail, h_error] = std::from_chars(x + 1, end, *h);
  if (h_error != std::errc() || tail == x + 1 || tail != end) return false;
  return *w >= 1 && *h >= 1 && *w <= 65535 && *h <= 65535;
}

// A share or a mask quality stored with a cut-out, when it is a number in [0, 1].
std::optional<double> ParseScore(const std::optional<std::string>& text) {
  if (!text || text->empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text->c_str(), &end);
  if (end == text->c_str() || *end != '\0' || !std::isfinite(v) || v < 0 || v > 1) {
    return std::nullopt;
  }
  return v;
}

std::string FormatScore(double score) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", score);
  return buf;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Exactly 2 * n lowercase hex digits into n bytes.
bool ParseHexBytes(std::string_view text, uint8_t* out, size_t n) {
  if (text.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = HexDigit(text[2 * i]), lo = HexDigit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>(hi * 16 + lo);
  }
  return true;
}

}  // namespace

double StoredScore(double score) { return ParseScore(FormatScore(score)).value_or(score); }

std::string FormatPalette(const collage::Palette& palette) {
  std::string out;
  for (const collage::PaletteColor& c : palette) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%02x%02x%02x:%.2f", out.empty() ? "" : " ", c.color.r,
                  c.color.g, c.color.b, c.share);
    out += buf;
  }
  return out;
}

bool ShownCutOut(double foreground_share, double mask_quality, double threshold) {
  return StoredScore(foreground_share) >= threshold &&
         StoredScore(mask_quality) >= vision::kSubjectThreshold;
}

std::optional<collage::Palette> ParsePalette(std::string_view text) {
  collage::Palette palette;
  while (!text.empty()) {
    const size_t end = text.find(' ');
    std::string_view item = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    // "rrggbb:0.18": a share of 1 to 4 characters after the colon, "0" to "1.00".
    if (item.size() < 8 || item.size() > 11 || item[6] != ':') return std::nullopt;
    uint8_t rgb[3];
    if (!ParseHexBytes(item.substr(0, 6), rgb, 3)) return std::nullopt;
    std::optional<double> share = ParseScore(std::string(item.substr(7)));
    if (!share) return std::nullopt;
    palette.push_back({collage::Rgb{rgb[0], rgb[1], rgb[2]}, collage::RoundShare(*share)});
    if (end == std::string_view::npos) break;
    if (text.empty()) return std::nullopt;  // a trailing space
  }
  if (!collage::ValidatePalette(palette).ok()) return std::nullopt;
  return palette;
}

std::string FormatFingerprint(const collage::Fingerprint& fingerprint) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx-%02x%02x%02x",
                static_cast<unsigned long long>(fingerprint.hash), fingerprint.mean[0],
                fingerprint.mean[1], fingerprint.mean[2]);
  return buf;
}

std::optional<collage::Fingerprint> ParseFingerprint(std::string_view text) {
  uint8_t hash[8];
  uint8_t mean[3];
  collage::Fingerprint out;
  if (text.size() != 23 || text[16] != '-' || !ParseHexBytes(text.substr(0, 16), hash, 8) ||
      !ParseHexBytes(text.substr(17), mean, 3)) {
    return std::nullopt;
  }
  out.mean = {mean[0], mean[1], mean[2]};
  for (uint8_t byte : hash) out.hash = out.hash << 8 | byte;
  return out;
}

ObjectMetadata ToMetadata(const CutoutMeta& meta) {
  ObjectMetadata out = {{kShareMeta, FormatScore(meta.foreground_share)},
                        {kQualityMeta, FormatScore(meta.mask_quality)},
                        {kSizeMeta, std::to_string(meta.width) + "x" + std::to_string(meta.height)},
                        {kModelMeta, meta.model},
                        {kSourceMeta, meta.source_sha256}};
  if (meta.palette) {
    std::string text = FormatPalette(*meta.palette);
    if (text.size() <= kMaxPaletteText) out.emplace_back(kPaletteMeta, std::move(text));
  }
  if (meta.fingerprint) out.emplace_back(kFingerprintMeta, FormatFingerprint(*meta.fingerprint));
  if (meta.palette || meta.fingerprint) {
    out.emplace_back(kSummaryVersionMeta, std::to_string(kCoverSummaryVersion));
  }
  return out;
}

std::optional<CutoutMeta> ParseCutoutMeta(const ObjectHead& head) {
  CutoutMeta meta;
  auto share = ParseScore(head.Meta(kShareMeta));
  auto quality = ParseScore(head.Meta(kQualityMeta));
  if (!share || !quality || !ParseSize(head.Meta(kSizeMeta), &meta.width, &meta.height)) {
    return std::nullopt;
  }
  meta.foreground_share = *share;
  meta.mask_quality = *quality;
  meta.model = head.Meta(kModelMeta).value_or("");
  meta.source_sha256 = head.Meta(kSourceMeta).value_or("");
  if (head.Meta(kSummaryVersionMeta) == std::to_string(kCoverSummaryVersion)) {
    if (auto text = head.Meta(kPaletteMeta)) meta.palette = ParsePalette(*text);
    if (auto text = head.Meta(kFingerprintMeta)) meta.fingerprint = ParseFingerprint(*text);
  }
  return meta;
}

}  // namespace sparkify::function
