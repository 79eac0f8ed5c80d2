// Compile: plan steps -> oneDNN primitives over one arena.
//
// Every primitive is checked for the implementation oneDNN picked: a "ref" one is hundreds
// of times slower than a JIT kernel, so another formulation is tried first (Winograd ->
// direct; a fused residual as sum -> as binary post-op -> as a separate Add).
#include <cstdlib>
#include <new>
#include <optional>

#include "nn/internal/compile.h"
#include "nn/internal/kernel_fusion.h"
#include "nn/internal/narrow_conv.h"
#include "nn/internal/plain_resize.h"
#include "nn/internal/winograd_conv.h"

namespace sparkify::nn::internal {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// Each block of a compact layer converts all the weights: the fewest tiles' worth of output
// pixels per thread to spread that over, where the layer could do without compact weights
// (Compiler::WinogradShape): for F(4x4) instead of F(2x2), and for compact F(2x2) instead of
// the direct convolution below a quarter of Winograd's threshold. IS-Net on 2 threads of a
// Zen 3 (AVX2), 3 alternating runs each:
// - stage 5 (512 and 256 channels, dilations up to 8), F(2x2) -> F(4x4): at 1024 (32x32
//   maps, 32 F(4x4) tiles a thread) 127-145 -> 86-103 ms, at 768 (24x24, 18) 77-89 -> 57-64
//   ms; at 320 (10x10, 3) 22-24 -> 31-33 ms; stage 6 at 1024 (16x16, 8) the same either way;
// - stage 6, direct -> F(2x2): at 1024 (16x16, 32 F(2x2) tiles a thread) 31-36 -> 18-25 ms,
//   at 768 (12x12, 18) 19-38 -> 12-22 ms; at 320 (5x5, 3) 3.8-4.7 -> 5.7-6.9 ms.
constexpr int kMinCompactTiles = 18;  // 3 rows of the products (winograd_block.h)

memory::dims Dims(const Shape& s) { return {1, s.c, s.h, s.w}; }

bool IsRef(const std::string& impl) { return impl.rfind("ref", 0) == 0; }

dnnl::algorithm EltwiseAlg(Activation a) {
  return a == Activation::kRelu ? dnnl::algorithm::eltwise_relu
                                : dnnl::algorithm::eltwise_logistic;
}

std::string Suffix(const Step& st) {
  std::string s;
  if (st.activation == Activation::kRelu) s += "+relu";
  if (st.activation == Activation::kSigmoid) s += "+sigmoid";
  if (st.residual >= 0) s += st.in_place ? "+add(in place)" : "+add";
  return s;
}

class Compiler {
 public:
  Compiler(const Graph& g, const Settings& settings, WeightCache& weights,
           const dnnl::engine& engine)
      : g_(g), set_(settings), weights_(weights), eng_(engine) {}

  Result<std::unique_ptr<CompiledPlan>> Run(int height, int width) {
    auto plan = std::make_unique<CompiledPlan>();
    plan_ = plan.get();
    plan->height = height;
    plan->width = width;
    SPARKIFY_ASSIGN_OR_RETURN(plan->shapes, InferShapes(g_, height, width));
    plan->steps = Fuse(g_);
    // Convolutions first choose their algorithm and how their residual is added: that
    // decides which results may be accumulated in place, which the memory plan needs.
    convs_.assign(plan->steps.size(), std::nullopt);
    narrow_.assign(plan->steps.size(), std::nullopt);
    wino_.assign(plan->steps.size(), std::nullopt);
    for (size_t i = 0; i < plan->steps.size(); ++i) {
      Step& st = plan->steps[i];
      if (st.kind != StepKind::kConv) continue;
      if ((narrow_[i] = NarrowShape(st))) continue;
      if ((wino_[i] = WinogradShape(st))) {
        // It reads each residual value just before writing the same place: in place is free.
        st.in_place = st.residual >= 0 && st.residual_dies_here;
        continue;
      }
      SPARKIFY_ASSIGN_OR_RETURN(convs_[i], ChooseConv(st));
      st.in_place = convs_[i]->residual == ResidualMode::kSum;
    }
    FuseWinogradPools(g_, plan->shapes, plan->steps, wino_);
    FuseWinogradUpsamples(g_, plan->shapes, set_.block, plan->steps, wino_);
    MemoryOptions mo;
    mo.channel_block = set_.block;
    mo.value_bytes = [this](int v) { return ValueMd(v).get_size(); };
    // A convolution's working memory (oneDNN's Winograd tiles: up to ~190 MB at 1024; our
    // Winograd's blocks of tiles: up to 30 MB, on the small maps where few values are alive)
    // lives in the arena beside the values alive at that step, not in a buffer of its own.
    mo.step_scratch = [this](int s) -> uint64_t {
      if (wino_[s]) {
        return PlanWinogradConv(*wino_[s], set_.threads, set_.winograd_blocking).scratch_bytes;
      }
      return convs_[s] ? convs_[s]->pd.scratchpad_desc().get_size() : 0;
    };
    plan->memory = PlanMemory(g_, plan->shapes, plan->steps, mo);
    SPARKIFY_RETURN_IF_ERROR(AllocateArena());
    SPARKIFY_RETURN_IF_ERROR(BindValues());
    {
      // The weights are converted in the arena, which nothing uses before the first forward.
      struct Loan {
        WeightCache& w;
        ~Loan() { w.EndLoan(); }
      } loan{weights_};
      weights_.Lend(plan->arena.get(), plan->arena_bytes);
      for (size_t i = 0; i < plan->steps.size(); ++i) {
        SPARKIFY_RETURN_IF_ERROR(AddStep(i));
      }
    }
    AddOutput();
    return plan;
  }

