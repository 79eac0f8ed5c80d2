#include "nn/plan.h"

#include <gtest/gtest.h>

#include <functional>

#include "nn/test_util.h"

namespace sparkify::nn {
namespace {

using testing::GraphBuilder;

Graph Parse(const std::string& file) {
  auto g = ParseGraph(file);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return *g;
}

TEST(InferShapesTest, ConvPoolResizeConcat) {
  GraphBuilder b(3);
  std::string c1 = b.Conv("input", 16, 3, 2);              // stride 2
  std::string p_ceil = b.MaxPool(c1, 2, 2, true);
  std::string p_floor = b.MaxPool(c1, 2, 2, false);
  std::string d = b.Conv(c1, 8, 3, 1, 4);                  // dilation 4, pad 4
  std::string up = b.Resize(p_ceil, 3);
  std::string file = b.Build(b.Concat({c1, d}));
  // Keep references to every value: the builder's names are value names.
  std::string owned = file;
  Graph g = Parse(owned);
  auto s = InferShapes(g, 10, 9);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)[1], (Shape{16, 5, 5}));  // (10 + 2 - 3) / 2 + 1
  EXPECT_EQ((*s)[2], (Shape{16, 3, 3}));  // ceil((5 - 2) / 2) + 1
  EXPECT_EQ((*s)[3], (Shape{16, 2, 2}));  // floor
  EXPECT_EQ((*s)[4], (Shape{8, 5, 5}));
  EXPECT_EQ((*s)[5], (Shape{16, 9, 9}));
  EXPECT_EQ((*s)[6], (Shape{24, 5, 5}));
}

TEST(InferShapesTest, MismatchedConcatNamesTheNodeAndSize) {
  // A U-shape: pool, conv, upsample, concat with the unpooled map: fine at even sizes only.
  GraphBuilder b(3);
  std::string x = b.Conv("input", 16);
  std::string up = b.Resize(b.Conv(b.MaxPool(x), 16));
  Graph g = Parse(b.Build(b.Concat({up, x})));
  EXPECT_TRUE(InferShapes(g, 64, 64).ok());
  auto bad = InferShapes(g, 65, 64);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("joins maps of 66x64 and 65x64"), std::string::npos)
      << bad.status().message();
  auto tiny = InferShapes(g, 1, 1);  // pool then resize: 1 -> 1 -> 2, concat with 1
  EXPECT_FALSE(tiny.ok());
}

TEST(FuseTest, ConvReluAddBecomeOneStep) {
  GraphBuilder b(16);
  std::string hxin = b.Relu(b.Conv("input", 16));
  std::string h1 = b.Relu(b.Conv(hxin, 16));
  std::string out = b.Add(b.Relu(b.Conv(h1, 16)), hxin);
  Graph g = Parse(b.Build(out));
  std::vector<Step> steps = Fuse(g);
  ASSERT_EQ(steps.size(), 3u);
  for (const Step& st : steps) {
    EXPECT_EQ(st.kind, StepKind::kConv);
    EXPECT_EQ(st.activation, Activation::kRelu);
  }
  EXPECT_EQ(steps[2].residual, steps[0].output);
  EXPECT_EQ(steps[2].output, g.output);
  EXPECT_TRUE(steps[2].residual_dies_here);  // hxin's other reader ran before
  EXPECT_EQ(steps[0].residual, -1);
}

TEST(FuseTest, NoFusionWhenTheIntermediateIsReadTwice) {
  GraphBuilder b(16);
  std::string conv = b.Conv("input", 16);
  std::string relu = b.Relu(conv);
  std::string other = b.Conv(conv, 16);  // reads the pre-activation value too
  Graph g = Parse(b.Build(b.Add(relu, other)));
  std::vector<Step> steps = Fuse(g);
  ASSERT_EQ(steps.size(), 3u);
  EXPECT_EQ(steps[0].activation, Activation::kNone);
  EXPECT_EQ(steps[1].kind, StepKind::kEltwise);
  // The second conv takes the Add: the Relu's result exists before it runs.
  EXPECT_EQ(steps[2].kind, StepKind::kConv);
  EXPECT_EQ(steps[2].residual, steps[1].output);
}

TEST(FuseTest, ResidualReadLaterOrByAConcatIsNotInPlace) {
  GraphBuilder b(16);
  std::string r = b.Relu(b.Conv("input", 16));
  std::string sum = b.Add(b.Relu(b.Conv(r, 16)), r);
  Graph g = Parse(b.Build(b.Concat({sum, r})));  // r is read after the Add
  std::vector<Step> steps = Fuse(g);
  ASSERT_EQ(steps[1].residual, steps[0].output);
  EXPECT_FALSE(steps[1].residual_dies_here);
}

