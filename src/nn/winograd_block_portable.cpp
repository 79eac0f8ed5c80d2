// The Winograd block (internal/winograd_block_impl.h) on a portable 16-lane vector: plain C++
// with AVX-512's channel layout (16 channels per vector, fp16 weights loaded as two blocks of
// 8) and its rounding (a fused multiply-add where the AVX-512 unit has one). Not a kernel for
// production: it lets the tests check the 16-channel code paths on a CPU without AVX-512
// (EmulateAvx512BlocksForTests in internal/winograd_conv.h), which is where CI runs.
#include "nn/internal/winograd_block_impl.h"

namespace sparkify::nn::internal {
namespace {

// fp16 (IEEE binary16) to fp32, exactly: normals, subnormals, zeros, infinities and NaNs.
float HalfToFloat(unsigned short h) {
  const unsigned sign = (h & 0x8000u) << 16;
  const unsigned exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ffu;
  unsigned bits;
  if (exponent == 0x1f) {
    // infinity, or a NaN made quiet as vcvtph2ps makes it
    bits = sign | 0x7f800000u | (mantissa << 13) | (mantissa != 0 ? 0x400000u : 0);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // rebias 15 -> 127
  } else if (mantissa == 0) {
    bits = sign;
  } else {  // subnormal: mantissa x 2^-24, normal in fp32
    int e = 113;
    unsigned m = mantissa;
    while ((m & 0x400u) == 0) m <<= 1, --e;
    bits = sign | (static_cast<unsigned>(e) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
}

struct Portable16 {
  struct V {
    float x[16];
  };
  static constexpr int kB = 16;
  template <class F>
  static V Each(F f) {
    V r;
    for (int i = 0; i < 16; ++i) r.x[i] = f(i);
    return r;
  }
  static V Zero() {
    return Each([](int) { return 0.f; });
  }
  static V Set1(float f) {
    return Each([f](int) { return f; });
  }
  static V Load(const float* p) {
    return Each([p](int i) { return p[i]; });
  }
  static void Store(float* p, V v) {
    for (int i = 0; i < 16; ++i) p[i] = v.x[i];
  }
  static V Mul(V a, V b) {
    return Each([&](int i) { return a.x[i] * b.x[i]; });
  }
  static V Add(V a, V b) {
    return Each([&](int i) { return a.x[i] + b.x[i]; });
  }
  static V Sub(V a, V b) {
    return Each([&](int i) { return a.x[i] - b.x[i]; });
  }
  // vmaxps: the second operand where either is NaN.
  static V Max(V a, V b) {
    return Each([&](int i) { return a.x[i] > b.x[i] ? a.x[i] : b.x[i]; });
  }
  static V FMadd(V a, V b, V c) {  // a b + c, rounded once
    return Each([&](int i) { return __builtin_fmaf(a.x[i], b.x[i], c.x[i]); });
  }
  static V FnMadd(V a, V b, V c) {  // c - a b, rounded once
    return Each([&](int i) { return __builtin_fmaf(-a.x[i], b.x[i], c.x[i]); });
  }
  // 16 fp16 values: 8 at p, 8 at p + next, as the AVX-512 unit loads them.
  static V LoadHalves(const unsigned short* p, long next) {
    return Each([&](int i) { return HalfToFloat(i < 8 ? p[i] : p[next + i - 8]); });
  }
};

}  // namespace

void WinogradBlockPortable16(const WinogradBlock& b) { RunBlock<Portable16>(b); }

}  // namespace sparkify::nn::internal
