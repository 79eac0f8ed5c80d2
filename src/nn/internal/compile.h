// Internal to sparkify_nn: turning a plan (plan.h) into oneDNN primitives for one input size,
// and the weights those primitives share.
#pragma once

#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "nn/graph.h"
#include "nn/internal/winograd_conv.h"
#include "nn/plan.h"

namespace sparkify::nn::internal {

struct Settings {
  dnnl::memory::data_type act = dnnl::memory::data_type::f32;  // activations and weights
  int block = 16;                                               // channels per block
  dnnl::memory::format_tag blocked = dnnl::memory::format_tag::nChw16c;
  bool winograd = true;
  bool own_winograd = true;  // our own Winograd kernel (winograd_conv.h) where it takes the layer
  double winograd_min_share = 1.0 / 256;  // NetworkOptions::winograd_min_share
  double winograd_f6_share = 1.0 / 16;    // NetworkOptions::winograd_f6_share
  bool winograd_compact = true;           // NetworkOptions::winograd_compact
  bool winograd_compact_f6 = true;        // NetworkOptions::winograd_compact_f6
  bool winograd_compact_many_blocks = true;  // NetworkOptions::winograd_compact_many_blocks
  bool winograd_f8 = false;                  // NetworkOptions::winograd_f8
  WinogradBlocking winograd_blocking;        // NetworkOptions::winograd_block_bytes, _min_rows
  int threads = 1;                        // for steps of our own (oneDNN's are set globally)
  bool huge_pages = true;                 // NetworkOptions::huge_pages
};

// Large zeroed memory for activations and weights, 2 MiB-aligned, in transparent huge pages
// where the kernel gives them (`huge_pages`; else advised never to be: NetworkOptions::
// huge_pages says when each is better). Null when out of memory.
std::shared_ptr<void> AllocateLarge(size_t bytes, bool huge_pages = true);

// Weights converted from the file into the layouts the primitives ask for, each once, in
// large shared chunks. Not thread-safe: the network calls it under its lock.
class WeightCache {
 public:
  // `convert_onednn_winograd`: oneDNN's Winograd layouts converted by winograd_weights.h
  // (false: by oneDNN's reorder, as a test compares).
  // `huge_pages`: AllocateLarge's, for the chunks and buffers.
  WeightCache(const Graph& graph, const dnnl::engine& engine, bool convert_onednn_winograd = true,
              bool huge_pages = true)
      : graph_(graph),
        engine_(engine),
        convert_onednn_winograd_(convert_onednn_winograd),
        huge_pages_(huge_pages) {}

  // The Conv weight `id` (plain dims `dims`, oihw or goihw) in the layout `md`.
  dnnl::memory Weights(int id, const dnnl::memory::dims& dims, const dnnl::memory::desc& md);
  // The Conv weight `id` converted by a kernel of our own: `floats` floats in the layout named
  // `layout`, written by `convert` from the plain fp32 weight.
  const float* Converted(int id, const std::string& layout, size_t floats,
                         const std::function<void(const float* plain, float* out)>& convert);
  // The Conv weight `id`, stored as fp16 in the file, in a layout of a kernel of our own:
  // `halves` fp16 values in the layout named `layout`. Where the file stores the weight in
  // `in_file` (the same layout), its bytes in place (nothing is copied: the pages are the
  // file's, and a cold start does not fault them in afresh); else written by `convert` from
  // the file's plain bytes (`plain` may be unaligned) into memory of the cache.
  // REQUIRES: the file stores the weight as fp16.
  const uint16_t* ConvertedHalves(
      int id, WeightLayout in_file, const std::string& layout, size_t halves,
      const std::function<void(const void* plain, uint16_t* out)>& convert);
  // A bias (fp32, plain).
  dnnl::memory Bias(int id);
  uint64_t bytes() const { return bytes_; }
  // Bytes of weights read in place from the file's pages (ConvertedHalves).
  uint64_t in_file_bytes() const { return in_file_bytes_; }
  // Frees the conversion buffers (the largest weight in fp32, 9.4 MB for IS-Net, and the
  // reorder's working memory); the next conversion allocates them again.
  void ReleaseBuffer() {
    plain_ = {};
    scratch_ = {};
  }
  // Lends the cache `bytes` of zeroed memory at `p` (64-byte aligned: a new plan's arena,
  // not in use before its first forward) for the conversion buffers, where they fit, until
  // EndLoan, which zeroes again what they used. The memory a plan's first forward faults in
  // anyway then holds them, instead of buffers faulted in afresh and given back (18 MB of huge
  // pages for IS-Net: ~45 ms of a cold start on a virtual machine).
  void Lend(void* p, size_t bytes) {
    loan_ = static_cast<char*>(p);
    loan_bytes_ = bytes;
    loan_used_ = 0;
  }
  void EndLoan();

