#include "web/internal/client_budget.h"

#include <algorithm>
#include <cmath>

namespace sparkify::web::internal {

struct ClientBudget::Slot {
  ClientBudget* budget;
  std::string client;
  ~Slot() { budget->Release(client); }
};

ClientBudget::ClientBudget(ClientBudgetOptions options, const Clock* clock)
    : options_(options), clock_(clock) {}

void ClientBudget::Refill(Bucket& b, int per_minute, TimePoint now) {
  if (b.refilled == TimePoint{}) {
    b.tokens = per_minute;
  } else {
    const double minutes = std::chrono::duration<double>(now - b.refilled).count() / 60.0;
    b.tokens = std::min<double>(per_minute, b.tokens + minutes * per_minute);
  }
  b.refilled = now;
}

namespace {

// Seconds until `missing` tokens have come back at `per_minute`.
int SecondsFor(double missing, int per_minute) {
  return std::max(1, static_cast<int>(std::ceil(missing * 60.0 / per_minute)));
}

}  // namespace

std::optional<int> ClientBudget::Take(Bucket& b, int per_minute, int wanted, TimePoint now) {
  Refill(b, per_minute, now);
  wanted = std::min(wanted, per_minute);  // more than a minute's worth runs on a full bucket
  if (b.tokens < wanted) return SecondsFor(wanted - b.tokens, per_minute);
  b.tokens -= wanted;
  return std::nullopt;
}

std::optional<BudgetRefusal> ClientBudget::StartJob(const std::string& client, int covers,
                                                    std::shared_ptr<Slot>* slot) {
  auto refused = TakeJob(client, covers);
  // Outside the lock: replacing *slot may release an older slot, which takes the lock.
  if (!refused) *slot = std::shared_ptr<Slot>(new Slot{this, client});
  return refused;
}

std::optional<BudgetRefusal> ClientBudget::TakeJob(const std::string& client, int covers) {
  const TimePoint now = clock_->Now();
  std::lock_guard lock(mu_);
  ForgetIdle(now);
  Client& c = clients_[client];
  if (options_.running_jobs > 0 && c.running >= options_.running_jobs) {
    return BudgetRefusal{"You already have " + std::to_string(c.running) +
                             " collages in the making; wait for one to finish.",
                         10};
  }
  if (options_.covers_per_minute > 0) {
    if (auto wait = Take(c.covers, options_.covers_per_minute, covers, now)) {
      return BudgetRefusal{"That is a lot of covers in a short time: at most " +
                               std::to_string(options_.covers_per_minute) +
                               " a minute. Try again shortly.",
                           *wait};
    }
  }
  ++c.running;
  return std::nullopt;
}

std::optional<BudgetRefusal> ClientBudget::Action(const std::string& client) {
  if (options_.actions_per_minute <= 0) return std::nullopt;
  const TimePoint now = clock_->Now();
  std::lock_guard lock(mu_);
  ForgetIdle(now);
  Client& c = clients_[client];
  if (auto wait = Take(c.actions, options_.actions_per_minute, 1, now)) {
    return BudgetRefusal{"Too many new layouts and links in a short time: at most " +
                             std::to_string(options_.actions_per_minute) +
                             " a minute. Try again shortly.",
                         *wait};
  }
  return std::nullopt;
}

std::optional<BudgetRefusal> ClientBudget::UploadForms(const std::string& client, int files) {
  if (options_.covers_per_minute <= 0) return std::nullopt;
  const TimePoint now = clock_->Now();
  std::lock_guard lock(mu_);
  ForgetIdle(now);
  Client& c = clients_[client];
  if (auto wait = Take(c.forms, options_.covers_per_minute, files, now)) {
    return BudgetRefusal{"That is a lot of uploads in a short time: at most " +
                             std::to_string(options_.covers_per_minute) +
                             " files a minute. Try again shortly.",
                         *wait};
  }
  return std::nullopt;
}

void ClientBudget::Release(const std::string& client) {
  std::lock_guard lock(mu_);
  auto it = clients_.find(client);
  if (it != clients_.end() && it->second.running > 0) --it->second.running;
}

// A client with nothing running whose buckets are full again is the same as a new one: drop
// it, so the table holds recent clients only. At most once a minute.
void ClientBudget::ForgetIdle(TimePoint now) {
  if (now - last_sweep_ < std::chrono::minutes(1)) return;
  last_sweep_ = now;
  for (auto it = clients_.begin(); it != clients_.end();) {
    const Client& c = it->second;
    const bool idle = c.running == 0 && now - c.covers.refilled >= std::chrono::minutes(1) &&
                      now - c.actions.refilled >= std::chrono::minutes(1) &&
                      now - c.forms.refilled >= std::chrono::minutes(1);
    it = idle ? clients_.erase(it) : std::next(it);
  }
}

}  // namespace sparkify::web::internal
