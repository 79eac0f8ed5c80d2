#include "nn/network.h"

#include <malloc.h>
#include <omp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <list>
#include <mutex>

#include "nn/internal/compile.h"
#include "nn/internal/winograd_conv.h"

namespace sparkify::nn {
namespace {

using internal::CompiledPlan;

dnnl::cpu_isa EffectiveIsa() { return dnnl::get_effective_cpu_isa(); }

std::atomic<bool> g_avx512_layout_for_tests{false};  // internal::UseAvx512LayoutForTests

bool HasAvx512() {
  switch (EffectiveIsa()) {
    case dnnl::cpu_isa::avx512_core:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx: return true;
    default: return false;
  }
}

int CpusAvailable() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return 1;
}

}  // namespace

int DefaultThreads() {
  int n = CpusAvailable();
  // OpenMP's form: a positive number, or a list for nested levels ("4,2"), of which the first
  // is ours; blanks around it allowed. Anything else is not a cap (libgomp warns about it).
  if (const char* v = std::getenv("OMP_NUM_THREADS"); v != nullptr) {
    char* end = nullptr;
    errno = 0;
    const long cap = std::strtol(v, &end, 10);
    while (end != v && (*end == ' ' || *end == '\t')) ++end;
    const bool listed = end != v && *end == ',' && end[1] >= '0' && end[1] <= '9';
    if (end != v && (*end == '\0' || listed) && errno == 0 && cap > 0) {
      n = static_cast<int>(std::min<long>(n, cap));
    }
  }
  return n;
}

std::string_view PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kFast:
      return "fast";
    case Precision::kBf16:
      return "bf16";
  }
  return "?";
}

Result<Precision> ParsePrecision(std::string_view name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "fast") return Precision::kFast;
  if (name == "bf16") return Precision::kBf16;
  return Status::InvalidArgument("precision must be fp32, fast or bf16, not \"" +
                                 std::string(name) + "\"");
}

