// `sparkify user create`: an access key with an identity policy, for the store.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/data_dirs.h"
#include "cli/env.h"
#include "common/files.h"
#include "iam/identity.h"

namespace sparkify::cli {

void RegisterUser(CLI::App& app, int* exit_code) {
  struct Flags {
    std::string data_dir, name, policy_file;
  };
  auto flags = std::make_shared<Flags>();
  auto* user = app.add_subcommand("user", "Manage the store's access keys and policies");
  user->require_subcommand(1);
  auto* create = user->add_subcommand(
      "create", "Create a user (or replace its policy) and print its credentials as JSON");
  create->add_option("name", flags->name, "User name")->required();
  create->add_option("--data", flags->data_dir, "The store's data directory")->required();
  create->add_option("--policy", flags->policy_file, "IAM policy JSON file")->required();
  create->callback([flags, exit_code] {
    auto policy = ReadFileToString(flags->policy_file, 1 << 20);
    if (!policy.ok()) {
      std::cerr << "sparkify user create: " << policy.status().message() << "\n";
      *exit_code = 2;
      return;
    }
    if (Status s = RefuseUpDataDir(flags->data_dir, "--data"); !s.ok()) {
      std::cerr << "sparkify user create: " << s.message() << "\n";
      *exit_code = 2;
      return;
    }
    // The root key is not needed to manage files, only to build the store object.
    auto ids = iam::IdentityStore::Open(flags->data_dir, {"unused-root", "unused", ""});
    if (!ids.ok()) {
      std::cerr << "sparkify user create: " << ids.status().message() << "\n";
      *exit_code = 2;
      return;
    }
    auto creds = (*ids)->EnsureUser(flags->name, *policy);
    if (!creds.ok()) {
      std::cerr << "sparkify user create: " << creds.status().message() << "\n";
      *exit_code = 2;
      return;
    }
    nlohmann::json out = {{"user", creds->user},
                          {"access_key_id", creds->access_key_id},
                          {"secret_access_key", creds->secret_access_key}};
    std::cout << out.dump(2) << std::endl;
    *exit_code = 0;
  });
}

}  // namespace sparkify::cli
