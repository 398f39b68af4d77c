// Copyright 2026 The mapfile Authors.
//
// AppendLog<T> against its peers, in one binary:
//   Append / AppendBatch (64 B and 1 KiB records) vs write(2) through a
//   1 MiB buffer and LMDB puts (MDB_WRITEMAP|MDB_NOSYNC, one transaction
//   per 1000 puts, MDB_APPEND); Sync latency vs write(2)+fdatasync; WaitFor
//   wake-up latency in another process; compression ratio and read rate of
//   a zstd-sealed segment vs plain ZSTD_decompress of the same frame.
//
//   bazel run -c opt //bench:append_log_benchmark
//   MAPFILE_BENCH_DIR=/dev/shm build/append_log_benchmark   # tmpfs
//
// Files go to $MAPFILE_BENCH_DIR (default /tmp): on a disk, Sync and the
// segment rolls pay for real writeback; on tmpfs they measure the CPU cost.

#include <fcntl.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "mapfile/append_log.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"

namespace mapfile {
namespace {

template <size_t N>
struct Record {
  uint64_t seq;
  char bytes[N - 8];
};

// A fresh directory, removed afterwards.
class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("MAPFILE_BENCH_DIR");
    std::string pattern =
        std::string(base != nullptr ? base : "/tmp") + "/logbench.XXXXXX";
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~BenchDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  bool ok() const { return !path_.empty(); }

 private:
  std::string path_;
};

int64_t NowNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

template <typename T>
AppendLog<T> OpenLog(const std::string& dir, benchmark::State& state,
                     LogOptions options = {}) {
  auto log = AppendLog<T>::Open(dir, options);
  if (!log.ok()) state.SkipWithError(std::string(log.status().message()).c_str());
  return *std::move(log);
}

// ------------------------------------------------------------ appends

// Appends N-byte records one at a time into a new log opened with `o`.
template <size_t N>
void AppendLoop(benchmark::State& state, const LogOptions& o) {
  BenchDir dir;
  auto log = OpenLog<Record<N>>(dir.File("log"), state, o);
  Record<N> r{};
  std::memset(r.bytes, 'x', sizeof(r.bytes));
  for (auto _ : state) {
    absl::StatusOr<uint64_t> seq = log.Append(r);
    benchmark::DoNotOptimize(seq);
    ++r.seq;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * N);
}

template <size_t N>
void BM_LogAppend(benchmark::State& state) {
  AppendLoop<N>(state, LogOptions{});
}

template <size_t N>
void BM_LogAppendBatch(benchmark::State& state) {
  BenchDir dir;
  auto log = OpenLog<Record<N>>(dir.File("log"), state);
  std::vector<Record<N>> batch(1000);
  for (auto& r : batch) std::memset(r.bytes, 'x', sizeof(r.bytes));
  for (auto _ : state) {
    absl::StatusOr<uint64_t> seq = log.AppendBatch(batch);
    benchmark::DoNotOptimize(seq);
  }
  state.SetItemsProcessed(state.iterations() * batch.size());
  state.SetBytesProcessed(state.iterations() * batch.size() * N);
}

// Baseline: records copied into a 1 MiB buffer, written with write(2).
template <size_t N>
void BM_Write2Buffered(benchmark::State& state) {
  BenchDir dir;
  const std::string path = dir.File("write2");
  absl::StatusOr<os::Fd> fd = os::Open(path, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd.ok()) return state.SkipWithError("open");
  std::vector<char> buffer(1 << 20);
  size_t used = 0;
  Record<N> r{};
  std::memset(r.bytes, 'x', sizeof(r.bytes));
  for (auto _ : state) {
    if (used + N > buffer.size()) {
      if (::write(fd->get(), buffer.data(), used) != static_cast<ssize_t>(used)) {
        return state.SkipWithError("write");
      }
      used = 0;
    }
    std::memcpy(buffer.data() + used, &r, N);
    used += N;
    ++r.seq;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * N);
}

// Baseline: LMDB puts with the map written in place, no sync, batched.
template <size_t N>
void BM_LmdbPut(benchmark::State& state) {
  BenchDir dir;
  MDB_env* env = nullptr;
  MDB_txn* txn = nullptr;
  MDB_dbi dbi;
  if (mdb_env_create(&env) != 0 ||
      mdb_env_set_mapsize(env, size_t{32} << 30) != 0 ||
      mdb_env_open(env, dir.File("").c_str(),
                   MDB_WRITEMAP | MDB_NOSYNC | MDB_NOMETASYNC, 0644) != 0 ||
      mdb_txn_begin(env, nullptr, 0, &txn) != 0 ||
      mdb_dbi_open(txn, nullptr, MDB_INTEGERKEY, &dbi) != 0) {
    return state.SkipWithError("lmdb open");
  }
  Record<N> r{};
  std::memset(r.bytes, 'x', sizeof(r.bytes));
  uint64_t seq = 0;
  for (auto _ : state) {
    MDB_val key{sizeof(seq), &seq};
    MDB_val value{N, &r};
    if (mdb_put(txn, dbi, &key, &value, MDB_APPEND) != 0) {
      return state.SkipWithError("mdb_put");
    }
    if (++seq % 1000 == 0 &&
        (mdb_txn_commit(txn) != 0 || mdb_txn_begin(env, nullptr, 0, &txn) != 0)) {
      return state.SkipWithError("mdb_txn_commit");
    }
    ++r.seq;
  }
  mdb_txn_commit(txn);
  mdb_env_close(env);
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * N);
}