TEST(FuseTest, ResizeTakesTheSigmoid) {
  GraphBuilder b(16);
  Graph g = Parse(b.Build(b.Sigmoid(b.Resize(b.Conv("input", 1)))));
  std::vector<Step> steps = Fuse(g);
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[1].kind, StepKind::kResize);
  EXPECT_EQ(steps[1].activation, Activation::kSigmoid);
  EXPECT_EQ(steps[1].output, g.output);
}

struct Planned {
  Graph g;
  std::vector<Shape> shapes;
  std::vector<Step> steps;
  MemoryPlan plan;
  std::vector<uint64_t> scratch;  // per step
};

// `adjust`: what the engine sets on the steps before the plan (e.g. also_writes).
Planned PlanFor(const std::string& file, int size, bool in_place, uint64_t scratch = 0,
                const std::function<void(std::vector<Step>&)>& adjust = nullptr) {
  Planned p{Parse(file), {}, {}, {}, {}};
  p.shapes = *InferShapes(p.g, size, size);
  p.steps = Fuse(p.g);
  for (Step& st : p.steps) st.in_place = in_place && st.residual_dies_here;
  if (adjust) adjust(p.steps);
  MemoryOptions mo;
  mo.channel_block = 16;
  mo.value_bytes = [&](int v) { return static_cast<uint64_t>(p.shapes[v].elements()) * 4; };
  // Every other convolution wants `scratch` bytes of working memory.
  for (size_t s = 0; s < p.steps.size(); ++s) {
    p.scratch.push_back(p.steps[s].kind == StepKind::kConv && s % 2 == 0 ? scratch : 0);
  }
  if (scratch > 0) mo.step_scratch = [&](int s) { return p.scratch[s]; };
  p.plan = PlanMemory(p.g, p.shapes, p.steps, mo);
  return p;
}

// Values live at the same time never share bytes, unless one lives inside the other by
// construction: a Concat's input in its output (a view), an in-place result in its
// residual's memory, and so on up such links. Any other overlap, even of two same-size values
// at the same offset, is a clash.
void ExpectNoClobbering(const Planned& p) {
  const size_t nv = p.g.values.size();
  std::vector<int> first(nv, INT32_MAX), last(nv, -1);
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    const Step& st = p.steps[s];
    if (st.fused_away) continue;
    for (int v : {st.output, st.also_writes}) {
      if (v < 0) continue;
      first[v] = std::min(first[v], s);
      last[v] = std::max(last[v], s);
    }
    for (int v : st.inputs) last[v] = std::max(last[v], s);
    if (st.residual >= 0) last[st.residual] = std::max(last[st.residual], s);
  }
  last[p.g.output] = static_cast<int>(p.steps.size());
  auto bytes = [&](size_t v) { return static_cast<int64_t>(p.shapes[v].elements()) * 4; };
  // The memory each value was made to live in, from the steps alone.
  std::vector<int> inside(nv, -1);
  for (const Step& st : p.steps) {
    if (st.kind == StepKind::kConcat && st.view) {
      for (int v : st.inputs) inside[v] = st.output;
    }
    if (st.kind == StepKind::kConv && st.in_place) inside[st.output] = st.residual;
  }
  auto within = [&](int v, int outer) {
    for (int u = inside[v]; u >= 0; u = inside[u]) {
      if (u == outer) return true;
    }
    return false;
  };
  for (size_t a = 1; a < nv; ++a) {
    for (size_t b = a + 1; b < nv; ++b) {
      if (p.plan.offset[a] < 0 || p.plan.offset[b] < 0 || last[a] < 0 || last[b] < 0) continue;
      bool live_together = first[a] <= last[b] && first[b] <= last[a];
      int64_t a0 = p.plan.offset[a], a1 = a0 + bytes(a), b0 = p.plan.offset[b], b1 = b0 + bytes(b);
      bool overlap = a0 < b1 && b0 < a1;
      const int ia = static_cast<int>(a), ib = static_cast<int>(b);
      if (live_together && overlap) {
        EXPECT_TRUE(within(ia, ib) || within(ib, ia))
            << p.g.values[a] << " and " << p.g.values[b] << " clash";
      }
      // What lives inside another value lies within its bytes.
      if (within(ia, ib)) {
        EXPECT_TRUE(b0 <= a0 && a1 <= b1) << p.g.values[a];
      }
      if (within(ib, ia)) {
        EXPECT_TRUE(a0 <= b0 && b1 <= a1) << p.g.values[b];
      }
    }
  }
  // A result written over its residual (in place): nothing reads the residual after that.
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    const Step& st = p.steps[s];
    if (!st.fused_away && st.kind == StepKind::kConv && st.in_place) {
      EXPECT_LE(last[st.residual], s)
          << p.g.values[st.residual] << " is read after step " << s << " wrote over it";
    }
  }
  // A step's scratch overlaps nothing that is live while it runs.
  for (int s = 0; s < static_cast<int>(p.steps.size()); ++s) {
    int64_t lo = p.plan.scratch_offset.empty() ? -1 : p.plan.scratch_offset[s];
    if (lo < 0) continue;
    int64_t hi = lo + static_cast<int64_t>(p.scratch[s]);
    for (size_t v = 1; v < nv; ++v) {
      if (p.plan.offset[v] < 0 || last[v] < 0 || first[v] > s || last[v] < s) continue;
      int64_t v0 = p.plan.offset[v], v1 = v0 + bytes(v);
      EXPECT_FALSE(lo < v1 && v0 < hi) << "step " << s << "'s scratch clashes with "
                                           << p.g.values[v];
    }
  }
}

