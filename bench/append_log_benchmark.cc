// Copyright 2026 The mapfile Authors.
//
// AppendLog<T> against its peers, in one binary:
//   Append / AppendBatch (64 B and 1 KiB records) vs write(2) through a
//   1 MiB buffer, LMDB puts (MDB_WRITEMAP|MDB_NOSYNC, one transaction per
//   1000 puts, MDB_APPEND) and LevelDB puts (sync = false); random Read vs
//   pread(2) of the same bytes; Sync latency vs write(2)+fdatasync and
//   pwrite+fdatasync; Open of 10^3 vs 10^7 records, and
//   recovery of a torn tail; compression ratio and read rate of a
//   zstd-sealed segment vs plain ZSTD_decompress of the same frame.
//   (WaitFor wake-up: bench/reader_benchmark.cc.)
//
//   bazel run -c opt //bench:append_log_benchmark
//   MAPFILE_BENCH_DIR=/dev/shm build/append_log_benchmark   # tmpfs
//
// Files go to $MAPFILE_BENCH_DIR (default /tmp): on a disk, Sync and the
// segment rolls pay for real writeback; on tmpfs they measure the CPU cost.

#include <fcntl.h>
#include <lmdb.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "leveldb/db.h"
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

// The log in `dir`, or nullopt with the benchmark skipped.
template <typename T>
std::optional<AppendLog<T>> OpenLog(const std::string& dir,
                                    benchmark::State& state,
                                    LogOptions options = {}) {
  auto log = AppendLog<T>::Open(dir, options);
  if (log.ok()) return *std::move(log);
  state.SkipWithError(std::string(log.status().message()).c_str());
  return std::nullopt;
}

// ------------------------------------------------------------ appends

