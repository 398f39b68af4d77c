// Copyright 2026 The mapfile Authors.
//
// AppendLog<T>'s write path measured as a program uses it, from Open to
// close (the destructor), against the obvious alternative in the same
// process and on the same file system (docs/PERFORMANCE.md, "Log write
// path"):
//
//   OpenAppendClose   Open a fresh log (default options), 2,000,000 x 64 B
//                     Append, close; vs Write2Frames: the same frames
//                     (64 B record + 8 B seeded XXH3) through a 1 MiB buffer
//                     with write(2), open to close.
//   Recycle           the same into a log that keeps running (retention
//                     retires segments and the writer reuses them), steady
//                     state; same baseline. RecycleSynced: with a Sync()
//                     before each TruncateBefore (only synced segments can
//                     be retired).
//   SyncEvery         as OpenAppendClose with Sync() every 10,000 records;
//                     vs PwriteFdatasync: the frames pwrite'n and
//                     fdatasync'ed at the same points.
//   AppendWorst       the slowest single Append of 2,000,000 into 4 MiB
//                     segments with compress_sealed, and the median one
//                     (counters worst_us, median_ns, p999_ns; over_200us:
//                     appends slower than 200 us; vcsw, ivcsw: the
//                     appending thread's voluntary (it blocked) and
//                     involuntary (it was preempted) context switches over
//                     the appends). vs SpinWorst: the same timed loop with
//                     a 64 B memcpy instead of Append, the floor that the
//                     machine's scheduling sets (preemption by other
//                     processes, interrupts).
//   AppendBatch       AppendBatch of 1000 x 64 B, open to close of 2,000,000
//                     records; vs Memcpy of the same bytes into a 1 MiB
//                     buffer.
//   PwriteSteps       disk space by steps against whole-segment
//                     preallocation: the log's file pattern without the log
//                     (2,000,000 frames of 72 B into 64 MiB segments, each
//                     created sparse, by pwrite of 1 MiB buffers), disk
//                     space allocated as the log allocates it (1 MiB at
//                     creation, then doubling once the writer is past half
//                     of it, 1 MiB per fallocate) vs PwriteWholeSegment:
//                     each segment fallocated whole when it is created, as
//                     every segment was before step growth. The engine has
//                     no switch back to whole segments, so the policy is
//                     measured here, on one thread (the log allocates on
//                     its background thread: this is the total cost of
//                     each policy, not what the appending thread waits
//                     for). Counter allocated_mib: the disk it took.
//
// Every benchmark runs once per directory of $MAPFILE_BENCH_DIRS (separated
// by spaces or commas; default $MAPFILE_BENCH_DIR, else "/var/tmp
// /dev/shm"), named after the file system it is on: BM_Write2Frames/ext4,
// BM_Write2Frames/tmpfs, ... so that one run gives both side by side.
//
//   bazel run -c opt //bench:log_write_benchmark -- --benchmark_repetitions=5
//   MAPFILE_BENCH_DIRS="/var/tmp /dev/shm" build-bench/log_write_benchmark
//
// Iterations use manual time: only Open to close is timed, not the removal
// of the previous iteration's files. MAPFILE_BENCH_SLOWEST=1 prints the
// sequence numbers of AppendWorst's slowest appends (at a buffer flush, a
// roll, or anywhere: preemption).

#define XXH_INLINE_ALL
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "benchmark/benchmark.h"
#include "mapfile/append_log.h"

