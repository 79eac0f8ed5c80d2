#include "nn/graph.h"

#include <immintrin.h>

#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "nn/internal/cpu_features.h"

namespace sparkify::nn {
namespace {

using json = nlohmann::json;

constexpr std::string_view kMagic = "SPKGRAPH";
constexpr uint32_t kVersion = 1;
constexpr size_t kAlign = 64;
constexpr size_t kMaxHeaderBytes = 16u << 20;

uint32_t ReadU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // the format is little-endian, as is every CPU we build for
}

// Thrown inside the parser only; ParseGraph turns it into a Corruption status.
struct BadGraph {
  std::string why;
};

[[noreturn]] void Fail(std::string why) { throw BadGraph{std::move(why)}; }

const json& Field(const json& obj, const char* key, std::string_view where) {
  auto it = obj.find(key);
  if (it == obj.end()) Fail(std::string(where) + " lacks \"" + key + "\"");
  return *it;
}

int64_t Int(const json& obj, const char* key, std::string_view where, int64_t lo, int64_t hi) {
  const json& v = Field(obj, key, where);
  if (!v.is_number_integer()) Fail(std::string(where) + "." + key + " is not an integer");
  int64_t x = v.get<int64_t>();
  if (x < lo || x > hi) {
    Fail(std::string(where) + "." + key + " = " + std::to_string(x) + " is outside " +
         std::to_string(lo) + ".." + std::to_string(hi));
  }
  return x;
}

std::string Str(const json& obj, const char* key, std::string_view where) {
  const json& v = Field(obj, key, where);
  if (!v.is_string()) Fail(std::string(where) + "." + key + " is not a string");
  return v.get<std::string>();
}

template <size_t N>
std::array<int, N> Ints(const json& obj, const char* key, std::string_view where, int lo,
                        int hi) {
  const json& v = Field(obj, key, where);
  if (!v.is_array() || v.size() != N) {
    Fail(std::string(where) + "." + key + " is not a list of " + std::to_string(N));
  }
  std::array<int, N> out{};
  for (size_t i = 0; i < N; ++i) {
    if (!v[i].is_number_integer() || v[i].get<int64_t>() < lo || v[i].get<int64_t>() > hi) {
      Fail(std::string(where) + "." + key + " has a value outside " + std::to_string(lo) +
           ".." + std::to_string(hi));
    }
    out[i] = v[i].get<int>();
  }
  return out;
}

Op ParseOp(const std::string& name, std::string_view where) {
  static const std::map<std::string, Op, std::less<>> kOps = {
      {"Conv", Op::kConv},       {"Relu", Op::kRelu},     {"Sigmoid", Op::kSigmoid},
      {"MaxPool", Op::kMaxPool}, {"Resize", Op::kResize}, {"Concat", Op::kConcat},
      {"Add", Op::kAdd}};
  auto it = kOps.find(name);
  if (it == kOps.end()) Fail(std::string(where) + ": unsupported op \"" + name + "\"");
  return it->second;
}

std::vector<WeightInfo> ParseWeights(const json& list, uint64_t blob_size, bool layouts) {
  if (!list.is_array()) Fail("\"weights\" is not a list");
  std::vector<WeightInfo> out;
  for (size_t i = 0; i < list.size(); ++i) {
    std::string where = "weights[" + std::to_string(i) + "]";
    const json& w = list[i];
    if (!w.is_object()) Fail(where + " is not an object");
    WeightInfo info;
    info.name = Str(w, "name", where);
    std::string dtype = Str(w, "dtype", where);
    if (dtype != "float16" && dtype != "float32") Fail(where + ": dtype " + dtype);
    info.fp16 = dtype == "float16";
    const json& shape = Field(w, "shape", where);
    if (!shape.is_array() || shape.empty() || shape.size() > 4) Fail(where + ": bad shape");
    int64_t elements = 1;
    for (const json& d : shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 1 || d.get<int64_t>() > (1 << 20)) {
        Fail(where + ": a dimension is not 1..1048576");
      }
      info.shape.push_back(d.get<int64_t>());
      elements *= d.get<int64_t>();
      if (elements > (int64_t{1} << 34)) Fail(where + " is too large");
    }
    if (w.contains("layout")) {
      if (!layouts) Fail(where + ": \"layout\" needs sparkify-graph/2");
      const std::string layout = Str(w, "layout", where);
      if (layout == WeightLayoutName(WeightLayout::kOihw8o)) {
        if (info.shape.size() != 4 || info.shape[0] % 8 != 0) {
          Fail(where + ": layout " + layout + " needs 4 dimensions, the first a multiple of 8");
        }
        info.layout = WeightLayout::kOihw8o;
      } else if (layout != WeightLayoutName(WeightLayout::kPlain)) {
        Fail(where + ": unknown layout \"" + layout + "\"");
      }
    }
    info.offset = static_cast<uint64_t>(Int(w, "offset", where, 0, INT64_MAX));
    info.bytes = static_cast<uint64_t>(Int(w, "bytes", where, 0, INT64_MAX));
    if (info.bytes != static_cast<uint64_t>(elements) * (info.fp16 ? 2 : 4)) {
      Fail(where + ": " + std::to_string(info.bytes) + " bytes for its shape");
    }
    if (info.offset % 4 != 0 || info.offset > blob_size || info.bytes > blob_size - info.offset) {
      Fail(where + " lies outside the weights blob");
    }
    out.push_back(std::move(info));
  }
  return out;
}

