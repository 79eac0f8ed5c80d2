// Network: runs a sparkify graph (graph.h) on the CPU with oneDNN.
//
// For each input size it builds a plan once (plan.h: fused steps, one activation arena) and
// the oneDNN primitives for it: convolutions with their activation and residual Add fused as
// post-ops, Winograd for the 3x3 stride-1 layers where it is faster (fp32), direct otherwise;
// activations in oneDNN's blocked layout (16 channels per block with AVX-512, 8 with AVX2);
// Concat by writing into views. Weights are converted from the file once per layout and
// shared by every plan that uses that layout.
//
// Thread-safety: Run and Prepare may be called from several threads; the forward passes are
// serialised (one already uses every thread it was given). oneDNN's thread count (OpenMP) is
// process-wide: Create sets it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "nn/graph.h"
#include "nn/plan.h"

namespace sparkify::nn {

enum class Precision {
  kFp32,  // fp32 arithmetic (Winograd allowed: within ~1e-5 of direct convolution)
  kBf16,  // bf16 activations and weights, fp32 accumulation (CPUs with AVX512-BF16)
  // fp32 arithmetic with larger Winograd tiles (NetworkOptions::winograd_f8): ~10% faster
  // than kFp32, its rounding ~15x larger (IS-Net's masks within ~3e-4 of the reference);
  // offered where it passes a model's quality gate.
  kFast,
};
std::string_view PrecisionName(Precision p);

// The engine's threads when NetworkOptions::threads is 0: the CPUs this process may run on
// (its affinity), at most OMP_NUM_THREADS when that is a positive number (or a list, "4,2",
// whose first entry counts). (The engine sets OpenMP's thread count itself, which would
// otherwise override the variable.)
int DefaultThreads();
// Parses "fp32" / "fast" / "bf16"; InvalidArgument otherwise.
Result<Precision> ParsePrecision(std::string_view name);
// Whether this CPU (as oneDNN sees it, ONEDNN_MAX_CPU_ISA included) runs `p` natively.
bool CpuSupports(Precision p);
// The instruction set oneDNN uses, e.g. "avx512_core_bf16", "avx2".
std::string CpuIsaName();

struct NetworkOptions {
  Precision precision = Precision::kFp32;
  // Let 3x3 stride-1 convolutions use Winograd (fp32 only) where it is the faster algorithm
  // for their shape. Costs memory: its weights are 4x larger. Default: true.
  bool winograd = true;
  // Winograd with converted weights is chosen only for layers whose output has at least a
  // quarter of this share of the input's pixels (F(2x2) below the share, F(4x4) from it): the
  // time it saves per byte of its (4x larger) weights grows with the pixels. Below a quarter,
  // only compact F(2x2) (winograd_compact). Default: 1/256 (64x64 maps at a 1024 input). IS-Net at
  // 1024: 1/256: 0.45 s per forward, 279 MB of weights; 1/64: 0.54 s, 203 MB; 1/1024: 0.42 s, 462
  // MB (oneDNN's kernel, 12-05).
  double winograd_min_share = 1.0 / 256;
  // Winograd layers run on our own kernel (nn/internal/winograd_conv.h: AVX-512 or AVX2,
  // dilated layers too, no map-sized scratch) where this CPU has it: F(4x4, 3x3) on the
  // layers from winograd_min_share up, F(2x2, 3x3) (1.8x the weights instead of 4x) on those
  // down to a quarter of it, and below that compact F(2x2) (winograd_compact). false: oneDNN's
  // F(4x4) (AVX-512 only), for comparison.
  // Default: true.
  bool own_winograd = true;
  // Our kernel takes F(6x6, 3x3) instead of F(4x4) on layers whose output has at least this
  // share of the input's pixels: 21% fewer multiplications, 1.8x F(4x4)'s weights (small
  // there: few channels), rounding within the same bound in winograd_conv_test. Default: 1/16
  // (IS-Net's 256x256 and 512x512 maps at 1024: 128 -> 64 channels at 512x512 went from
  // 42-45 to 34-36 ms; on 128x128 maps F(6x6) with converted weights gained nothing, and
  // those take compact F(6x6) now: winograd_compact_many_blocks). Infinity: never.
  double winograd_f6_share = 1.0 / 16;
  // F(2x2) and F(4x4) layers (and F(6x6) ones, winograd_compact_f6) whose threads take one
  // block of tiles each (deep layers on small maps, where the weights outweigh the tiles) keep
  // their weights as the file's fp16
  // 3x3 kernels (0.28x the bytes of F(2x2)'s converted weights, 0.125x F(4x4)'s) and convert
  // them chunk by chunk as each block multiplies (where the file stores them in fp16 and the
  // CPU has F16C). The layers compute the same bits; what differs is memory and load time
  // (fresh memory is slow to fault in on a virtual machine). Compact F(4x4) costs no more
  // than F(2x2): it takes F(2x2)'s layers where each thread has 18 tiles' worth of pixels.
  // Below a quarter of winograd_min_share, compact F(2x2) takes the layers the direct
  // convolution would (half its fp32 weights' bytes), also where each thread has 18 tiles.
  // IS-Net at 1024: 105 MB of weights instead of 362 (18 MB converted, 87 MB fp16); from a
  // sparkify-graph/2 file the compact layers read the fp16 kernels in place
  // (weight_bytes_in_file). Default: true.
  bool winograd_compact = true;
  // A compact F(4x4) layer takes F(6x6) instead where its tiles need at least 10% fewer
  // products (the same fp16 weights, no more memory) and each thread has 18 of them: IS-Net's
  // 64x64 maps at 1024 and 48x48 at 768 (with winograd_compact_many_blocks also 128x128 and
  // 96x96); not 32x32 (the tiles' padding eats the gain) nor smaller maps (too few tiles). The
  // 10% was measured on AVX2 only. Layers that take F(6x6) by winograd_f6_share keep
  // converted weights. Default: true.
  bool winograd_compact_f6 = true;
  // The F(4x4) layers whose threads take several blocks of tiles keep compact weights too,
  // each block converting them again, where they take compact F(6x6) by the 10% rule
  // (winograd_compact_f6: its fewer products pay for the conversions); where F(6x6) is
  // refused they keep converted F(4x4) weights. IS-Net at 1024: 24 layers (13 on the
  // 128x128 maps, 11 on 64x64), converted weights 83 -> 18 MB (load 0.28 -> 0.11-0.15 s on
  // fresh memory of a Firecracker guest), the forward 0-1% slower (in-process pairs on a Zen
  // 3); at 768 31 -> 18 MB. Layers that take F(6x6) by winograd_f6_share keep converted
  // weights (compact, those made the forward 4.7% slower). Default: true.
  bool winograd_compact_many_blocks = true;
  // F(8x8, 3x3) where our kernel would take F(6x6) (converted or compact) or compact F(4x4),
  // and its tiles need at least 10% fewer products (12% fewer a pixel than F(6x6) on maps of
  // whole tiles, 31% than F(4x4)): ~15x F(6x6)'s rounding (winograd_shape.h), so not within
  // the fp32 mode's 1e-4 of the reference; what Precision::kFast turns on. Default: false.
  bool winograd_f8 = false;
  // Our Winograd kernel's blocks of tiles: each thread's transformed inputs and products
  // for one block are meant to stay in its L2 (nn/internal/winograd_conv.h,
  // WinogradBlocking). 0: the kernel's defaults (768 KiB, 24 rows of tiles at least). For
  // measuring other caches (`sparkify_bench_network --b block_bytes=...`). At most 1 GiB and
  // 4096 rows.
  size_t winograd_block_bytes = 0;
  int winograd_min_rows = 0;
  // Layers whose threads would take one block of tiles each and whose weights outweigh all
  // their tiles' transformed input (IS-Net's 32x32 and 16x16 maps at 1024) share the tiles
  // and split the output channels between the threads instead (WinogradConvPlan::parts).
  // Default: true.
  bool winograd_split_channels = true;
  // OpenMP threads for oneDNN (process-wide). 0: DefaultThreads().
  int threads = 0;
  // The activations, working memory and converted weights in transparent huge pages (where
  // the kernel has them; AllocateLarge), else in 4 KiB pages. Huge pages make the forward
  // faster (fewer TLB misses: 0-2% at 1024 on a Zen 3), and on one of the two VMs we measured
  // their first touch was cheaper too. On a virtual machine whose balloon reports free memory to
  // the host (Firecracker's free page reporting), a huge page never touched before costs 2.7-4.5
  // ms/MB there against 0.5-0.8 ms/MB in 4 KiB pages: false made the function's cold start 0.1-0.35
  // s shorter on such a guest (BENCHMARKS.md). Default: true.
  bool huge_pages = true;
  // Plans kept for sizes other than the most recent (each holds its activation arena).
  int max_cached_plans = 2;
};

struct Tensor {
  Shape shape;
  std::vector<float> data;  // plain NCHW (batch 1)
};

// Where a forward pass spent its time: one entry per step that runs.
struct StepTiming {
  std::string name;  // the node, plus "+relu", "+add" for what is fused into it
  std::string impl;  // oneDNN's implementation, e.g. "jit_wino_4x3:avx512_core"
  double ms = 0;
  double gflop = 0;  // arithmetic of a convolution (2 * MACs), 0 for other steps
};

class Network {
 public:
  // Parses `file` (a sparkify-graph/1 or /2 file) and checks the precision against the CPU.
  // Plans are built lazily by Run or ahead by Prepare. `file` must stay valid and unchanged
  // while `owner` lives; the network keeps `owner` (the weights are read again for each new
  // plan, and compact layers read a /2 file's fp16 kernels in place at every forward).
  // Errors: Corruption (a bad file), FailedPrecondition (precision the CPU lacks).
  static Result<std::unique_ptr<Network>> Create(std::shared_ptr<const void> owner,
                                                 std::string_view file,
                                                 const NetworkOptions& options);
  // The same, owning the file's bytes.
  static Result<std::unique_ptr<Network>> Create(std::string file, const NetworkOptions& options);
  ~Network();
  Network(const Network&) = delete;
  Network& operator=(const Network&) = delete;

  // Builds (and caches) the plan for an input of height x width.
  // Errors: InvalidArgument (the graph cannot run at that size), ResourceExhausted,
  // Internal (oneDNN refused a primitive).
  Status Prepare(int height, int width);

  // Runs the graph on `input`: 1 x input_channels x height x width, fp32, plain NCHW.
  // The output is the graph output in plain NCHW fp32. `timings`, when given, receives the
  // time of every step (each step then waits for the previous one: a little slower).
  Result<Tensor> Run(const float* input, int height, int width,
                     std::vector<StepTiming>* timings = nullptr);

  const Graph& graph() const;
  const NetworkOptions& options() const;
  // Bytes held for weights (all layouts) and for the cached plans' arenas.
  uint64_t weight_bytes() const;
  // Bytes of weights the kernels read in place from the file (not in weight_bytes): compact
  // Winograd layers' fp16 3x3 weights, where a sparkify-graph/2 file stores them as they
  // read them.
  uint64_t weight_bytes_in_file() const;
  uint64_t arena_bytes() const;

  struct Impl;

 private:
  explicit Network(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sparkify::nn
