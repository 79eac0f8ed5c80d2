// The Winograd block (internal/winograd_block_impl.h) on AVX-512: 16 channels per vector.
// Built with -mavx512f (CMakeLists.txt); called only when the CPU has it.
#include <immintrin.h>

#include "nn/internal/winograd_block_impl.h"

namespace sparkify::nn::internal {
namespace {

struct Avx512 {
  using V = __m512;
  static constexpr int kB = 16;
  static V Zero() { return _mm512_setzero_ps(); }
  static V Set1(float f) { return _mm512_set1_ps(f); }
  static V Load(const float* p) { return _mm512_loadu_ps(p); }
  static void Store(float* p, V v) { _mm512_storeu_ps(p, v); }
  static V Mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static V Add(V a, V b) { return _mm512_add_ps(a, b); }
  static V Sub(V a, V b) { return _mm512_sub_ps(a, b); }
  // The masked form: the plain one reads an undefined vector GCC 12 warns about.
  static V Max(V a, V b) { return _mm512_maskz_max_ps(0xffff, a, b); }
  static V FMadd(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }    // a b + c
  static V FnMadd(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c - a b
  // 16 fp16 values: 8 at p, 8 at p + next (two blocks of 8); masked, as Max.
  static V LoadHalves(const unsigned short* p, long next) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + next));
    return _mm512_maskz_cvtph_ps(0xffff,
                                 _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1));
  }
};

}  // namespace

void WinogradBlockAvx512(const WinogradBlock& b) { RunBlock<Avx512>(b); }

}  // namespace sparkify::nn::internal
