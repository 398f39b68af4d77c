// Copyright 2026 The mapfile Authors.
//
// MappedVector<T> beside its baselines, in the same binary:
//   * push_back of 8 MiB worth of 8 B, 64 B and 4 KiB records (BM_PushBack,
//     one Backend per line below): the memcpy ceiling of the same bytes,
//     std::vector growing, reserve()d anew, and one reserve()d vector
//     refilled (pages resident), MappedVector on a fresh file
//     (growing; reserve(n) first; reserve(n) with populate), on a file whose
//     pages are resident (push_back, and append() of 256 records at a time),
//     on scratch memory, and a Boost.Interprocess vector in a fresh
//     managed_mapped_file and in one whose pages are resident. Opening, closing
//     and removing files are outside the timing; growth and first-touch page
//     faults are inside. Records are copied from a ring of 256 whose contents
//     the compiler cannot see, so no backend gets to store constants.
//   * operator[] at random indices over 64 MiB of uint64_t, resident.
//   * Sync() after 1 and after 1000 pushed 64 B records, beside raw msync
//     (MS_SYNC) + fdatasync of the same pages and pwrite + fdatasync of the
//     same bytes; Sync() after 1 record on small and on huge pages, with the
//     bytes each writes (BM_SyncOneRecord).
//   * Open (and close) of a 1 MiB and a 1 GiB vector: O(1) in the size.
//   * Open to close, as a program writes a new vector (docs/PERFORMANCE.md,
//     "The vector's write path"): BM_VectorOpenPushClose<size, pretouch>
//     opens a new file (default options, or VectorOptions::pretouch =
//     4 MiB), push_backs 2,000,000 records of 8 B or 64 B and closes it
//     (the destructor); vs BM_StdReservedPushFree<size>: std::vector
//     reserve(n), the same push_backs, the free, on memory fresh from the
//     kernel as a program's first use of it finds it (malloc_trim after
//     each iteration), and BM_StdReservedPushFree<size, warm>: the same on
//     memory the allocator kept from the previous iteration. These run once
//     per directory of $MAPFILE_BENCH_DIRS (default "/var/tmp /dev/shm"),
//     named after its file system (BM_VectorOpenPushClose<8, 0>/ext4, ...),
//     with manual time: removing the previous file is not timed. Counter
//     cpu_ms: the timed part's CPU time on the writing thread.
// Other files live in $MAPFILE_BENCH_DIR (default /tmp).
//
//   bench/run                      # all of bench/, with RESULTS.md
//   build-bench/mapped_vector_benchmark --benchmark_filter=PushBack

#include <malloc.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "boost/interprocess/allocators/allocator.hpp"
#include "boost/interprocess/containers/vector.hpp"
#include "boost/interprocess/managed_mapped_file.hpp"
#include "mapfile/internal/os.h"
#include "mapfile/mapped_vector.h"

