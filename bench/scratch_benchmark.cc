// Copyright 2026 The mapfile Authors.
//
// Allocate + free of one scratch block per strategy, beside the raw calls it
// wraps, in the same binary: malloc/free, operator new/delete with
// align_val_t, aligned_alloc/free, mmap/munmap (private and shared).
//
// Arguments: {size, touch}. touch=1 also writes one byte per 4 KiB page, the
// cost a block pays on first use (page faults and zeroing for mmap).
//
//   cmake -S . -B build-bench -G Ninja -DMAPFILE_BUILD_BENCHMARKS=ON
//   cmake --build build-bench --target scratch_benchmark
//   build-bench/scratch_benchmark

#include <sys/mman.h>

#include <cstdlib>
#include <new>

#include "benchmark/benchmark.h"
#include "mapfile/scratch.h"

namespace mapfile {
namespace {

// Alignment per strategy: the default for the heap and the maps, a cache line
// for the aligned heap (what it is for).
constexpr size_t AlignmentFor(Strategy s) {
  return s == Strategy::kAlignedHeap ? 64 : alignof(std::max_align_t);
}

void Touch(benchmark::State& state, void* p, size_t size) {
  if (state.range(1) != 0) {
    for (size_t i = 0; i < size; i += 4096) static_cast<volatile char*>(p)[i] = 1;
  }
  benchmark::DoNotOptimize(p);
}

template <Strategy S>
void BM_Allocate(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const Layout layout = *Layout::Create(size, AlignmentFor(S));
  ScratchPolicy policy;
  policy.force = S;
  for (auto _ : state) {
    absl::StatusOr<ScratchBlock> block = Allocate(layout, policy);
    if (!block.ok()) {
      state.SkipWithError("Allocate failed");
      break;
    }
    Touch(state, block->data(), size);
  }
}

// A baseline: `allocate(size)` then `release(p, size)` around the same touch.
template <typename Alloc, typename Release>
void Baseline(benchmark::State& state, Alloc allocate, Release release) {
  const size_t size = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    void* p = allocate(size);
    if (p == nullptr || p == MAP_FAILED) {
      state.SkipWithError("allocation failed");
      break;
    }
    Touch(state, p, size);
    release(p, size);
  }
}

size_t PageRounded(size_t n) { return (n + 4095) & ~size_t{4095}; }

void BM_Malloc(benchmark::State& state) {
  Baseline(state, [](size_t n) { return std::malloc(n); },
           [](void* p, size_t) { std::free(p); });
}
void BM_OperatorNewAligned(benchmark::State& state) {
  constexpr std::align_val_t kAlign{alignof(std::max_align_t)};
  Baseline(
      state, [&](size_t n) { return ::operator new(n, kAlign, std::nothrow); },
      [&](void* p, size_t) { ::operator delete(p, kAlign); });
}
void BM_AlignedAlloc(benchmark::State& state) {
  Baseline(state,
           [](size_t n) { return std::aligned_alloc(64, (n + 63) & ~size_t{63}); },
           [](void* p, size_t) { std::free(p); });
}
template <int kFlags>
void BM_Mmap(benchmark::State& state) {
  Baseline(
      state,
      [](size_t n) {
        return ::mmap(nullptr, PageRounded(n), PROT_READ | PROT_WRITE,
                      kFlags | MAP_ANONYMOUS, -1, 0);
      },
      [](void* p, size_t n) { ::munmap(p, PageRounded(n)); });
}

void Sizes(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "touch"});
  for (int64_t touch : {0, 1}) {
    for (int64_t size : {int64_t{64}, int64_t{64} << 10, int64_t{1} << 20,
                         int64_t{64} << 20}) {
      b->Args({size, touch});
    }
  }
}

BENCHMARK(BM_Malloc)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Allocate, Strategy::kHeap)->Apply(Sizes);
BENCHMARK(BM_OperatorNewAligned)->Apply(Sizes);
BENCHMARK(BM_AlignedAlloc)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Allocate, Strategy::kAlignedHeap)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Mmap, MAP_PRIVATE)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Allocate, Strategy::kAnonymousMap)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Mmap, MAP_SHARED)->Apply(Sizes);
BENCHMARK_TEMPLATE(BM_Allocate, Strategy::kSharedAnonymous)->Apply(Sizes);

}  // namespace
}  // namespace mapfile