 private:
  enum class ResidualMode { kNone, kSum, kBinary, kSeparate };
  struct ConvChoice {
    dnnl::convolution_forward::primitive_desc pd;
    ResidualMode residual = ResidualMode::kNone;
    // The convolution's own layouts differ from the values' (the last resort for shapes the
    // blocked kernels refuse): its source and result are reordered around it.
    bool own_layouts = false;
  };

  dt ValueType(int v) const { return v == g_.output ? dt::f32 : set_.act; }

  memory::desc ValueMd(int v) const {
    const Shape& s = plan_->shapes[static_cast<size_t>(v)];
    bool blocked = v != 0 && s.c % set_.block == 0;
    return memory::desc(Dims(s), ValueType(v), blocked ? set_.blocked : tag::nchw);
  }

  dnnl::primitive_attr Attr(Activation act, ResidualMode residual, int residual_value) const {
    dnnl::post_ops po;
    if (act != Activation::kNone) po.append_eltwise(1.f, EltwiseAlg(act), 0.f, 0.f);
    if (residual == ResidualMode::kSum) po.append_sum(1.f);
    if (residual == ResidualMode::kBinary) {
      po.append_binary(dnnl::algorithm::binary_add, ValueMd(residual_value));
    }
    dnnl::primitive_attr attr;
    attr.set_post_ops(po);
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    return attr;
  }

  // Winograd keeps 4x the weights: worth it where the output has enough pixels for the time
  // saved to pay for the memory (NetworkOptions::winograd_min_share).
  bool WinogradPays(const Shape& out, double share) const {
    return double(out.h) * out.w >= share * plan_->shapes[0].h * plan_->shapes[0].w;
  }

  bool WinogradFits(const Node& n, const Shape& in, const Shape& out) const {
    return set_.winograd && set_.act == dt::f32 && n.kernel[0] == 3 && n.kernel[1] == 3 &&
           n.strides[0] == 1 && n.strides[1] == 1 && n.dilations[0] == 1 && n.dilations[1] == 1 &&
           n.group == 1 && in.c % set_.block == 0 && out.c % set_.block == 0 && in.c >= 32 &&
           out.c >= 32 && WinogradPays(out, set_.winograd_min_share);
  }

  // The shape for our own kernel when the step is a convolution with fewer output channels
  // than a block, over a blocked fp32 input, with nothing to add: oneDNN would compute a
  // whole padded block of outputs.
  std::optional<NarrowConvShape> NarrowShape(const Step& st) const {
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    const Shape& in = plan_->shapes[static_cast<size_t>(st.inputs[0])];
    const Shape& out = plan_->shapes[static_cast<size_t>(st.output)];
    if (set_.act != dt::f32 || st.inputs[0] == 0 || st.residual >= 0 || n.group != 1 ||
        out.c >= set_.block) {
      return std::nullopt;
    }
    NarrowConvShape s;
    s.block = set_.block;
    s.in_c = in.c, s.in_h = in.h, s.in_w = in.w;
    s.out_c = out.c, s.out_h = out.h, s.out_w = out.w;
    s.kernel_h = n.kernel[0], s.kernel_w = n.kernel[1];
    s.stride_h = n.strides[0], s.stride_w = n.strides[1];
    s.dilation_h = n.dilations[0], s.dilation_w = n.dilations[1];
    s.pad_top = n.pads[0], s.pad_left = n.pads[1];
    if (!NarrowConvFits(s)) return std::nullopt;
    return s;
  }

  // F(8x8) instead of F(6x6), or of compact F(4x4), where NetworkOptions::winograd_f8 asks
  // for it and its tiles need 10% fewer products; else `s` as it is. (Not for F(4x4) with
  // converted weights: F(8x8)'s are 2.8x theirs, and IS-Net's forward was slower so.)
  WinogradConvShape Wider(const WinogradConvShape& s) const {
    if (!set_.winograd_f8 || !(s.tile == 6 || (s.tile == 4 && s.compact))) return s;
    WinogradConvShape f8 = s;
    f8.tile = 8;
    const int points = (s.tile + 2) * (s.tile + 2);
    const bool fewer = WinogradConvTiles(f8) * 100.0 <= 0.9 * WinogradConvTiles(s) * points;
    return fewer && WinogradConvFits(f8) ? f8 : s;
  }

