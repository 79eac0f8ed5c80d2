// libFuzzer target: what a browser's upload and a bucket's CORS rules bring from outside — the
// POST Object form reader (fed in reads of 1 to 64 bytes, so boundaries straddle them), the
// policy document, and the CORS configuration and its matching.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "store/internal/cors.h"
#include "store/internal/post_form.h"

namespace {

class Body : public sparkify::http::BodySource {
 public:
  Body(std::string_view data, size_t step) : data_(data), step_(step) {}
  sparkify::Result<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min({n, step_, data_.size()});
    std::copy_n(data_.data(), take, buf);
    data_.remove_prefix(take);
    return take;
  }

 private:
  std::string_view data_;
  size_t step_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sparkify::store;
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  Body body(input, 1 + data[0] % 64);
  PostFormReader reader(&body, "XyZ");
  PostForm form;
  if (!reader.ReadFields(&form)) {
    uint64_t total = 0;
    (void)reader.ReadFile([&total](std::string_view d) -> std::optional<S3Error> {
      total += d.size();
      return std::nullopt;
    });
  }
  auto policy = ParsePostPolicy(input);
  if (policy.ok()) {
    (void)CheckPostPolicy(*policy, form, "bucket", sparkify::TimePoint{});
    (void)LengthRange(*policy);
  }
  auto cors = ParseCorsConfiguration(input);
  if (cors.ok()) {
    (void)CorsConfigurationProblem(*cors);
    (void)ParseCorsConfiguration(CorsConfigurationXml(*cors));
    const CorsRule* rule =
        MatchCorsRule(*cors, "https://a.example", "PUT", SplitRequestHeaders(input.substr(0, 64)));
    if (rule != nullptr) (void)CorsHeaders(*rule, "https://a.example", true, {"x-a"});
  }
  (void)FormBoundary(input);
  return 0;
}