namespace mapfile {
namespace {

using bench::BenchFile;
using bench::OrDie;
using bench::Record;
namespace bip = boost::interprocess;

constexpr size_t kPushBytes = 8 << 20;
constexpr size_t kInput = 256;
constexpr size_t kReadElements = (64 << 20) / sizeof(uint64_t);

// kInput records with distinct contents, made at run time.
template <size_t kSize>
const std::vector<Record<kSize>>& Input() {
  static const auto* input = [] {
    auto* v = new std::vector<Record<kSize>>(kInput);
    std::mt19937_64 random(kSize);
    for (Record<kSize>& r : *v) {
      for (uint64_t& x : r.values) x = random();
    }
    return v;
  }();
  return *input;
}

// n push_backs from the input ring.
template <typename V, typename R>
void PushAll(V& v, const std::vector<R>& input, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if constexpr (std::is_void_v<decltype(v.push_back(input[0]))>) {
      v.push_back(input[i % kInput]);
    } else {
      OrDie(v.push_back(input[i % kInput]));
    }
  }
  benchmark::DoNotOptimize(v.data());
  benchmark::ClobberMemory();
}

template <typename R>
using BoostVector = bip::vector<
    R, bip::allocator<R, bip::managed_mapped_file::segment_manager>>;

enum Backend {
  kMemcpy,          // memcpy of the same bytes into resident memory: ceiling
  kStd,             // std::vector, growing
  kStdReserved,     // std::vector, reserve(n) (timed), a new one each time
  kStdReused,       // one std::vector, reserve(n)d, clear() and refill
  kFile,            // MappedVector, fresh file, growing
  kFileReserved,    // ... reserve(n) first (timed)
  kFilePopulate,    // ... with VectorOptions::populate: reserve pre-faults
  kFileWarm,        // one file, clear() and refill: pages resident
  kFileWarmAppend,  // the same, append() of kInput records at a time
  kScratch,         // MappedVector::CreateScratch, growing
  kBoost,           // Boost.Interprocess vector, fresh managed_mapped_file
  kBoostWarm,       // one such vector, clear() and refill: pages resident
};

template <size_t kSize, Backend kBackend>
void BM_PushBack(benchmark::State& state) {
  using R = Record<kSize>;
  const std::vector<R>& input = Input<kSize>();
  const size_t n = kPushBytes / kSize;
  const std::string path = BenchFile("mapped_vector_benchmark.vec");
  std::vector<R> target(kBackend == kMemcpy ? n : 0);  // resident
  std::vector<R> reserved;
  reserved.reserve(kBackend == kStdReused ? n : 0);
  PushAll(reserved, input, reserved.capacity());  // makes its pages resident
  std::optional<MappedVector<R>> warm;
  if (kBackend == kFileWarm || kBackend == kFileWarmAppend) {
    warm.emplace(OrDie(MappedVector<R>::Open(path)));
    OrDie(warm->resize(n));  // makes every page resident
  }
  std::optional<bip::managed_mapped_file> segment;
  BoostVector<R>* boost_warm = nullptr;
  if (kBackend == kBoostWarm) {
    segment.emplace(bip::create_only, path.c_str(), 4 * kPushBytes);
    boost_warm = segment->construct<BoostVector<R>>("v")(
        segment->get_segment_manager());
    boost_warm->resize(n);  // makes every page resident
  }
  for (auto _ : state) {
    if constexpr (kBackend == kMemcpy) {
      for (size_t i = 0; i < n; i += kInput) {
        memcpy(&target[i], input.data(), std::min(kInput, n - i) * kSize);
      }
      benchmark::DoNotOptimize(target.data());
      benchmark::ClobberMemory();
    } else if constexpr (kBackend == kFileWarm) {
      warm->clear();
      PushAll(*warm, input, n);
    } else if constexpr (kBackend == kBoostWarm) {
      boost_warm->clear();
      PushAll(*boost_warm, input, n);
    } else if constexpr (kBackend == kFileWarmAppend) {
      warm->clear();
      for (size_t i = 0; i < n; i += kInput) {
        OrDie(warm->append(absl::MakeConstSpan(input).first(
            std::min(kInput, n - i))));
      }
      benchmark::DoNotOptimize(warm->data());
    } else if constexpr (kBackend == kStdReused) {
      reserved.clear();
      PushAll(reserved, input, n);
    } else if constexpr (kBackend == kStd || kBackend == kStdReserved) {
      std::vector<R> v;
      if (kBackend == kStdReserved) v.reserve(n);
      PushAll(v, input, n);
      state.PauseTiming();  // the free is not the push_back's
      v = std::vector<R>();
      state.ResumeTiming();
    } else if constexpr (kBackend == kBoost) {
      state.PauseTiming();
      remove(path.c_str());
      segment.emplace(bip::create_only, path.c_str(), 4 * kPushBytes);
      auto* v = segment->construct<BoostVector<R>>("v")(
          segment->get_segment_manager());
      state.ResumeTiming();
      PushAll(*v, input, n);
      state.PauseTiming();
      segment.reset();
      state.ResumeTiming();
    } else {
      state.PauseTiming();
      remove(path.c_str());
      VectorOptions options;
      options.populate = kBackend == kFilePopulate;
      MappedVector<R> v =
          OrDie(kBackend == kScratch ? MappedVector<R>::CreateScratch()
                                     : MappedVector<R>::Open(path, options));
      state.ResumeTiming();
      if (kBackend == kFileReserved || kBackend == kFilePopulate) {
        OrDie(v.reserve(n));
      }
      PushAll(v, input, n);
      state.PauseTiming();
      v = OrDie(MappedVector<R>::CreateScratch());  // closes the file
      state.ResumeTiming();
    }
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * n * kSize);
  remove(path.c_str());
}

#define MAPFILE_PUSH_BACK(size)                           \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kMemcpy);         \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kStd);            \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kStdReserved);    \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kStdReused);      \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFile);           \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFileReserved);   \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFilePopulate);   \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFileWarm);       \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kFileWarmAppend); \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kScratch);        \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kBoost);          \
  BENCHMARK_TEMPLATE(BM_PushBack, size, kBoostWarm)
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
  const std::string path = BenchFile("mapped_vector_benchmark.read");
  MappedVector<uint64_t> v = OrDie(MappedVector<uint64_t>::Open(path));
  OrDie(v.resize(kReadElements));
  for (size_t i = 0; i < v.size(); ++i) v[i] = i;
  RandomReads(state, v);
  remove(path.c_str());
}
BENCHMARK(BM_RandomRead_MappedVector);

