// S3Client::PresignPost: an upload form signed over its policy document (docs/sigv4.md, "POST
// policies"), as boto3's generate_presigned_post makes one.
#include "common/crypto.h"
#include "s3client/internal/addressing.h"
#include "s3client/internal/presign_key.h"
#include "s3client/s3client.h"

namespace sparkify::s3client {
namespace {

std::string JsonText(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string Eq(std::string_view field, std::string_view value) {
  std::string out = "{";
  out += JsonText(field);
  out += ':';
  out += JsonText(value);
  out += '}';
  return out;
}

}  // namespace

Result<PresignedPost> S3Client::PresignPost(std::string_view bucket,
                                            const PostPolicyOptions& policy) const {
  constexpr std::string_view kFilename = "${filename}";
  SPARKIFY_RETURN_IF_ERROR(internal::CheckNames(bucket, policy.key, true));
  if (policy.expires_seconds < 1 || policy.expires_seconds > sigv4::kMaxPresignExpires) {
    return Status::InvalidArgument("expires must be 1..604800 seconds");
  }
  if (policy.max_bytes > 0 && policy.min_bytes > policy.max_bytes) {
    return Status::InvalidArgument("min_bytes is over max_bytes");
  }
  SPARKIFY_ASSIGN_OR_RETURN(std::string origin, BucketOrigin(bucket));
  SPARKIFY_ASSIGN_OR_RETURN(internal::Endpoint endpoint,
                            internal::ParseEndpoint(options_.endpoint));
  internal::Target target = internal::TargetFor(endpoint, options_.addressing, bucket, "x");
  // Path style names the bucket in the path: the form posts to /bucket.
  const bool path_style = target.decoded_path != "/x";

  const TimePoint now = options_.clock->Now();
  int64_t expires_seconds = policy.expires_seconds;
  SPARKIFY_ASSIGN_OR_RETURN(const sigv4::Credentials credentials,
                            internal::PresignKey(options_, now, &expires_seconds));
  const std::string amz_date = FormatAmzDate(now);
  const std::string credential =
      credentials.access_key_id + "/" +
      sigv4::CredentialScope(FormatScopeDate(now), options_.region, "s3");
  PresignedPost out;
  out.url = origin;
  out.url += '/';
  if (path_style) out.url.append(bucket);
  out.fields = {{"key", policy.key}};
  for (const auto& field : policy.fields) out.fields.push_back(field);
  out.fields.emplace_back("x-amz-algorithm", "AWS4-HMAC-SHA256");
  out.fields.emplace_back("x-amz-credential", credential);
  out.fields.emplace_back("x-amz-date", amz_date);
  if (!credentials.session_token.empty()) {
    out.fields.emplace_back("x-amz-security-token", credentials.session_token);
  }

  std::vector<std::string> conditions = {Eq("bucket", bucket)};
  const bool any_name = policy.key.ends_with(kFilename);
  conditions.push_back(
      any_name ? "[\"starts-with\",\"$key\"," +
                     JsonText(policy.key.substr(0, policy.key.size() - kFilename.size())) + "]"
               : Eq("key", policy.key));
  for (size_t i = 1; i < out.fields.size(); ++i) {
    conditions.push_back(Eq(out.fields[i].first, out.fields[i].second));
  }
  if (!policy.content_type_prefix.empty()) {
    conditions.push_back("[\"starts-with\",\"$Content-Type\"," +
                         JsonText(policy.content_type_prefix) + "]");
  }
  if (policy.max_bytes > 0) {
    conditions.push_back("[\"content-length-range\"," + std::to_string(policy.min_bytes) + "," +
                         std::to_string(policy.max_bytes) + "]");
  }
  std::string document =
      "{\"expiration\":" + JsonText(FormatIso8601(now + std::chrono::seconds(expires_seconds))) +
      ",\"conditions\":[";
  for (size_t i = 0; i < conditions.size(); ++i) {
    if (i > 0) document += ',';
    document += conditions[i];
  }
  document += "]}";
  const std::string encoded = Base64Encode(document);
  const std::string signing_key =
      sigv4::SigningKey(credentials.secret_access_key, FormatScopeDate(now), options_.region, "s3");
  out.fields.emplace_back("policy", encoded);
  out.fields.emplace_back("x-amz-signature", sigv4::Signature(signing_key, encoded));
  return out;
}

}  // namespace sparkify::s3client
