// CPU features: see internal/cpu_features.h.
#include "nn/internal/cpu_features.h"

#include <cpuid.h>

namespace sparkify::nn::internal {

// Read once: the CPU has F16C and AVX (CPUID leaf 1: ECX bits 29, 28) and the OS saves the YMM
// registers (OSXSAVE, bit 27, and XCR0's SSE and AVX state bits). With cpuid.h, as clang's
// __builtin_cpu_supports does not know "f16c".
bool CpuHasF16cAndAvx() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) == 0) return false;
    const unsigned kF16c = 1u << 29, kAvx = 1u << 28, kOsxsave = 1u << 27;
    if ((ecx & (kF16c | kAvx | kOsxsave)) != (kF16c | kAvx | kOsxsave)) return false;
    unsigned xcr0_low = 0, xcr0_high = 0;
    __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    return (xcr0_low & 0x6u) == 0x6u;
  }();
  return has;
}

}  // namespace sparkify::nn::internal
