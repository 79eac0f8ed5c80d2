// Internal to sparkify_function: ParallelFor, a fork-join loop over a few threads, and
// CpuGate, a counting semaphore for the CPU-heavy steps. Thread-safe as documented.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <system_error>
#include <thread>
#include <vector>

namespace sparkify::function {

// Calls fn(i) for every i in [0, n) on up to `threads` threads (the caller's included) and
// returns when all calls have returned. REQUIRES: fn does not throw. If a thread cannot be
// created, the remaining threads (at least the caller's) do the work.
inline void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) fn(i);
  };
  std::vector<std::thread> pool;
  const size_t extra = std::min(n, static_cast<size_t>(threads > 1 ? threads : 1)) - (n ? 1 : 0);
  for (size_t t = 0; t < extra; ++t) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error&) {
      break;
    }
  }
  work();
  for (auto& th : pool) th.join();
}

// At most `limit` holders at once. Acquire() blocks.
class CpuGate {
 public:
  explicit CpuGate(int limit) : free_(limit > 0 ? limit : 1) {}
  void Acquire() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return free_ > 0; });
    --free_;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      ++free_;
    }
    cv_.notify_one();
  }
  class Hold {
   public:
    explicit Hold(CpuGate& g) : g_(g) { g_.Acquire(); }
    ~Hold() { g_.Release(); }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    CpuGate& g_;
  };

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int free_;
};

}  // namespace sparkify::function