namespace mapfile {
namespace {

constexpr uint64_t kRecords = 2000000;
constexpr size_t kBuffer = size_t{1} << 20;
constexpr uint64_t kSyncEvery = 10000;

struct R64 {
  uint64_t seq;
  char bytes[56];
};

// The frame the log writes for an R64: the record, then its checksum.
struct Frame {
  R64 record;
  uint64_t checksum;
};
static_assert(sizeof(Frame) == 72, "64 B record + 8 B checksum");

int64_t NowNs() {
  timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

// A fresh directory under `base`, removed with everything in it.
class Scratch {
 public:
  explicit Scratch(const std::string& base) {
    std::string pattern = base + "/logwrite.XXXXXX";
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~Scratch() {
    if (!path_.empty()) std::filesystem::remove_all(path_);
  }
  bool ok() const { return !path_.empty(); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  void Clear() {
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      std::filesystem::remove_all(e.path());
    }
  }

 private:
  std::string path_;
};

R64 RecordFor(uint64_t seq) {
  R64 r;
  r.seq = seq;
  std::memset(r.bytes, 'x', sizeof(r.bytes));
  return r;
}

// Fills `out` with the frame of record `seq`, as the log would.
void EncodeFrame(uint64_t seq, Frame* out) {
  out->record = RecordFor(seq);
  out->checksum = XXH3_64bits_withSeed(&out->record, sizeof(R64), seq);
}

void Fail(benchmark::State& state, const std::string& what) {
  state.SkipWithError(what.c_str());
}

void Finish(benchmark::State& state, uint64_t records) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * records));
  state.SetBytesProcessed(
      static_cast<int64_t>(state.iterations() * records * sizeof(R64)));
}

// ------------------------------------------------------------ baselines

// open, write(2) of 1 MiB buffers of frames, close.
void BM_Write2Frames(benchmark::State& state, std::string base) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  std::vector<char> buffer(kBuffer);
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    const int fd = ::open(dir.File("frames").c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(state, "open");
    size_t used = 0;
    for (uint64_t seq = 0; seq < kRecords; ++seq) {
      if (used + sizeof(Frame) > buffer.size()) {
        if (::write(fd, buffer.data(), used) != static_cast<ssize_t>(used)) {
          return Fail(state, "write");
        }
        used = 0;
      }
      EncodeFrame(seq, reinterpret_cast<Frame*>(buffer.data() + used));
      used += sizeof(Frame);
    }
    if (::write(fd, buffer.data(), used) != static_cast<ssize_t>(used)) {
      return Fail(state, "write");
    }
    ::close(fd);
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
  }
  Finish(state, kRecords);
}

// open, frames into a buffer, pwrite + fdatasync every kSyncEvery, close.
void BM_PwriteFdatasync(benchmark::State& state, std::string base) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  std::vector<char> buffer(kBuffer);
  static_assert(kSyncEvery * sizeof(Frame) <= kBuffer, "one buffer a Sync");
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    const int fd = ::open(dir.File("frames").c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(state, "open");
    size_t used = 0;
    off_t offset = 0;
    for (uint64_t seq = 0; seq < kRecords; ++seq) {
      EncodeFrame(seq, reinterpret_cast<Frame*>(buffer.data() + used));
      used += sizeof(Frame);
      if ((seq + 1) % kSyncEvery == 0) {
        if (::pwrite(fd, buffer.data(), used, offset) !=
                static_cast<ssize_t>(used) ||
            ::fdatasync(fd) != 0) {
          return Fail(state, "pwrite/fdatasync");
        }
        offset += static_cast<off_t>(used);
        used = 0;
      }
    }
    ::close(fd);
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
  }
  Finish(state, kRecords);
}

constexpr uint64_t kSegment = uint64_t{64} << 20;  // LogOptions' default
constexpr uint64_t kStep = uint64_t{1} << 20;      // the log's first step
constexpr uint64_t kFramesAt = 4096 + 64;          // header page, control block