// ------------------------------------------------------------ pretouch

// Append of N-byte records into a new log; arg: LogOptions::pretouch bytes
// (0: off). Each run starts a fresh directory, so every page is a first
// touch. docs/PERFORMANCE.md.
template <size_t N>
void BM_LogAppendPretouch(benchmark::State& state) {
  LogOptions o;
  o.pretouch = static_cast<uint64_t>(state.range(0));
  AppendLoop<N>(state, o);
}

// Latency of single 64 B appends across segment rolls (1 MiB segments, a
// roll every ~14500 records), with a Sync every 1000 records (not timed).
// Arg: pretouch bytes. Counters: p50/p99/p999/max in ns over all appends,
// roll_p50: median of the appends that rolled, and p99/p50.
void BM_LogAppendLatency(benchmark::State& state) {
  BenchDir dir;
  LogOptions o;
  o.segment_size = 1 << 20;
  o.pretouch = static_cast<uint64_t>(state.range(0));
  auto log = OpenLog<Record<64>>(dir.File("log"), state, o);
  Record<64> r{};
  std::vector<int64_t> all, rolls;
  const uint64_t per =
      internal::LogLayout(FingerprintOf<Record<64>>()).Capacity(o.segment_size);
  uint64_t segments = 1;
  for (auto _ : state) {
    const int64_t start = NowNs();
    absl::StatusOr<uint64_t> seq = log.Append(r);
    const int64_t took = NowNs() - start;
    if (!seq.ok()) return state.SkipWithError("append");
    all.push_back(took);
    if (*seq / per + 1 > segments) {
      segments = *seq / per + 1;
      rolls.push_back(took);
    }
    if (*seq % 1000 == 999) {
      state.PauseTiming();
      if (!log.Sync().ok()) return state.SkipWithError("sync");
      state.ResumeTiming();
    }
    ++r.seq;
  }
  auto at = [](std::vector<int64_t>& v, double q) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    return static_cast<double>(v[static_cast<size_t>(q * (v.size() - 1))]);
  };
  const double p50 = at(all, 0.5);
  state.counters["p50"] = p50;
  state.counters["p99"] = at(all, 0.99);
  state.counters["p999"] = at(all, 0.999);
  state.counters["max"] = at(all, 1.0);
  state.counters["rolls"] = static_cast<double>(rolls.size());
  state.counters["roll_p50"] = at(rolls, 0.5);
  state.counters["p99/p50"] = p50 > 0 ? at(all, 0.99) / p50 : 0;
}

// ------------------------------------------------------------ durability

// One 64 B record appended and made durable per iteration.
void BM_LogAppendSync(benchmark::State& state) {
  BenchDir dir;
  auto log = OpenLog<Record<64>>(dir.File("log"), state);
  Record<64> r{};
  for (auto _ : state) {
    if (!log.Append(r).ok() || !log.Sync().ok()) return state.SkipWithError("sync");
  }
  state.SetItemsProcessed(state.iterations());
}

