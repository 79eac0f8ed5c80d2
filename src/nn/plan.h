// Planning a forward pass, with no numerical library involved (pure, thread-safe):
//   InferShapes  the size of every value for one input size;
//   Fuse         the graph's nodes -> steps: an activation after a Conv (or Resize) becomes
//                its post-op, and an Add of a Conv's result and an earlier map becomes the
//                Conv's residual (added after its activation);
//   PlanMemory   where every value lives in one arena: a Concat's inputs are written straight
//                into their places in its output (no copy) when the layout allows it, a fused
//                residual may be accumulated in place, values whose lives do not overlap
//                share memory, and a step whose work a later one does (fused_away) has none.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "common/status.h"
#include "nn/graph.h"

namespace sparkify::nn {

struct Shape {
  int c = 0, h = 0, w = 0;
  int64_t elements() const { return int64_t{c} * h * w; }
  bool operator==(const Shape&) const = default;
};

// Shapes of every value (indexed by value id) for an input of height x width. InvalidArgument
// when the graph cannot run at that size (a map shrinks to nothing, or a Concat or Add joins
// maps of different sizes), naming the node.
Result<std::vector<Shape>> InferShapes(const Graph& graph, int height, int width);

enum class Activation { kNone, kRelu, kSigmoid };
enum class StepKind { kConv, kMaxPool, kResize, kEltwise, kAdd, kConcat };

struct Step {
  StepKind kind = StepKind::kConv;
  int node = -1;            // the graph node the step computes (the first of a fused chain)
  std::vector<int> inputs;  // values read (the residual is not among them)
  int output = -1;          // value written
  // kConv, kResize: applied to the result; kEltwise: the step's operation.
  Activation activation = Activation::kNone;
  // kConv: a value added to the result after the activation (a fused Add), or -1.
  int residual = -1;
  // The residual is read by nothing after this step: its memory may receive the result, so
  // that the Conv accumulates into it (set by Fuse). The engine sets in_place to ask for it.
  bool residual_dies_here = false;
  bool in_place = false;
  // kConv: a second value the step writes, or -1. The engine sets it where its kernel computes
  // a later MaxPool of the result as well (and that step is fused_away): the value's memory is
  // held from this step on.
  int also_writes = -1;
  // kConcat: set by PlanMemory when the inputs were written into the output's memory already,
  // so the step does nothing.
  bool view = false;
  // kConv: set by the engine where its kernel reads a Resize by 2 and a Concat before it as
  // it goes (the Resize's input upsampled on the fly, the Concat's other input where it
  // lies): `inputs` are then the Resize's input and the Concat's other input, in the
  // Concat's order, and those two steps are `fused_away`.
  bool upsamples_first = false;
  // Done by another step (set by the engine): a later Conv that upsamples_first, or the Conv
  // before a MaxPool that also_writes the pool's result. The step does nothing and reads
  // nothing; its result has memory only where another step writes it (also_writes).
  bool fused_away = false;
};

// The graph's nodes as steps, in order. Every node is computed by exactly one step.
std::vector<Step> Fuse(const Graph& graph);

struct MemoryOptions {
  // Channels per block of the blocked activation layout (16 or 8); a value is stored blocked
  // when its channel count is a multiple of this, else plain (NCHW). A Concat is done by
  // views when every input's channel count is a multiple of it.
  int channel_block = 16;
  // Bytes of one value (its whole tensor in its layout). REQUIRED.
  std::function<uint64_t(int value)> value_bytes;
  // Working memory a step needs while it runs (e.g. a Winograd convolution's transformed
  // tiles), placed in the arena beside the values live at that step. Default: none.
  std::function<uint64_t(int step)> step_scratch;
  uint64_t alignment = 64;
};

struct MemoryPlan {
  uint64_t arena_bytes = 0;
  // Byte offset of every value in the arena; -1 for the graph input, which lives outside.
  std::vector<int64_t> offset;
  // Byte offset of every step's scratch in the arena; -1 when it needs none.
  std::vector<int64_t> scratch_offset;
  int concat_views = 0;   // Concats done by writing in place
  int concat_copies = 0;  // Concats that copy
  int in_place_sums = 0;  // residuals accumulated in place
};

// Places every value. `steps` come from Fuse (with in_place set where wanted and allowed);
// sets view on the Concat steps done by views, and clears in_place where it cannot be honoured
// (the residual's memory is already a view into a Concat's output).
MemoryPlan PlanMemory(const Graph& graph, const std::vector<Shape>& shapes,
                      std::vector<Step>& steps, const MemoryOptions& options);

}  // namespace sparkify::nn