// Appends N-byte records one at a time into a new log opened with `o`.
template <size_t N>
void AppendLoop(benchmark::State& state, const LogOptions& o) {
  BenchDir dir;
  auto log = OpenLog<Record<N>>(dir.File("log"), state, o);
  if (!log) return;
  Record<N> r{};
  std::memset(r.bytes, 'x', sizeof(r.bytes));
  for (auto _ : state) {
    absl::StatusOr<uint64_t> seq = log->Append(r);
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
  if (!log) return;
  std::vector<Record<N>> batch(1000);
  for (auto& r : batch) std::memset(r.bytes, 'x', sizeof(r.bytes));
  for (auto _ : state) {
    absl::StatusOr<uint64_t> seq = log->AppendBatch(batch);
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

// Baseline: LevelDB puts with WriteOptions::sync = false, default Options.
// Each Put appends its record to LevelDB's write-ahead log (one write(2)
// into the page cache, no fsync) and inserts it into the memtable; full
// memtables (4 MiB) are written to table files and compacted by LevelDB's
// background thread, which may stall writers. Keys: 8-byte big-endian
// sequence numbers, in order, as a log's.
template <size_t N>
void BM_LevelDbPut(benchmark::State& state) {
  BenchDir dir;
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* opened = nullptr;
  const leveldb::Status open =
      leveldb::DB::Open(options, dir.File("leveldb"), &opened);
  if (!open.ok()) return state.SkipWithError(open.ToString().c_str());
  std::unique_ptr<leveldb::DB> db(opened);
  const leveldb::WriteOptions write;  // sync = false
  Record<N> r{};
  std::memset(r.bytes, 'x', sizeof(r.bytes));
  char key[8];
  for (auto _ : state) {
    for (int i = 0; i < 8; ++i) {
      key[i] = static_cast<char>(r.seq >> (56 - 8 * i));
    }
    const leveldb::Status s =
        db->Put(write, leveldb::Slice(key, sizeof(key)),
                leveldb::Slice(reinterpret_cast<const char*>(&r), N));
    if (!s.ok()) return state.SkipWithError(s.ToString().c_str());
    ++r.seq;
  }
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
  if (!log) return;
  Record<64> r{};
  std::vector<int64_t> all, rolls;
  const uint64_t per =
      internal::LogLayout(FingerprintOf<Record<64>>()).Capacity(o.segment_size);
  uint64_t segments = 1;
  for (auto _ : state) {
    const int64_t start = NowNs();
    absl::StatusOr<uint64_t> seq = log->Append(r);
    const int64_t took = NowNs() - start;
    if (!seq.ok()) return state.SkipWithError("append");
    all.push_back(took);
    if (*seq / per + 1 > segments) {
      segments = *seq / per + 1;
      rolls.push_back(took);
    }
    if (*seq % 1000 == 999) {
      state.PauseTiming();
      if (!log->Sync().ok()) return state.SkipWithError("sync");
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

// ------------------------------------------------------------ reads

// A log of `records` 64 B records (record i carries seq i) in
// $MAPFILE_BENCH_DIR, built once per process, closed, and removed at exit;
// `ok` is false if that failed. All but the last 1000 records are synced,
// then those: the newest commit counts 1000 records whatever the size
// (Open verifies the frames of the newest commit). 10^7 records are 11
// segments of 64 MiB (720 MB); building them takes seconds.
struct BuiltLog {
  BenchDir dir;
  std::string path = dir.File("log");
  bool ok = false;
};

const BuiltLog& Built(uint64_t records) {
  static std::map<uint64_t, BuiltLog> logs;
  auto [it, fresh] = logs.try_emplace(records);
  BuiltLog& built = it->second;
  if (!fresh) return built;
  auto log = AppendLog<Record<64>>::Open(built.path);
  if (!log.ok()) return built;
  std::vector<Record<64>> batch(4096);
  auto append_and_sync = [&](uint64_t from, uint64_t to) {
    for (uint64_t seq = from; seq < to; seq += batch.size()) {
      const size_t n = std::min<uint64_t>(batch.size(), to - seq);
      for (size_t i = 0; i < n; ++i) batch[i].seq = seq + i;
      if (!log->AppendBatch({batch.data(), n}).ok()) return false;
    }
    return log->Sync().ok();
  };
  const uint64_t last = records - std::min<uint64_t>(records, 1000);
  built.ok = append_and_sync(0, last) && append_and_sync(last, records);
  return built;
}

constexpr uint64_t kReadRecords = uint64_t{1} << 20;  // 2 segments

// Reads records of Built(kReadRecords), warm, at uniformly random sequence
// numbers (the same ones in every benchmark) with `read(seq)`, which
// returns the seq field of the record it read (anything else is an error).
template <typename Read>
void RandomReads(benchmark::State& state, Read read) {
  std::mt19937_64 rng(1);
  std::vector<uint64_t> seqs(1 << 16);
  for (uint64_t& seq : seqs) seq = rng() % kReadRecords;
  size_t i = 0;
  for (auto _ : state) {
    const uint64_t seq = seqs[i++ % seqs.size()];
    if (read(seq) != seq) return state.SkipWithError("read");
  }
  state.SetItemsProcessed(state.iterations());
}

// AppendLog::Read: a copy of one 64 B record, its checksum verified.
void BM_LogRead_Random(benchmark::State& state) {
  const BuiltLog& built = Built(kReadRecords);
  if (!built.ok) return state.SkipWithError("setup");
  auto log = OpenLog<Record<64>>(built.path, state);
  if (!log) return;
  RandomReads(state, [&](uint64_t seq) {
    absl::StatusOr<Record<64>> r = log->Read(seq);
    return r.ok() ? r->seq : ~seq;
  });
}

// LogReader::Read of the same records (a reader sees committed records).
void BM_LogReaderRead_Random(benchmark::State& state) {
  const BuiltLog& built = Built(kReadRecords);
  if (!built.ok) return state.SkipWithError("setup");
  auto reader = LogReader<Record<64>>::Open(built.path);
  if (!reader.ok()) return state.SkipWithError("open");
  RandomReads(state, [&](uint64_t seq) {
    absl::StatusOr<Record<64>> r = reader->Read(seq);
    return r.ok() ? r->seq : ~seq;
  });
}

// Baseline: pread(2) of the same 64 bytes (no checksum) from the segment
// files, at the log's offsets: segment seq / capacity, byte
// records_offset() + (seq % capacity) * stride.
void BM_LogRead_Pread(benchmark::State& state) {
  const BuiltLog& built = Built(kReadRecords);
  if (!built.ok) return state.SkipWithError("setup");
  const internal::LogLayout layout(FingerprintOf<Record<64>>());
  const uint64_t per = layout.Capacity(LogOptions().segment_size);
  std::vector<os::Fd> fds;
  for (uint64_t first = 0; first < kReadRecords; first += per) {
    absl::StatusOr<os::Fd> fd =
        os::Open(built.path + "/" + internal::SegmentFileName(first), O_RDONLY);
    if (!fd.ok()) return state.SkipWithError("open");
    fds.push_back(*std::move(fd));
  }
  RandomReads(state, [&](uint64_t seq) {
    Record<64> r;
    const ssize_t n =
        ::pread(fds[seq / per].get(), &r, sizeof(r),
                layout.records_offset() + (seq % per) * layout.stride);
    return n == sizeof(r) ? r.seq : ~seq;
  });
}

// ------------------------------------------------------------ durability

// Group commit: `records` 64 B records appended (one AppendBatch), then one
// Sync, per iteration.
void BM_LogAppendSync(benchmark::State& state) {
  BenchDir dir;
  auto log = OpenLog<Record<64>>(dir.File("log"), state);
  if (!log) return;
  const std::vector<Record<64>> batch(state.range(0));
  for (auto _ : state) {
    if (!log->AppendBatch(batch).ok() || !log->Sync().ok()) {
      return state.SkipWithError("sync");
    }
  }
  state.SetItemsProcessed(state.iterations() * batch.size());
}

// The same bytes a Sync of one 64 B append writes (its frame and its commit
// slot), into a preallocated segment file, without a mapping. Arg: 0 =
// pwrite frame + fdatasync (one flush, as Sync now does), 1 = pwrite frame +
// fdatasync + pwrite slot + fdatasync (the two-flush order), 2 =
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

// ------------------------------------------------------------ open

// Times `open()` (an absl::StatusOr of a log) per iteration; closing the
// log is not timed.
template <typename Open>
void OpenLoop(benchmark::State& state, Open open) {
  for (auto _ : state) {
    auto log = open();
    state.PauseTiming();
    if (!log.ok()) {
      return state.SkipWithError(std::string(log.status().message()).c_str());
    }
    log = absl::CancelledError("closed");  // destroys the log
    state.ResumeTiming();
  }
}

// AppendLog::Open of an existing log of `records` 64 B records, synced and
// closed: target O(1) in the data size (records:10000000 within 2x of
// records:1000). Open lists the directory (O(segments)), maps the last
// segment, reads its commit slots, verifies the checksum of every frame
// the newest commit added (a commit torn by a power loss falls back to the
// one before), checks the frames after it (none here), then cuts the last
// segment after its records, re-extends it (ftruncate, fallocate of its
// free part) and fdatasyncs. So it is not O(records) but O(records of the
// last Sync): 1000 here for both sizes (see Built); a log whose last
// segment was synced once, at its end, verifies all of that segment's
// records (up to 932009; records:10000000 built so took ~30x as long).
void BM_LogOpen(benchmark::State& state) {
  const BuiltLog& built = Built(state.range(0));
  if (!built.ok) return state.SkipWithError("setup");
  OpenLoop(state, [&] { return AppendLog<Record<64>>::Open(built.path); });
}

// LogReader::Open of the same logs: lists the directory, maps the last
// segment read-only and reads its commit slots; writes nothing.
void BM_LogReaderOpen(benchmark::State& state) {
  const BuiltLog& built = Built(state.range(0));
  if (!built.ok) return state.SkipWithError("setup");
  OpenLoop(state, [&] { return LogReader<Record<64>>::Open(built.path); });
}

// AppendLog::Open recovering from a crash that tore the tail, as a kill -9
// leaves it (the tail still in the page cache): 1000 synced records, then
// `tail` records appended after the last Sync, the last of them torn (8
// bytes of its payload overwritten). Open verifies the committed frames
// (as BM_LogOpen), then the tail's, keeps all but the torn one, cuts it
// (ftruncate, fallocate, fdatasync) and commits the kept ones (a Sync:
// their tail * 72 bytes and a commit slot made durable).
// Before each Open (not timed) the torn state is restored: the header page
// with its commit slots and the control block, and the tail's frames.
// Counters: recovery()'s records_kept and records_cut, checked each time
// (records_cut > 0), so this cannot measure a clean open.
void BM_LogRecover(benchmark::State& state) {
  constexpr uint64_t kSynced = 1000;
  const uint64_t tail = static_cast<uint64_t>(state.range(0));
  BenchDir dir;
  const std::string path = dir.File("log");
  {
    auto log = OpenLog<Record<64>>(path, state);
    if (!log) return;
    std::vector<Record<64>> records(kSynced + tail);
    for (uint64_t i = 0; i < records.size(); ++i) records[i].seq = i;
    if (!log->AppendBatch({records.data(), kSynced}).ok() || !log->Sync().ok() ||
        !log->AppendBatch({records.data() + kSynced, tail}).ok()) {
      return state.SkipWithError("setup");
    }
  }  // closed without a Sync: the tail is not committed
  const internal::LogLayout layout(FingerprintOf<Record<64>>());
  const std::string file = path + "/" + internal::SegmentFileName(0);
  const uint64_t from = layout.records_offset() + kSynced * layout.stride;
  const uint64_t end = from + tail * layout.stride;
  std::string head(layout.records_offset(), '\0');
  std::string frames(end - from, '\0');
  const char torn[8] = {'t', 'o', 'r', 'n', 't', 'o', 'r', 'n'};
  absl::StatusOr<os::Fd> fd = os::Open(file, O_RDWR);
  if (!fd.ok() ||
      !os::Pwrite(fd->get(), file, torn, sizeof(torn), end - layout.stride + 8)
           .ok() ||
      !os::Pread(fd->get(), file, head.data(), head.size(), 0).ok() ||
      !os::Pread(fd->get(), file, frames.data(), frames.size(), from).ok()) {
    return state.SkipWithError("setup");
  }
  RecoveryReport report;
  for (auto _ : state) {
    auto log = AppendLog<Record<64>>::Open(path);
    state.PauseTiming();
    if (!log.ok()) {
      return state.SkipWithError(std::string(log.status().message()).c_str());
    }
    report = log->recovery();
    if (report.records_cut == 0 || report.records_kept != tail - 1) {
      return state.SkipWithError("Open did not cut the torn record");
    }
    log = absl::CancelledError("closed");  // destroys the log
    if (!os::Pwrite(fd->get(), file, head.data(), head.size(), 0).ok() ||
        !os::Pwrite(fd->get(), file, frames.data(), frames.size(), from).ok()) {
      return state.SkipWithError("restore");
    }
    state.ResumeTiming();
  }
  state.counters["records_kept"] = static_cast<double>(report.records_kept);
  state.counters["records_cut"] = static_cast<double>(report.records_cut);
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
    log = absl::CancelledError("closed");  // close finishes the compression
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
BENCHMARK_TEMPLATE(BM_LevelDbPut, 64);
BENCHMARK_TEMPLATE(BM_LogAppend, 1024);
BENCHMARK_TEMPLATE(BM_LogAppendBatch, 1024);
BENCHMARK_TEMPLATE(BM_Write2Buffered, 1024);
BENCHMARK_TEMPLATE(BM_LmdbPut, 1024);
BENCHMARK_TEMPLATE(BM_LevelDbPut, 1024);
BENCHMARK_TEMPLATE(BM_LogAppendPretouch, 64)
    ->ArgName("pretouch")->Arg(0)->Arg(4 << 20);
BENCHMARK(BM_LogAppendLatency)
    ->ArgName("pretouch")->Arg(0)->Arg(256 << 10)->Iterations(300000);
BENCHMARK(BM_LogRead_Random);
BENCHMARK(BM_LogReaderRead_Random);
BENCHMARK(BM_LogRead_Pread);
BENCHMARK(BM_LogAppendSync)->ArgName("records")->Arg(1)->Arg(1000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PwriteSync)->ArgName("how")->Arg(0)->Arg(1)->Arg(2)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Write2Fdatasync)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LogOpen)->ArgName("records")->Arg(1000)->Arg(10000000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LogReaderOpen)->ArgName("records")->Arg(1000)->Arg(10000000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LogRecover)->ArgName("tail")->Arg(1000)->Arg(100000)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_SealedSegmentRead)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ZstdDecompress)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace mapfile