  // The shape for our own Winograd kernel: a 3x3 stride-1 convolution between blocked fp32
  // values, with at most a ReLU and a residual to fuse.
  std::optional<WinogradConvShape> WinogradShape(const Step& st) const {
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    const Shape& in = plan_->shapes[static_cast<size_t>(st.inputs[0])];
    const Shape& out = plan_->shapes[static_cast<size_t>(st.output)];
    // Value 0 (the network's input) is plain NCHW: neither source nor residual here.
    if (!set_.winograd || !set_.own_winograd || set_.act != dt::f32 || st.inputs[0] == 0 ||
        st.residual == 0 || n.kernel[0] != 3 || n.kernel[1] != 3 || n.strides[0] != 1 ||
        n.strides[1] != 1 || n.dilations[0] != n.dilations[1] || n.group != 1 ||
        st.activation == Activation::kSigmoid) {
      return std::nullopt;
    }
    // Below a quarter of the threshold, only compact F(2x2) (checked below): its fp16 weights
    // are half the bytes of the direct convolution's fp32 ones (IS-Net at 1024: 23 MB less).
    const bool small = !WinogradPays(out, set_.winograd_min_share / 4);
    WinogradConvShape s;
    // F(4x4) (4x the weights) from the threshold up; below it, down to a quarter of it (the
    // 32x32 maps of IS-Net's stage 5 at 1024: 24% of a forward done direct), F(2x2) at 1.8x
    // the weights: 0.54 -> 0.49-0.50 s per forward for +74 MB (or compact F(4x4), below).
    // F(6x6) on the largest maps (NetworkOptions::winograd_f6_share).
    s.tile = WinogradPays(out, set_.winograd_min_share) ? 4 : 2;
    if (s.tile == 4 && WinogradPays(out, set_.winograd_f6_share)) s.tile = 6;
    s.block = set_.block;
    s.in_c = in.c, s.in_h = in.h, s.in_w = in.w;
    s.out_c = out.c, s.out_h = out.h, s.out_w = out.w;
    s.dilation = n.dilations[0];
    s.pad_top = n.pads[0], s.pad_left = n.pads[1];
    if (!WinogradConvFits(s)) return std::nullopt;
    s = Wider(s);
    // Compact weights (the file's fp16 3x3 kernels, NetworkOptions::winograd_compact) where
    // each thread takes one block of tiles: its block reads all the weights once, converted
    // or not, and converts them once; with `many_blocks`, also where threads take several
    // (each converts them again). `min_tiles`: the fewest tiles' worth of output pixels per
    // thread (a dilated layer's tiles are not all full: at 10x10, dilation 8, 64 tiles of
    // 4x4 hold 100 pixels).
    auto compact = [&](int tile, int min_tiles,
                       bool many_blocks = false) -> std::optional<WinogradConvShape> {
      WinogradConvShape c = s;
      c.tile = tile;
      if (!WinogradConvFits(c)) return std::nullopt;
      const WinogradConvPlan plan = PlanWinogradConv(c, set_.threads, set_.winograd_blocking);
      c.compact = true;
      if (!WinogradConvFits(c) || (plan.blocks > plan.threads && !many_blocks) ||
          out.h * out.w < min_tiles * tile * tile * set_.threads) {
        return std::nullopt;
      }
      return c;
    };
    if (set_.winograd_compact && g_.weights[static_cast<size_t>(n.weight)].fp16) {
      // Compact, F(4x4) costs no more memory than F(2x2), for 1.78x fewer products: it takes
      // F(2x2)'s layers where each thread has kMinCompactTiles tiles of it.
      std::optional<WinogradConvShape> c;
      if (s.tile == 2 && !small) c = compact(4, kMinCompactTiles);
      // F(6x6) by the share keeps converted weights (its maps are large: many blocks, and
      // compact there made IS-Net's forward 4.7% slower). F(4x4) with many blocks: compact
      // where it then takes F(6x6) (NetworkOptions::winograd_compact_many_blocks).
      if (!c && s.tile < 6) {  // (F(8x8): converted, as F(6x6))
        c = compact(s.tile, small ? kMinCompactTiles : 0,
                    s.tile == 4 && set_.winograd_compact_many_blocks);
      }
      const bool many_blocks =
          c && c->tile == 4 && set_.winograd_compact_many_blocks &&
          PlanWinogradConv(*c, set_.threads, set_.winograd_blocking).blocks > set_.threads;
      // F(6x6) where its tiles need 10% fewer products than F(4x4)'s (NetworkOptions::
      // winograd_compact_f6). On a Zen 3 (AVX2), sparkify_bench_winograd, IS-Net's compact
      // layers at 1024: 256 -> 512 channels at 64x64 (0.84x the products) 25.2 -> 22.4 ms,
      // 512 -> 128 15.2 -> 13.0, 256 -> 256 11.9 -> 11.5; 512 -> 512 at 32x32 (1.0x) 12.5 ->
      // 12.4. The whole forward, in-process alternating pairs (sparkify_bench_network): 1-1.1%
      // faster at 1024, 1-3.5% at 768, the same at 320.
      if (c && c->tile == 4 && set_.winograd_compact_f6) {
        WinogradConvShape f6 = *c;
        f6.tile = 6;
        if (WinogradConvTiles(f6) * 64 <= 0.9 * WinogradConvTiles(*c) * 36) {
          if (auto c6 = compact(6, kMinCompactTiles, many_blocks)) c = c6;
        }
      }
      // F(8x8) (NetworkOptions::winograd_f8) for compact F(6x6) and F(4x4) alike, on any
      // number of tiles: IS-Net's 32x32 maps at 1024 (16 tiles of 8x8 against 64 of 4x4,
      // their channels split between the threads) made the forward 3-6% faster
      // (sparkify_bench_network, three runs of in-process pairs); 1% at 768, none at 320.
      // Several blocks a thread (each converting the weights again) only where they were
      // F(6x6)'s (measured: the 128x128 maps); a compact F(4x4) layer with many blocks keeps
      // converted F(4x4) weights, as below.
      if (c && Wider(*c).tile == 8) {
        c = compact(8, 0, many_blocks && c->tile == 6).value_or(*c);
      }
      // Several blocks a thread convert the weights again each: that pays with F(6x6)'s fewer
      // products (measured), not for F(4x4) (converted weights, as without the option).
      if (many_blocks && c && c->tile < 6) c.reset();
      if (c) s = *c;
    }
    if (small && !s.compact) return std::nullopt;
    return s;
  }

