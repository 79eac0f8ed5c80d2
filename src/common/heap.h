// Process-wide heap tuning for the processes that run the model.
#pragma once

#include <string>
#include <string_view>

namespace sparkify {

// glibc's malloc: allocations up to 64 MiB come from the heap, and up to 512 MiB of freed heap
// is kept for reuse. A cut-out at 1024 allocates ~50 MB of short-lived buffers (the input
// blob, the model's output, masks, images); by default glibc may map each of them afresh and
// unmap it when freed (its threshold adapts, or not, with what was freed before), so a request
// can pay the page faults of every buffer again: blob + mask + cut-out took 113 ms instead of
// 34 ms per 1024 cut-out here. Peak memory does not change: the buffers are alive during a
// request either way. Safe to call at any time; call once, early.
void KeepLargeBuffersForReuse();

// The environment variable glibc reads its malloc tunables from, at process start only.
inline constexpr const char* kGlibcTunables = "GLIBC_TUNABLES";

// The value of GLIBC_TUNABLES for a process that runs the model: `current` (the value this
// process has, possibly empty) with glibc.malloc.hugetlb=1 added, unless it sets hugetlb
// already (the user's choice stands). With it, malloc asks for transparent huge pages for the
// memory it maps (the kernel's THP mode "madvise", Debian's default, gives none otherwise):
// a first touch then costs one page fault per 2 MiB instead of per 4 KiB. On a virtual machine
// a fault is dear (~11 us here, 2.9 ms per MB of 4 KiB pages against 0.1 ms in huge pages), and
// a cold start touches ~150 MB outside the engine's own huge-page arena (the decoded image,
// the input blob, masks, oneDNN's buffers): ~37,000 faults, 0.3-0.4 s.
std::string TunablesWithHugePageMalloc(std::string_view current);

// Whether a model process asked for 4 KiB pages: `--huge-pages off` (or `--huge-pages=off`)
// among `args`, else SPARKIFY_HUGE_PAGES=off (`huge_pages_env`, null when unset). Then it gets
// no glibc.malloc.hugetlb of ours either (the engine's buffers and malloc's alike in small
// pages; a hugetlb setting of the user's own still stands).
bool HugePagesOff(int argc, const char* const* argv, const char* huge_pages_env);

}  // namespace sparkify