// Segments as the log writes them (see the file comment): `whole`
// preallocates each segment whole at creation, otherwise in steps.
void PwriteSegments(benchmark::State& state, const std::string& base,
                    bool whole) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  std::vector<char> buffer(kBuffer);
  const uint64_t per = (kSegment - kFramesAt) / sizeof(Frame);
  uint64_t allocated_total = 0;
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    std::vector<int> fds;
    int fd = -1;
    uint64_t allocated = 0, in_segment = per;  // no segment yet
    off_t offset = 0;
    size_t used = 0;
    auto allocate = [&](uint64_t to) {  // [allocated, to) in 1 MiB calls
      for (; allocated < to; allocated += kStep) {
        if (::fallocate(fd, 0, static_cast<off_t>(allocated), kStep) != 0) {
          return false;
        }
      }
      return true;
    };
    auto flush = [&] {
      const uint64_t end = static_cast<uint64_t>(offset) + used;
      if (!whole) {
        // The log's rule: once the writer is past half of what is
        // allocated, allocate as much again (1, 2, 4, ... MiB).
        while (allocated < end ||
               (end > allocated / 2 && allocated < kSegment)) {
          if (!allocate(std::min(kSegment, 2 * allocated))) return false;
        }
      }
      if (::pwrite(fd, buffer.data(), used, offset) !=
          static_cast<ssize_t>(used)) {
        return false;
      }
      offset += static_cast<off_t>(used);
      used = 0;
      return true;
    };
    for (uint64_t seq = 0; seq < kRecords; ++seq) {
      if (in_segment == per) {  // roll: a new segment, sparse
        if (fd >= 0 && used > 0 && !flush()) return Fail(state, "pwrite");
        fd = ::open(dir.File(std::to_string(seq) + ".seg").c_str(),
                    O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) return Fail(state, "open");
        fds.push_back(fd);
        if (::ftruncate(fd, static_cast<off_t>(kSegment)) != 0) {
          return Fail(state, "ftruncate");
        }
        // Whole: one fallocate of the segment, as Prepare made it.
        allocated = 0;
        if (whole ? ::fallocate(fd, 0, 0, static_cast<off_t>(kSegment)) != 0
                  : !allocate(kStep)) {
          return Fail(state, "fallocate");
        }
        if (whole) allocated = kSegment;
        offset = static_cast<off_t>(kFramesAt);
        in_segment = 0;
      }
      if (used + sizeof(Frame) > buffer.size() && !flush()) {
        return Fail(state, "pwrite");
      }
      EncodeFrame(seq, reinterpret_cast<Frame*>(buffer.data() + used));
      used += sizeof(Frame);
      ++in_segment;
    }
    if (used > 0 && !flush()) return Fail(state, "pwrite");
    uint64_t blocks = 0;
    for (int f : fds) {
      struct stat st;
      if (::fstat(f, &st) == 0) blocks += static_cast<uint64_t>(st.st_blocks);
      ::close(f);
    }
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
    allocated_total = blocks * 512;
  }
  state.counters["allocated_mib"] =
      static_cast<double>(allocated_total) / (1 << 20);
  Finish(state, kRecords);
}

void BM_PwriteSteps(benchmark::State& state, std::string base) {
  PwriteSegments(state, base, false);
}
void BM_PwriteWholeSegment(benchmark::State& state, std::string base) {
  PwriteSegments(state, base, true);
}

// memcpy of 1000-record batches into a 1 MiB buffer (wrapping).
void BM_Memcpy(benchmark::State& state, std::string) {
  std::vector<R64> batch(1000);
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = RecordFor(i);
  std::vector<char> buffer(kBuffer);
  const size_t bytes = batch.size() * sizeof(R64);
  for (auto _ : state) {
    const int64_t start = NowNs();
    size_t used = 0;
    for (uint64_t n = 0; n < kRecords; n += batch.size()) {
      if (used + bytes > buffer.size()) used = 0;
      std::memcpy(buffer.data() + used, batch.data(), bytes);
      benchmark::ClobberMemory();
      used += bytes;
    }
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
  }
  Finish(state, kRecords);
}

// ------------------------------------------------------------ the log

