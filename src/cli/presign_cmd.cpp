// `sparkify presign s3://BUCKET/KEY`: prints a presigned URL.
#include <iostream>

#include "cli/commands.h"
#include "cli/env.h"
#include "common/clock.h"
#include "s3client/s3client.h"

namespace sparkify::cli {

void RegisterPresign(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string url, method = "GET", endpoint = "https://s3.amazonaws.com", region, date;
    int64_t expires = 3600;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand("presign", "Print a presigned URL for s3://BUCKET/KEY");
  cmd->add_option("url", f->url, "s3://BUCKET/KEY")->required();
  cmd->add_option("--expires", f->expires, "Seconds the URL stays valid (1..604800)")
      ->capture_default_str();
  cmd->add_option("--method", f->method, "GET or PUT")->capture_default_str();
  cmd->add_option("--endpoint", f->endpoint,
                  "S3 endpoint; https://s3.amazonaws.com addresses AWS virtual-hosted style, "
                  "anything else path style")
      ->capture_default_str();
  cmd->add_option("--region", f->region, "Region (default: AWS_REGION, AWS_DEFAULT_REGION, "
                                         "us-east-1)");
  cmd->add_option("--date", f->date, "Signing time YYYYMMDDTHHMMSSZ (default: now)");
  cmd->callback([f, exit_code] {
    *exit_code = 2;
    auto fail = [](const std::string& m) { std::cerr << "sparkify presign: " << m << "\n"; };
    auto id = Env("AWS_ACCESS_KEY_ID");
    auto secret = Env("AWS_SECRET_ACCESS_KEY");
    if (f->method != "GET" && f->method != "PUT") return fail("--method must be GET or PUT");
    if (f->expires < 1 || f->expires > 604800) return fail("--expires must be 1..604800");
    std::string region = f->region;
    if (region.empty()) region = Env("AWS_REGION").value_or(Env("AWS_DEFAULT_REGION").value_or("us-east-1"));
    TimePoint when = Clock::System().Now();
    if (!f->date.empty()) {
      auto t = ParseAmzDate(f->date);
      if (!t) return fail("--date must look like 20130524T000000Z");
      when = *t;
    }
    s3client::PresignRequest req;
    req.s3_url = f->url;
    req.method = f->method;
    req.endpoint = f->endpoint;
    req.region = region;
    req.expires_seconds = f->expires;
    req.time = when;
    if (!id || !secret) {
      // The arguments first (what is wrong on the command line says so), then the keys.
      req.credentials = {"AKIDCHECKONLY", "check-only", ""};
      if (auto checked = s3client::PresignS3Url(req); !checked.ok()) {
        return fail(checked.status().message());
      }
      return fail("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
    req.credentials = {*id, *secret, Env("AWS_SESSION_TOKEN").value_or("")};
    auto url = s3client::PresignS3Url(req);
    if (!url.ok()) return fail(url.status().message());
    std::cout << *url << std::endl;
    *exit_code = 0;
  });
}

}  // namespace sparkify::cli
