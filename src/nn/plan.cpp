#include "nn/plan.h"

#include <algorithm>
#include <numeric>

namespace sparkify::nn {
namespace {

int OutSize(int in, int pad_before, int pad_after, int kernel, int stride, int dilation,
            bool ceil_mode) {
  int64_t span = int64_t{in} + pad_before + pad_after - int64_t{dilation} * (kernel - 1) - 1;
  if (span < 0) return 0;
  int64_t out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // As ONNX and PyTorch: the last window of a ceil-mode pooling must start inside the input
  // or its leading padding.
  if (ceil_mode && (out - 1) * stride >= int64_t{in} + pad_before) --out;
  return static_cast<int>(out);
}

// Consumers of every value (node indices), in node order.
std::vector<std::vector<int>> Consumers(const Graph& g) {
  std::vector<std::vector<int>> out(g.values.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    for (int v : g.nodes[i].inputs) out[static_cast<size_t>(v)].push_back(static_cast<int>(i));
  }
  return out;
}

}  // namespace

Result<std::vector<Shape>> InferShapes(const Graph& g, int height, int width) {
  std::vector<Shape> s(g.values.size());
  s[0] = {g.input_channels, height, width};
  for (const Node& n : g.nodes) {
    const Shape& in = s[static_cast<size_t>(n.inputs[0])];
    Shape out = in;
    switch (n.op) {
      case Op::kConv:
      case Op::kMaxPool: {
        bool pool = n.op == Op::kMaxPool;
        out.c = pool ? in.c : g.ConvOutputChannels(n);
        out.h = OutSize(in.h, n.pads[0], n.pads[2], n.kernel[0], n.strides[0],
                        pool ? 1 : n.dilations[0], pool && n.ceil_mode);
        out.w = OutSize(in.w, n.pads[1], n.pads[3], n.kernel[1], n.strides[1],
                        pool ? 1 : n.dilations[1], pool && n.ceil_mode);
        break;
      }
      case Op::kResize:
        out.h = in.h * n.scale;
        out.w = in.w * n.scale;
        break;
      case Op::kConcat:
        out.c = 0;
        for (int v : n.inputs) {
          const Shape& x = s[static_cast<size_t>(v)];
          if (x.h != in.h || x.w != in.w) {
            return Status::InvalidArgument(
                "at input " + std::to_string(height) + "x" + std::to_string(width) + ", " +
                n.name + " joins maps of " + std::to_string(in.h) + "x" + std::to_string(in.w) +
                " and " + std::to_string(x.h) + "x" + std::to_string(x.w) +
                " (use a size the model supports, e.g. a multiple of 64)");
          }
          out.c += x.c;
        }
        break;
      case Op::kAdd:
        if (s[static_cast<size_t>(n.inputs[1])] != in) {
          return Status::InvalidArgument("at input " + std::to_string(height) + "x" +
                                         std::to_string(width) + ", " + n.name +
                                         " adds maps of different sizes");
        }
        break;
      case Op::kRelu:
      case Op::kSigmoid: break;
    }
    if (out.h < 1 || out.w < 1) {
      return Status::InvalidArgument("at input " + std::to_string(height) + "x" +
                                     std::to_string(width) + ", " + n.name +
                                     " would make an empty map: the input is too small");
    }
    s[static_cast<size_t>(n.output)] = out;
  }
  return s;
}

std::vector<Step> Fuse(const Graph& g) {
  std::vector<std::vector<int>> consumers = Consumers(g);
  std::vector<int> producer(g.values.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) producer[g.nodes[i].output] = static_cast<int>(i);
  auto only_consumer = [&](int value, Op op) -> int {
    const auto& c = consumers[static_cast<size_t>(value)];
    if (value == g.output || c.size() != 1 || g.nodes[c[0]].op != op) return -1;
    return c[0];
  };
  std::vector<bool> done(g.nodes.size(), false);
  std::vector<Step> steps;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (done[i]) continue;
    const Node& n = g.nodes[i];
    Step st;
    st.node = static_cast<int>(i);
    st.inputs = n.inputs;
    st.output = n.output;
    switch (n.op) {
      case Op::kConv:
      case Op::kResize: {
        st.kind = n.op == Op::kConv ? StepKind::kConv : StepKind::kResize;
        for (Op act : {Op::kRelu, Op::kSigmoid}) {
          int next = only_consumer(st.output, act);
          if (next < 0) continue;
          st.activation = act == Op::kRelu ? Activation::kRelu : Activation::kSigmoid;
          st.output = g.nodes[next].output;
          done[next] = true;
          break;
        }
        if (st.kind != StepKind::kConv) break;
        int add = only_consumer(st.output, Op::kAdd);
        if (add < 0) break;
        const Node& a = g.nodes[add];
        int other = a.inputs[0] == st.output ? a.inputs[1] : a.inputs[0];
        if (other == st.output || producer[other] >= static_cast<int>(i)) break;
        st.residual = other;
        st.output = a.output;
        done[add] = true;
        // In place only when nothing after the Add reads the residual, and it shares its
        // memory with no other value (it is neither a Concat's input nor its output).
        bool dies = other != 0 && producer[other] >= 0 && g.nodes[producer[other]].op != Op::kConcat;
        for (int c : consumers[static_cast<size_t>(other)]) {
          if (c > add || g.nodes[c].op == Op::kConcat) dies = false;
        }
        // Nor when the convolution reads it: its result would overwrite pixels it still needs
        // (y = Conv(x) + x).
        for (int in : n.inputs) {
          if (in == other) dies = false;
        }
        st.residual_dies_here = dies && other != g.output;
        break;
      }
      case Op::kMaxPool: st.kind = StepKind::kMaxPool; break;
      case Op::kRelu:
      case Op::kSigmoid:
        st.kind = StepKind::kEltwise;
        st.activation = n.op == Op::kRelu ? Activation::kRelu : Activation::kSigmoid;
        break;
      case Op::kAdd: st.kind = StepKind::kAdd; break;
      case Op::kConcat: st.kind = StepKind::kConcat; break;
    }
    done[i] = true;
    steps.push_back(std::move(st));
  }
  return steps;
}