// Open, kRecords Appends (Sync every `sync_every` if > 0), close; returns
// false (benchmark failed) on an error.
bool OpenAppendClose(benchmark::State& state, const std::string& path,
                     const LogOptions& options, uint64_t sync_every) {
  auto log = AppendLog<R64>::Open(path, options);
  if (!log.ok()) {
    Fail(state, std::string(log.status().message()));
    return false;
  }
  for (uint64_t seq = 0; seq < kRecords; ++seq) {
    absl::StatusOr<uint64_t> appended = log->Append(RecordFor(seq));
    if (!appended.ok()) {
      Fail(state, std::string(appended.status().message()));
      return false;
    }
    if (sync_every > 0 && (seq + 1) % sync_every == 0) {
      absl::Status synced = log->Sync();
      if (!synced.ok()) {
        Fail(state, std::string(synced.message()));
        return false;
      }
    }
  }
  return true;  // the destructor closes
}

void BM_LogOpenAppendClose(benchmark::State& state, std::string base) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    if (!OpenAppendClose(state, dir.File("log"), LogOptions(), 0)) return;
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
  }
  Finish(state, kRecords);
}

void BM_LogSyncEvery(benchmark::State& state, std::string base) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    if (!OpenAppendClose(state, dir.File("log"), LogOptions(), kSyncEvery)) {
      return;
    }
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
  }
  Finish(state, kRecords);
}

// A log that keeps running: each iteration opens it, appends kRecords and
// keeps only the last kRecords / 2 (TruncateBefore every 100,000 records),
// so retired segments are there to reuse.
void RecycleLoop(benchmark::State& state, const std::string& base,
                 bool sync);
void BM_LogRecycle(benchmark::State& state, std::string base) {
  RecycleLoop(state, base, false);
}
// The same with a Sync() before each TruncateBefore: retention can only
// retire (and recycle) segments a Sync made durable.
void BM_LogRecycleSynced(benchmark::State& state, std::string base) {
  RecycleLoop(state, base, true);
}
void RecycleLoop(benchmark::State& state, const std::string& base,
                 bool sync) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  const std::string path = dir.File("log");
  auto round = [&](benchmark::State& s) -> bool {
    auto log = AppendLog<R64>::Open(path, LogOptions());
    if (!log.ok()) {
      Fail(s, std::string(log.status().message()));
      return false;
    }
    for (uint64_t i = 0; i < kRecords; ++i) {
      absl::StatusOr<uint64_t> seq = log->Append(RecordFor(i));
      if (!seq.ok()) {
        Fail(s, std::string(seq.status().message()));
        return false;
      }
      if ((i + 1) % 100000 == 0 && *seq > kRecords / 2) {
        if (sync) {
          absl::Status synced = log->Sync();
          if (!synced.ok()) {
            Fail(s, std::string(synced.message()));
            return false;
          }
        }
        absl::Status cut = log->TruncateBefore(*seq - kRecords / 2);
        if (!cut.ok()) {
          Fail(s, std::string(cut.message()));
          return false;
        }
      }
    }
    return true;
  };
  // Three rounds fill it up to the steady state: from the third on, every
  // segment a round writes into (the active one at Open too) is a reused
  // one, as in a log that has run for a while.
  for (int i = 0; i < 3; ++i) {
    if (!round(state)) return;
  }
  for (auto _ : state) {
    const int64_t start = NowNs();
    if (!round(state)) return;
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
  }
  Finish(state, kRecords);
}

// The appending thread's context switches so far: voluntary (it blocked),
// involuntary (preempted).
std::pair<int64_t, int64_t> ContextSwitches() {
  rusage u{};
  getrusage(RUSAGE_THREAD, &u);
  return {u.ru_nvcsw, u.ru_nivcsw};
}