TEST(PlanMemoryTest, ConcatInputsAreWrittenInPlaceWhenBlocksAllow) {
  GraphBuilder b(16);
  std::string x = b.Relu(b.Conv("input", 32));
  std::string y = b.Relu(b.Conv(x, 16));
  std::string up = b.Resize(b.Conv(b.MaxPool(y), 16));
  Planned p = PlanFor(b.Build(b.Conv(b.Concat({up, y}), 16)), 32, false);
  EXPECT_EQ(p.plan.concat_views, 1);
  EXPECT_EQ(p.plan.concat_copies, 0);
  const Step* cat = nullptr;
  for (const Step& st : p.steps) {
    if (st.kind == StepKind::kConcat) cat = &st;
  }
  ASSERT_NE(cat, nullptr);
  EXPECT_TRUE(cat->view);
  int64_t base = p.plan.offset[cat->output];
  EXPECT_EQ(p.plan.offset[cat->inputs[0]], base);
  EXPECT_EQ(p.plan.offset[cat->inputs[1]], base + p.shapes[cat->inputs[0]].elements() * 4);
  ExpectNoClobbering(p);
}

// A Conv that also writes the MaxPool after it (also_writes) holds the pool's memory from its
// own step: the pool's result may not reuse the Conv's input, which dies at that step.
TEST(PlanMemoryTest, AValueAlsoWrittenByAnEarlierStepIsHeldFromThere) {
  GraphBuilder b(16);
  std::string x = b.Conv("input", 16);
  std::string y = b.Conv(x, 16);
  std::string z = b.MaxPool(y);
  const std::string file = b.Build(b.Add(b.Conv(z, 16), b.MaxPool(y)));
  // Without it, the first pool's result may take the memory x leaves: allowed.
  Planned plain = PlanFor(file, 16, false);
  ExpectNoClobbering(plain);
  int conv = -1, pool = -1;  // y's step (the first Conv not on the input), the first pool's
  for (int s = 0; s < static_cast<int>(plain.steps.size()); ++s) {
    const Step& st = plain.steps[s];
    if (st.kind == StepKind::kConv && st.inputs[0] != 0 && conv < 0) conv = s;
    if (st.kind == StepKind::kMaxPool && pool < 0) pool = s;
  }
  ASSERT_GE(conv, 0);
  ASSERT_GT(pool, conv);
  const int xv = plain.steps[conv].inputs[0], zv = plain.steps[pool].output;
  Planned fused = PlanFor(file, 16, false, 0, [&](std::vector<Step>& steps) {
    steps[conv].also_writes = steps[pool].output;
  });
  ExpectNoClobbering(fused);
  const int64_t x0 = fused.plan.offset[xv], x1 = x0 + fused.shapes[xv].elements() * 4;
  const int64_t z0 = fused.plan.offset[zv], z1 = z0 + fused.shapes[zv].elements() * 4;
  EXPECT_TRUE(z1 <= x0 || x1 <= z0) << "the pool's result lies over the convolution's input";
  // (The plain plan does put it there: the test would not notice a planner that ignores
  // also_writes otherwise.)
  const int64_t px0 = plain.plan.offset[xv], px1 = px0 + plain.shapes[xv].elements() * 4;
  const int64_t pz0 = plain.plan.offset[zv], pz1 = pz0 + plain.shapes[zv].elements() * 4;
  EXPECT_TRUE(pz0 < px1 && px0 < pz1);
}

