// Internal to sparkify_nn: the steps our Winograd kernel takes over from its neighbours, on
// top of the graph-level fusions of plan.h (Fuse). The compiler runs them once each layer's
// Winograd shape is chosen and before the memory plan: they set the taken-over steps'
// fused_away, and the layer's also_writes or upsamples_first and inputs (plan.h).
#pragma once

#include <optional>
#include <vector>

#include "nn/graph.h"
#include "nn/internal/winograd_shape.h"
#include "nn/plan.h"

namespace sparkify::nn::internal {

// `wino[i]`: the shape our Winograd kernel runs step i with, or none (then it is left
// alone); the passes add what the layer then computes or reads to it.

// A 2x2 stride-2 MaxPool of a Winograd layer's result: computed by the layer (also_writes).
void FuseWinogradPools(const Graph& g, const std::vector<Shape>& shapes, std::vector<Step>& steps,
                       std::vector<std::optional<WinogradConvShape>>& wino);

// A linear Resize by 2 and a Concat of its result and one other map, read only by a
// Winograd layer: the layer reads the Resize's input upsampled and the other map as they
// are (upsamples_first, WinogradConvShape::up_c). `block`: channels per block of the
// activations' layout.
void FuseWinogradUpsamples(const Graph& g, const std::vector<Shape>& shapes, int block,
                           std::vector<Step>& steps,
                           std::vector<std::optional<WinogradConvShape>>& wino);

}  // namespace sparkify::nn::internal