// Making `records` new 64 B records durable. how: 0 = push_back each, then
// MappedVector::Sync(); 1 = the same records stored into the mapping, then
// msync(MS_SYNC) of their pages + fdatasync (the least a Sync can do);
// 2 = pwrite of the same bytes at the same offset + fdatasync.
void BM_Sync(benchmark::State& state) {
  using R = Record<64>;
  const size_t records = static_cast<size_t>(state.range(0));
  const int64_t how = state.range(1);
  constexpr size_t kMax = (16 << 20) / sizeof(R);  // then start over at 0
  const std::vector<R>& input = Input<64>();
  std::vector<R> batch(records);
  for (size_t i = 0; i < records; ++i) batch[i] = input[i % kInput];
  const std::string path = BenchFile("mapped_vector_benchmark.sync");
  MappedVector<R> v = OrDie(MappedVector<R>::Open(path));
  if (how != 0) OrDie(v.resize(kMax));
  OrDie(v.Sync());
  const uintptr_t page = os::PageSize();
  size_t at = 0;
  for (auto _ : state) {
    if (at + records > kMax) {
      at = 0;
      if (how == 0) v.clear();
    }
    if (how == 0) {
      PushAll(v, batch, records);
      OrDie(v.Sync());
    } else if (how == 1) {
      std::copy(batch.begin(), batch.end(), &v[at]);
      const uintptr_t begin = reinterpret_cast<uintptr_t>(&v[at]) & ~(page - 1);
      const uintptr_t end = reinterpret_cast<uintptr_t>(&v[at] + records);
      OrDie(os::Msync(reinterpret_cast<void*>(begin), end - begin, MS_SYNC,
                      path));
      OrDie(os::Fdatasync(v.file()->fd(), path));
    } else {
      const auto* base = reinterpret_cast<const std::byte*>(v.file()->data());
      OrDie(os::Pwrite(v.file()->fd(), path, batch.data(),
                       records * sizeof(R),
                       reinterpret_cast<const std::byte*>(&v[at]) - base));
      OrDie(os::Fdatasync(v.file()->fd(), path));
    }
    at += records;
  }
  state.SetItemsProcessed(state.iterations() * records);
  remove(path.c_str());
}
BENCHMARK(BM_Sync)
    ->ArgNames({"records", "how"})  // how: 0 Sync, 1 msync+fdatasync, 2 pwrite
    ->ArgsProduct({{1, 1000}, {0, 1, 2}})
    ->UseRealTime();

// Bytes this process has caused to be written to storage (/proc/self/io).
uint64_t WriteBytes() {
  FILE* f = fopen("/proc/self/io", "r");
  if (f == nullptr) return 0;
  char line[256];
  unsigned long long bytes = 0;
  while (fgets(line, sizeof(line), f) != nullptr) {
    if (sscanf(line, "write_bytes: %llu", &bytes) == 1) break;
  }
  fclose(f);
  return bytes;
}