namespace {

// Each value either owns memory (link -1) or lives at an offset inside another value.
struct Links {
  std::vector<int> link;
  std::vector<uint64_t> link_offset;
  // The value owning v's memory; sets *offset (when not null) to v's byte offset inside it.
  int Root(int v, uint64_t* offset) const {
    uint64_t off = 0;
    while (link[static_cast<size_t>(v)] >= 0) {
      off += link_offset[static_cast<size_t>(v)];
      v = link[static_cast<size_t>(v)];
    }
    if (offset != nullptr) *offset = off;
    return v;
  }
};

// A range of a block's bytes, [lo, hi) from its start, first written at step `first`.
struct Piece {
  uint64_t lo, hi;
  int first;
};

// A piece of the arena to place: a memory owner over its life, or a step's scratch over that
// step alone. An owner whose parts are written at different steps (a Concat's output, its
// inputs written into it one by one) holds each part only from then on: the stage-1 output
// of IS-Net waits in the first half of the last decoder's 134 MB input (at 1024) from the
// start, its second half only from the step before that decoder.
struct Block {
  uint64_t bytes;
  int first, last;
  int value;  // or -1 - step, for a scratch
  std::vector<Piece> pieces;  // cover [0, bytes); each held from its `first` to `last`
  int64_t offset = -1;
};

// Gives each Conv asked to accumulate in place its residual's memory, when the residual dies
// there and has the output's size; clears in_place on the others.
void LinkInPlaceSums(std::vector<Step>& steps, const std::vector<uint64_t>& bytes, Links& links,
                     MemoryPlan& plan) {
  for (Step& st : steps) {
    if (st.kind == StepKind::kConv && st.in_place) {
      if (st.residual_dies_here && bytes[st.output] == bytes[st.residual]) {
        links.link[st.output] = st.residual;
        ++plan.in_place_sums;
      } else {
        st.in_place = false;
      }
    }
  }
}

// Makes a Concat a view (its inputs written straight into their places in its output) when the
// layout allows: output and inputs blocked, none the graph's input or output, and each input the
// whole of a memory shared with no other input nor the output. Else counts a copy.
void LinkConcatViews(const Graph& g, const std::vector<Shape>& shapes, std::vector<Step>& steps,
                     const std::vector<uint64_t>& bytes, int block, Links& links,
                     MemoryPlan& plan) {
  for (Step& st : steps) {
    if (st.kind != StepKind::kConcat || st.fused_away) continue;
    const Shape& out = shapes[st.output];
    bool ok = out.c % block == 0 && st.output != g.output;
    std::vector<int> roots;
    for (int v : st.inputs) {
      uint64_t off = 0;
      int r = links.Root(v, &off);
      bool fits = v != 0 && shapes[v].c % block == 0 && off == 0 && links.link[r] < 0 &&
                  bytes[r] == bytes[v] && r != links.Root(st.output, nullptr) && v != g.output &&
                  std::find(roots.begin(), roots.end(), r) == roots.end();
      if (!fits) ok = false;
      roots.push_back(r);
    }
    if (!ok) {
      ++plan.concat_copies;
      continue;
    }
    uint64_t offset = 0;
    for (size_t k = 0; k < roots.size(); ++k) {
      links.link[roots[k]] = st.output;
      links.link_offset[roots[k]] = offset;
      offset += bytes[st.inputs[k]];
    }
    st.view = true;
    ++plan.concat_views;
  }
}

// Lifetimes of the memory owners, in step indices: `first` and `last` come sized to the values,
// at INT32_MAX and -1. The graph's output lives past the last step.
void OwnerLifetimes(const Graph& g, const std::vector<Step>& steps, const Links& links,
                    std::vector<int>& first, std::vector<int>& last) {
  const int last_step = static_cast<int>(steps.size());
  for (int s = 0; s < last_step; ++s) {
    const Step& st = steps[s];
    if (st.fused_away) continue;
    for (int v : {st.output, st.also_writes}) {
      if (v < 0) continue;
      int r = links.Root(v, nullptr);
      first[r] = std::min(first[r], s);
      last[r] = std::max(last[r], s);
    }
    auto read = [&](int v) {
      if (v <= 0) return;
      int rr = links.Root(v, nullptr);
      last[rr] = std::max(last[rr], s);
    };
    for (int v : st.inputs) read(v);
    read(st.residual);
  }
  last[links.Root(g.output, nullptr)] = last_step;
}

// Blocks to place: the memory owners over their lives, and each step's scratch over that step
// alone.
std::vector<Block> CollectBlocks(const std::vector<Step>& steps, const std::vector<uint64_t>& bytes,
                                 const Links& links, const std::vector<int>& first,
                                 const std::vector<int>& last, const MemoryOptions& options) {
  const size_t nv = bytes.size();
  const int last_step = static_cast<int>(steps.size());
  // Each value's ranges inside its owner, with the step that writes it.
  std::vector<int> written(nv, INT32_MAX);
  for (int s = 0; s < last_step; ++s) {
    if (steps[s].fused_away) continue;
    for (int v : {steps[s].output, steps[s].also_writes}) {
      if (v >= 0) written[v] = std::min(written[v], s);
    }
  }
  std::vector<std::vector<Piece>> parts(nv);
  for (size_t v = 1; v < nv; ++v) {
    if (written[v] == INT32_MAX) continue;
    uint64_t off = 0;
    const int r = links.Root(static_cast<int>(v), &off);
    parts[r].push_back({off, off + bytes[v], written[v]});
  }
  std::vector<Block> blocks;
  for (size_t v = 1; v < nv; ++v) {
    if (links.link[v] >= 0 || last[v] < 0) continue;
    // Cut [0, bytes) where any part starts or ends; each cut is held from the first write of
    // a part covering it (the owner itself covers it all); neighbours held alike merge.
    std::vector<uint64_t> cuts{0, bytes[v]};
    for (const Piece& p : parts[v]) {
      cuts.push_back(p.lo);
      cuts.push_back(p.hi);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::vector<Piece> pieces;
    for (size_t k = 0; k + 1 < cuts.size(); ++k) {
      const uint64_t lo = cuts[k], hi = cuts[k + 1];
      int from = INT32_MAX;
      for (const Piece& p : parts[v]) {
        if (p.lo <= lo && hi <= p.hi) from = std::min(from, p.first);
      }
      from = std::clamp(from, first[v], last[v]);
      if (!pieces.empty() && pieces.back().first == from) {
        pieces.back().hi = hi;
      } else {
        pieces.push_back({lo, hi, from});
      }
    }
    blocks.push_back({bytes[v], first[v], last[v], static_cast<int>(v), std::move(pieces)});
  }
  if (options.step_scratch) {
    for (int s = 0; s < last_step; ++s) {
      uint64_t need = options.step_scratch(s);
      if (need > 0) blocks.push_back({need, s, s, -1 - s, {{0, need, s}}});
    }
  }
  return blocks;
}

// Sets every block's offset and the arena's size. Greedy: biggest first, at the lowest offset
// where none of its pieces meets a piece placed before it, in bytes and in time.
void PlaceBlocks(std::vector<Block>& blocks, uint64_t alignment, MemoryPlan& plan) {
  std::sort(blocks.begin(), blocks.end(), [](const Block& a, const Block& b) {
    return a.bytes != b.bytes ? a.bytes > b.bytes : a.value < b.value;
  });
  const uint64_t align = std::max<uint64_t>(alignment, 1);
  std::vector<std::vector<std::pair<uint64_t, uint64_t>>> busy;  // per piece of the block
  for (size_t i = 0; i < blocks.size(); ++i) {
    Block& b = blocks[i];
    busy.assign(b.pieces.size(), {});
    for (size_t j = 0; j < i; ++j) {
      const Block& p = blocks[j];
      if (p.last < b.first || b.last < p.first) continue;
      for (size_t k = 0; k < b.pieces.size(); ++k) {
        for (const Piece& q : p.pieces) {
          if (q.first <= b.last && b.pieces[k].first <= p.last) {
            busy[k].emplace_back(static_cast<uint64_t>(p.offset) + q.lo,
                                 static_cast<uint64_t>(p.offset) + q.hi);
          }
        }
      }
    }
    // The lowest aligned offset: move past whatever a piece meets until nothing is met (the
    // offset only grows, so this ends).
    uint64_t at = 0;
    for (bool moved = true; moved;) {
      moved = false;
      for (size_t k = 0; k < b.pieces.size(); ++k) {
        for (const auto& [lo, hi] : busy[k]) {
          if (at + b.pieces[k].lo < hi && lo < at + b.pieces[k].hi) {
            at = (hi - b.pieces[k].lo + align - 1) / align * align;
            moved = true;
          }
        }
      }
    }
    b.offset = static_cast<int64_t>(at);
    plan.arena_bytes = std::max(plan.arena_bytes, at + b.bytes);
  }
}

// The plan's offsets from the placed blocks: each step's scratch, and each value at its owner's
// offset plus its own offset inside the owner.
void AssignOffsets(const std::vector<Block>& blocks, const Links& links, size_t step_count,
                   MemoryPlan& plan) {
  const size_t nv = links.link.size();
  std::vector<int64_t> owner_offset(nv, -1);
  plan.scratch_offset.assign(step_count, -1);
  for (const Block& b : blocks) {
    if (b.value >= 0) {
      owner_offset[b.value] = b.offset;
    } else {
      plan.scratch_offset[static_cast<size_t>(-1 - b.value)] = b.offset;
    }
  }
  plan.offset.assign(nv, -1);
  for (size_t v = 1; v < nv; ++v) {
    uint64_t off = 0;
    int r = links.Root(static_cast<int>(v), &off);
    if (owner_offset[r] >= 0) plan.offset[v] = owner_offset[r] + static_cast<int64_t>(off);
  }
}

}  // namespace

MemoryPlan PlanMemory(const Graph& g, const std::vector<Shape>& shapes, std::vector<Step>& steps,
                      const MemoryOptions& options) {
  const size_t nv = g.values.size();
  std::vector<uint64_t> bytes(nv);
  for (size_t v = 1; v < nv; ++v) bytes[v] = options.value_bytes(static_cast<int>(v));

  Links links{std::vector<int>(nv, -1), std::vector<uint64_t>(nv, 0)};
  MemoryPlan plan;
  LinkInPlaceSums(steps, bytes, links, plan);
  LinkConcatViews(g, shapes, steps, bytes, options.channel_block, links, plan);

  std::vector<int> first(nv, INT32_MAX), last(nv, -1);
  OwnerLifetimes(g, steps, links, first, last);
  std::vector<Block> blocks = CollectBlocks(steps, bytes, links, first, last, options);
  PlaceBlocks(blocks, options.alignment, plan);
  AssignOffsets(blocks, links, steps.size(), plan);
  return plan;
}

}  // namespace sparkify::nn