// The same bytes a Sync of one 64 B append writes (its frame and its commit
// slot), into a preallocated segment file, without a mapping. Arg: 0 =
// pwrite frame + fdatasync (one flush, commits nothing), 1 = pwrite frame +
// fdatasync + pwrite slot + fdatasync (Sync's order: two flushes), 2 =
// pwrite frame + sync_file_range(WAIT|WRITE|WAIT) + fdatasync.
void BM_PwriteSync(benchmark::State& state) {
  BenchDir dir;
  const std::string path = dir.File("seg");
  absl::StatusOr<os::Fd> fd = os::Open(path, O_RDWR | O_CREAT | O_TRUNC);
  if (!fd.ok() || !os::Fallocate(fd->get(), path, 0, 64 << 20).ok() ||
      !os::Fdatasync(fd->get(), path).ok()) {
    return state.SkipWithError("open");
  }
  const internal::LogLayout layout(FingerprintOf<Record<64>>());
  Record<64> r{};
  char slot[64] = {};
  uint64_t at = layout.records_offset();
  for (auto _ : state) {
    absl::Status s = os::Pwrite(fd->get(), path, &r, sizeof(r), at);
    if (s.ok() && state.range(0) == 2) {
      s = os::SyncFileRange(fd->get(), path, at, sizeof(r),
                            SYNC_FILE_RANGE_WAIT_BEFORE |
                                SYNC_FILE_RANGE_WRITE |
                                SYNC_FILE_RANGE_WAIT_AFTER);
    }
    if (s.ok()) s = os::Fdatasync(fd->get(), path);
    if (s.ok() && state.range(0) == 1) {
      s = os::Pwrite(fd->get(), path, slot, sizeof(slot), 3968);
      if (s.ok()) s = os::Fdatasync(fd->get(), path);
    }
    if (!s.ok()) return state.SkipWithError(std::string(s.message()).c_str());
    at += layout.stride;
    ++r.seq;
  }
  state.SetItemsProcessed(state.iterations());
}

