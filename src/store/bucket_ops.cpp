// Bucket operations: list, create, delete, head, location, policy, Block Public Access,
// default encryption, and the multi-object delete.
#include <charconv>
#include <cstdint>

#include "common/crypto.h"
#include "store/internal/object_headers.h"
#include "store/internal/s3_call.h"

namespace sparkify::store {
// Paginated as S3 has been since 2024: max-buckets (1..10000; without it, every bucket),
// prefix, and continuation-token (the base64 of the last name of the previous page, which the
// answer's ContinuationToken gives when more follow).
Reply S3Service::Impl::ListBuckets(S3Call& call) {
  size_t max = SIZE_MAX;
  if (call.HasQuery("max-buckets")) {
    std::string_view text = call.Query("max-buckets");
    size_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size() || v < 1 || v > 10000) {
      return Error(call, S3ErrorCode::kInvalidArgument,
                   "max-buckets must be an integer from 1 to 10000");
    }
    max = v;
  }
  std::string after;
  if (std::string_view token = call.Query("continuation-token"); !token.empty()) {
    auto decoded = Base64Decode(token);
    if (!decoded || decoded->empty()) {
      return Error(call, S3ErrorCode::kInvalidArgument,
                   "The continuation token provided is incorrect");
    }
    after = *decoded;
  }
  const std::string_view prefix = call.Query("prefix");
  std::string xml = std::string(kXmlHeader) + "<ListAllMyBucketsResult xmlns=\"" +
                    std::string(kS3Namespace) + "\"><Owner><ID>" + std::string(iam::kAccountId) +
                    "</ID><DisplayName>sparkify</DisplayName></Owner><Buckets>";
  size_t listed = 0;
  bool more = false;
  for (const auto& b : store()->ListBuckets()) {  // sorted by name
    if (!b.name.starts_with(prefix) || (!after.empty() && b.name <= after)) continue;
    if (listed == max) {
      more = true;
      break;
    }
    xml += "<Bucket><Name>" + XmlEscape(b.name) + "</Name><CreationDate>" +
           FormatIso8601(b.created) + "</CreationDate><BucketRegion>" +
           XmlEscape(options().region) + "</BucketRegion></Bucket>";
    after = b.name;
    ++listed;
  }
  xml += "</Buckets>";
  if (more) {
    xml += "<ContinuationToken>" + XmlEscape(Base64Encode(after)) + "</ContinuationToken>";
  }
  if (call.HasQuery("prefix")) xml += "<Prefix>" + XmlEscape(prefix) + "</Prefix>";
  xml += "</ListAllMyBucketsResult>";
  return Xml(call, std::move(xml));
}

Reply S3Service::Impl::CreateBucket(S3Call& call) {
  auto body = call.http->ReadAll(options().max_xml_body);
  if (!body.ok()) return Error(call, FromStatus(body.status()));
  auto location = ParseCreateBucketConfiguration(*body);
  if (!location.ok()) return Error(call, S3ErrorCode::kMalformedXML, location.status().message());
  if (!location->empty() && *location != options().region) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "this store serves region " + options().region + " only");
  }
  if (auto acl = call.http->Header("x-amz-acl");
      acl && *acl != "private" && GetPublicAccessBlock(call.bucket).block_public_acls) {
    return Error(call, S3ErrorCode::kInvalidArgument,
                 "public ACLs are blocked: buckets are always private here");
  }
  Status s = store()->CreateBucket(call.bucket);
  if (s.code() == Status::Code::kAlreadyExists) {
    return Error(call, S3ErrorCode::kBucketAlreadyOwnedByYou);
  }
  if (!s.ok()) return StoreError(call, s);
  ForgetBucketConfig(call.bucket);
  Reply r = Ok(call);
  r.Set("Location", "/" + call.bucket);
  return r;
}