// A Resize and a Concat done by the Conv after them (upsamples_first, fused_away): their
// results get no memory, and the Conv's two inputs, live together there, memory of their own
// (the Concat's other input no longer inside the Concat's output).
TEST(PlanMemoryTest, AResizeAndAConcatFusedIntoAConvTakeNoMemory) {
  GraphBuilder b(16);
  std::string x = b.Relu(b.Conv("input", 16));
  std::string y = b.Relu(b.Conv(x, 16));
  std::string low = b.Conv(b.MaxPool(y), 16);
  const std::string file = b.Build(b.Conv(b.Relu(b.Conv(b.Concat({b.Resize(low), y}), 16)), 16));
  Planned plain = PlanFor(file, 32, false);
  int resize = -1, cat = -1, conv = -1;
  for (int s = 0; s < static_cast<int>(plain.steps.size()); ++s) {
    const Step& st = plain.steps[s];
    if (st.kind == StepKind::kResize) resize = s;
    if (st.kind == StepKind::kConcat) cat = s;
    if (cat >= 0 && conv < 0 && st.kind == StepKind::kConv &&
        st.inputs[0] == plain.steps[cat].output) {
      conv = s;
    }
  }
  ASSERT_TRUE(resize >= 0 && cat > resize && conv > cat);
  const int up_v = plain.steps[resize].output, cat_v = plain.steps[cat].output;
  const int low_v = plain.steps[resize].inputs[0], y_v = plain.steps[cat].inputs[1];
  Planned fused = PlanFor(file, 32, false, 0, [&](std::vector<Step>& steps) {
    steps[conv].inputs = {low_v, y_v};
    steps[conv].upsamples_first = true;
    steps[resize].fused_away = steps[cat].fused_away = true;
  });
  ExpectNoClobbering(fused);
  EXPECT_EQ(fused.plan.offset[up_v], -1);
  EXPECT_EQ(fused.plan.offset[cat_v], -1);
  EXPECT_EQ(fused.plan.concat_views, 0);
  EXPECT_EQ(fused.plan.concat_copies, 0);
  const int64_t l0 = fused.plan.offset[low_v], l1 = l0 + fused.shapes[low_v].elements() * 4;
  const int64_t y0 = fused.plan.offset[y_v], y1 = y0 + fused.shapes[y_v].elements() * 4;
  ASSERT_TRUE(l0 >= 0 && y0 >= 0);
  EXPECT_TRUE(l1 <= y0 || y1 <= l0) << "the Conv's two inputs overlap";
  // The peak is at that Conv: its result, and the Concat (the upsampled map, 16 x 32 x 32
  // floats, and y) before, the map before the Resize (16 x 16 x 16) and y now.
  EXPECT_EQ(plain.plan.concat_views, 1);
  EXPECT_EQ(plain.plan.arena_bytes, 3 * 16 * 32 * 32 * 4);
  EXPECT_EQ(fused.plan.arena_bytes, 2 * 16 * 32 * 32 * 4 + 16 * 16 * 16 * 4);
}

TEST(PlanMemoryTest, ConcatCopiesWhenChannelsBreakTheBlocks) {
  GraphBuilder b(16);
  std::string x = b.Conv("input", 8);
  std::string y = b.Conv("input", 24);
  Planned p = PlanFor(b.Build(b.Conv(b.Concat({x, y}), 16)), 16, false);
  EXPECT_EQ(p.plan.concat_views, 0);
  EXPECT_EQ(p.plan.concat_copies, 1);
  ExpectNoClobbering(p);
}

TEST(PlanMemoryTest, AValueInTwoConcatsIsViewedOnceAndCopiedOnce) {
  GraphBuilder b(16);
  std::string x = b.Conv("input", 16);
  std::string y = b.Conv("input", 16);
  std::string c1 = b.Concat({x, y});
  std::string c2 = b.Concat({y, b.Conv(x, 16)});
  Planned p = PlanFor(b.Build(b.Add(b.Conv(c1, 16), b.Conv(c2, 16))), 8, false);
  EXPECT_EQ(p.plan.concat_views, 1);
  EXPECT_EQ(p.plan.concat_copies, 1);
  ExpectNoClobbering(p);
}