// Baseline: write(2) of 64 B, then fdatasync.
void BM_Write2Fdatasync(benchmark::State& state) {
  BenchDir dir;
  const std::string path = dir.File("write2");
  absl::StatusOr<os::Fd> fd = os::Open(path, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd.ok()) return state.SkipWithError("open");
  Record<64> r{};
  for (auto _ : state) {
    if (::write(fd->get(), &r, sizeof(r)) != sizeof(r) ||
        !os::Fdatasync(fd->get(), path).ok()) {
      return state.SkipWithError("write/fdatasync");
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// A reader process sleeps in WaitFor(seq); this process appends record seq
// (carrying the time) and Syncs. Reported per iteration: from just before
// the Sync to the reader's return from WaitFor. The reader is given 1 ms to
// fall asleep first, so every measurement is a real futex wake-up.
void BM_WaitForWakeup(benchmark::State& state) {
  BenchDir dir;
  const std::string path = dir.File("log");
  auto log = OpenLog<Record<64>>(path, state);
  int to_parent[2];
  if (::pipe(to_parent) != 0) return state.SkipWithError("pipe");
  const pid_t pid = ::fork();
  if (pid == 0) {
    auto reader = LogReader<Record<64>>::Open(path);
    if (!reader.ok()) ::_exit(1);
    for (uint64_t seq = 0;; ++seq) {
      if (!reader->WaitFor(seq, absl::Seconds(30)).ok()) ::_exit(2);
      const int64_t woke = NowNs();
      absl::StatusOr<Record<64>> r = reader->Read(seq);
      if (!r.ok()) ::_exit(3);
      int64_t sent;
      std::memcpy(&sent, r->bytes, sizeof(sent));
      const int64_t latency = woke - sent;
      if (::write(to_parent[1], &latency, sizeof(latency)) != sizeof(latency)) {
        ::_exit(4);
      }
    }
  }
  Record<64> r{};
  for (auto _ : state) {
    ::usleep(1000);
    const int64_t now = NowNs();
    std::memcpy(r.bytes, &now, sizeof(now));
    if (!log.Append(r).ok() || !log.Sync().ok()) break;
    ++r.seq;
    int64_t latency;
    if (::read(to_parent[0], &latency, sizeof(latency)) != sizeof(latency)) {
      state.SkipWithError("reader died");
      break;
    }
    state.SetIterationTime(static_cast<double>(latency) * 1e-9);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(to_parent[0]);
  ::close(to_parent[1]);
}

// ------------------------------------------------------------ compression

// Market-data-like 64 B records: a clock, a random walk, small sizes.
struct Tick {
  uint64_t time_ns;
  int64_t price;
  int64_t bid;
  int64_t ask;
  uint32_t size;
  uint32_t venue;
  uint64_t id;
  char symbol[8];
  uint64_t flags;
};
static_assert(sizeof(Tick) == 64);

struct SealedSegment {
  BenchDir dir;
  std::string path = dir.File("log");
  uint64_t records = 0;
  uint64_t uncompressed = 0;
  uint64_t compressed = 0;
  std::string frame;  // the zstd frame, for the baseline
};

// One sealed, compressed 64 MiB segment of ticks.
SealedSegment& Sealed() {
  static SealedSegment* s = [] {
    auto* seg = new SealedSegment;
    LogOptions o;
    o.compress_sealed = true;
    auto log = AppendLog<Tick>::Open(seg->path, o);
    if (!log.ok()) return seg;
    const internal::LogLayout layout(FingerprintOf<Tick>());
    seg->records = layout.Capacity(o.segment_size);
    std::mt19937_64 rng(1);
    Tick t{1700000000000000000, 10000, 9999, 10001, 100, 1, 0, "ACME", 0};
    for (uint64_t i = 0; i < seg->records; ++i) {
      t.time_ns += 1000 + rng() % 5000;
      t.price += static_cast<int64_t>(rng() % 3) - 1;
      t.bid = t.price - 1 - static_cast<int64_t>(rng() % 2);
      t.ask = t.price + 1 + static_cast<int64_t>(rng() % 2);
      t.size = 100 * (1 + rng() % 10);
      t.venue = rng() % 4;
      t.id = i;
      if (!log->Append(t).ok()) return seg;
    }
    if (!log->Seal().ok()) return seg;
    const std::string file =
        seg->path + "/" + internal::SegmentFileName(0);
    seg->uncompressed = layout.control_size + seg->records * layout.stride;
    seg->compressed = std::filesystem::file_size(file) - layout.data_offset();
    seg->frame.resize(seg->compressed);
    absl::StatusOr<os::Fd> fd = os::Open(file, O_RDONLY);
    if (!fd.ok() || !os::Pread(fd->get(), file, seg->frame.data(),
                               seg->compressed, layout.data_offset())
                         .ok()) {
      seg->records = 0;
    }
    return seg;
  }();
  return *s;
}

// Every record of the sealed segment through a fresh LogReader: open,
// decompress into scratch memory, verify every checksum, iterate.
void BM_SealedSegmentRead(benchmark::State& state) {
  SealedSegment& seg = Sealed();
  if (seg.records == 0) return state.SkipWithError("setup");
  for (auto _ : state) {
    auto reader = LogReader<Tick>::Open(seg.path);
    if (!reader.ok()) return state.SkipWithError("open");
    uint64_t sum = 0, n = 0;
    for (auto c = reader->From(0); c.Valid() && n < seg.records; c.Next(), ++n) {
      sum += c.value().price;
    }
    if (n != seg.records) return state.SkipWithError("short read");
    benchmark::DoNotOptimize(sum);
  }
  state.SetBytesProcessed(state.iterations() * seg.uncompressed);
  state.counters["ratio"] = static_cast<double>(seg.uncompressed) /
                            static_cast<double>(seg.compressed);
  state.counters["compressed_MiB"] = seg.compressed / 1048576.0;
}

// Baseline: ZSTD_decompress of the same frame into a reused buffer.
void BM_ZstdDecompress(benchmark::State& state) {
  SealedSegment& seg = Sealed();
  if (seg.records == 0) return state.SkipWithError("setup");
  std::vector<char> out(seg.uncompressed);
  for (auto _ : state) {
    const size_t n = ZSTD_decompress(out.data(), out.size(), seg.frame.data(),
                                     seg.frame.size());
    if (n != seg.uncompressed) return state.SkipWithError("zstd");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * seg.uncompressed);
}

BENCHMARK_TEMPLATE(BM_LogAppend, 64);
BENCHMARK_TEMPLATE(BM_LogAppendBatch, 64);
BENCHMARK_TEMPLATE(BM_Write2Buffered, 64);
BENCHMARK_TEMPLATE(BM_LmdbPut, 64);
BENCHMARK_TEMPLATE(BM_LogAppend, 1024);
BENCHMARK_TEMPLATE(BM_LogAppendBatch, 1024);
BENCHMARK_TEMPLATE(BM_Write2Buffered, 1024);
BENCHMARK_TEMPLATE(BM_LmdbPut, 1024);
BENCHMARK_TEMPLATE(BM_LogAppendPretouch, 64)
    ->ArgName("pretouch")->Arg(0)->Arg(4 << 20);
BENCHMARK(BM_LogAppendLatency)
    ->ArgName("pretouch")->Arg(0)->Arg(256 << 10)->Iterations(300000);
BENCHMARK(BM_LogAppendSync)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PwriteSync)->ArgName("how")->Arg(0)->Arg(1)->Arg(2)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Write2Fdatasync)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WaitForWakeup)->UseManualTime()->Iterations(2000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SealedSegmentRead)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ZstdDecompress)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mapfile
