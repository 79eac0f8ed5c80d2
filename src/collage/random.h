// Portable random numbers for the collage library: derived by hand from std::mt19937_64's raw
// output, whose sequence the C++ standard fixes, rather than from std:: distributions, whose
// algorithms differ between standard libraries. So a seed gives the same palette and the same
// shuffle with libstdc++, libc++ and MSVC.
//
// Thread-safe: functions of their engine argument only (an engine is not shared).
#pragma once

#include <cstdint>
#include <random>

namespace sparkify::collage::internal {

// Uniform in [0, 1), 53 random bits.
inline double Uniform01(std::mt19937_64& engine) {
  return static_cast<double>(engine() >> 11) * 0x1.0p-53;
}

// Uniform in [0, n), unbiased (rejects the 2^64 mod n lowest raw values).
// REQUIRES: n > 0.
inline uint64_t UniformBelow(std::mt19937_64& engine, uint64_t n) {
  const uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  uint64_t x = engine();
  while (x < threshold) x = engine();
  return x % n;
}

}  // namespace sparkify::collage::internal