class NodeParser {
 public:
  explicit NodeParser(Graph& g) : g_(g) {}

  void Parse(const json& list) {
    if (!list.is_array() || list.empty()) Fail("\"nodes\" is not a non-empty list");
    ids_[g_.input_name] = 0;
    g_.values.push_back(g_.input_name);
    channels_.push_back(g_.input_channels);
    for (size_t i = 0; i < list.size(); ++i) Add(list[i], "nodes[" + std::to_string(i) + "]");
  }

  int Lookup(const std::string& name) const {
    auto it = ids_.find(name);
    return it == ids_.end() ? -1 : it->second;
  }

 private:
  void Add(const json& j, const std::string& index) {
    if (!j.is_object()) Fail(index + " is not an object");
    Node n;
    n.op = ParseOp(Str(j, "op", index), index);
    n.name = Str(j, "name", index);
    std::string where = index + " (" + n.name + ")";
    const json& inputs = Field(j, "inputs", where);
    if (!inputs.is_array() || inputs.empty()) Fail(where + ": no inputs");
    for (const json& in : inputs) {
      if (!in.is_string()) Fail(where + ": an input is not a name");
      int id = Lookup(in.get<std::string>());
      if (id < 0) Fail(where + ": input " + in.get<std::string>() + " is not defined before it");
      n.inputs.push_back(id);
    }
    size_t arity = n.inputs.size();
    int channels = channels_[n.inputs[0]];
    switch (n.op) {
      case Op::kConv: channels = ParseConv(j, n, where); break;
      case Op::kMaxPool:
        n.kernel = Ints<2>(j, "kernel", where, 1, kMaxKernel);
        n.strides = Ints<2>(j, "strides", where, 1, kMaxStride);
        n.pads = Ints<4>(j, "pads", where, 0, kMaxPad);
        n.ceil_mode = Int(j, "ceil_mode", where, 0, 1) == 1;
        for (int a = 0; a < 2; ++a) {
          if (n.pads[a] >= n.kernel[a] || n.pads[a + 2] >= n.kernel[a]) {
            Fail(where + ": a pad is not smaller than the kernel");
          }
        }
        break;
      case Op::kResize: {
        n.scale = static_cast<int>(Int(j, "scale", where, 1, kMaxScale));
        std::string mode = Str(j, "mode", where);
        if (mode != "linear" && mode != "nearest") Fail(where + ": resize mode " + mode);
        n.nearest = mode == "nearest";
        break;
      }
      case Op::kConcat:
        if (arity < 2) Fail(where + ": Concat needs two inputs or more");
        channels = 0;
        for (int in : n.inputs) channels += channels_[in];
        break;
      case Op::kAdd:
        if (arity != 2) Fail(where + ": Add needs exactly two inputs");
        if (channels_[n.inputs[1]] != channels) Fail(where + ": Add of different channel counts");
        break;
      case Op::kRelu:
      case Op::kSigmoid: break;
    }
    if (n.op != Op::kConcat && n.op != Op::kAdd && arity != 1) Fail(where + ": one input only");
    std::string out = Str(j, "output", where);
    if (ids_.count(out) != 0) Fail(where + ": value " + out + " is produced twice");
    n.output = static_cast<int>(g_.values.size());
    ids_[out] = n.output;
    g_.values.push_back(out);
    channels_.push_back(channels);
    g_.nodes.push_back(std::move(n));
  }

