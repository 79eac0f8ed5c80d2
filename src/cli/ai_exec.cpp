#include "cli/ai_exec.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "common/heap.h"

namespace sparkify::cli {

bool IsAiSubcommand(const char* name) {
  return std::strcmp(name, "function") == 0 || std::strcmp(name, "segment") == 0 ||
         std::strcmp(name, "web") == 0;
}

int ExecAi(int argc, char** argv) {
  char self[4096];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    std::cerr << "sparkify: cannot find my own executable: " << std::strerror(errno) << "\n";
    return 2;
  }
  self[n] = '\0';
  std::string path(self);
  path = path.substr(0, path.rfind('/') + 1) + "sparkify-ai";
  std::vector<char*> args;
  args.push_back(path.data());
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);
  args.push_back(nullptr);
  // The processes that run the model get malloc in huge pages (common/heap.h) unless they
  // asked for small ones: glibc reads its tunables only when a program starts, so they are
  // set here, before it does.
  if ((std::strcmp(argv[1], "function") == 0 || std::strcmp(argv[1], "segment") == 0) &&
      !HugePagesOff(argc, argv, std::getenv("SPARKIFY_HUGE_PAGES"))) {
    const char* current = std::getenv(kGlibcTunables);
    std::string tunables = TunablesWithHugePageMalloc(current ? current : "");
    ::setenv(kGlibcTunables, tunables.c_str(), 1);
  }
  ::execv(path.c_str(), args.data());
  std::cerr << "sparkify: cannot run " << path << " (built beside sparkify by scripts/setup.sh): "
            << std::strerror(errno) << "\n";
  return 2;
}

void RegisterAiPlaceholders(CLI::App& app) {
  app.add_subcommand("function",
                     "Run the AI function: the Lambda worker when AWS_LAMBDA_RUNTIME_API is set, "
                     "else a local Lambda emulator serving the invoke API (see --help)")
      ->allow_extras()
      ->prefix_command();
  app.add_subcommand("segment", "Cut the subject out of image files (see --help)")
      ->allow_extras()
      ->prefix_command();
  app.add_subcommand("web", "Run the web app: the page and its JSON API (see --help)")
      ->allow_extras()
      ->prefix_command();
}

}  // namespace sparkify::cli
