// Lambda events for the AI function -> one FunctionRequest. Three forms are accepted:
//
//   original     {"body": {"urls": [...]}}                       (the seed's; body an object)
//   API Gateway  {"body": "<JSON text>", "isBase64Encoded": false, "requestContext": ...}
//                (REST v1 and HTTP v2 proxy events; body a string, base64 when flagged)
//   direct       {"op": "collage"|"segment", "urls": [...], "keys": [...], "options": {...}}
//
// The request object (the original form's body, the API Gateway body's JSON, or the direct
// event itself) has the fields op (default "collage"), urls (http(s) image URLs), keys
// (object keys in the function's bucket) and options:
//   size        model input side, an integer multiple of 64 in 64..2048 (default: the
//               function's configured size, 1024 unless changed)
//   seed        unsigned integer seeding the collage shuffle (default 0)
//   threshold   foreground share in [0, 1] from which a cut-out counts as cropped
//               (default: the function's, 0.10)
//   max_covers  1..30 (default 30): inputs beyond it are not processed but reported
// Unknown fields are refused (a typo should not be silently ignored). Inputs are ranked in
// order, urls first then keys (rank 0 = most listened); exact duplicates are dropped.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sparkify::function {

enum class EventForm { kOriginal, kApiGateway, kDirect };
enum class Operation { kCollage, kSegment };

std::string_view EventFormName(EventForm form);  // "original", "api_gateway", "direct"
std::string_view OperationName(Operation op);    // "collage", "segment"

// One input of a request: an image URL or a key in the function's bucket.
struct InputRef {
  enum class Kind { kUrl, kKey };
  Kind kind = Kind::kUrl;
  std::string value;
  int rank = 0;  // position among the request's inputs (urls first, then keys)

  bool is_url() const { return kind == Kind::kUrl; }
};

inline constexpr int kMaxCovers = 30;             // the original app's cap
inline constexpr size_t kMaxEventInputs = 200;    // urls + keys in one event
inline constexpr size_t kMaxUrlBytes = 4096;
inline constexpr size_t kMaxKeyBytes = 1024;      // S3's limit
inline constexpr int kMinModelSize = 64;
inline constexpr int kMaxModelSize = 2048;

struct RequestOptions {
  int size = 0;                     // 0: the function's default
  std::optional<uint64_t> seed;     // nullopt: the function's default (0)
  std::optional<double> threshold;  // nullopt: the function's default
  int max_covers = kMaxCovers;
};

struct FunctionRequest {
  Operation op = Operation::kCollage;
  std::vector<InputRef> inputs;   // at most options.max_covers, deduplicated, in rank order
  std::vector<InputRef> dropped;  // beyond max_covers: reported, not processed
  RequestOptions options;
};

// The outcome of parsing. `form` is meaningful even for a bad event (it decides the answer's
// shape); `status` is OK or InvalidArgument whose message says exactly what is wrong (e.g.
// "urls[2] must be a string, got number"); `request` is set when status is OK.
struct ParsedEvent {
  EventForm form = EventForm::kDirect;
  Status status;
  FunctionRequest request;
};

// Parses a Lambda event (the invocation payload, JSON text). Never throws.
ParsedEvent ParseEvent(std::string_view payload);

}  // namespace sparkify::function
