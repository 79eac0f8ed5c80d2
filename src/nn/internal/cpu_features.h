// Internal to sparkify_nn: what the CPU has, where the compiler's __builtin_cpu_supports
// does not say.
#pragma once

namespace sparkify::nn::internal {

// F16C (fp16 <-> fp32) and AVX, with the YMM state saved by the OS.
bool CpuHasF16cAndAvx();

}  // namespace sparkify::nn::internal
