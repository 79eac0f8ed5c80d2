// Internal: what one client (one remote address) may ask of the web app, so that one client
// cannot lock the others out: covers per minute (a token bucket, a minute's worth at once),
// jobs in progress at once, share links and regenerations per minute, and upload forms per
// minute (as many as covers).
//
// A client is its connection's remote address, or behind a load balancer named by
// --trusted-proxies the address it forwards (proxy.h); behind any other proxy every client is
// the proxy (give the proxy its own limits then). Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"

namespace sparkify::web::internal {

struct ClientBudgetOptions {
  int covers_per_minute = 120;  // 0: no limit
  int running_jobs = 2;         // 0: no limit
  int actions_per_minute = 30;  // share links and regenerations; 0: no limit
};

struct BudgetRefusal {
  std::string message;  // plain words, for the page
  int retry_after_s = 1;
};

class ClientBudget {
 public:
  explicit ClientBudget(ClientBudgetOptions options, const Clock* clock = &Clock::System());

  // A job of `covers` covers for `client`: takes them from its covers budget and one of its
  // running-job slots, released when the returned handle is destroyed (when the job ends).
  // Or why not, and when to try again.
  struct Slot;
  std::optional<BudgetRefusal> StartJob(const std::string& client, int covers,
                                        std::shared_ptr<Slot>* slot);
  // A share link or a regeneration.
  std::optional<BudgetRefusal> Action(const std::string& client);
  // `files` upload forms (direct uploads to the bucket): as many a minute as covers, from a
  // budget of their own (the job made of them then takes its covers as any other).
  std::optional<BudgetRefusal> UploadForms(const std::string& client, int files);

 private:
  struct Bucket {
    double tokens = 0;
    TimePoint refilled{};
  };
  struct Client {
    Bucket covers, actions, forms;
    int running = 0;
  };
  // Tops `b` up at `per_minute` since it was last refilled (full on first use).
  static void Refill(Bucket& b, int per_minute, TimePoint now);
  // Takes `wanted` tokens from `b` (refilled first; at most a minute's worth is asked, so a
  // larger request runs on a full bucket); the seconds to wait when it holds too few.
  static std::optional<int> Take(Bucket& b, int per_minute, int wanted, TimePoint now);
  // StartJob's accounting, under the lock.
  std::optional<BudgetRefusal> TakeJob(const std::string& client, int covers);
  void Release(const std::string& client);
  void ForgetIdle(TimePoint now);  // REQUIRES: mu_ held

  const ClientBudgetOptions options_;
  const Clock* clock_;
  std::mutex mu_;
  std::map<std::string, Client> clients_;
  TimePoint last_sweep_{};
};

}  // namespace sparkify::web::internal