 private:
  struct Entry {
    int id;
    dnnl::memory::desc md;
    dnnl::memory mem;
    std::string layout;  // of a kernel of our own (then md is empty and mem holds the data)
  };
  // Memory for a weight of `bytes` that lives as long as the cache.
  void* Take(size_t bytes);
  // The data of weight `id` already converted by a kernel of our own into `layout`, or null.
  const void* Ours(int id, const std::string& layout) const;
  // Weight `id` in fp32, row-major (Graph::CopyWeight), in the conversion buffer (or the loan).
  float* Plain(int id);

  const Graph& graph_;
  dnnl::engine engine_;
  bool convert_onednn_winograd_;
  bool huge_pages_;
  std::vector<Entry> entries_;
  std::vector<std::shared_ptr<void>> chunks_;
  size_t chunk_used_ = 0, chunk_size_ = 0;
  // Reused across conversions, in huge pages: the weight in fp32, row-major, and the
  // scratchpad of oneDNN's reorders. Left to oneDNN, a reorder's scratchpad was mapped and
  // faulted in afresh for every weight (its Winograd conversion's: ~85 MB of 4 KiB faults per
  // load, before winograd_weights.h took those over).
  struct Buffer {
    std::shared_ptr<void> mem;
    size_t bytes = 0;
    void* Reserve(size_t need, bool huge_pages);
  };
  Buffer plain_, scratch_;
  // `need` bytes at `offset` of the loan, or null where they do not fit (or nothing is lent).
  void* FromLoan(size_t offset, size_t need);
  char* loan_ = nullptr;
  size_t loan_bytes_ = 0, loan_used_ = 0;
  uint64_t bytes_ = 0, in_file_bytes_ = 0;
};

// One input size, ready to run.
struct CompiledPlan {
  struct Exec {
    dnnl::primitive prim;
    std::function<void()> run;  // a step of our own instead of `prim` when set
    std::unordered_map<int, dnnl::memory> args;
    std::string name;
    std::string impl;
    double gflop = 0;
  };

  int height = 0, width = 0;
  std::vector<Shape> shapes;
  std::vector<Step> steps;
  MemoryPlan memory;
  std::vector<Exec> execs;      // in order, the output reorder last
  dnnl::memory input_user;      // plain fp32 NCHW; its handle is the caller's input
  dnnl::memory output_user;     // plain fp32 NCHW; its handle is the result buffer
  std::shared_ptr<void> arena;  // activations
  std::shared_ptr<void> scratch;
  uint64_t arena_bytes = 0;
  uint64_t scratch_bytes = 0;
};

// Tests only: networks created from now on lay activations out in blocks of 16 channels
// (AVX-512's nChw16c) whatever the CPU, our Winograd layers on the portable emulation of the
// AVX-512 block where the CPU lacks it (EmulateAvx512BlocksForTests), so that CI on an AVX2
// machine checks the layout AVX-512 machines run. Process-wide; off by default.
void UseAvx512LayoutForTests(bool on);

// Builds the primitives of `graph` at height x width. Errors: InvalidArgument (shapes),
// Internal (oneDNN refused every candidate for a step), ResourceExhausted (arena).
Result<std::unique_ptr<CompiledPlan>> Compile(const Graph& graph, int height, int width,
                                              const Settings& settings, WeightCache& weights,
                                              const dnnl::engine& engine);

}  // namespace sparkify::nn::internal