Reply S3Service::Impl::DeleteBucket(S3Call& call) {
  Status s = store()->DeleteBucket(call.bucket);
  if (s.code() == Status::Code::kFailedPrecondition) {
    return Error(call, S3ErrorCode::kBucketNotEmpty);
  }
  if (s.IsNotFound()) return Error(call, S3ErrorCode::kNoSuchBucket);
  if (!s.ok()) return StoreError(call, s);
  ForgetBucketConfig(call.bucket);
  return Ok(call, 204);
}

Reply S3Service::Impl::HeadBucket(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  Reply r = Ok(call);
  r.Set("x-amz-bucket-region", options().region);
  return r;
}

Reply S3Service::Impl::GetBucketLocation(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  // us-east-1 is spelled as an empty constraint, as in S3.
  std::string region = options().region == "us-east-1" ? "" : options().region;
  return Xml(call, std::string(kXmlHeader) + "<LocationConstraint xmlns=\"" +
                       std::string(kS3Namespace) + "\">" + XmlEscape(region) +
                       "</LocationConstraint>");
}

Reply S3Service::Impl::BucketPolicy(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  if (call.op.op == Op::kGetBucketPolicy) {
    auto doc = store()->GetBucketDocument(call.bucket, kPolicyDoc);
    if (!doc.ok()) return Error(call, S3ErrorCode::kNoSuchBucketPolicy);
    Reply r = Ok(call);
    r.Set("Content-Type", "application/json");
    r.body = std::move(*doc);
    return r;
  }
  if (call.op.op == Op::kDeleteBucketPolicy) {
    Status s = store()->DeleteBucketDocument(call.bucket, kPolicyDoc);
    if (!s.ok() && !s.IsNotFound()) return StoreError(call, s);
    ForgetBucketConfig(call.bucket);
    return Ok(call, 204);
  }
  auto body = call.http->ReadAll(options().max_policy_bytes);
  if (!body.ok()) {
    return Error(call, S3ErrorCode::kMalformedPolicy,
                 "Policies are limited to " + std::to_string(options().max_policy_bytes) +
                     " bytes.");
  }
  policy::ParseOptions popts;
  popts.kind = policy::PolicyKind::kResource;
  popts.max_bytes = options().max_policy_bytes;
  auto parsed = policy::Policy::Parse(*body, popts);
  if (!parsed.ok()) return Error(call, S3ErrorCode::kMalformedPolicy, parsed.status().message());
  if (parsed->IsPublic() && GetPublicAccessBlock(call.bucket).block_public_policy) {
    return Error(call, S3ErrorCode::kAccessDenied,
                 "Block Public Access (BlockPublicPolicy) forbids a public bucket policy.");
  }
  Status s = store()->PutBucketDocument(call.bucket, kPolicyDoc, *body);
  if (!s.ok()) return StoreError(call, s);
  ForgetBucketConfig(call.bucket);
  return Ok(call, 204);
}

Reply S3Service::Impl::PublicAccessBlockOp(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  if (call.op.op == Op::kGetPublicAccessBlock) {
    return Xml(call, PublicAccessBlockXml(GetPublicAccessBlock(call.bucket)));
  }
  if (call.op.op == Op::kDeletePublicAccessBlock) {
    // Without a configuration the store falls back to its default: everything blocked.
    Status s = store()->DeleteBucketDocument(call.bucket, kPabDoc);
    if (!s.ok() && !s.IsNotFound()) return StoreError(call, s);
    ForgetBucketConfig(call.bucket);
    return Ok(call, 204);
  }
  auto body = call.http->ReadAll(options().max_xml_body);
  if (!body.ok()) return Error(call, FromStatus(body.status()));
  auto pab = ParsePublicAccessBlock(*body);
  if (!pab.ok()) return Error(call, S3ErrorCode::kMalformedXML, pab.status().message());
  Status s = store()->PutBucketDocument(call.bucket, kPabDoc, PublicAccessBlockXml(*pab));
  if (!s.ok()) return StoreError(call, s);
  ForgetBucketConfig(call.bucket);
  return Ok(call);
}

