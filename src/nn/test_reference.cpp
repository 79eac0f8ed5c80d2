// The naive reference executor of test_util.h (see there).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "nn/graph.h"
#include "nn/plan.h"
#include "nn/test_util.h"

namespace sparkify::nn::testing {

std::vector<float> Reference(const Graph& g, const std::vector<float>& input, int h, int w) {
  std::vector<Shape> shapes = *InferShapes(g, h, w);
  std::vector<std::vector<float>> v(g.values.size());
  v[0] = input;
  for (const Node& n : g.nodes) {
    const Shape& is = shapes[n.inputs[0]];
    const Shape& os = shapes[n.output];
    const std::vector<float>& x = v[n.inputs[0]];
    std::vector<float> y(static_cast<size_t>(os.elements()), 0.f);
    auto at = [](const std::vector<float>& t, const Shape& s, int c, int i, int j) {
      return t[(static_cast<size_t>(c) * s.h + i) * s.w + j];
    };
    switch (n.op) {
      case Op::kConv: {
        std::vector<float> wt(static_cast<size_t>(g.weights[n.weight].elements()));
        g.CopyWeight(n.weight, wt.data());
        std::vector<float> bias(os.c, 0.f);
        if (n.bias >= 0) g.CopyWeight(n.bias, bias.data());
        int cg = is.c / n.group, kg = os.c / n.group;
        for (int k = 0; k < os.c; ++k) {
          int grp = k / kg;
          for (int i = 0; i < os.h; ++i) {
            for (int j = 0; j < os.w; ++j) {
              double acc = bias[k];
              for (int c = 0; c < cg; ++c) {
                for (int a = 0; a < n.kernel[0]; ++a) {
                  for (int b = 0; b < n.kernel[1]; ++b) {
                    int ii = i * n.strides[0] - n.pads[0] + a * n.dilations[0];
                    int jj = j * n.strides[1] - n.pads[1] + b * n.dilations[1];
                    if (ii < 0 || jj < 0 || ii >= is.h || jj >= is.w) continue;
                    acc +=
                        double(
                            wt[((static_cast<size_t>(k) * cg + c) * n.kernel[0] + a) * n.kernel[1] +
                               b]) *
                        at(x, is, grp * cg + c, ii, jj);
                  }
                }
              }
              y[(static_cast<size_t>(k) * os.h + i) * os.w + j] = static_cast<float>(acc);
            }
          }
        }
        break;
      }
      case Op::kRelu:
        for (size_t i = 0; i < y.size(); ++i) y[i] = std::max(0.f, x[i]);
        break;
      case Op::kSigmoid:
        for (size_t i = 0; i < y.size(); ++i) y[i] = 1.f / (1.f + std::exp(-x[i]));
        break;
      case Op::kMaxPool:
        for (int c = 0; c < os.c; ++c) {
          for (int i = 0; i < os.h; ++i) {
            for (int j = 0; j < os.w; ++j) {
              float m = -INFINITY;
              for (int a = 0; a < n.kernel[0]; ++a) {
                for (int b = 0; b < n.kernel[1]; ++b) {
                  int ii = i * n.strides[0] - n.pads[0] + a, jj = j * n.strides[1] - n.pads[1] + b;
                  if (ii >= 0 && jj >= 0 && ii < is.h && jj < is.w)
                    m = std::max(m, at(x, is, c, ii, jj));
                }
              }
              y[(static_cast<size_t>(c) * os.h + i) * os.w + j] = m;
            }
          }
        }
        break;
      case Op::kResize:
        for (int c = 0; c < os.c; ++c) {
          for (int i = 0; i < os.h; ++i) {
            for (int j = 0; j < os.w; ++j) {
              float out;
              if (n.nearest) {
                out = at(x, is, c, i / n.scale, j / n.scale);
              } else {  // half-pixel centres, edges clamped
                float si = std::max(0.f, (i + 0.5f) / n.scale - 0.5f);
                float sj = std::max(0.f, (j + 0.5f) / n.scale - 0.5f);
                int i0 = std::min(static_cast<int>(si), is.h - 1),
                    j0 = std::min(static_cast<int>(sj), is.w - 1);
                int i1 = std::min(i0 + 1, is.h - 1), j1 = std::min(j0 + 1, is.w - 1);
                float fi = si - i0, fj = sj - j0;
                out = (1 - fi) * ((1 - fj) * at(x, is, c, i0, j0) + fj * at(x, is, c, i0, j1)) +
                      fi * ((1 - fj) * at(x, is, c, i1, j0) + fj * at(x, is, c, i1, j1));
              }
              y[(static_cast<size_t>(c) * os.h + i) * os.w + j] = out;
            }
          }
        }
        break;
      case Op::kConcat: {
        size_t at_out = 0;
        for (int in : n.inputs) {
          std::copy(v[in].begin(), v[in].end(), y.begin() + static_cast<std::ptrdiff_t>(at_out));
          at_out += v[in].size();
        }
        break;
      }
      case Op::kAdd:
        for (size_t i = 0; i < y.size(); ++i) y[i] = x[i] + v[n.inputs[1]][i];
        break;
    }
    v[n.output] = std::move(y);
  }
  return v[g.output];
}

}  // namespace sparkify::nn::testing
