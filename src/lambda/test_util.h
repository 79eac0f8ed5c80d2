// Test helpers: an emulator running lambda_test_worker, a log sink tests can wait on, and a
// libcurl client for the Invoke API.
#pragma once

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "lambda/emulator.h"

#ifndef LAMBDA_TEST_WORKER
#error "LAMBDA_TEST_WORKER must name the lambda_test_worker binary"
#endif

namespace sparkify::lambda::testing {

// Collects the emulator's log lines; tests wait for a line instead of sleeping.
class LogCapture {
 public:
  std::function<void(std::string_view)> Sink() {
    return [this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
      cv_.notify_all();
    };
  }
  // Waits (up to `limit`) for a line containing `needle`; true when one came.
  bool WaitFor(const std::string& needle, std::chrono::seconds limit = std::chrono::seconds(30)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return Has(needle); });
  }
  bool Contains(const std::string& needle) {
    std::lock_guard lock(mu_);
    return Has(needle);
  }
  std::vector<std::string> Lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

 private:
  bool Has(const std::string& needle) const {
    return std::any_of(lines_.begin(), lines_.end(),
                       [&](const std::string& l) { return l.find(needle) != std::string::npos; });
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

struct Reply {
  long status = 0;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

inline size_t CollectBody(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

inline size_t CollectHeader(char* data, size_t size, size_t n, void* out) {
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.pop_back();
    (*static_cast<std::map<std::string, std::string>*>(out))[name] = value;
  }
  return size * n;
}

// POSTs `body` to http://127.0.0.1:port + path with extra "Name: value" headers.
inline Reply Post(uint16_t port, const std::string& path, const std::string& body,
                  const std::vector<std::string>& headers = {}) {
  Reply r;
  CURL* curl = curl_easy_init();
  std::string url = "http://127.0.0.1:" + std::to_string(port) + path;
  curl_slist* list = curl_slist_append(nullptr, "Expect:");
  for (const auto& h : headers) list = curl_slist_append(list, h.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &r.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &r.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (curl_easy_perform(curl) == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r.status);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return r;
}

inline constexpr const char* kRiePath = "/2015-03-31/functions/function/invocations";

// Options for an emulator running the test worker; `env` adds "NAME=value" entries.
inline EmulatorOptions WorkerOptions(LogCapture* log, std::vector<std::string> env = {}) {
  EmulatorOptions o;
  o.worker_command = {LAMBDA_TEST_WORKER};
  // Under AddressSanitizer a segfault would become "exit status 1"; keep it a signal.
  o.worker_environment = {"PATH=/usr/bin:/bin", "ASAN_OPTIONS=handle_segv=0"};
  for (auto& e : env) o.worker_environment.push_back(std::move(e));
  o.log = log->Sink();
  return o;
}

inline std::unique_ptr<Emulator> StartOrDie(EmulatorOptions options) {
  auto emulator = Emulator::Start(std::move(options));
  EXPECT_TRUE(emulator.ok()) << emulator.status().ToString();
  return emulator.ok() ? std::move(*emulator) : nullptr;
}

}  // namespace sparkify::lambda::testing
