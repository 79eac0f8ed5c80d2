// FuseWinogradPools and FuseWinogradUpsamples: see internal/kernel_fusion.h.
#include "nn/internal/kernel_fusion.h"

#include <array>

#include "nn/internal/winograd_conv.h"

namespace sparkify::nn::internal {

// A MaxPool (2x2, stride 2, no padding) of a Winograd layer's result is written by that
// layer from the tiles it holds (one pass over the map less: IS-Net pools each encoder
// stage's output and more inside its RSU blocks, 7 ms per forward at 1024 on their own); the
// pool's step is fused away. The plan holds the pool's memory from the layer's step.
void FuseWinogradPools(const Graph& g, const std::vector<Shape>& shapes, std::vector<Step>& steps,
                       std::vector<std::optional<WinogradConvShape>>& wino) {
  std::vector<int> producer(g.values.size(), -1);
  for (size_t i = 0; i < steps.size(); ++i) producer[steps[i].output] = static_cast<int>(i);
  for (size_t j = 0; j < steps.size(); ++j) {
    const Step& pool = steps[j];
    if (pool.kind != StepKind::kMaxPool) continue;
    const Node& n = g.nodes[static_cast<size_t>(pool.node)];
    if (n.kernel[0] != 2 || n.kernel[1] != 2 || n.strides[0] != 2 || n.strides[1] != 2 ||
        n.pads != std::array<int, 4>{0, 0, 0, 0}) {
      continue;
    }
    const int i = producer[pool.inputs[0]];
    if (i < 0 || !wino[i] || steps[i].also_writes >= 0) continue;
    WinogradConvShape s = *wino[i];
    const Shape& out = shapes[static_cast<size_t>(pool.output)];
    s.pool_h = out.h, s.pool_w = out.w;
    if (!WinogradConvFits(s)) continue;  // dilated, or not half the sides
    wino[i] = s;
    steps[i].also_writes = pool.output;
    steps[j].fused_away = true;
  }
}

// A Resize by 2 and a Concat whose only reader is one of our Winograd layers: the layer
// reads the Resize's input upsampled as it goes, and the Concat's other input where its
// step wrote it, so neither map is written out. IS-Net at 1024: the decoders' 2x upsampled
// maps, 64 channels at 512x512 (67 MB) before the last one, were most of the arena's peak.
void FuseWinogradUpsamples(const Graph& g, const std::vector<Shape>& shapes, int block,
                           std::vector<Step>& steps,
                           std::vector<std::optional<WinogradConvShape>>& wino) {
  std::vector<int> producer(g.values.size(), -1), readers(g.values.size(), 0);
  for (size_t i = 0; i < steps.size(); ++i) {
    producer[steps[i].output] = static_cast<int>(i);
    if (steps[i].fused_away) continue;  // a pool its layer computes reads nothing
    for (int v : steps[i].inputs) ++readers[v];
    if (steps[i].residual >= 0) ++readers[steps[i].residual];
  }
  auto only_read_here = [&](int v) { return v != g.output && readers[v] == 1; };
  for (size_t i = 0; i < steps.size(); ++i) {
    Step& conv = steps[i];
    if (!wino[i] || conv.inputs.size() != 1 || conv.residual == conv.inputs[0]) continue;
    const int cat = producer[conv.inputs[0]];
    if (cat < 0 || steps[cat].kind != StepKind::kConcat || steps[cat].inputs.size() != 2 ||
        !only_read_here(conv.inputs[0])) {
      continue;
    }
    const int up = steps[cat].inputs[0], other = steps[cat].inputs[1];
    const int resize = producer[up];
    if (resize < 0 || steps[resize].kind != StepKind::kResize || !only_read_here(up)) continue;
    const Node& r = g.nodes[static_cast<size_t>(steps[resize].node)];
    const int low = steps[resize].inputs[0];
    if (r.nearest || r.scale != 2 || steps[resize].activation != Activation::kNone || low == 0 ||
        other == 0 || low == other || shapes[static_cast<size_t>(other)].c % block != 0) {
      continue;
    }
    // The layer reads `low` later than the Resize did: no step between may have been
    // allowed to write over it in place (Fuse decided that from the graph's order).
    bool overwritten = false;
    for (size_t k = static_cast<size_t>(resize) + 1; k < i; ++k) {
      overwritten |= steps[k].residual == low && steps[k].residual_dies_here;
    }
    if (overwritten) continue;
    WinogradConvShape s = *wino[i];
    s.up_c = shapes[static_cast<size_t>(low)].c;
    if (!WinogradConvFits(s)) continue;
    wino[i] = s;
    conv.inputs = {low, other};
    conv.upsamples_first = true;
    steps[resize].fused_away = steps[cat].fused_away = true;
  }
}

}  // namespace sparkify::nn::internal