// Reports the worst, median and 99.9th percentile of `ns`, and how many
// are over 200 us.
void WorstCounters(benchmark::State& state, const std::vector<uint32_t>& ns,
                   int64_t worst) {
  std::vector<uint32_t> sorted = ns;
  std::sort(sorted.begin(), sorted.end());
  worst = std::max<int64_t>(worst, sorted.back());
  state.counters["worst_us"] = static_cast<double>(worst) / 1e3;
  state.counters["median_ns"] = sorted[sorted.size() / 2];
  state.counters["p999_ns"] = sorted[sorted.size() * 999 / 1000];
  state.counters["over_200us"] = static_cast<double>(
      sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), 200000u));
}

// Times each of kRecords calls of `op(seq, record)` into `ns` (the record
// is made before its clock starts) and counts the thread's context switches
// meanwhile (counters vcsw, ivcsw). False, the benchmark failed, if an op
// fails. AppendWorst and its floor, SpinWorst, share it, so that both are
// timed alike.
template <typename Op>
bool TimeEach(benchmark::State& state, std::vector<uint32_t>& ns, Op op) {
  const auto [v0, i0] = ContextSwitches();
  for (uint64_t seq = 0; seq < kRecords; ++seq) {
    const R64 r = RecordFor(seq);
    const int64_t t0 = NowNs();
    const absl::Status status = op(seq, r);
    const int64_t t = NowNs() - t0;
    if (!status.ok()) {
      Fail(state, std::string(status.message()));
      return false;
    }
    ns[seq] = static_cast<uint32_t>(std::min<int64_t>(t, UINT32_MAX));
  }
  const auto [v1, i1] = ContextSwitches();
  state.counters["vcsw"] = static_cast<double>(v1 - v0);
  state.counters["ivcsw"] = static_cast<double>(i1 - i0);
  return true;
}

// The loop of AppendWorst with a 64 B copy into a 1 MiB buffer instead of
// Append: what the machine lets a thread that makes no system call see.
void BM_SpinWorst(benchmark::State& state, std::string) {
  std::vector<char> buffer(kBuffer);
  std::vector<uint32_t> ns(kRecords);
  int64_t worst = 0;
  for (auto _ : state) {
    const int64_t start = NowNs();
    TimeEach(state, ns, [&](uint64_t seq, const R64& r) {
      std::memcpy(buffer.data() + (seq * sizeof(r)) % (kBuffer - sizeof(r)),
                  &r, sizeof(r));
      benchmark::ClobberMemory();
      return absl::OkStatus();
    });
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
    worst = std::max<int64_t>(worst, *std::max_element(ns.begin(), ns.end()));
  }
  WorstCounters(state, ns, worst);
  Finish(state, kRecords);
}

// The loop of AppendWorst with write(2) instead of Append: each op encodes
// a frame into a buffer of the log's flush size (64 KiB on tmpfs, 256 KiB
// elsewhere), and the op that fills it writes it to a fresh file. The
// floor that the file system and the machine set for a flush: the first
// write into fresh page-cache memory (docs/PERFORMANCE.md, "The slowest
// Append").
void BM_Write2Worst(benchmark::State& state, std::string base) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  std::vector<char> buffer(bench::FileSystemName(base) == "tmpfs"
                               ? size_t{64} << 10
                               : size_t{256} << 10);
  std::vector<uint32_t> ns(kRecords);
  int64_t worst = 0;
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    const int fd = ::open(dir.File("frames").c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return Fail(state, "open");
    size_t used = 0;
    const bool ok = TimeEach(state, ns, [&](uint64_t seq, const R64&) {
      EncodeFrame(seq, reinterpret_cast<Frame*>(buffer.data() + used));
      used += sizeof(Frame);
      if (used + sizeof(Frame) > buffer.size()) {
        if (::write(fd, buffer.data(), used) != static_cast<ssize_t>(used)) {
          return absl::InternalError("write");
        }
        used = 0;
      }
      return absl::OkStatus();
    });
    ::close(fd);
    if (!ok) return;
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
    worst = std::max<int64_t>(worst, *std::max_element(ns.begin(), ns.end()));
  }
  WorstCounters(state, ns, worst);
  Finish(state, kRecords);
}

