// sparkify_bench_network: the whole engine with two sets of options in one process, forwards
// alternating, so that both see the same host.
//
//   sparkify_bench_network --model FILE.sgraph [--size N] [--pairs P] [--threads T]
//                          [--a KEY=VALUE,...] [--b KEY=VALUE,...] [--b-model FILE.sgraph]
//
// --b-model: B runs that file instead (e.g. the same model in another export: a
// sparkify-graph/1 file against a /2 one).
//
// KEYs (nn::NetworkOptions): f6_share, min_share, compact (0/1), compact_f6 (0/1), f8 (0/1), split
// (0/1), compact_many_blocks (0/1), own_winograd (0/1), block_bytes and min_rows (our Winograd
// kernel's blocks of tiles); unset keys keep the defaults. Two rounds: A's
// network built first, then (both rebuilt) B's, since the network built second ran up to 2-3%
// faster in some runs on a Firecracker guest. Per round it prints each side's median and fastest
// forward and the median of the pairs' ratios B / A; then the geometric mean of the two rounds'
// ratios.
//
// On a shared host one binary's forward can move by 20% over minutes: two processes a minute
// apart compare the minutes more than the code. Here the two take turns forward by forward.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/files.h"
#include "nn/network.h"

namespace {

using sparkify::nn::Network;
using sparkify::nn::NetworkOptions;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "sparkify_bench_network: %s\n", why.c_str());
  std::exit(2);
}

// The whole of `text` as a number, else dies naming `option`.
double ParseNumber(const std::string& text, const std::string& option) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0') Die("not a number: " + option);
  return v;
}

NetworkOptions ParseOptions(const std::string& spec, int threads) {
  NetworkOptions o;
  o.threads = threads;
  size_t at = 0;
  while (at < spec.size()) {
    const size_t comma = std::min(spec.find(',', at), spec.size());
    const std::string kv = spec.substr(at, comma - at);
    at = comma + 1;
    const size_t eq = kv.find('=');
    if (eq == std::string::npos) Die("an option wants KEY=VALUE: " + kv);
    const std::string key = kv.substr(0, eq);
    // A number, or a fraction written N/D (f6_share=1/64).
    const std::string text = kv.substr(eq + 1);
    const size_t slash = text.find('/');
    double v = ParseNumber(text.substr(0, slash), kv);
    if (slash != std::string::npos) v /= ParseNumber(text.substr(slash + 1), kv);
    if (!std::isfinite(v)) Die("not a number: " + kv);
    if (key == "f6_share") {
      o.winograd_f6_share = v;
    } else if (key == "min_share") {
      o.winograd_min_share = v;
    } else if (key == "compact") {
      o.winograd_compact = v != 0;
    } else if (key == "split") {
      o.winograd_split_channels = v != 0;
    } else if (key == "f8") {
      o.winograd_f8 = v != 0;
    } else if (key == "compact_f6") {
      o.winograd_compact_f6 = v != 0;
    } else if (key == "compact_many_blocks") {
      o.winograd_compact_many_blocks = v != 0;
    } else if (key == "block_bytes") {
      if (v < 1 || v > double(1 << 30)) Die("block_bytes is 1 .. 2^30: " + kv);
      o.winograd_block_bytes = static_cast<size_t>(v);
    } else if (key == "min_rows") {
      if (v < 1 || v > 4096) Die("min_rows is 1 .. 4096: " + kv);
      o.winograd_min_rows = static_cast<int>(v);
    } else if (key == "own_winograd") {
      o.own_winograd = v != 0;
    } else {
      Die("unknown option " + key);
    }
  }
  return o;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::unique_ptr<Network> Build(const std::string& file, const NetworkOptions& o, int size) {
  auto net = Network::Create(file, o);
  if (!net.ok()) Die(net.status().ToString());
  if (auto s = (*net)->Prepare(size, size); !s.ok()) Die(s.ToString());
  return std::move(*net);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, b_model, a_spec, b_spec;
  int size = 1024, pairs = 16, threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--model") {
      model = next();
    } else if (arg == "--size") {
      size = std::atoi(next().c_str());
    } else if (arg == "--pairs") {
      pairs = std::atoi(next().c_str());
    } else if (arg == "--threads") {
      threads = std::atoi(next().c_str());
    } else if (arg == "--a") {
      a_spec = next();
    } else if (arg == "--b") {
      b_spec = next();
    } else if (arg == "--b-model") {
      b_model = next();
    } else {
      Die("usage: sparkify_bench_network --model FILE.sgraph [--size N] [--pairs P] "
          "[--threads T] [--a KEY=VALUE,...] [--b KEY=VALUE,...] [--b-model FILE.sgraph]");
    }
  }
  if (model.empty() || size < 1 || pairs < 1 || threads < 0) {
    Die("--model is required; --size and --pairs must be positive");
  }
  auto file = sparkify::ReadFileToString(model, size_t{1} << 30);
  if (!file.ok()) Die(file.status().ToString());
  auto file_b = b_model.empty() ? file : sparkify::ReadFileToString(b_model, size_t{1} << 30);
  if (!file_b.ok()) Die(file_b.status().ToString());
  const NetworkOptions oa = ParseOptions(a_spec, threads), ob = ParseOptions(b_spec, threads);
  // A normalised image's range; the arithmetic does not depend on the values.
  std::vector<float> input(static_cast<size_t>(3) * size * size);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> d(-2.f, 2.f);
  for (float& x : input) x = d(rng);
  auto forward = [&](Network& net) {
    const auto t0 = std::chrono::steady_clock::now();
    if (auto out = net.Run(input.data(), size, size); !out.ok()) Die(out.status().ToString());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::printf("model %s at %d, %d pairs per round; A: {%s}, B: {%s}%s%s\n", model.c_str(), size,
              pairs, a_spec.c_str(), b_spec.c_str(), b_model.empty() ? "" : " on ",
              b_model.c_str());
  double log_sum = 0;
  for (int round = 0; round < 2; ++round) {
    std::unique_ptr<Network> a, b;
    if (round == 0) {
      a = Build(*file, oa, size), b = Build(*file_b, ob, size);
    } else {
      b = Build(*file_b, ob, size), a = Build(*file, oa, size);
    }
    forward(*a), forward(*b);  // the arenas' first touch
    std::vector<double> ta, tb, ratio;
    for (int k = 0; k < pairs; ++k) {
      double x, y;
      if (k % 2 == 0) {
        x = forward(*a), y = forward(*b);
      } else {
        y = forward(*b), x = forward(*a);
      }
      ta.push_back(x), tb.push_back(y), ratio.push_back(y / x);
    }
    const double r = Median(ratio);
    log_sum += std::log(r);
    std::printf(
        "round %d (%s built first): A %.4f / %.4f s, B %.4f / %.4f s (median / best), "
        "B/A %.3f; weights A %.0f MB, B %.0f MB\n",
        round + 1, round == 0 ? "A" : "B", Median(ta), *std::min_element(ta.begin(), ta.end()),
        Median(tb), *std::min_element(tb.begin(), tb.end()), r, a->weight_bytes() / 1e6,
        b->weight_bytes() / 1e6);
  }
  std::printf("B/A, both rounds: %.3f\n", std::exp(log_sum / 2));
  return 0;
}
