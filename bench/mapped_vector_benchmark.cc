// Copyright 2026 The mapfile Authors.
//
// MappedVector<T> beside std::vector<T>, in the same binary:
//   * push_back of 8 MiB worth of 8 B, 64 B and 4 KiB records into a fresh
//     container: std::vector without and with reserve(), MappedVector on a
//     file (growing it; reserved; refilling one whose pages are resident),
//     and on scratch memory. Opening, closing and removing the file are
//     outside the timing; growth and first-touch page faults are inside.
//   * operator[] at random indices over 64 MiB of uint64_t, resident.
// Files live in $MAPFILE_BENCH_DIR (default /tmp). No Sync() is timed: it
// costs what the disk costs (see mapped_file_benchmark).
//
//   bench/mapped_vector_benchmark --benchmark_min_time=1

#include <stdio.h>
#include <stdlib.h>

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "mapfile/mapped_vector.h"

namespace mapfile {
namespace {

constexpr size_t kPushBytes = 8 << 20;
constexpr size_t kReadElements = (64 << 20) / sizeof(uint64_t);

template <size_t kSize>
struct Record {
  uint64_t values[kSize / 8];
};

std::string BenchFile() {
  const char* dir = getenv("MAPFILE_BENCH_DIR");
  return std::string(dir != nullptr ? dir : "/tmp") +
         "/mapped_vector_benchmark.vec";
}

template <typename V>
V OrDie(absl::StatusOr<V> v) {
  if (!v.ok()) {
    fprintf(stderr, "%s\n", v.status().ToString().c_str());
    abort();
  }
  return *std::move(v);
}

// kFileWarm: one file, clear() and refill: its pages are mapped and
// resident, as a reserved std::vector's reused heap memory is.
enum Backend { kStd, kStdReserved, kFile, kFileReserved, kFileWarm, kScratch };

template <size_t kSize, Backend kBackend>
void BM_PushBack(benchmark::State& state) {
  using R = Record<kSize>;
  const size_t n = kPushBytes / kSize;
  R record{};
  std::optional<MappedVector<R>> warm;
  if (kBackend == kFileWarm) {
    remove(BenchFile().c_str());
    warm.emplace(OrDie(MappedVector<R>::Open(BenchFile())));
  }
  for (auto _ : state) {
    if constexpr (kBackend == kFileWarm) {
      warm->clear();
      for (size_t i = 0; i < n; ++i) {
        record.values[0] = i;
        if (!warm->push_back(record).ok()) abort();
      }
      benchmark::DoNotOptimize(warm->data());
    } else if constexpr (kBackend == kStd || kBackend == kStdReserved) {
      std::vector<R> v;
      if (kBackend == kStdReserved) v.reserve(n);
      for (size_t i = 0; i < n; ++i) {
        record.values[0] = i;
        v.push_back(record);
      }
      benchmark::DoNotOptimize(v.data());
      state.PauseTiming();  // the free is not the push_back's
      v = std::vector<R>();
      state.ResumeTiming();
    } else {
      state.PauseTiming();
      remove(BenchFile().c_str());
      MappedVector<R> v =
          OrDie(kBackend == kScratch ? MappedVector<R>::CreateScratch()
                                     : MappedVector<R>::Open(BenchFile()));
      if (kBackend == kFileReserved && !v.reserve(n).ok()) abort();
      state.ResumeTiming();
      for (size_t i = 0; i < n; ++i) {
        record.values[0] = i;
        if (!v.push_back(record).ok()) abort();
      }
      benchmark::DoNotOptimize(v.data());
      state.PauseTiming();
      v = OrDie(MappedVector<R>::CreateScratch());  // closes the file
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * kSize);
}

#define MAPFILE_PUSH_BACK(size)                         \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kStd);          \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kStdReserved);  \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFile);         \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFileReserved); \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFileWarm);     \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kScratch)
MAPFILE_PUSH_BACK(8);
MAPFILE_PUSH_BACK(64);
MAPFILE_PUSH_BACK(4096);

const std::vector<uint32_t>& Indices() {
  static const std::vector<uint32_t>* indices = [] {
    auto* v = new std::vector<uint32_t>(1 << 20);
    std::mt19937 random(42);
    for (uint32_t& i : *v) i = random() % kReadElements;
    return v;
  }();
  return *indices;
}

template <typename V>
void RandomReads(benchmark::State& state, const V& v) {
  const std::vector<uint32_t>& indices = Indices();
  uint64_t sum = 0;
  for (auto _ : state) {
    for (uint32_t i : indices) sum += v[i];
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * indices.size());
}

void BM_RandomRead_StdVector(benchmark::State& state) {
  std::vector<uint64_t> v(kReadElements);
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  RandomReads(state, v);
}
BENCHMARK(BM_RandomRead_StdVector);

void BM_RandomRead_MappedVector(benchmark::State& state) {
  remove(BenchFile().c_str());
  MappedVector<uint64_t> v = OrDie(MappedVector<uint64_t>::Open(BenchFile()));
  if (!v.resize(kReadElements).ok()) abort();
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  RandomReads(state, v);
  remove(BenchFile().c_str());
}
BENCHMARK(BM_RandomRead_MappedVector);

}  // namespace
}  // namespace mapfile