  int ParseConv(const json& j, Node& n, const std::string& where) {
    int count = static_cast<int>(g_.weights.size());
    n.weight = static_cast<int>(Int(j, "weight", where, 0, count - 1));
    n.bias = static_cast<int>(Int(j, "bias", where, -1, count - 1));
    n.kernel = Ints<2>(j, "kernel", where, 1, kMaxKernel);
    n.strides = Ints<2>(j, "strides", where, 1, kMaxStride);
    n.dilations = Ints<2>(j, "dilations", where, 1, kMaxDilation);
    n.pads = Ints<4>(j, "pads", where, 0, kMaxPad);
    n.group = static_cast<int>(Int(j, "group", where, 1, 1 << 16));
    const auto& shape = g_.weights[n.weight].shape;
    int in_channels = channels_[n.inputs[0]];
    if (shape.size() != 4 || shape[2] != n.kernel[0] || shape[3] != n.kernel[1] ||
        in_channels % n.group != 0 || shape[1] * n.group != in_channels ||
        shape[0] % n.group != 0) {
      Fail(where + ": weights of shape [" + std::to_string(shape[0]) + ", " +
           std::to_string(shape.size() > 1 ? shape[1] : 0) + ", ...] do not fit " +
           std::to_string(in_channels) + " input channels, group " + std::to_string(n.group) +
           " and the kernel");
    }
    if (n.bias >= 0) {
      const auto& b = g_.weights[n.bias].shape;
      if (b.size() != 1 || b[0] != shape[0]) Fail(where + ": bias does not match the weights");
    }
    return static_cast<int>(shape[0]);
  }

  Graph& g_;
  std::map<std::string, int, std::less<>> ids_;
  std::vector<int> channels_;
};

float HalfToFloatPortable(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while ((mant & 0x400) == 0) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

__attribute__((target("f16c,avx"))) void HalvesToFloatsF16c(const uint16_t* in, float* out,
                                                            size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
  for (; i < n; ++i) out[i] = HalfToFloatPortable(in[i]);
}

void HalvesToFloats(const char* in, float* out, size_t n) {
  static const bool f16c = internal::CpuHasF16cAndAvx();
  if (f16c) {
    HalvesToFloatsF16c(reinterpret_cast<const uint16_t*>(in), out, n);
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, in + 2 * i, 2);
    out[i] = HalfToFloatPortable(h);
  }
}

}  // namespace

std::string_view OpName(Op op) {
  switch (op) {
    case Op::kConv: return "Conv";
    case Op::kRelu: return "Relu";
    case Op::kSigmoid: return "Sigmoid";
    case Op::kMaxPool: return "MaxPool";
    case Op::kResize: return "Resize";
    case Op::kConcat: return "Concat";
    case Op::kAdd: return "Add";
  }
  return "?";
}