// push_back of one 64 B record, then Sync(), past the first 4 MiB of a
// 16 MiB vector. pages: 0 = small (the vector grew after a Sync: what a
// writer that syncs as it goes has); 1 = huge (VectorOptions::huge_pages);
// 2 = default options, the pages faulted in before the first Sync (growth
// asked for huge pages until then). Counter written_per_sync: the
// bytes each Sync wrote to the device. A sync writes back whole folios.
void BM_SyncOneRecord(benchmark::State& state) {
  using R = Record<64>;
  const std::vector<R>& input = Input<64>();
  const std::string path = BenchFile("mapped_vector_benchmark.sync1");
  const int64_t pages = state.range(0);
  VectorOptions options;
  options.huge_pages = pages == 1;
  MappedVector<R> v = OrDie(MappedVector<R>::Open(path, options));
  if (pages != 2) OrDie(v.Sync());  // growth from here on: small pages
  constexpr size_t kStart = (4 << 20) / sizeof(R);
  constexpr size_t kMax = (16 << 20) / sizeof(R);
  OrDie(v.resize(kMax));  // value-initialised: every page faulted in
  OrDie(v.resize(kStart));
  OrDie(v.Sync());
  const uint64_t written = WriteBytes();
  size_t i = 0;
  for (auto _ : state) {
    if (v.size() == kMax) OrDie(v.resize(kStart));
    OrDie(v.push_back(input[i++ % kInput]));
    OrDie(v.Sync());
  }
  state.counters["written_per_sync"] =
      benchmark::Counter(static_cast<double>(WriteBytes() - written) /
                         static_cast<double>(state.iterations()));
  remove(path.c_str());
}
BENCHMARK(BM_SyncOneRecord)
    ->ArgName("pages")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime();

// Trivially copyable, and value-initialisation leaves its bytes alone: a
// resize() to 1 GiB costs the growth (fallocate), not writing 1 GiB.
struct Untouched {
  Untouched() {}
  uint64_t value;
};

// Open and close of a vector of range(0) bytes, made outside the timing.
void BM_Open(benchmark::State& state) {
  const std::string path = BenchFile("mapped_vector_benchmark.open");
  {
    auto v = OrDie(MappedVector<Untouched>::Open(path));
    OrDie(v.resize(static_cast<size_t>(state.range(0)) / sizeof(Untouched)));
    OrDie(v.Sync());
  }
  for (auto _ : state) {
    auto v = OrDie(MappedVector<Untouched>::Open(path));
    benchmark::DoNotOptimize(v.data());
  }
  remove(path.c_str());
}
BENCHMARK(BM_Open)->ArgName("bytes")->Arg(1 << 20)->Arg(1 << 30);

// push_back of 64 B records into a new file, kPushBytes per iteration (the
// file made and removed outside the timing). Arg: VectorOptions::pretouch
// bytes (0: off; docs/PERFORMANCE.md). Every page is a first touch.
void BM_PushBackPretouch(benchmark::State& state) {
  using R = Record<64>;
  const std::vector<R>& input = Input<64>();
  const std::string path = BenchFile("mapped_vector_benchmark.pretouch");
  VectorOptions o;
  o.pretouch = static_cast<uint64_t>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    remove(path.c_str());
    std::optional<MappedVector<R>> v(OrDie(MappedVector<R>::Open(path, o)));
    state.ResumeTiming();
    for (size_t i = 0; i < kPushBytes / sizeof(R); ++i) {
      OrDie(v->push_back(input[i % kInput]));
    }
    state.PauseTiming();
    v.reset();
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() * kPushBytes);
  remove(path.c_str());
}
BENCHMARK(BM_PushBackPretouch)->ArgName("pretouch")->Arg(0)->Arg(4 << 20);

constexpr size_t kFreshRecords = 2000000;