  Result<ConvChoice> ChooseConv(const Step& st) {
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    const Shape& in = plan_->shapes[static_cast<size_t>(st.inputs[0])];
    const Shape& out = plan_->shapes[static_cast<size_t>(st.output)];
    memory::desc src = st.inputs[0] == 0 ? InputMd() : ValueMd(st.inputs[0]);
    memory::desc dst = ValueMd(st.output);
    int k = out.c;
    memory::dims wdims = n.group == 1
                             ? memory::dims{k, in.c, n.kernel[0], n.kernel[1]}
                             : memory::dims{n.group, k / n.group, in.c / n.group, n.kernel[0],
                                            n.kernel[1]};
    memory::desc w(wdims, set_.act, tag::any);
    memory::desc b({k}, dt::f32, tag::x);
    memory::dims strides{n.strides[0], n.strides[1]};
    memory::dims dil{n.dilations[0] - 1, n.dilations[1] - 1};
    memory::dims pad_l{n.pads[0], n.pads[1]};
    // oneDNN wants the right padding that makes the output size exact.
    auto right = [](int i, int o, int s, int kern, int d, int pl) {
      return (o - 1) * s + (kern - 1) * d + 1 - i - pl;
    };
    memory::dims pad_r{right(in.h, out.h, n.strides[0], n.kernel[0], n.dilations[0], n.pads[0]),
                       right(in.w, out.w, n.strides[1], n.kernel[1], n.dilations[1], n.pads[1])};
    std::vector<std::pair<dnnl::algorithm, ResidualMode>> candidates;
    bool wino = WinogradFits(n, in, out);
    if (st.residual < 0) {
      if (wino) candidates.emplace_back(dnnl::algorithm::convolution_winograd, ResidualMode::kNone);
      candidates.emplace_back(dnnl::algorithm::convolution_direct, ResidualMode::kNone);
    } else {
      if (wino && st.residual_dies_here) {
        candidates.emplace_back(dnnl::algorithm::convolution_winograd, ResidualMode::kSum);
      }
      candidates.emplace_back(dnnl::algorithm::convolution_direct, ResidualMode::kBinary);
      if (wino) {
        candidates.emplace_back(dnnl::algorithm::convolution_winograd, ResidualMode::kSeparate);
      }
      candidates.emplace_back(dnnl::algorithm::convolution_direct, ResidualMode::kSeparate);
    }
    std::optional<ConvChoice> fallback;
    auto attempt = [&](dnnl::algorithm alg, ResidualMode mode, const memory::desc& s_md,
                       const memory::desc& d_md, bool own) -> std::optional<ConvChoice> {
      try {
        dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, alg, s_md, w,
                                          n.bias >= 0 ? b : memory::desc(), d_md, strides, dil,
                                          pad_l, pad_r);
        dnnl::convolution_forward::primitive_desc pd(d, Attr(st.activation, mode, st.residual),
                                                     eng_);
        ConvChoice c{pd, st.residual < 0 ? ResidualMode::kNone : mode, own};
        if (!IsRef(pd.impl_info_str())) return c;
        if (!fallback) fallback = c;
      } catch (const dnnl::error&) {
        // not supported in this form: try the next
      }
      return std::nullopt;
    };
    for (const auto& [alg, mode] : candidates) {
      if (auto c = attempt(alg, mode, src, dst, false)) return *c;
    }
    // Layouts of oneDNN's choice, reordered from and to ours: first only the result's (a
    // 1-channel head wants a padded block), then both.
    memory::desc any_src(src.dims(), src.data_type(), tag::any);
    memory::desc any_dst(dst.dims(), dst.data_type(), tag::any);
    ResidualMode last = st.residual < 0 ? ResidualMode::kNone : ResidualMode::kSeparate;
    for (const memory::desc* s_md : {&src, &any_src}) {
      if (auto c = attempt(dnnl::algorithm::convolution_direct, last, *s_md, any_dst, true)) {
        return *c;
      }
    }
    if (fallback) return *fallback;  // slow, but correct
    return Status::Internal("oneDNN has no convolution for " + n.name);
  }

