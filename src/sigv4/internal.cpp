#include "sigv4/internal.h"

namespace sparkify::sigv4::internal {
namespace {

constexpr size_t kMaxSignedHeaders = 128;
constexpr size_t kMaxCredentialLength = 512;

bool IsDigits(std::string_view s) {
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return !s.empty();
}

// HTTP token characters (RFC 9110), the only ones a header name may hold.
bool IsTokenChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  std::string_view extra = "!#$%&'*+-.^_`|~";
  return extra.find(c) != std::string_view::npos;
}

}  // namespace

bool IsLowerHex(std::string_view s, size_t length) {
  if (s.size() != length) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::optional<uint64_t> ParseDecimal(std::string_view s, size_t max_digits) {
  if (s.empty() || s.size() > max_digits || !IsDigits(s)) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) v = v * 10 + static_cast<uint64_t>(c - '0');
  return v;
}

namespace {

// True when every run of digits is short, and any four-digit run (a year) is in 1970..2200.
bool YearsInRange(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] < '0' || s[i] > '9') {
      ++i;
      continue;
    }
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    std::string_view run = s.substr(start, i - start);
    if (run.size() > 4) return false;
    if (run.size() == 4) {
      uint64_t year = *ParseDecimal(run, 4);
      if (year < 1970 || year > 2200) return false;
    }
  }
  return true;
}

}  // namespace

std::optional<TimePoint> ParseAmzDateBounded(std::string_view s) {
  // yyyymmddThhmmssZ: the year is the first four characters.
  if (s.size() < 4 || !ParseDecimal(s.substr(0, 4), 4)) return std::nullopt;
  uint64_t year = *ParseDecimal(s.substr(0, 4), 4);
  if (year < 1970 || year > 2200) return std::nullopt;
  return ParseAmzDate(s);
}

std::optional<TimePoint> ParseHttpDateBounded(std::string_view s) {
  if (s.size() > 64 || !YearsInRange(s)) return std::nullopt;
  return ParseHttpDate(s);
}

std::vector<std::string_view> HeaderValues(const Headers& headers, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) out.push_back(value);
  }
  return out;
}

std::optional<std::string_view> HeaderValue(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCase(key, name)) return std::string_view(value);
  }
  return std::nullopt;
}