TEST(PlanMemoryTest, InPlaceSumSharesTheResidualsMemory) {
  GraphBuilder b(16);
  std::string hxin = b.Relu(b.Conv("input", 16));
  std::string h1 = b.Relu(b.Conv(hxin, 16));
  std::string out = b.Relu(b.Conv(b.Add(b.Relu(b.Conv(h1, 16)), hxin), 16));
  Planned p = PlanFor(b.Build(out), 16, true);
  EXPECT_EQ(p.plan.in_place_sums, 1);
  const Step& sum = p.steps[2];
  ASSERT_TRUE(sum.in_place);
  EXPECT_EQ(p.plan.offset[sum.output], p.plan.offset[sum.residual]);
  ExpectNoClobbering(p);
}

TEST(PlanMemoryTest, ScratchTakesFreeArenaSpace) {
  GraphBuilder b(16);
  std::string v = "input";
  for (int i = 0; i < 4; ++i) v = b.Relu(b.Conv(v, 16));
  uint64_t one = 16 * 32 * 32 * 4;
  Planned p = PlanFor(b.Build(v), 32, false, one / 2);
  ASSERT_EQ(p.plan.scratch_offset.size(), p.steps.size());
  EXPECT_GE(p.plan.scratch_offset[0], 0);
  EXPECT_EQ(p.plan.scratch_offset[1], -1);
  EXPECT_EQ(p.plan.arena_bytes, 2 * one + one / 2);  // two values and one scratch at a time
  ExpectNoClobbering(p);
}

TEST(PlanMemoryTest, DeadValuesShareMemory) {
  GraphBuilder b(16);
  std::string v = "input";
  for (int i = 0; i < 10; ++i) v = b.Relu(b.Conv(v, 16));
  Planned p = PlanFor(b.Build(v), 32, false);
  uint64_t one = 16 * 32 * 32 * 4;
  EXPECT_EQ(p.plan.arena_bytes, 2 * one);  // a chain needs two buffers, whatever its length
  ExpectNoClobbering(p);
}

// A Concat's output holds each input's part from that input's write on, not from the first
// one's: here the chain between the two writes lives in the second part's bytes (IS-Net at
// 1024: 262 -> 201 MB of activations, the most that are ever live at once).
TEST(PlanMemoryTest, AConcatHoldsEachPartFromItsOwnWrite) {
  GraphBuilder b(16);
  std::string first = b.Relu(b.Conv("input", 16));
  std::string v = first;
  for (int i = 0; i < 3; ++i) v = b.Relu(b.Conv(v, 16));
  std::string last = b.Relu(b.Conv(v, 32));
  Planned p = PlanFor(b.Build(b.Conv(b.Concat({first, last}), 16)), 32, false);
  ASSERT_EQ(p.plan.concat_views, 1);
  const uint64_t one = 16 * 32 * 32 * 4;
  // The most live at once: the first part, the chain's last map and the second part (two),
  // as the second part is written. Holding the whole Concat (three) from the first write, with
  // the chain's two maps beside it, took five.
  EXPECT_EQ(p.plan.arena_bytes, 4 * one);
  ExpectNoClobbering(p);
}

TEST(PlanMemoryTest, IsNetLikeUShapeNeverClobbers) {
  // An RSU block: encoder with pools and a dilated bottom, decoder with concats and resizes,
  // residual at the end; planned with and without in-place sums.
  GraphBuilder b(3);
  std::string hxin = b.Relu(b.Conv("input", 32));
  std::string h1 = b.Relu(b.Conv(hxin, 16));
  std::string h2 = b.Relu(b.Conv(b.MaxPool(h1), 16));
  std::string h3 = b.Relu(b.Conv(b.MaxPool(h2), 16));
  std::string h4 = b.Relu(b.Conv(h3, 16, 3, 1, 2));
  std::string h3d = b.Relu(b.Conv(b.Concat({h4, h3}), 16));
  std::string h2d = b.Relu(b.Conv(b.Concat({b.Resize(h3d), h2}), 16));
  std::string h1d = b.Relu(b.Conv(b.Concat({b.Resize(h2d), h1}), 32));
  std::string file = b.Build(b.Sigmoid(b.Resize(b.Conv(b.Add(h1d, hxin), 1))));
  for (bool in_place : {false, true}) {
    for (int size : {32, 40, 64}) {
      Planned p = PlanFor(file, size, in_place, size * size * 16 * 4 / 3);
      EXPECT_EQ(p.plan.concat_views, 3);
      EXPECT_EQ(p.plan.in_place_sums, in_place ? 1 : 0);
      ExpectNoClobbering(p);
    }
  }
}

}  // namespace
}  // namespace sparkify::nn
