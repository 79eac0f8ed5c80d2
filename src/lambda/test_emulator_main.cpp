// lambda_test_emulator: the emulator as a process, for tests driven by real clients (awscli).
//   lambda_test_emulator --worker PATH --data DIR [--timeout-ms N]
// Root credentials come from SPARKIFY_ROOT_ACCESS_KEY_ID / SPARKIFY_ROOT_SECRET_ACCESS_KEY.
// Prints "listening on http://127.0.0.1:PORT" on stdout, then runs until stdin closes.
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

#include "iam/identity.h"
#include "lambda/emulator.h"

int main(int argc, char** argv) {
  std::string worker, data;
  long timeout_ms = 30000;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--worker") worker = argv[i + 1];
    if (flag == "--data") data = argv[i + 1];
    if (flag == "--timeout-ms") timeout_ms = std::atol(argv[i + 1]);
  }
  const char* key = std::getenv("SPARKIFY_ROOT_ACCESS_KEY_ID");
  const char* secret = std::getenv("SPARKIFY_ROOT_SECRET_ACCESS_KEY");
  if (worker.empty() || data.empty() || key == nullptr || secret == nullptr) {
    std::cerr << "usage: lambda_test_emulator --worker PATH --data DIR (root keys in env)\n";
    return 2;
  }
  auto ids = sparkify::iam::IdentityStore::Open(data, {key, secret, ""});
  if (!ids.ok()) {
    std::cerr << ids.status().ToString() << "\n";
    return 2;
  }
  sparkify::lambda::EmulatorOptions options;
  options.worker_command = {worker};
  options.worker_environment = {"PATH=/usr/bin:/bin"};
  options.identities = ids->get();
  options.timeout = std::chrono::milliseconds(timeout_ms);
  auto emulator = sparkify::lambda::Emulator::Start(options);
  if (!emulator.ok()) {
    std::cerr << emulator.status().ToString() << "\n";
    return 2;
  }
  std::cout << "listening on http://127.0.0.1:" << (*emulator)->port() << std::endl;
  std::string ignored;
  while (std::getline(std::cin, ignored)) {
  }
  (*emulator)->Stop();
  return 0;
}
