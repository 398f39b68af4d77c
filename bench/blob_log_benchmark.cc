// Copyright 2026 The mapfile Authors.
//
// BlobLog against its peers, in one binary:
//   Append of 100 B, 1 KiB and 64 KiB records vs a buffered write(2) of
//   length-prefixed, checksummed frames (the same 16-byte header and
//   XXH3-64 a BlobLog frame has, through a 1 MiB buffer) and vs LevelDB's
//   log through a leveldb::DB (Put with sync = false: the record goes to
//   the write-ahead log, one write(2) per Put, and the memtable);
//   random Read (1 KiB records, warm, copy and checksum) vs pread(2) of the
//   same bytes.
//
//   bazel run -c opt //bench:blob_log_benchmark
//   MAPFILE_BENCH_DIR=/dev/shm build/blob_log_benchmark   # tmpfs
//
// Files go to $MAPFILE_BENCH_DIR (default /tmp).

#include <fcntl.h>
#include <unistd.h>
#include <xxhash.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "leveldb/db.h"
#include "mapfile/blob_log.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"

namespace mapfile {
namespace {

// A fresh directory, removed afterwards.
class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("MAPFILE_BENCH_DIR");
    std::string pattern =
        std::string(base != nullptr ? base : "/tmp") + "/blobbench.XXXXXX";
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~BenchDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// An N-byte record whose first 8 bytes are `seq`.
std::string Payload(size_t n) {
  std::string r(n, 'x');
  for (size_t i = 0; i < n; ++i) r[i] = static_cast<char>('a' + i % 26);
  return r;
}
void Stamp(std::string& r, uint64_t seq) {
  if (r.size() >= 8) std::memcpy(r.data(), &seq, 8);
}

// ------------------------------------------------------------ appends

template <size_t N>
void BM_BlobAppend(benchmark::State& state) {
  BenchDir dir;
  auto log = BlobLog::Open(dir.File("log"));
  if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
  std::string r = Payload(N);
  uint64_t seq = 0;
  for (auto _ : state) {
    Stamp(r, seq++);
    absl::StatusOr<uint64_t> s = log->Append(r);
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * N);
}

// Baseline: frames of [u32 length][u32 0][u64 XXH3-64 seeded with the
// sequence number][payload][pad to 8], copied into a 1 MiB buffer written
// with write(2) (a frame larger than the buffer is written directly).
template <size_t N>
void BM_Write2Framed(benchmark::State& state) {
  BenchDir dir;
  const std::string path = dir.File("write2");
  absl::StatusOr<os::Fd> fd = os::Open(path, O_WRONLY | O_CREAT | O_TRUNC);
  if (!fd.ok()) return state.SkipWithError("open");
  std::vector<char> buffer(1 << 20);
  size_t used = 0;
  std::string r = Payload(N);
  const size_t frame = internal::BlobFrameSize(N);
  uint64_t seq = 0;
  auto flush = [&] {
    const bool ok =
        ::write(fd->get(), buffer.data(), used) == static_cast<ssize_t>(used);
    used = 0;
    return ok;
  };
  for (auto _ : state) {
    Stamp(r, seq);
    if (used + frame > buffer.size() && !flush()) {
      return state.SkipWithError("write");
    }
    char* f = buffer.data() + used;
    const uint32_t header[2] = {static_cast<uint32_t>(N), 0};
    std::memcpy(f + 8, header, 8);
    std::memcpy(f + 16, r.data(), N);
    std::memset(f + 16 + N, 0, frame - 16 - N);
    const uint64_t sum = XXH3_64bits_withSeed(f + 8, 8 + N, seq++);
    std::memcpy(f, &sum, 8);
    used += frame;
  }
  if (!flush()) return state.SkipWithError("write");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * N);
}

// Baseline: LevelDB puts (8-byte key, the record as the value) with
// WriteOptions::sync = false and default Options: each Put appends the
// record to LevelDB's log (one write(2)) and its memtable; full memtables
// are flushed and compacted by LevelDB's background thread, as in use.
template <size_t N>
void BM_LevelDbLog(benchmark::State& state) {
  BenchDir dir;
  leveldb::Options options;
  options.create_if_missing = true;
  leveldb::DB* opened = nullptr;
  if (!leveldb::DB::Open(options, dir.File("leveldb"), &opened).ok()) {
    return state.SkipWithError("leveldb open");
  }
  std::unique_ptr<leveldb::DB> db(opened);
  const leveldb::WriteOptions write;  // sync = false
  std::string r = Payload(N);
  uint64_t seq = 0;
  for (auto _ : state) {
    Stamp(r, seq);
    char key[8];
    for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(seq >> (56 - 8 * i));
    ++seq;
    if (!db->Put(write, leveldb::Slice(key, 8), r).ok()) {
      return state.SkipWithError("leveldb put");
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * N);
}

// ------------------------------------------------------------ reads

constexpr uint64_t kReadRecords = uint64_t{1} << 17;  // 1 KiB: 2+ segments
constexpr size_t kReadSize = 1024;

struct BuiltLog {
  std::string path;
  bool ok = false;
};

// A blob log of kReadRecords 1 KiB records, synced and sealed, built once.
const BuiltLog& Built() {
  static BenchDir* dir = new BenchDir();
  static const BuiltLog built = [] {
    BuiltLog b{dir->File("reads")};
    auto log = BlobLog::Open(b.path);
    if (!log.ok()) return b;
    std::string r = Payload(kReadSize);
    for (uint64_t seq = 0; seq < kReadRecords; ++seq) {
      Stamp(r, seq);
      if (!log->Append(r).ok()) return b;
    }
    b.ok = log->Seal().ok();
    return b;
  }();
  return built;
}

// Reads at uniformly random sequence numbers (the same in every
// benchmark); `read(seq)` returns the seq stamped in the record it read.
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
  state.SetBytesProcessed(state.iterations() * kReadSize);
}

uint64_t SeqOf(const std::string& r) {
  uint64_t seq = ~uint64_t{0};
  if (r.size() >= 8) std::memcpy(&seq, r.data(), 8);
  return seq;
}

// BlobReader::Read into a reused string: index lookup, copy, checksum.
void BM_BlobRead_Random(benchmark::State& state) {
  const BuiltLog& built = Built();
  if (!built.ok) return state.SkipWithError("setup");
  auto reader = BlobReader::Open(built.path);
  if (!reader.ok()) return state.SkipWithError("open");
  std::string out;
  RandomReads(state, [&](uint64_t seq) {
    return reader->Read(seq, &out).ok() ? SeqOf(out) : ~seq;
  });
}

// Baseline: pread(2) of the same 1 KiB payloads (no checksum) at their
// offsets in the segment files (computed from the frame size).
void BM_BlobRead_Pread(benchmark::State& state) {
  const BuiltLog& built = Built();
  if (!built.ok) return state.SkipWithError("setup");
  const uint64_t frame = internal::BlobFrameSize(kReadSize);
  const uint64_t per = (LogOptions().segment_size - kHeaderSize - 64) / frame;
  std::vector<os::Fd> fds;
  for (uint64_t first = 0; first < kReadRecords; first += per) {
    absl::StatusOr<os::Fd> fd =
        os::Open(built.path + "/" + internal::SegmentFileName(first), O_RDONLY);
    if (!fd.ok()) return state.SkipWithError("open");
    fds.push_back(*std::move(fd));
  }
  std::string out(kReadSize, '\0');
  RandomReads(state, [&](uint64_t seq) {
    const ssize_t n = ::pread(fds[seq / per].get(), out.data(), kReadSize,
                              kHeaderSize + 64 + (seq % per) * frame + 16);
    return n == static_cast<ssize_t>(kReadSize) ? SeqOf(out) : ~seq;
  });
}

BENCHMARK_TEMPLATE(BM_BlobAppend, 100);
BENCHMARK_TEMPLATE(BM_Write2Framed, 100);
BENCHMARK_TEMPLATE(BM_LevelDbLog, 100);
BENCHMARK_TEMPLATE(BM_BlobAppend, 1024);
BENCHMARK_TEMPLATE(BM_Write2Framed, 1024);
BENCHMARK_TEMPLATE(BM_LevelDbLog, 1024);
BENCHMARK_TEMPLATE(BM_BlobAppend, 65536);
BENCHMARK_TEMPLATE(BM_Write2Framed, 65536);
BENCHMARK_TEMPLATE(BM_LevelDbLog, 65536);
BENCHMARK(BM_BlobRead_Random);
BENCHMARK(BM_BlobRead_Pread);

}  // namespace
}  // namespace mapfile