  memory::desc InputMd() const {
    return memory::desc(Dims(plan_->shapes[0]), set_.act, tag::nchw);
  }

  Status AllocateArena() {
    uint64_t bytes = std::max<uint64_t>(plan_->memory.arena_bytes, 64);
    plan_->arena = AllocateLarge(bytes, set_.huge_pages);
    if (!plan_->arena) {
      return Status::ResourceExhausted("cannot allocate " + std::to_string(bytes >> 20) +
                                       " MiB of activations");
    }
    plan_->arena_bytes = bytes;
    return Status::OK();
  }

  Status BindValues() {
    values_.assign(g_.values.size(), memory());
    plan_->input_user = memory(memory::desc(Dims(plan_->shapes[0]), dt::f32, tag::nchw), eng_,
                               DNNL_MEMORY_NONE);
    if (set_.act == dt::f32) {
      values_[0] = plan_->input_user;
    } else {  // the first step reads a converted copy, kept beside the arena
      values_[0] = memory(InputMd(), eng_);
      Add(dnnl::reorder(plan_->input_user, values_[0]),
          {{DNNL_ARG_FROM, plan_->input_user}, {DNNL_ARG_TO, values_[0]}}, "input->act", "", 0);
    }
    char* base = static_cast<char*>(plan_->arena.get());
    for (size_t v = 1; v < g_.values.size(); ++v) {
      if (plan_->memory.offset[v] < 0) continue;
      values_[v] = memory(ValueMd(static_cast<int>(v)), eng_, base + plan_->memory.offset[v]);
    }
    return Status::OK();
  }

  void Add(dnnl::primitive prim, std::unordered_map<int, memory> args, std::string name,
           std::string impl, double gflop) {
    plan_->execs.push_back(
        {std::move(prim), {}, std::move(args), std::move(name), std::move(impl), gflop});
  }

  // Registers a primitive that uses the shared scratchpad (bound once its size is known).
  void AddWithScratch(dnnl::primitive prim, const dnnl::primitive_desc_base& pd,
                      std::unordered_map<int, memory> args, std::string name, double gflop) {
    size_t need = pd.scratchpad_desc().get_size();
    if (need > 0) shared_scratch_users_.push_back(plan_->execs.size());
    scratch_need_ = std::max(scratch_need_, need);
    Add(std::move(prim), std::move(args), std::move(name), pd.impl_info_str(), gflop);
  }

  dnnl::primitive_attr PlainAttr(Activation act = Activation::kNone) const {
    return Attr(act, ResidualMode::kNone, -1);
  }

