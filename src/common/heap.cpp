#include "common/heap.h"

#include <malloc.h>

namespace sparkify {

void KeepLargeBuffersForReuse() {
  // Setting either turns glibc's adaptive threshold off; both are hints, never failures.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

std::string TunablesWithHugePageMalloc(std::string_view current) {
  constexpr std::string_view kName = "glibc.malloc.hugetlb=";
  // The value is name=value pairs separated by ':'.
  for (size_t at = 0; at <= current.size();) {
    size_t end = current.find(':', at);
    if (end == std::string_view::npos) end = current.size();
    if (current.substr(at, end - at).substr(0, kName.size()) == kName) return std::string(current);
    at = end + 1;
  }
  std::string out(current);
  if (!out.empty() && out.back() != ':') out += ':';
  out += kName;
  out += '1';
  return out;
}

bool HugePagesOff(int argc, const char* const* argv, const char* huge_pages_env) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--huge-pages" && i + 1 < argc) return std::string_view(argv[i + 1]) == "off";
    if (a.substr(0, 13) == "--huge-pages=") return a.substr(13) == "off";
  }
  return huge_pages_env != nullptr && std::string_view(huge_pages_env) == "off";
}

}  // namespace sparkify
