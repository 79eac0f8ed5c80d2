// AllocateLarge and WeightCache (internal/compile.h): the memory the compiled plans share,
// and the weights converted into the layouts their primitives and our kernels ask for.
#include <sys/mman.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>

#include "nn/internal/compile.h"
#include "nn/internal/winograd_weights.h"

namespace sparkify::nn::internal {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

std::shared_ptr<void> AllocateLarge(size_t bytes, bool huge_pages) {
  constexpr size_t kHuge = 2u << 20;
  size_t size = (std::max<size_t>(bytes, 1) + kHuge - 1) / kHuge * kHuge;
  // Over-map by one huge page so the block can start on a huge-page boundary.
  void* raw =
      ::mmap(nullptr, size + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + kHuge - 1) / kHuge * kHuge;
  size_t head = start - reinterpret_cast<uintptr_t>(raw);
  if (head > 0) ::munmap(raw, head);
  if (kHuge - head > 0) ::munmap(reinterpret_cast<char*>(start) + size, kHuge - head);
  void* p = reinterpret_cast<void*>(start);
  // Advice only: 4 KiB pages if the kernel has no huge ones. NOHUGEPAGE keeps a system set to
  // `always` from giving them anyway.
  ::madvise(p, size, huge_pages ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
  return std::shared_ptr<void>(p, [size](void* q) { ::munmap(q, size); });
}

void* WeightCache::Take(size_t bytes) {
  bytes = (bytes + 63) / 64 * 64;
  if (chunks_.empty() || chunk_used_ + bytes > chunk_size_) {
    chunk_size_ = std::max<size_t>(bytes, 32u << 20);
    auto chunk = AllocateLarge(chunk_size_, huge_pages_);
    if (!chunk) throw std::bad_alloc();
    chunks_.push_back(std::move(chunk));
    chunk_used_ = 0;
  }
  void* p = static_cast<char*>(chunks_.back().get()) + chunk_used_;
  chunk_used_ += bytes;
  bytes_ += bytes;
  return p;
}

void* WeightCache::Buffer::Reserve(size_t need, bool huge_pages) {
  if (need > bytes) {
    mem = {};  // the old one goes first: the peak holds one
    mem = AllocateLarge(need, huge_pages);
    if (!mem) {
      bytes = 0;
      throw std::bad_alloc();
    }
    bytes = need;
  }
  return mem.get();
}

void* WeightCache::FromLoan(size_t offset, size_t need) {
  if (loan_ == nullptr || offset > loan_bytes_ || need > loan_bytes_ - offset) return nullptr;
  loan_used_ = std::max(loan_used_, offset + need);
  return loan_ + offset;
}

void WeightCache::EndLoan() {
  if (loan_ != nullptr) std::memset(loan_, 0, loan_used_);
  loan_ = nullptr;
  loan_bytes_ = loan_used_ = 0;
}

// The plain weight at the loan's start, the reorder's scratch after it (PlainBytes).
namespace {
size_t PlainBytes(const Graph& g, int id) {
  const size_t n = static_cast<size_t>(g.weights[static_cast<size_t>(id)].elements());
  return (n * sizeof(float) + 63) / 64 * 64;
}
}  // namespace

float* WeightCache::Plain(int id) {
  const size_t n = static_cast<size_t>(graph_.weights[static_cast<size_t>(id)].elements());
  void* lent = FromLoan(0, n * sizeof(float));
  auto* plain =
      static_cast<float*>(lent != nullptr ? lent : plain_.Reserve(n * sizeof(float), huge_pages_));
  graph_.CopyWeight(id, plain);
  return plain;
}

dnnl::memory WeightCache::Weights(int id, const memory::dims& dims, const memory::desc& md) {
  for (const Entry& e : entries_) {
    if (e.id == id && e.md == md) return e.mem;
  }
  float* plain_data = Plain(id);
  memory plain(memory::desc(dims, dt::f32, dims.size() == 5 ? tag::goihw : tag::oihw), engine_,
               plain_data);
  const bool ours =
      convert_onednn_winograd_ && dims.size() == 4 && WinogradWeightsFit(md, dims[0], dims[1]);
  // What can fail comes before the memory is taken (taken memory is never given back).
  std::optional<dnnl::reorder::primitive_desc> pd;
  void* scratch = nullptr;
  if (!ours) {
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    pd.emplace(engine_, plain.get_desc(), engine_, md, attr);
    if (size_t need = pd->scratchpad_desc().get_size(); need > 0) {
      scratch = FromLoan(PlainBytes(graph_, id), need);
      if (scratch == nullptr) scratch = scratch_.Reserve(need, huge_pages_);
    }
  }
  memory mem(md, engine_, Take(md.get_size()));
  if (ours) {
    WinogradWeights(md, plain_data, dims[0], dims[1], static_cast<float*>(mem.get_data_handle()));
  } else {
    std::unordered_map<int, memory> args{{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, mem}};
    if (scratch != nullptr) {
      args[DNNL_ARG_SCRATCHPAD] = memory(pd->scratchpad_desc(), engine_, scratch);
    }
    dnnl::stream s(engine_);
    dnnl::reorder(*pd).execute(s, args);
    s.wait();
  }
  entries_.push_back({id, md, mem, {}});
  return mem;
}

const void* WeightCache::Ours(int id, const std::string& layout) const {
  for (const Entry& e : entries_) {
    if (e.id == id && e.layout == layout) return e.mem.get_data_handle();
  }
  return nullptr;
}

const float* WeightCache::Converted(
    int id, const std::string& layout, size_t floats,
    const std::function<void(const float* plain, float* out)>& convert) {
  if (const void* done = Ours(id, layout)) return static_cast<const float*>(done);
  const float* plain_data = Plain(id);
  memory::desc md({static_cast<memory::dim>(floats)}, dt::f32, tag::x);
  memory mem(md, engine_, Take(floats * sizeof(float)));
  convert(plain_data, static_cast<float*>(mem.get_data_handle()));
  entries_.push_back({id, memory::desc(), mem, layout});
  return static_cast<const float*>(mem.get_data_handle());
}

const uint16_t* WeightCache::ConvertedHalves(
    int id, WeightLayout in_file, const std::string& layout, size_t halves,
    const std::function<void(const void* plain, uint16_t* out)>& convert) {
  if (const void* done = Ours(id, layout)) return static_cast<const uint16_t*>(done);
  const WeightInfo& w = graph_.weights[static_cast<size_t>(id)];
  const char* plain = graph_.WeightData(id);  // ParseGraph: inside the blob
  if (w.layout == in_file && w.layout != WeightLayout::kPlain && w.bytes == halves * 2) {
    // In place: at an even address (weights lie at multiples of 4 in a blob that starts on
    // 64 bytes of the file). Listed, so that the bytes count once.
    memory::desc md({static_cast<memory::dim>(halves)}, dt::f16, tag::x);
    memory mem(md, engine_, const_cast<char*>(plain));
    entries_.push_back({id, memory::desc(), mem, layout});
    in_file_bytes_ += w.bytes;
    return reinterpret_cast<const uint16_t*>(plain);
  }
  memory::desc md({static_cast<memory::dim>(halves)}, dt::f16, tag::x);
  memory mem(md, engine_, Take(halves * sizeof(uint16_t)));
  convert(plain, static_cast<uint16_t*>(mem.get_data_handle()));
  entries_.push_back({id, memory::desc(), mem, layout});
  return static_cast<const uint16_t*>(mem.get_data_handle());
}

dnnl::memory WeightCache::Bias(int id) {
  memory::dims dims{graph_.weights[static_cast<size_t>(id)].shape[0]};
  memory::desc md(dims, dt::f32, tag::x);
  for (const Entry& e : entries_) {
    if (e.id == id && e.md == md) return e.mem;
  }
  memory mem(md, engine_, Take(md.get_size()));
  graph_.CopyWeight(id, static_cast<float*>(mem.get_data_handle()));
  entries_.push_back({id, md, mem, {}});
  return mem;
}

}  // namespace sparkify::nn::internal