  Status AddStep(size_t i) {
    const Step& st = plan_->steps[i];
    if (st.fused_away) return Status::OK();  // done by a later step's kernel
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    std::string name = n.name + Suffix(st);
    try {
      switch (st.kind) {
        case StepKind::kConv:
          if (narrow_[i]) {
            AddNarrowConv(i, name);
          } else if (wino_[i]) {
            AddWinogradConv(i, name);
          } else {
            AddConv(i, name);
          }
          break;
        case StepKind::kMaxPool: {
          const Shape& in = plan_->shapes[st.inputs[0]];
          const Shape& out = plan_->shapes[st.output];
          memory::dims pad_r{(out.h - 1) * n.strides[0] + n.kernel[0] - in.h - n.pads[0],
                             (out.w - 1) * n.strides[1] + n.kernel[1] - in.w - n.pads[1]};
          dnnl::pooling_forward::desc d(
              dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max,
              ValueMd(st.inputs[0]), ValueMd(st.output), {n.strides[0], n.strides[1]},
              {n.kernel[0], n.kernel[1]}, {n.pads[0], n.pads[1]}, pad_r);
          dnnl::pooling_forward::primitive_desc pd(d, PlainAttr(), eng_);
          AddWithScratch(dnnl::pooling_forward(pd),
                         pd, {{DNNL_ARG_SRC, values_[st.inputs[0]]}, {DNNL_ARG_DST, values_[st.output]}},
                         name, 0);
          break;
        }
        case StepKind::kResize: {
          if (AddPlainResize(i, name)) break;
          dnnl::resampling_forward::desc d(
              dnnl::prop_kind::forward_inference,
              n.nearest ? dnnl::algorithm::resampling_nearest : dnnl::algorithm::resampling_linear,
              ValueMd(st.inputs[0]), ValueMd(st.output));
          dnnl::resampling_forward::primitive_desc pd(d, PlainAttr(st.activation), eng_);
          AddWithScratch(dnnl::resampling_forward(pd), pd,
                         {{DNNL_ARG_SRC, values_[st.inputs[0]]}, {DNNL_ARG_DST, values_[st.output]}},
                         name, 0);
          break;
        }
        case StepKind::kEltwise: {
          dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference,
                                        EltwiseAlg(st.activation), ValueMd(st.inputs[0]), 0.f, 0.f);
          dnnl::eltwise_forward::primitive_desc pd(d, PlainAttr(), eng_);
          // The result may have another layout than the source: compute in place on a copy.
          AddEltwiseOrCopy(pd, st, name);
          break;
        }
        case StepKind::kAdd: AddBinary(values_[st.inputs[0]], values_[st.inputs[1]],
                                       values_[st.output], name); break;
        case StepKind::kConcat: {
          if (st.view) break;
          std::vector<memory::desc> srcs;
          std::unordered_map<int, memory> args{{DNNL_ARG_DST, values_[st.output]}};
          for (size_t k = 0; k < st.inputs.size(); ++k) {
            srcs.push_back(values_[st.inputs[k]].get_desc());
            args[DNNL_ARG_MULTIPLE_SRC + static_cast<int>(k)] = values_[st.inputs[k]];
          }
          dnnl::concat::primitive_desc pd(ValueMd(st.output), 1, srcs, eng_, PlainAttr());
          AddWithScratch(dnnl::concat(pd), pd, std::move(args), name, 0);
          break;
        }
      }
    } catch (const dnnl::error& e) {
      return Status::Internal("oneDNN refused " + name + ": " + e.what());
    }
    return Status::OK();
  }

  void AddEltwiseOrCopy(const dnnl::eltwise_forward::primitive_desc& pd, const Step& st,
                        const std::string& name) {
    memory src = values_[st.inputs[0]], dst = values_[st.output];
    if (src.get_desc() == dst.get_desc()) {
      AddWithScratch(dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}},
                     name, 0);
      return;
    }
    // Different layouts (or types): reorder, then the activation in place on the result.
    Add(dnnl::reorder(src, dst), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}}, name + " (reorder)",
        "reorder", 0);
    dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, EltwiseAlg(st.activation),
                                  dst.get_desc(), 0.f, 0.f);
    dnnl::eltwise_forward::primitive_desc pd2(d, PlainAttr(), eng_);
    AddWithScratch(dnnl::eltwise_forward(pd2), pd2, {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}},
                   name, 0);
  }

  void AddBinary(const memory& a, const memory& b, const memory& dst, const std::string& name) {
    dnnl::binary::desc d(dnnl::algorithm::binary_add, a.get_desc(), b.get_desc(), dst.get_desc());
    dnnl::binary::primitive_desc pd(d, PlainAttr(), eng_);
    AddWithScratch(dnnl::binary(pd), pd,
                   {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}}, name, 0);
  }

  void AddConv(size_t i, const std::string& name) {
    const Step& st = plan_->steps[i];
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    const ConvChoice& c = *convs_[i];
    const Shape& in = plan_->shapes[st.inputs[0]];
    const Shape& out = plan_->shapes[st.output];
    memory::dims wdims = n.group == 1 ? memory::dims{out.c, in.c, n.kernel[0], n.kernel[1]}
                                      : memory::dims{n.group, out.c / n.group, in.c / n.group,
                                                     n.kernel[0], n.kernel[1]};
    memory src = values_[st.inputs[0]], dst = values_[st.output];
    if (c.own_layouts && c.pd.src_desc() != src.get_desc()) {
      memory own(c.pd.src_desc(), eng_);  // small: only odd layers come here
      Add(dnnl::reorder(src, own), {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, own}}, name + " (in)",
          "reorder", 0);
      src = own;
    }
    if (c.own_layouts && c.pd.dst_desc() != dst.get_desc()) dst = memory(c.pd.dst_desc(), eng_);
    std::unordered_map<int, memory> args{
        {DNNL_ARG_SRC, src},
        {DNNL_ARG_WEIGHTS, weights_.Weights(n.weight, wdims, c.pd.weights_desc())},
        {DNNL_ARG_DST, dst}};
    if (n.bias >= 0) args[DNNL_ARG_BIAS] = weights_.Bias(n.bias);
    if (c.residual == ResidualMode::kBinary) {
      args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(st.activation == Activation::kNone ? 0 : 1) |
           DNNL_ARG_SRC_1] = values_[st.residual];
    }
    double gflop = 2.0 * out.c * (in.c / n.group) * n.kernel[0] * n.kernel[1] *
                   static_cast<double>(out.h) * out.w / 1e9;
    if (size_t need = c.pd.scratchpad_desc().get_size(); need > 0) {  // its own, in the arena
      char* at = static_cast<char*>(plan_->arena.get()) + plan_->memory.scratch_offset[i];
      args[DNNL_ARG_SCRATCHPAD] =
          memory(memory::desc({static_cast<memory::dim>(need)}, dt::u8, tag::x), eng_, at);
    }
    Add(dnnl::convolution_forward(c.pd), std::move(args), name, c.pd.impl_info_str(), gflop);
    if (dst != values_[st.output]) {
      Add(dnnl::reorder(dst, values_[st.output]),
          {{DNNL_ARG_FROM, dst}, {DNNL_ARG_TO, values_[st.output]}}, name + " (out)", "reorder",
          0);
    }
    if (c.residual == ResidualMode::kSeparate) {
      AddBinary(values_[st.output], values_[st.residual], values_[st.output], name + " (add)");
    }
  }

  // A linear Resize between plain fp32 values (fewer channels than a block) by our own
  // kernel, then its activation by oneDNN in place; false when the step is not one.
  bool AddPlainResize(size_t i, const std::string& name) {
    const Step& st = plan_->steps[i];
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    const memory src = values_[st.inputs[0]], dst = values_[st.output];
    const memory::desc plain_src(src.get_desc().dims(), dt::f32, tag::nchw);
    const memory::desc plain_dst(dst.get_desc().dims(), dt::f32, tag::nchw);
    // Value 0 (the network's input) gets its address only while a forward runs.
    if (n.nearest || st.inputs[0] == 0 || src.get_desc() != plain_src ||
        dst.get_desc() != plain_dst) {
      return false;
    }
    const Shape& in = plan_->shapes[static_cast<size_t>(st.inputs[0])];
    const Shape& out = plan_->shapes[static_cast<size_t>(st.output)];
    PlainResizeShape s;
    s.c = in.c, s.in_h = in.h, s.in_w = in.w;
    s.out_h = out.h, s.out_w = out.w;
    if (in.c != out.c || !PlainResizeFits(s)) return false;
    const float* from = static_cast<const float*>(src.get_data_handle());
    float* to = static_cast<float*>(dst.get_data_handle());
    const int threads = set_.threads;
    CompiledPlan::Exec e;
    e.run = [s, from, to, threads] { PlainResize(s, from, to, threads); };
    e.name = name;
    e.impl = "plain_resize";
    plan_->execs.push_back(std::move(e));
    if (st.activation != Activation::kNone) {
      dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, EltwiseAlg(st.activation),
                                    plain_dst, 0.f, 0.f);
      dnnl::eltwise_forward::primitive_desc pd(d, PlainAttr(), eng_);
      AddWithScratch(dnnl::eltwise_forward(pd), pd, {{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}},
                     name + " (activation)", 0);
    }
    return true;
  }

  void AddNarrowConv(size_t i, const std::string& name) {
    const Step& st = plan_->steps[i];
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    const NarrowConvShape s = *narrow_[i];
    memory::dims wdims{s.out_c, s.in_c, s.kernel_h, s.kernel_w};
    memory::desc wmd(wdims, dt::f32, s.block == 16 ? tag::aBcd16b : tag::aBcd8b);
    const float* w =
        static_cast<const float*>(weights_.Weights(n.weight, wdims, wmd).get_data_handle());
    const float* bias =
        n.bias >= 0 ? static_cast<const float*>(weights_.Bias(n.bias).get_data_handle()) : nullptr;
    const float* in = static_cast<const float*>(values_[st.inputs[0]].get_data_handle());
    float* out = static_cast<float*>(values_[st.output].get_data_handle());
    const Activation act = st.activation;
    const int threads = set_.threads;
    CompiledPlan::Exec e;
    e.run = [s, in, w, bias, act, out, threads] { NarrowConv(s, in, w, bias, act, out, threads); };
    e.name = name;
    e.impl = NarrowConvImpl(s.block);
    e.gflop = 2.0 * s.out_c * s.in_c * s.kernel_h * s.kernel_w * double(s.out_h) * s.out_w / 1e9;
    plan_->execs.push_back(std::move(e));
  }

  void AddWinogradConv(size_t i, const std::string& name) {
    const Step& st = plan_->steps[i];
    const Node& n = g_.nodes[static_cast<size_t>(st.node)];
    const WinogradConvShape s = *wino_[i];
    // A plan for another size may take another tile: compact weights are shared.
    const std::string layout = WinogradConvWeightsLayout(s);
    const void* w = s.compact
                        ? static_cast<const void*>(weights_.ConvertedHalves(
                              n.weight, WeightLayout::kOihw8o, layout, WinogradConvCompactHalves(s),
                              [&s](const void* plain, uint16_t* out) {
                                WinogradConvCompactWeights(s, plain, out);
                              }))
                        : weights_.Converted(n.weight, layout, WinogradConvWeightFloats(s),
                                             [&s](const float* plain, float* out) {
                                               WinogradConvWeights(s, plain, out);
                                             });
    const float* bias =
        n.bias >= 0 ? static_cast<const float*>(weights_.Bias(n.bias).get_data_handle()) : nullptr;
    const float* in = static_cast<const float*>(values_[st.inputs.back()].get_data_handle());
    const float* up = st.upsamples_first
                          ? static_cast<const float*>(values_[st.inputs[0]].get_data_handle())
                          : nullptr;
    float* out = static_cast<float*>(values_[st.output].get_data_handle());
    const float* residual = st.residual >= 0
                                ? static_cast<const float*>(values_[st.residual].get_data_handle())
                                : nullptr;
    const Activation act = st.activation;
    float* pooled = st.also_writes >= 0
                        ? static_cast<float*>(values_[st.also_writes].get_data_handle())
                        : nullptr;
    auto layer = std::make_shared<const WinogradConvPlan>(
        PlanWinogradConv(s, set_.threads, set_.winograd_blocking));
    // Its blocks of tiles: in the arena, beside the values alive at this step (step_scratch).
    void* scratch = layer->scratch_bytes > 0
                        ? static_cast<char*>(plan_->arena.get()) + plan_->memory.scratch_offset[i]
                        : nullptr;
    CompiledPlan::Exec e;
    e.run = [layer, in, w, bias, act, residual, out, scratch, pooled, up] {
      WinogradConv(*layer, in, w, bias, act, residual, out, scratch, pooled, up);
    };
    e.name =
        name + (pooled != nullptr ? "+maxpool" : "") + (up != nullptr ? " <- resize+concat" : "");
    e.impl = WinogradConvImpl(s);
    e.gflop = 2.0 * s.out_c * s.in_c * 9 * double(s.out_h) * s.out_w / 1e9;
    plan_->execs.push_back(std::move(e));
  }

  void AddOutput() {
    plan_->output_user = memory(memory::desc(Dims(plan_->shapes[g_.output]), dt::f32, tag::nchw),
                                eng_, DNNL_MEMORY_NONE);
    memory out = values_[g_.output];
    Add(dnnl::reorder(out, plan_->output_user),
        {{DNNL_ARG_FROM, out}, {DNNL_ARG_TO, plan_->output_user}}, "output", "reorder", 0);
    if (scratch_need_ > 0) {
      plan_->scratch = AllocateLarge(scratch_need_, set_.huge_pages);
      if (!plan_->scratch) throw std::bad_alloc();
      void* p = plan_->scratch.get();
      plan_->scratch_bytes = scratch_need_;
      memory scratch(memory::desc({static_cast<memory::dim>(scratch_need_)}, dt::u8, tag::x),
                     eng_, p);
      for (size_t i : shared_scratch_users_) plan_->execs[i].args[DNNL_ARG_SCRATCHPAD] = scratch;
    }
  }

  const Graph& g_;
  const Settings& set_;
  WeightCache& weights_;
  dnnl::engine eng_;
  CompiledPlan* plan_ = nullptr;
  std::vector<std::optional<ConvChoice>> convs_;
  std::vector<std::optional<NarrowConvShape>> narrow_;  // steps our own kernels compute
  std::vector<std::optional<WinogradConvShape>> wino_;
  std::vector<memory> values_;
  size_t scratch_need_ = 0;
  std::vector<size_t> shared_scratch_users_;  // execs that use the shared scratchpad
};

}  // namespace

Result<std::unique_ptr<CompiledPlan>> Compile(const Graph& graph, int height, int width,
                                              const Settings& settings, WeightCache& weights,
                                              const dnnl::engine& engine) {
  try {
    return Compiler(graph, settings, weights, engine).Run(height, width);
  } catch (const dnnl::error& e) {
    return Status::Internal(std::string("oneDNN: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted("out of memory building the network for " +
                                     std::to_string(height) + "x" + std::to_string(width));
  }
}

}  // namespace sparkify::nn::internal