// Default encryption: AES256 (SSE-S3), or the store's default when the bucket has none of its
// own; SSE-KMS is not implemented.
Reply S3Service::Impl::BucketEncryption(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  if (call.op.op == Op::kGetBucketEncryption) {
    auto doc = store()->GetBucketDocument(call.bucket, kEncryptionDoc);
    if (!doc.ok()) {
      if (!doc.status().IsNotFound()) return StoreError(call, doc.status());
      if (options().encrypt_by_default)
        return Xml(call, EncryptionConfigurationXml(diskstore::kAes256));
      return Error(call, S3ErrorCode::kServerSideEncryptionConfigurationNotFoundError);
    }
    return Xml(call, *doc);
  }
  if (call.op.op == Op::kDeleteBucketEncryption) {
    Status s = store()->DeleteBucketDocument(call.bucket, kEncryptionDoc);
    if (!s.ok() && !s.IsNotFound()) return StoreError(call, s);
    ForgetBucketConfig(call.bucket);
    return Ok(call, 204);
  }
  auto body = call.http->ReadAll(options().max_xml_body);
  if (!body.ok()) return Error(call, FromStatus(body.status()));
  auto algorithm = ParseEncryptionConfiguration(*body);
  if (!algorithm.ok()) return Error(call, S3ErrorCode::kMalformedXML, algorithm.status().message());
  if (algorithm->starts_with("aws:kms")) {
    return Error(call, S3ErrorCode::kNotImplemented,
                 "Default encryption with KMS keys is not implemented by this store: use AES256.");
  }
  if (*algorithm != diskstore::kAes256) {
    return Error(call, S3ErrorCode::kMalformedXML,
                 "SSEAlgorithm must be AES256 (or aws:kms, which this store does not implement)");
  }
  Status s = store()->PutBucketDocument(call.bucket, kEncryptionDoc,
                                        EncryptionConfigurationXml(diskstore::kAes256));
  if (!s.ok()) return StoreError(call, s);
  ForgetBucketConfig(call.bucket);
  return Ok(call);
}

Reply S3Service::Impl::DeleteObjects(S3Call& call) {
  if (!store()->GetBucket(call.bucket).ok()) return Error(call, S3ErrorCode::kNoSuchBucket);
  auto body = call.http->ReadAll(options().max_xml_body);
  if (!body.ok()) return Error(call, FromStatus(body.status()));
  if (auto bad = CheckBodyDigests(*call.http, *body)) return Error(call, *bad);
  auto req = ParseDeleteObjects(*body);
  if (!req.ok()) return Error(call, S3ErrorCode::kMalformedXML, req.status().message());
  std::string xml = std::string(kXmlHeader) + "<DeleteResult xmlns=\"" +
                    std::string(kS3Namespace) + "\">";
  for (const auto& key : req->keys) {
    std::optional<S3Error> err;
    if (key.empty() || key.size() > diskstore::kMaxKeyBytes) {
      err = S3Error{S3ErrorCode::kInvalidArgument, "invalid key"};
    } else {
      err = Authorize(call, "s3:DeleteObject", ObjectArn(call.bucket, key));
    }
    if (!err) {
      Status s = store()->Delete(call.bucket, key);
      if (!s.ok()) err = FromStatus(s);
    }
    if (err) {
      const auto& info = Info(err->code);
      xml += "<Error><Key>" + XmlEscape(key) + "</Key><Code>" + std::string(info.code) +
             "</Code><Message>" +
             XmlEscape(err->message.empty() ? info.default_message : err->message) +
             "</Message></Error>";
    } else if (!req->quiet) {
      xml += "<Deleted><Key>" + XmlEscape(key) + "</Key></Deleted>";
    }
  }
  xml += "</DeleteResult>";
  return Xml(call, std::move(xml));
}

}  // namespace sparkify::store
