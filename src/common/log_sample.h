// Which occurrences of a repeated problem get a log line: the first 10, then every 100th, so
// a store down for everyone, or a client sending request after refused request, cannot flood
// the log (each line says how many so far).
#pragma once

#include <atomic>
#include <cstdint>

namespace sparkify {

// Counts one more occurrence in `count`; returns its number when it is one to log, else 0.
inline uint64_t SampledOccurrence(std::atomic<uint64_t>& count) {
  const uint64_t n = ++count;
  return n <= 10 || n % 100 == 0 ? n : 0;
}

}  // namespace sparkify
