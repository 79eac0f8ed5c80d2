// Who may do what in Sparkify: the least-privilege IAM identity policies of its two
// principals, generated from one place. `sparkify up` writes them into the store's data dir,
// `sparkify policy` prints them, and deploy/template.yaml carries the same documents.
//
// The bucket layout they grant on:
//   uploads/   covers as the web app stored them (uploads, fetched URLs, samples, Spotify)
//   cutouts/   the function's RGBA cut-outs, content-addressed
//   collages/  rendered collage PNGs behind share links
//   jobs/      the web app's jobs (jobs/<id>.json), shared by its replicas
//
//   function  may read uploads/ and cutouts/ (GET and HEAD), write cutouts/. Nothing else.
//   web       may write uploads/ and collages/, read uploads/, cutouts/ and collages/ (to sign
//             GET URLs), read and write jobs/, and invoke the function. Nothing else.
// Neither may list or delete anything: only the root key can.
//
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace sparkify::access {

enum class Principal { kFunction, kWeb };

// "function" / "web".
std::string_view PrincipalName(Principal principal);
// The inverse; InvalidArgument naming the accepted values otherwise.
Result<Principal> ParsePrincipal(std::string_view name);

inline constexpr char kUploadsPrefix[] = "uploads/";
inline constexpr char kCutoutsPrefix[] = "cutouts/";
inline constexpr char kCollagesPrefix[] = "collages/";
inline constexpr char kJobsPrefix[] = "jobs/";

struct PolicyTarget {
  // The bucket's name, put into ARNs verbatim (so "${Bucket}" works for CloudFormation !Sub).
  std::string bucket;
  // The function's ARN, verbatim. Only the web principal's policy uses it. Default: the local
  // endpoint's function ("function", as the Lambda emulator names it).
  std::string function_arn = "arn:aws:lambda:us-east-1:000000000000:function:function";
};

// The identity policy document (IAM JSON, Version 2012-10-17, one Sid per grant), pretty
// printed with two-space indentation and a final newline. Stable: same input, same bytes.
std::string PolicyDocument(Principal principal, const PolicyTarget& target);

}  // namespace sparkify::access