int64_t NowNs(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// Wall time of the timed part as the iteration's (manual) time, and its CPU
// time on this thread as the counter cpu_ms (Google Benchmark's CPU column
// also counts the untimed removal of the previous file or free memory).
class TimedPart {
 public:
  TimedPart() : wall_(NowNs()), cpu_(NowNs(CLOCK_THREAD_CPUTIME_ID)) {}
  void End(benchmark::State& state, double* cpu_ns) {
    *cpu_ns += static_cast<double>(NowNs(CLOCK_THREAD_CPUTIME_ID) - cpu_);
    state.SetIterationTime(static_cast<double>(NowNs() - wall_) * 1e-9);
  }

 private:
  int64_t wall_, cpu_;
};

void SetCpuMs(benchmark::State& state, double cpu_ns) {
  state.counters["cpu_ms"] =
      benchmark::Counter(cpu_ns * 1e-6, benchmark::Counter::kAvgIterations);
}

// Open a new vector in `dir`, kFreshRecords push_backs, close: the whole
// life of a file a program writes. kPretouch: VectorOptions::pretouch.
template <size_t kSize, uint64_t kPretouch>
void BM_VectorOpenPushClose(benchmark::State& state, std::string dir) {
  using R = Record<kSize>;
  const std::vector<R>& input = Input<kSize>();
  const std::string path = dir + "/mapped_vector_benchmark.fresh";
  VectorOptions options;
  options.pretouch = kPretouch;
  double cpu_ns = 0;
  for (auto _ : state) {
    remove(path.c_str());
    TimedPart timed;
    {
      MappedVector<R> v = OrDie(MappedVector<R>::Open(path, options));
      PushAll(v, input, kFreshRecords);
    }
    timed.End(state, &cpu_ns);
  }
  SetCpuMs(state, cpu_ns);
  remove(path.c_str());
  state.SetItemsProcessed(state.iterations() * kFreshRecords);
  state.SetBytesProcessed(state.iterations() * kFreshRecords * kSize);
}

// The baseline: std::vector, reserve(n), the same push_backs, the free.
// !kWarm: each iteration starts from memory fresh from the kernel (the
// allocator gives its free memory back, untimed), as the first vector of
// that size in a program does; kWarm: on what the allocator kept.
template <size_t kSize, bool kWarm>
void BM_StdReservedPushFree(benchmark::State& state, std::string) {
  using R = Record<kSize>;
  const std::vector<R>& input = Input<kSize>();
  double cpu_ns = 0;
  for (auto _ : state) {
    if (!kWarm) malloc_trim(0);
    TimedPart timed;
    {
      std::vector<R> v;
      v.reserve(kFreshRecords);
      PushAll(v, input, kFreshRecords);
    }
    timed.End(state, &cpu_ns);
  }
  SetCpuMs(state, cpu_ns);
  state.SetItemsProcessed(state.iterations() * kFreshRecords);
  state.SetBytesProcessed(state.iterations() * kFreshRecords * kSize);
}

// Registers the Open-to-close benchmarks once per directory of
// $MAPFILE_BENCH_DIRS.
int RegisterOpenToClose() {
  using Fn = void (*)(benchmark::State&, std::string);
  const std::pair<const char*, Fn> all[] = {
      {"BM_StdReservedPushFree<8, fresh>", BM_StdReservedPushFree<8, false>},
      {"BM_StdReservedPushFree<8, warm>", BM_StdReservedPushFree<8, true>},
      {"BM_VectorOpenPushClose<8, 0>", BM_VectorOpenPushClose<8, 0>},
      {"BM_VectorOpenPushClose<8, 4 MiB>",
       BM_VectorOpenPushClose<8, (4 << 20)>},
      {"BM_StdReservedPushFree<64, fresh>", BM_StdReservedPushFree<64, false>},
      {"BM_StdReservedPushFree<64, warm>", BM_StdReservedPushFree<64, true>},
      {"BM_VectorOpenPushClose<64, 0>", BM_VectorOpenPushClose<64, 0>},
      {"BM_VectorOpenPushClose<64, 4 MiB>",
       BM_VectorOpenPushClose<64, (4 << 20)>},
  };
  for (const auto& [base, fs] : bench::BenchDirs()) {
    for (const auto& [name, fn] : all) {
      benchmark::RegisterBenchmark(absl::StrCat(name, "/", fs).c_str(), fn,
                                   base)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
  }
  return 0;
}
const int registered = RegisterOpenToClose();

}  // namespace
}  // namespace mapfile
