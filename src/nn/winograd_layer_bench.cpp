// sparkify_bench_winograd: our Winograd kernel on single layers, one blocking of tiles (A)
// against another (B) in the same process, alternating run by run.
//
//   sparkify_bench_winograd [--threads T] [--pairs P] [--a BYTES,MIN,MAX] [--b BYTES,MIN,MAX]
//                           [--layer NAME=IN,OUT,SIDE,TILE[,c][,upN]]...
//
// --a and --b: each side's blocking (WinogradBlocking: block bytes, fewest and most rows of
// tiles); an empty or missing field keeps the default, e.g.
// `--b ,24` for 24 rows at least. --layer replaces the built-in list (IS-Net's main layer
// shapes at a 1024 input); `c` makes it compact (fp16 3x3 weights), `upN` reads the first N
// input channels upsampled from a half-size map (a fused Resize + Concat).
//
// A shared host's interference comes and goes over seconds: a whole-model A/B run a minute
// apart can differ by 20% for the same binary. Here A and B take turns every few
// milliseconds on the same data, so both see the same host; per layer it prints each side's
// median and fastest run and the median of the pairs' ratios B / A.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "nn/internal/compile.h"
#include "nn/internal/winograd_conv.h"

namespace {

using sparkify::nn::Activation;
using namespace sparkify::nn::internal;

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "sparkify_bench_winograd: %s\n", why.c_str());
  std::exit(2);
}

struct Layer {
  std::string name;
  WinogradConvShape shape;
};

Layer MakeLayer(std::string name, int in_c, int out_c, int side, int tile, bool compact = false,
                int up_c = 0) {
  WinogradConvShape s;
  s.block = __builtin_cpu_supports("avx512f") ? 16 : 8;
  s.in_c = in_c, s.in_h = side, s.in_w = side;
  s.out_c = out_c, s.out_h = side, s.out_w = side;
  s.pad_top = 1, s.pad_left = 1;
  s.tile = tile;
  s.compact = compact;
  s.up_c = up_c;
  return {std::move(name), s};
}

// IS-Net's layers at a 1024 input that take most of a forward, with the tile the engine picks.
std::vector<Layer> DefaultLayers() {
  return {MakeLayer("stage1/rebnconvin 64->64 @512 F6", 64, 64, 512, 6),
          MakeLayer("stage1d/rebnconvin 128->64 @512 F6 up64", 128, 64, 512, 6, false, 64),
          MakeLayer("stage2/rebnconvin 64->128 @256 F6", 64, 128, 256, 6),
          MakeLayer("stage2/rebnconv1 128->32 @256 F6", 128, 32, 256, 6),
          MakeLayer("stage3/rebnconvin 128->256 @128 F4", 128, 256, 128, 4),
          MakeLayer("stage3d/rebnconvin 512->128 @128 F4 up256", 512, 128, 128, 4, false, 256),
          MakeLayer("stage4/rebnconvin 256->512 @64 F6c", 256, 512, 64, 6, true),
          MakeLayer("stage5/rebnconvin 512->512 @32 F4c", 512, 512, 32, 4, true)};
}

