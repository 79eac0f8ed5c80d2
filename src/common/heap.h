// Process-wide heap tuning for the processes that run the model.
#pragma once

namespace sparkify {

// glibc's malloc: allocations up to 64 MiB come from the heap, and up to 512 MiB of freed heap
// is kept for reuse. A cut-out at 1024 allocates ~50 MB of short-lived buffers (the input
// blob, the model's output, masks, images); by default glibc may map each of them afresh and
// unmap it when freed (its threshold adapts, or not, with what was freed before), so a request
// can pay the page faults of every buffer again: blob + mask + cut-out took 113 ms instead of
// 34 ms per 1024 cut-out here. Peak memory does not change: the buffers are alive during a
// request either way. Safe to call at any time; call once, early.
void KeepLargeBuffersForReuse();

}  // namespace sparkify