// Every Append of kRecords timed; reports the worst and the median.
void BM_LogAppendWorst(benchmark::State& state, std::string base) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  LogOptions options;
  options.segment_size = uint64_t{4} << 20;
  options.compress_sealed = true;
  std::vector<uint32_t> ns(kRecords);
  int64_t worst = 0;
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    {
      auto log = AppendLog<R64>::Open(dir.File("log"), options);
      if (!log.ok()) return Fail(state, std::string(log.status().message()));
      if (!TimeEach(state, ns, [&](uint64_t, const R64& r) {
            return log->Append(r).status();
          })) {
        return;
      }
    }
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
    if (std::getenv("MAPFILE_BENCH_SLOWEST") != nullptr) {
      // Which appends were slowest (sequence number, ns): at a buffer
      // flush, a roll, or anywhere (preemption)?
      std::vector<uint32_t> sorted = ns;
      std::sort(sorted.begin(), sorted.end());
      for (uint64_t seq = 0; seq < kRecords; ++seq) {
        if (ns[seq] >= sorted[sorted.size() - 8]) {
          fprintf(stderr, "slow append %llu: %u ns\n",
                  static_cast<unsigned long long>(seq), ns[seq]);
        }
      }
    }
    worst = std::max<int64_t>(worst, *std::max_element(ns.begin(), ns.end()));
  }
  WorstCounters(state, ns, worst);
  Finish(state, kRecords);
}

void BM_LogAppendBatch(benchmark::State& state, std::string base) {
  Scratch dir(base);
  if (!dir.ok()) return Fail(state, "mkdtemp");
  std::vector<R64> batch(1000);
  for (size_t i = 0; i < batch.size(); ++i) batch[i] = RecordFor(i);
  for (auto _ : state) {
    dir.Clear();
    const int64_t start = NowNs();
    {
      auto log = AppendLog<R64>::Open(dir.File("log"), LogOptions());
      if (!log.ok()) return Fail(state, std::string(log.status().message()));
      for (uint64_t n = 0; n < kRecords; n += batch.size()) {
        absl::StatusOr<uint64_t> seq = log->AppendBatch(batch);
        if (!seq.ok()) return Fail(state, std::string(seq.status().message()));
      }
    }
    state.SetIterationTime(static_cast<double>(NowNs() - start) * 1e-9);
  }
  Finish(state, kRecords);
}

// Registers every benchmark once per directory of $MAPFILE_BENCH_DIRS.
int Register() {
  using Fn = void (*)(benchmark::State&, std::string);
  const std::pair<const char*, Fn> all[] = {
      {"BM_Write2Frames", BM_Write2Frames},
      {"BM_LogOpenAppendClose", BM_LogOpenAppendClose},
      {"BM_LogRecycle", BM_LogRecycle},
      {"BM_LogRecycleSynced", BM_LogRecycleSynced},
      {"BM_PwriteFdatasync", BM_PwriteFdatasync},
      {"BM_LogSyncEvery", BM_LogSyncEvery},
      {"BM_SpinWorst", BM_SpinWorst},
      {"BM_Write2Worst", BM_Write2Worst},
      {"BM_LogAppendWorst", BM_LogAppendWorst},
      {"BM_Memcpy", BM_Memcpy},
      {"BM_LogAppendBatch", BM_LogAppendBatch},
      {"BM_PwriteSteps", BM_PwriteSteps},
      {"BM_PwriteWholeSegment", BM_PwriteWholeSegment},
  };
  for (const auto& [base, fs] : bench::BenchDirs()) {
    for (const auto& [name, fn] : all) {
      benchmark::RegisterBenchmark((std::string(name) + "/" + fs).c_str(), fn,
                                   base)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond)
          ->Iterations(1);
    }
  }
  return 0;
}
const int registered = Register();

}  // namespace
}  // namespace mapfile