Layer ParseLayer(const std::string& spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string::npos) Die("--layer wants NAME=IN,OUT,SIDE,TILE[,c][,upN]: " + spec);
  std::vector<std::string> parts;
  for (size_t at = eq + 1;;) {
    const size_t comma = spec.find(',', at);
    parts.push_back(spec.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (parts.size() < 4) Die("--layer wants NAME=IN,OUT,SIDE,TILE[,c][,upN]: " + spec);
  bool compact = false;
  int up = 0;
  for (size_t i = 4; i < parts.size(); ++i) {
    if (parts[i] == "c") {
      compact = true;
    } else if (parts[i].rfind("up", 0) == 0) {
      up = std::atoi(parts[i].c_str() + 2);
    } else {
      Die("unknown --layer option " + parts[i]);
    }
  }
  return MakeLayer(spec.substr(0, eq), std::atoi(parts[0].c_str()), std::atoi(parts[1].c_str()),
                   std::atoi(parts[2].c_str()), std::atoi(parts[3].c_str()), compact, up);
}

// In huge pages, as the engine's arena (AllocateLarge): in 4 KiB pages the transforms' reads
// across a map's planes miss the TLB, and the layers ran 1.5x slower.
struct Buffer {
  std::shared_ptr<void> mem;
  explicit Buffer(size_t floats) : mem(AllocateLarge(floats * sizeof(float))) {
    if (!mem) Die("out of memory");
  }
  float* get() const { return static_cast<float*>(mem.get()); }
};

void Fill(float* p, size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (size_t i = 0; i < n; ++i) p[i] = d(rng);
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

WinogradBlocking ParseBlocking(const std::string& spec) {
  WinogradBlocking b;
  size_t fields[3] = {b.block_bytes, static_cast<size_t>(b.min_rows),
                      static_cast<size_t>(b.max_rows)};
  size_t at = 0;
  for (size_t& f : fields) {
    const size_t comma = std::min(spec.find(',', at), spec.size());
    if (comma > at) f = static_cast<size_t>(std::atol(spec.substr(at, comma - at).c_str()));
    if (comma == spec.size()) break;
    at = comma + 1;
  }
  b.block_bytes = fields[0];
  b.min_rows = static_cast<int>(fields[1]), b.max_rows = static_cast<int>(fields[2]);
  if (b.block_bytes == 0 || b.min_rows < 1 || b.max_rows < 1) {
    Die("a blocking wants positive BYTES,MIN,MAX: " + spec);
  }
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  int pairs = 15;
  WinogradBlocking a, b;
  std::vector<Layer> layers;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) Die(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--threads") {
      threads = std::atoi(next().c_str());
    } else if (arg == "--pairs") {
      pairs = std::atoi(next().c_str());
    } else if (arg == "--a") {
      a = ParseBlocking(next());
    } else if (arg == "--b") {
      b = ParseBlocking(next());
    } else if (arg == "--layer") {
      layers.push_back(ParseLayer(next()));
    } else {
      Die("usage: sparkify_bench_winograd [--threads T] [--pairs P] [--a BYTES,MIN,MAX] "
          "[--b BYTES,MIN,MAX] [--layer NAME=IN,OUT,SIDE,TILE[,c][,upN]]...");
    }
  }
  if (threads < 1 || pairs < 1) Die("--threads and --pairs must be positive");
  if (layers.empty()) layers = DefaultLayers();
  std::printf(
      "threads %d, %d pairs per layer; A: block %zu bytes, rows %d-%d; B: block %zu "
      "bytes, rows %d-%d\n",
      threads, pairs, a.block_bytes, a.min_rows, a.max_rows, b.block_bytes, b.min_rows, b.max_rows);
  std::printf("%-44s %7s %7s %7s %7s %7s %6s %6s\n", "layer (ms)", "A med", "A min", "B med",
              "B min", "B/A", "A rows", "B rows");
  std::mt19937 rng(7);
  double sum_a = 0, sum_b = 0;
  for (const Layer& layer : layers) {
    const WinogradConvShape& s = layer.shape;
    if (!WinogradConvFits(s)) Die(layer.name + ": not a shape the kernel takes on this CPU");
    const WinogradConvPlan pa = PlanWinogradConv(s, threads, a);
    const WinogradConvPlan pb = PlanWinogradConv(s, threads, b);
    const size_t full = static_cast<size_t>(s.in_c - s.up_c) * s.in_h * s.in_w;
    const size_t low = static_cast<size_t>(s.up_c) * (s.in_h / 2) * (s.in_w / 2);
    const size_t out_n = static_cast<size_t>(s.out_c) * s.out_h * s.out_w;
    Buffer in(full), up(low), out(out_n), bias(static_cast<size_t>(s.out_c));
    Buffer scratch(std::max(pa.scratch_bytes, pb.scratch_bytes) / sizeof(float) + 16);
    Fill(in.get(), full, rng);
    Fill(up.get(), low, rng);
    Fill(bias.get(), static_cast<size_t>(s.out_c), rng);
    std::vector<float> weights;
    std::vector<uint16_t> halves;
    const void* w = nullptr;
    if (s.compact) {
      halves.resize(WinogradConvCompactHalves(s));
      // fp16 of magnitude 1/16 .. 1/4, either sign: no denormals, no overflow.
      for (auto& h : halves)
        h = static_cast<uint16_t>((rng() & 1) << 15 | (0x2C00 + rng() % 0x800));
      w = halves.data();
    } else {
      std::vector<float> oihw(static_cast<size_t>(s.out_c) * s.in_c * 9);
      Fill(oihw.data(), oihw.size(), rng);
      weights.resize(WinogradConvWeightFloats(s));
      WinogradConvWeights(s, oihw.data(), weights.data());
      w = weights.data();
    }
    auto run = [&](const WinogradConvPlan& p) {
      const auto t0 = std::chrono::steady_clock::now();
      WinogradConv(p, in.get(), w, bias.get(), Activation::kRelu, nullptr, out.get(), scratch.get(),
                   nullptr, s.up_c > 0 ? up.get() : nullptr);
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
          .count();
    };
    run(pa), run(pb);  // warm-up: pages, caches, threads
    std::vector<double> ta, tb, ratio;
    for (int k = 0; k < pairs; ++k) {
      // Alternate which goes first: the second of a pair finds the first's data in cache.
      double x, y;
      if (k % 2 == 0) {
        x = run(pa), y = run(pb);
      } else {
        y = run(pb), x = run(pa);
      }
      ta.push_back(x), tb.push_back(y), ratio.push_back(y / x);
    }
    const double ma = Median(ta), mb = Median(tb);
    sum_a += ma, sum_b += mb;
    std::printf("%-44s %7.2f %7.2f %7.2f %7.2f %7.3f %6d %6d\n", layer.name.c_str(), ma,
                *std::min_element(ta.begin(), ta.end()), mb,
                *std::min_element(tb.begin(), tb.end()), Median(ratio), pa.rows, pb.rows);
  }
  std::printf("%-44s %7.2f %7s %7.2f %7s %7.3f\n", "sum of medians", sum_a, "", sum_b, "",
              sum_b / sum_a);
  return 0;
}
