// Copyright 2026 The mapfile Authors.
//
// MappedFile costs, each beside its baseline in the same binary:
//   * Grow per step (64 KiB steps), with and without preallocate, alone and
//     with the first write to the new pages (where a sparse file pays for
//     its blocks: a page fault that allocates).
//   * Sync of one dirty page: MappedFile::Sync vs msync(MS_SYNC) + fdatasync
//     on the same page vs pwrite + fdatasync of one page.
//   * The first store to a fresh page: a write fault vs populating the pages
//     beforehand with MADV_POPULATE_WRITE (what pretouch does).
// Files live in $MAPFILE_BENCH_DIR (default /tmp): the numbers are those of
// that file system.
//
//   bench/mapped_file_benchmark --benchmark_min_time=1

#include <sys/mman.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "mapfile/internal/os.h"
#include "mapfile/mapped_file.h"

namespace mapfile {
namespace {

using bench::BenchFile;

constexpr uint64_t kStep = 64 << 10;
constexpr uint64_t kMaxGrowth = 64 << 20;  // file cut back to 0 past this

MappedFile OpenOrDie(const std::string& path, bool preallocate) {
  MappedFile::Options options;
  options.mode = OpenMode::kCreate;
  options.preallocate = preallocate;
  options.growth.min_step = kStep;
  options.growth.factor = 1;
  return bench::OrDie(MappedFile::Open(path, options));
}

void Check(benchmark::State& state, const absl::Status& status) {
  if (!status.ok()) state.SkipWithError(status.ToString().c_str());
}

// Arg 0: preallocate; arg 1: also write the new pages.
void BM_GrowStep(benchmark::State& state) {
  const bool preallocate = state.range(0) != 0, touch = state.range(1) != 0;
  const std::string path = BenchFile("mapped_file_benchmark.grow");
  MappedFile file = OpenOrDie(path, preallocate);
  for (auto _ : state) {
    if (file.size() >= kMaxGrowth) {
      state.PauseTiming();
      Check(state, file.Truncate(0));
      state.ResumeTiming();
    }
    const uint64_t old_size = file.size();
    Check(state, file.Grow(old_size + 1));
    if (touch) {
      for (uint64_t at = old_size; at < file.size(); at += os::PageSize()) {
        file.data()[at] = std::byte{1};
      }
    }
  }
  state.SetBytesProcessed(state.iterations() * kStep);
  os::Unlink(path).IgnoreError();
}
BENCHMARK(BM_GrowStep)
    ->ArgNames({"preallocate", "touch"})
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->Args({1, 1});

// The three ways to make one changed page durable. Arg 0: 0 = MappedFile::
// Sync(offset, 1), 1 = msync(MS_SYNC) + fdatasync of the same page through
// the os layer (what Sync would do if the size had changed), 2 = pwrite of
// the page + fdatasync (no mapping at all).
void BM_SyncOnePage(benchmark::State& state) {
  const std::string path = BenchFile("mapped_file_benchmark.sync");
  MappedFile file = OpenOrDie(path, true);
  Check(state, file.Grow(1 << 20));
  Check(state, file.Sync());
  const uint64_t page = os::PageSize(), offset = 5 * page;
  std::vector<char> buffer(page);
  uint64_t n = 0;
  for (auto _ : state) {
    const char value = static_cast<char>(++n);
    switch (state.range(0)) {
      case 0:
        file.data()[offset] = std::byte(value);
        Check(state, file.Sync(offset, 1));
        break;
      case 1:
        file.data()[offset] = std::byte(value);
        Check(state, os::Msync(file.data() + offset, page, MS_SYNC, path));
        Check(state, os::Fdatasync(file.fd(), path));
        break;
      default:
        buffer[0] = value;
        Check(state, os::Pwrite(file.fd(), path, buffer.data(), page, offset));
        Check(state, os::Fdatasync(file.fd(), path));
    }
  }
  os::Unlink(path).IgnoreError();
}
BENCHMARK(BM_SyncOnePage)
    ->ArgName(
        "how")  // 0 MappedFile::Sync, 1 msync+fdatasync, 2 pwrite+fdatasync
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime();

// The write fault a Sync leaves behind: writeback write-protects the synced
// page, so the next store to it faults (page_mkwrite). Timed: one 8-byte
// store to a page; arg 0: the page was just synced, 1: it was not (the
// store only dirties a writable page). docs/PERFORMANCE.md.
void BM_FirstWriteAfterSync(benchmark::State& state) {
  const std::string path = BenchFile("mapped_file_benchmark.refault");
  MappedFile file = OpenOrDie(path, true);
  Check(state, file.Grow(1 << 20));
  Check(state, file.Sync());
  const uint64_t page = os::PageSize(), offset = 3 * page;
  volatile uint64_t* word = reinterpret_cast<uint64_t*>(file.data() + offset);
  uint64_t n = 0;
  for (auto _ : state) {
    *word = ++n;
    if (state.range(0) == 0) Check(state, file.Sync(offset, 8));
    const auto start = std::chrono::steady_clock::now();
    *word = ++n;
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  }
  os::Unlink(path).IgnoreError();
}
BENCHMARK(BM_FirstWriteAfterSync)
    ->ArgName("unsynced")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime()
    ->Unit(benchmark::kNanosecond);

// What making a fresh page of a preallocated file writable costs, per
// page, over 4 MiB at a time. Arg 0: 0 = store to each page (a write fault
// each), 1 = MADV_POPULATE_WRITE of the 4 MiB, then the same stores (no
// faults left). Pretouching moves the populate off the writer's thread; it
// can only win as much as this says the fault costs beyond the populate.
void BM_FreshPage(benchmark::State& state) {
  constexpr uint64_t kChunk = 4 << 20;
  const std::string path = BenchFile("mapped_file_benchmark.fresh");
  MappedFile file = OpenOrDie(path, true);
  const uint64_t page = os::PageSize();
  for (auto _ : state) {
    state.PauseTiming();
    if (file.size() + kChunk > kMaxGrowth) Check(state, file.Truncate(0));
    const uint64_t from = file.size();
    Check(state, file.Grow(from + kChunk));
    state.ResumeTiming();
    if (state.range(0) == 1) {
      Check(state, os::Madvise(file.data() + from, kChunk, MADV_POPULATE_WRITE,
                               path));
    }
    for (uint64_t at = from; at < from + kChunk; at += page) {
      file.data()[at] = std::byte{1};
    }
  }
  state.SetItemsProcessed(state.iterations() * (kChunk / page));  // pages
  os::Unlink(path).IgnoreError();
}
BENCHMARK(BM_FreshPage)->ArgName("populate")->Arg(0)->Arg(1);

}  // namespace
}  // namespace mapfile
