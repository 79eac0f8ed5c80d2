#include "common/heap.h"

#include <malloc.h>

namespace sparkify {

void KeepLargeBuffersForReuse() {
  // Setting either turns glibc's adaptive threshold off; both are hints, never failures.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

}  // namespace sparkify
