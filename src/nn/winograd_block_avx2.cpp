// The Winograd block (internal/winograd_block_impl.h) on AVX2 with FMA: 8 channels per
// vector. Built with -mavx2 -mfma (CMakeLists.txt); called only when the CPU has both.
#include <immintrin.h>

#include "nn/internal/winograd_block_impl.h"

namespace sparkify::nn::internal {
namespace {

struct Avx2 {
  using V = __m256;
  static constexpr int kB = 8;
  static V Zero() { return _mm256_setzero_ps(); }
  static V Set1(float f) { return _mm256_set1_ps(f); }
  static V Load(const float* p) { return _mm256_loadu_ps(p); }
  static void Store(float* p, V v) { _mm256_storeu_ps(p, v); }
  static V Mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static V Add(V a, V b) { return _mm256_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm256_sub_ps(a, b); }
  static V Max(V a, V b) { return _mm256_max_ps(a, b); }
  static V FMadd(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }    // a b + c
  static V FnMadd(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }  // c - a b
  // 8 fp16 values (F16C); `next` (the next block of 8) is for AVX-512's 16.
  static V LoadHalves(const unsigned short* p, long /*next*/) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
};

}  // namespace

void WinogradBlockAvx2(const WinogradBlock& b) { RunBlock<Avx2>(b); }

}  // namespace sparkify::nn::internal