bool CpuSupports(Precision p) {
  if (p != Precision::kBf16) return true;
  auto isa = EffectiveIsa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

std::string CpuIsaName() {
  switch (EffectiveIsa()) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

struct Network::Impl {
  std::shared_ptr<const void> file_owner;
  Graph graph;
  NetworkOptions options;
  internal::Settings settings;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::mutex mu;  // guards everything below, and serialises forward passes
  std::unique_ptr<internal::WeightCache> weights;
  std::list<std::unique_ptr<CompiledPlan>> plans;  // most recently used first

  Result<CompiledPlan*> PlanFor(int height, int width) {
    for (auto it = plans.begin(); it != plans.end(); ++it) {
      if ((*it)->height == height && (*it)->width == width) {
        plans.splice(plans.begin(), plans, it);
        return plans.front().get();
      }
    }
    auto plan = internal::Compile(graph, height, width, settings, *weights, engine);
    if (!plan.ok()) {
      weights->ReleaseBuffer();
      return plan.status();
    }
    plans.push_front(std::move(*plan));
    while (static_cast<int>(plans.size()) > 1 + std::max(0, options.max_cached_plans)) {
      plans.pop_back();
    }
    // Building primitives and converting weights leaves tens of MB of freed heap resident
    // (glibc keeps it for reuse), and the conversion buffer: give them back, they are not
    // needed until another size is planned.
    weights->ReleaseBuffer();
    ::malloc_trim(0);
    return plans.front().get();
  }
};

Result<std::unique_ptr<Network>> Network::Create(std::string file, const NetworkOptions& options) {
  auto owned = std::make_shared<const std::string>(std::move(file));
  std::string_view view(*owned);
  return Create(std::move(owned), view, options);
}

Result<std::unique_ptr<Network>> Network::Create(std::shared_ptr<const void> owner,
                                                 std::string_view file,
                                                 const NetworkOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->file_owner = std::move(owner);
  SPARKIFY_ASSIGN_OR_RETURN(impl->graph, ParseGraph(file));
  impl->options = options;
  if (options.winograd_block_bytes > (size_t{1} << 30) || options.winograd_min_rows < 0 ||
      options.winograd_min_rows > 4096) {
    return Status::InvalidArgument("winograd_block_bytes is 0 .. 1 GiB, min_rows 0 .. 4096");
  }
  if (!CpuSupports(options.precision)) {
    return Status::FailedPrecondition(std::string("this CPU (") + CpuIsaName() + ") has no " +
                                      std::string(PrecisionName(options.precision)) +
                                      " instructions; use --precision fp32");
  }
  internal::Settings& s = impl->settings;
  const bool wide = HasAvx512() || g_avx512_layout_for_tests.load(std::memory_order_relaxed);
  s.block = wide ? 16 : 8;
  s.blocked = wide ? dnnl::memory::format_tag::nChw16c : dnnl::memory::format_tag::nChw8c;
  s.act = options.precision == Precision::kBf16 ? dnnl::memory::data_type::bf16
                                                : dnnl::memory::data_type::f32;
  s.winograd = options.winograd;
  s.winograd_min_share = options.winograd_min_share;
  s.winograd_f6_share = options.winograd_f6_share;
  s.own_winograd = options.own_winograd;
  s.winograd_compact = options.winograd_compact;
  s.winograd_compact_f6 = options.winograd_compact_f6;
  s.winograd_compact_many_blocks = options.winograd_compact_many_blocks;
  s.winograd_f8 = options.winograd_f8 || options.precision == Precision::kFast;
  if (options.winograd_block_bytes > 0) {
    s.winograd_blocking.block_bytes = options.winograd_block_bytes;
  }
  if (options.winograd_min_rows > 0) {
    s.winograd_blocking.min_rows = options.winograd_min_rows;
  }
  s.winograd_blocking.split_channels = options.winograd_split_channels;
  s.threads = options.threads > 0 ? options.threads : DefaultThreads();
  s.huge_pages = options.huge_pages;
  omp_set_num_threads(s.threads);
  impl->weights =
      std::make_unique<internal::WeightCache>(impl->graph, impl->engine,
                                              /*convert_onednn_winograd=*/true, options.huge_pages);
  return std::unique_ptr<Network>(new Network(std::move(impl)));
}

Network::Network(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Network::~Network() = default;

const Graph& Network::graph() const { return impl_->graph; }
const NetworkOptions& Network::options() const { return impl_->options; }

uint64_t Network::weight_bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->weights->bytes();
}

uint64_t Network::weight_bytes_in_file() const {
  std::lock_guard lock(impl_->mu);
  return impl_->weights->in_file_bytes();
}

uint64_t Network::arena_bytes() const {
  std::lock_guard lock(impl_->mu);
  uint64_t total = 0;
  for (const auto& p : impl_->plans) total += p->arena_bytes + p->scratch_bytes;
  return total;
}

Status Network::Prepare(int height, int width) {
  std::lock_guard lock(impl_->mu);
  return impl_->PlanFor(height, width).status();
}

Result<Tensor> Network::Run(const float* input, int height, int width,
                            std::vector<StepTiming>* timings) {
  std::lock_guard lock(impl_->mu);
  SPARKIFY_ASSIGN_OR_RETURN(CompiledPlan * plan, impl_->PlanFor(height, width));
  Tensor out;
  out.shape = plan->shapes[static_cast<size_t>(impl_->graph.output)];
  out.data.resize(static_cast<size_t>(out.shape.elements()));
  plan->input_user.set_data_handle(const_cast<float*>(input));  // read only
  plan->output_user.set_data_handle(out.data.data());
  if (timings != nullptr) timings->clear();
  try {
    for (auto& e : plan->execs) {
      auto t0 = std::chrono::steady_clock::now();
      if (e.run) {
        impl_->stream.wait();  // what it reads is written
        e.run();
      } else {
        e.prim.execute(impl_->stream, e.args);
      }
      if (timings != nullptr) {
        impl_->stream.wait();
        double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() -
                                                              t0)
                        .count();
        timings->push_back({e.name, e.impl, ms, e.gflop});
      }
    }
    impl_->stream.wait();
  } catch (const dnnl::error& e) {
    return Status::Internal(std::string("oneDNN failed during the forward pass: ") + e.what());
  } catch (const std::exception& e) {  // our own steps: a thread that could not start
    return Status::Internal(std::string("the forward pass failed: ") + e.what());
  }
  plan->input_user.set_data_handle(DNNL_MEMORY_NONE);
  plan->output_user.set_data_handle(DNNL_MEMORY_NONE);
  return out;
}

namespace internal {

void UseAvx512LayoutForTests(bool on) {
  if (on) EmulateAvx512BlocksForTests(true);  // only where the CPU has no AVX-512 of its own
  g_avx512_layout_for_tests.store(on);
}

}  // namespace internal
}  // namespace sparkify::nn