std::optional<std::string> ParseCredential(std::string_view text, CredentialParts* out) {
  if (text.size() > kMaxCredentialLength) return "the Credential is too long";
  // access-key/date/region/service/aws4_request: split off the last four parts.
  std::string_view parts[4];
  std::string_view rest = text;
  for (int i = 3; i >= 0; --i) {
    size_t slash = rest.rfind('/');
    if (slash == std::string_view::npos) {
      return "the Credential must be access-key/date/region/service/aws4_request";
    }
    parts[i] = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (rest.empty()) return "the Credential has an empty access key";
  if (parts[0].size() != 8 || !IsDigits(parts[0])) {
    return "the Credential date must be yyyymmdd";
  }
  if (parts[1].empty()) return "the Credential has an empty region";
  if (parts[2].empty()) return "the Credential has an empty service";
  if (parts[3] != "aws4_request") return "the Credential must end with aws4_request";
  out->access_key_id = std::string(rest);
  out->date = std::string(parts[0]);
  out->region = std::string(parts[1]);
  out->service = std::string(parts[2]);
  return std::nullopt;
}

std::optional<std::vector<std::string>> SplitSignedHeaders(std::string_view text) {
  std::vector<std::string> names;
  size_t start = 0;
  while (start <= text.size()) {
    size_t semi = text.find(';', start);
    if (semi == std::string_view::npos) semi = text.size();
    std::string_view name = text.substr(start, semi - start);
    if (name.empty()) return std::nullopt;
    for (char c : name) {
      if (!IsTokenChar(c)) return std::nullopt;
    }
    names.push_back(AsciiLowerString(name));
    if (names.size() > kMaxSignedHeaders) return std::nullopt;
    start = semi + 1;
  }
  return names;
}

namespace {

std::optional<std::string> FillAuthFields(std::string_view credential,
                                          std::string_view signed_headers,
                                          std::string_view signature, AuthFields* out) {
  if (auto err = ParseCredential(credential, &out->credential)) return err;
  auto names = SplitSignedHeaders(signed_headers);
  if (!names) return "SignedHeaders must be a ';'-separated list of header names";
  out->signed_headers = std::move(*names);
  out->signed_headers_text = std::string(signed_headers);
  if (!IsLowerHex(signature, 64)) return "the Signature must be 64 lowercase hex digits";
  out->signature = std::string(signature);
  return std::nullopt;
}

}  // namespace

std::optional<std::string> ParseAuthorizationHeader(std::string_view value, AuthFields* out) {
  if (value.substr(0, kAlgorithm.size()) != kAlgorithm) {
    return "the Authorization header must start with AWS4-HMAC-SHA256";
  }
  std::string_view rest = value.substr(kAlgorithm.size());
  if (rest.empty() || (rest[0] != ' ' && rest[0] != '\t')) {
    return "the Authorization header must be AWS4-HMAC-SHA256 followed by a space";
  }
  std::optional<std::string_view> credential, signed_headers, signature;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t comma = rest.find(',', start);
    if (comma == std::string_view::npos) comma = rest.size();
    std::string_view part = TrimSpaceAndTab(rest.substr(start, comma - start));
    start = comma + 1;
    if (part.empty()) return "the Authorization header has an empty component";
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return "each Authorization component must be key=value";
    }
    std::string_view key = part.substr(0, eq);
    std::string_view val = part.substr(eq + 1);
    std::optional<std::string_view>* slot = nullptr;
    if (key == "Credential") {
      slot = &credential;
    } else if (key == "SignedHeaders") {
      slot = &signed_headers;
    } else if (key == "Signature") {
      slot = &signature;
    } else {
      return "the Authorization header has an unknown component (expected Credential, "
             "SignedHeaders, Signature)";
    }
    if (slot->has_value()) return "the Authorization header repeats a component";
    *slot = val;
  }
  if (!credential) return "the Authorization header is missing Credential";
  if (!signed_headers) return "the Authorization header is missing SignedHeaders";
  if (!signature) return "the Authorization header is missing Signature";
  return FillAuthFields(*credential, *signed_headers, *signature, out);
}

std::optional<std::string> ParsePresignParams(const std::vector<QueryParam>& params,
                                              PresignFields* out) {
  std::optional<std::string> algorithm, credential, date, expires, signed_headers, signature;
  for (const QueryParam& p : params) {
    std::optional<std::string>* slot = nullptr;
    if (p.key == "X-Amz-Algorithm") {
      slot = &algorithm;
    } else if (p.key == "X-Amz-Credential") {
      slot = &credential;
    } else if (p.key == "X-Amz-Date") {
      slot = &date;
    } else if (p.key == "X-Amz-Expires") {
      slot = &expires;
    } else if (p.key == "X-Amz-SignedHeaders") {
      slot = &signed_headers;
    } else if (p.key == "X-Amz-Signature") {
      slot = &signature;
    } else if (p.key == "X-Amz-Security-Token") {
      slot = &out->security_token;
    } else if (p.key == "X-Amz-Content-Sha256") {
      slot = &out->content_sha256;
    } else {
      continue;
    }
    if (slot->has_value()) return "the query repeats the parameter " + p.key;
    *slot = p.value;
  }
  if (!algorithm) return "the query is missing X-Amz-Algorithm";
  if (*algorithm != kAlgorithm) return "X-Amz-Algorithm only supports AWS4-HMAC-SHA256";
  if (!credential) return "the query is missing X-Amz-Credential";
  if (!date) return "the query is missing X-Amz-Date";
  if (!expires) return "the query is missing X-Amz-Expires";
  if (!signed_headers) return "the query is missing X-Amz-SignedHeaders";
  if (!signature) return "the query is missing X-Amz-Signature";
  out->amz_date = std::move(*date);
  out->expires_text = std::move(*expires);
  if (auto err = FillAuthFields(*credential, *signed_headers, *signature, &out->auth)) {
    return "X-Amz-Credential/X-Amz-SignedHeaders/X-Amz-Signature: " + *err;
  }
  return std::nullopt;
}

}  // namespace sparkify::sigv4::internal
