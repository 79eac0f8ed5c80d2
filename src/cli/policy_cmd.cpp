// `sparkify policy --bucket NAME --principal function|web [--function-arn ARN]`: prints the
// principal's least-privilege IAM identity policy (access::PolicyDocument), the same document
// `sparkify up` installs locally and deploy/template.yaml carries for AWS.
#include <iostream>

#include "access/access.h"
#include "cli/commands.h"

namespace sparkify::cli {

void RegisterPolicy(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string bucket, principal;
    access::PolicyTarget target;
    bool function_arn_given = false;
  };
  auto f = std::make_shared<Flags>();
  auto* cmd = app.add_subcommand(
      "policy", "Print the least-privilege IAM policy of the function or the web app");
  cmd->add_option("--bucket", f->target.bucket,
                  "Bucket name, put into the ARNs verbatim (\"${Bucket}\" for a template)")
      ->required();
  cmd->add_option("--principal", f->principal, "function or web")->required();
  cmd->add_option("--function-arn", f->target.function_arn,
                  "The function's ARN, for the web app's lambda:InvokeFunction grant")
      ->capture_default_str();
  cmd->callback([f, exit_code] {
    auto principal = access::ParsePrincipal(f->principal);
    if (!principal.ok()) {
      std::cerr << "sparkify policy: " << principal.status().message() << "\n";
      *exit_code = 2;
      return;
    }
    if (f->target.bucket.empty()) {
      std::cerr << "sparkify policy: --bucket must not be empty\n";
      *exit_code = 2;
      return;
    }
    std::cout << access::PolicyDocument(*principal, f->target) << std::flush;
    *exit_code = 0;
  });
}

}  // namespace sparkify::cli