int64_t WeightInfo::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string_view WeightLayoutName(WeightLayout layout) {
  return layout == WeightLayout::kOihw8o ? "Oihw8o" : "oihw";
}

void Graph::CopyWeight(int id, float* out) const {
  const WeightInfo& w = weights[static_cast<size_t>(id)];
  const char* src = blob.data() + w.offset;
  const size_t n = static_cast<size_t>(w.elements());
  auto convert = [&w](const char* from, float* to, size_t count) {
    if (w.fp16) {
      HalvesToFloats(from, to, count);
    } else {
      std::memcpy(to, from, count * sizeof(float));
    }
  };
  if (w.layout == WeightLayout::kPlain) {
    convert(src, out, n);
    return;
  }
  // Oihw8o: each block of 8 output channels and input channel holds kh x kw runs of 8.
  const size_t per_o = n / static_cast<size_t>(w.shape[0]);     // I kh kw
  const size_t taps = per_o / static_cast<size_t>(w.shape[1]);  // kh kw
  const size_t run = taps * 8, size = w.fp16 ? 2 : 4;
  std::vector<float> buf(run);
  for (size_t q = 0; q < static_cast<size_t>(w.shape[0]) / 8; ++q) {
    for (size_t i = 0; i < static_cast<size_t>(w.shape[1]); ++i) {
      convert(src + ((q * static_cast<size_t>(w.shape[1]) + i) * run) * size, buf.data(), run);
      for (size_t k = 0; k < 8; ++k) {
        float* dst = out + (q * 8 + k) * per_o + i * taps;
        for (size_t t = 0; t < taps; ++t) dst[t] = buf[t * 8 + k];
      }
    }
  }
}

Result<Graph> ParseGraph(std::string_view file) {
  if (file.size() < kMagic.size() + 8 || file.substr(0, kMagic.size()) != kMagic) {
    return Status::Corruption("not a sparkify graph file (no SPKGRAPH header)");
  }
  uint32_t version = ReadU32(file.data() + 8);
  uint32_t header_len = ReadU32(file.data() + 12);
  if (version != kVersion) {
    return Status::Corruption("sparkify graph version " + std::to_string(version) +
                              " is not supported (this build reads version 1)");
  }
  size_t header_end = 16 + static_cast<size_t>(header_len);
  if (header_len > kMaxHeaderBytes || header_end > file.size()) {
    return Status::Corruption("sparkify graph header is truncated or too large");
  }
  size_t blob_start = (header_end + kAlign - 1) / kAlign * kAlign;
  if (blob_start > file.size()) return Status::Corruption("sparkify graph has no weights blob");
  try {
    json doc = json::parse(file.substr(16, header_len));
    if (!doc.is_object()) Fail("the header is not a JSON object");
    const std::string format = Str(doc, "format", "graph");
    if (format != "sparkify-graph/1" && format != "sparkify-graph/2") {
      Fail("format " + format + " is not sparkify-graph/1 or /2 (a newer export? rebuild)");
    }
    Graph g;
    g.blob = file.substr(blob_start);
    const json& input = Field(doc, "input", "graph");
    g.input_name = Str(input, "name", "input");
    g.input_channels = static_cast<int>(Int(input, "channels", "input", 1, 64));
    g.weights =
        ParseWeights(Field(doc, "weights", "graph"), g.blob.size(), format == "sparkify-graph/2");
    NodeParser nodes(g);
    nodes.Parse(Field(doc, "nodes", "graph"));
    g.output = nodes.Lookup(Str(doc, "output", "graph"));
    if (g.output <= 0) Fail("the output is not produced by any node");
    return g;
  } catch (const BadGraph& e) {
    return Status::Corruption("sparkify graph: " + e.why);
  } catch (const json::exception& e) {
    return Status::Corruption(std::string("sparkify graph header: ") + e.what());
  }
}

}  // namespace sparkify::nn
