// libFuzzer target: Policy::Parse over arbitrary bytes; whatever parses is evaluated against
// a few fixed requests and asked IsPublic, so the matchers and condition families run on
// fuzzer-chosen patterns too.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "policy/policy.h"

namespace {

using sparkify::policy::Authorize;
using sparkify::policy::Policy;
using sparkify::policy::RequestContext;

const RequestContext kRequests[] = {
    {"",
     "s3:GetObject",
     "arn:aws:s3:::bucket/uploads/ab.png",
     {{"aws:SourceIp", {"192.0.2.10"}},
      {"aws:SecureTransport", {"false"}},
      {"aws:CurrentTime", {"2026-11-27T10:00:00Z"}},
      {"aws:EpochTime", {"1795000000"}}}},
    {"arn:aws:iam::111122223333:user/alice",
     "s3:ListBucket",
     "arn:aws:s3:::bucket",
     {{"s3:prefix", {"home/alice/"}},
      {"aws:username", {"alice"}},
      {"aws:userid", {"AIDAEXAMPLE*?"}},
      {"aws:SourceIp", {"2001:db8::1"}},
      {"s3:max-keys", {"1000"}},
      {"aws:TagKeys", {"a", "b", ""}}}},
    {"arn:aws:sts::444455556666:assumed-role/r/s",
     "lambda:InvokeFunction",
     "arn:aws:lambda:us-east-1:444455556666:function:f:1",
     {{"aws:SourceArn", {"arn:aws:s3:::bucket"}},
      {"aws:SourceIp", {"::ffff:10.1.2.3"}},
      {"s3:signatureAge", {"not-a-number"}},
      {"aws:CurrentTime", {"garbage"}}}},
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto policy = Policy::Parse(text);
  if (!policy.ok()) return 0;
  for (const RequestContext& request : kRequests) {
    (void)policy->Evaluate(request);
    (void)Authorize({&*policy}, &*policy, request);
  }
  (void)policy->IsPublic();
  (void)policy->has_principals();
  return 0;
}
