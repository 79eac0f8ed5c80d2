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

}  // namespace sparkify
