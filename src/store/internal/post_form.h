// Internal to the store: S3 POST Object (browser-based uploads, docs/s3.md "POST Object"):
// the multipart/form-data body read as it arrives, and the policy document that a signed form
// carries. Thread-compatible (one reader per request); the policy functions are pure.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "http/http.h"
#include "store/internal/s3_errors.h"

namespace sparkify::store {

// What S3 allows in the form fields before the file: 20 KB.
inline constexpr size_t kMaxPostFieldBytes = 20 * 1024;

struct PostForm {
  std::map<std::string, std::string> fields;  // names lowercased, values as sent
  std::string file_name;                      // the file part's filename parameter
};

// The boundary parameter of a multipart/form-data Content-Type; nullopt for another type.
std::optional<std::string> FormBoundary(std::string_view content_type);

class PostFormReader {
 public:
  PostFormReader(http::BodySource* body, std::string boundary);

  // Reads the fields up to the file part (which must be named "file"; fields after it are
  // not read). MalformedPOSTRequest for a body that is not multipart/form-data with this
  // boundary, MaxPostPreDataLengthExceeded past kMaxPostFieldBytes, InvalidArgument for a form
  // without a file or with a field twice.
  std::optional<S3Error> ReadFields(PostForm* form);

  // Streams the file's bytes to `write` until the boundary that ends them; stops at the first
  // error `write` returns. MalformedPOSTRequest when the body ends before that boundary.
  std::optional<S3Error> ReadFile(
      const std::function<std::optional<S3Error>(std::string_view)>& write);

 private:
  // Appends the next bytes of the body to buf_. False at its end; error_ says why on failure.
  bool Fill();
  // Makes buf_[pos_...] hold `text` (reading as needed, up to `limit` bytes from pos_) and
  // returns its offset from pos_, or nullopt.
  std::optional<size_t> Find(std::string_view text, size_t limit);

  http::BodySource* body_;
  std::string boundary_line_;  // "--" + boundary
  std::string delimiter_;      // "\r\n--" + boundary
  std::string buf_;
  std::vector<char> scratch_;  // one read's bytes
  size_t pos_ = 0;
  size_t erased_ = 0;  // bytes dropped from the front of buf_ (pos_ counts from there)
  std::optional<S3Error> error_;
};

// A POST policy document: {"expiration": "2026-12-05T21:00:00Z" (or with .000), "conditions":
// [...]}.
struct PostPolicy {
  struct Condition {
    enum class Kind { kEq, kStartsWith, kLengthRange };
    Kind kind = Kind::kEq;
    std::string field;  // lowercased, without '$'
    std::string value;  // kEq: the value; kStartsWith: the prefix
    uint64_t min = 0, max = 0;
    std::string text;  // as written, for messages
  };
  TimePoint expiration{};
  std::vector<Condition> conditions;
};

// InvalidArgument (S3: InvalidPolicyDocument) when it is not such a document.
Result<PostPolicy> ParsePostPolicy(std::string_view json);

// The form against the policy: not expired at `now`, every condition holds (a kEq or
// kStartsWith on "bucket" is checked against `bucket`), and every field is named by a
// condition but x-amz-signature, policy, file and x-ignore-*. AccessDenied "Invalid according
// to Policy: ..." otherwise. content-length-range is the caller's to check (LengthRange).
std::optional<S3Error> CheckPostPolicy(const PostPolicy& policy, const PostForm& form,
                                       std::string_view bucket, TimePoint now);

// The policy's content-length-range, if it has one.
std::optional<std::pair<uint64_t, uint64_t>> LengthRange(const PostPolicy& policy);

}  // namespace sparkify::store
