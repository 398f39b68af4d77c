// Copyright 2026 The mapfile Authors.
//
// append_log.h: AppendLog<T>, a durable, segmented log of trivially copyable
// records numbered 0, 1, 2, ..., and LogReader<T>, which follows it from
// another thread or process.
//
//   MAPFILE_ASSIGN_OR_RETURN(auto log, AppendLog<Tick>::Open("/data/ticks"));
//   MAPFILE_ASSIGN_OR_RETURN(uint64_t seq, log.Append({1700000000, 101.5}));
//   MAPFILE_RETURN_IF_ERROR(log.Sync());           // durable up to `seq`
//   for (auto c = log.From(0); c.Valid(); c.Next()) Use(c.seq(), c.value());
//
// Layout: a directory holding a LOCK file and segment files named by the
// sequence number of their first record ("00000000000000000000.seg", ...),
// each a FORMAT.md header page plus fixed-size checksummed frames
// (docs/FORMAT.md "Log segments"; docs/DESIGN.md gives the engine behind
// it). Finding
// a record is a binary search over the segments (O(log segments)), then O(1)
// arithmetic within its segment (plus, once, mapping or decompressing it).
//
// Guarantees:
//   * Append encodes the record and its checksum into a 256 KiB buffer in
//     memory, with no system call except when the buffer is full (one
//     pwrite into the active segment; at a full segment also the switch to
//     the next one, which a background thread prepared: no flush, no file
//     creation), when sync_every_records/_bytes is reached (a Sync()), and
//     rarely to allocate disk space the background has not allocated yet.
//     Segment preparation, disk allocation ahead of the writer, and the
//     compression of sealed segments run on the process's background
//     (pretouch) thread.
//   * Sync() makes every record appended so far durable: the segments
//     filled since the last Sync (their data and commit, one fdatasync
//     each), then the active one (its commit slot and new records: one
//     flush), then their names (rename, directory fsync); group commit.
//     After a crash, Open recovers every synced record; records appended
//     after the last Sync are kept while their checksums hold, and the
//     first bad one and everything after it are cut and reported in
//     recovery(). A Sync torn by a power loss (its slot on disk, a record
//     not) counts for nothing: its records are treated as appended after
//     the Sync before it. No torn or corrupt record is ever returned: reads
//     verify checksums and fail with DataLoss.
//   * Closing without Sync (the destructor) writes the buffer: the next Open
//     keeps every appended record (not durable against a power loss, and
//     not made durable by that Open: its first Sync commits them, and
//     readers see them from then on). A
//     killed process loses the records still in its buffer (appended since
//     the last flush: at most 256 KiB of frames); every record written before
//     is kept.
//   * One writer per directory (flock on LOCK): a second AppendLog::Open, in
//     any process, is Unavailable. Any number of LogReaders, which take no
//     lock and see only committed (synced) records.
//   * Disk full: disk space is allocated ahead of the records (in steps,
//     1 MiB doubling up to the segment size; a small log takes one step),
//     and records are never stored through a mapping, so a full disk is a
//     ResourceExhausted from the Append that needed the space (the record
//     not appended), never SIGBUS.
//   * A segment's size is the log's: recorded in each segment's header when
//     it is created. Open with another segment_size keeps existing segments
//     as they are (new segments get the new size); a segment file longer
//     than its recorded size is cut back to it, never allocated.
//
// Errors: every error of a public function starts with its name and the
// log's directory (AppendLog::Open("/data/ticks"): creating segment
// "...": ...), then the step and the system call (docs/ERRORS.md). Out of
// memory is ResourceExhausted, never an exception. A commit torn by a power
// loss is rewritten by the next writer's Open, so it is decided once.
//
// Validity of references: Cursor::value() refers into the mapped segment or
// a decompressed copy; it stays valid until the cursor moves or dies (the
// cursor keeps its segment alive, even across TruncateBefore, Compress and
// cache eviction; a writer's cursor first writes the buffer so that its
// records are in the mapping). Read() and operator[] return copies (a
// writer's Read of a record still in the buffer copies it from there).
//
// Thread safety: an AppendLog or LogReader object is not thread-safe, not
// even through its const methods (Read, operator[], From and its cursors
// map segments and update the decompressed-segment cache): use one object
// per thread, or lock around every call. Separate objects on one directory
// need no locking: a writer thread and reader threads, or processes, each
// with their own object.

#ifndef MAPFILE_APPEND_LOG_H_
#define MAPFILE_APPEND_LOG_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mapfile/format.h"
#include "mapfile/log_options.h"
#include "mapfile/mapped_file.h"
#include "mapfile/status_macros.h"

namespace mapfile {

namespace internal {

class LogStore;  // mapfile/internal/log_store.h: the engine (not installed)

// Records [first, end) of one segment at base + (seq - first) * stride;
// `pin` keeps their memory alive.
struct RecordRun {
  const std::byte* base = nullptr;
  uint64_t first = 0;
  uint64_t end = 0;
  std::shared_ptr<const void> pin;
};

// XXH3-64 of a record's payload seeded with its sequence number
// (mapfile/internal/log_format.h, which declares it too, gives the frame).
uint64_t RecordChecksum(const void* payload, size_t size, uint64_t seq);

// The faces' (AppendLog<T>, LogReader<T>, the `mapfile` tool) one way into
// the untyped log engine: a pointer to it and the frame shape of its
// records, so that a cursor checks a frame inline. Copyable and
// non-owning: the face that opened it calls Close() once. Every call but
// the inline ones is one out-of-line call into the engine (Append's body
// is the append itself, in mapfile/log_writer.cc).
class LogHandle {
 public:
  LogHandle() = default;

  // A writer (AppendLog<T>::Open's contract) or a reader (LogReader<T>) of
  // records of `type` in `dir`.
  static absl::StatusOr<LogHandle> OpenWriter(const std::string& dir,
                                              const LogOptions& options,
                                              const TypeFingerprint& type);
  static absl::StatusOr<LogHandle> OpenReader(const std::string& dir,
                                              const ReaderOptions& options,
                                              const TypeFingerprint& type);
  // AppendLog<T>::PlanRecovery.
  static absl::StatusOr<RecoveryReport> PlanRecovery(
      const std::string& dir, const TypeFingerprint& type);
  // Frees the engine; no-op on a default-constructed or closed handle.
  void Close();

  // Writer only.
  absl::StatusOr<uint64_t> Append(const void* records, size_t n) const;
  absl::Status Sync() const;
  absl::Status TruncateBefore(uint64_t seq) const;
  absl::Status Seal() const;
  absl::Status Compress(uint64_t seq) const;
  absl::Status Decompress(uint64_t seq) const;
  void Pretouch() const;
  const RecoveryReport& recovery() const;

  // Both. A reader's next_seq() and first_seq() look for news first.
  uint64_t first_seq() const;
  uint64_t next_seq() const;
  absl::Status Read(uint64_t seq, void* out) const;
  absl::StatusOr<RecordRun> Run(uint64_t seq) const;
  absl::Status WaitFor(uint64_t seq, absl::Duration timeout) const;
  const std::string& dir() const;

  uint64_t stride() const { return stride_; }
  // Whether `frame` holds record `seq` (log_format.h's FrameValid).
  bool Valid(const std::byte* frame, uint64_t seq) const {
    uint64_t stored;
    std::memcpy(&stored, frame + checksum_at_, sizeof(stored));
    return stored == RecordChecksum(frame, payload_, seq);
  }
  LogStore* store() const { return store_; }

 private:
  explicit LogHandle(LogStore* store);

  LogStore* store_ = nullptr;
  uint64_t stride_ = 0;
  uint64_t payload_ = 0;
  uint64_t checksum_at_ = 0;
};

}  // namespace internal

// Iterates a log from a sequence number (LevelDB style):
//   for (auto c = log.From(seq); c.Valid(); c.Next()) ... c.value() ...
//   MAPFILE_RETURN_IF_ERROR(c.status());   // why it stopped, if not the end
// It ends at the log's next_seq() as of each step (a writer's appended
// records; a reader's committed ones).
template <typename T>
class LogCursor {
 public:
  bool Valid() const { return frame_ != nullptr; }
  uint64_t seq() const { return seq_; }
  // REQUIRES: Valid(). Checksum verified; see "Validity of references".
  const T& value() const { return *reinterpret_cast<const T*>(frame_); }
  // REQUIRES: Valid().
  void Next() {
    ++seq_;
    if (seq_ < run_.end) {
      frame_ += log_.stride();
      Check();
    } else {
      Seek();
    }
  }
  // OK at the end of the log; DataLoss (a record failed its checksum),
  // OutOfRange (removed by retention), ... when iteration stopped early.
  const absl::Status& status() const { return status_; }

 private:
  template <typename>
  friend class AppendLog;
  template <typename>
  friend class LogReader;
  LogCursor(const internal::LogHandle& log, uint64_t seq)
      : log_(log), seq_(seq) {
    Seek();
  }
  void Seek() {
    frame_ = nullptr;
    status_ = internal::CatchAllocation("LogCursor::Next", log_.dir(), [&] {
      if (seq_ >= log_.next_seq()) return absl::OkStatus();
      absl::StatusOr<internal::RecordRun> run = log_.Run(seq_);
      if (!run.ok()) return run.status();
      run_ = *std::move(run);
      frame_ = run_.base + (seq_ - run_.first) * log_.stride();
      return absl::OkStatus();
    });
    if (frame_ != nullptr) Check();
  }
  void Check() {
    if (log_.Valid(frame_, seq_)) return;
    frame_ = nullptr;
    status_ = internal::CatchAllocation("LogCursor::Next", log_.dir(), [&] {
      return absl::DataLossError(absl::StrCat(
          "log \"", log_.dir(), "\": record ", seq_, " fails its checksum"));
    });
  }

  internal::LogHandle log_;  // a copy: the cursor outlives moves of its log
  internal::RecordRun run_;
  uint64_t seq_;
  const std::byte* frame_ = nullptr;
  absl::Status status_;
};

namespace internal {
template <typename T>
struct LogRecordCheck {
  static_assert(std::is_trivially_copyable_v<T> && !std::is_const_v<T>,
                "AppendLog<T>/LogReader<T> store T's bytes in files read by "
                "other processes: T must be trivially copyable (and not "
                "const)");
  static_assert(alignof(T) <= 4096,
                "alignof(T) above 4096 (the smallest page) cannot be honoured");
};
// Reads record `seq` of `store` into a T.
template <typename T>
absl::StatusOr<T> ReadRecord(const LogHandle& store, uint64_t seq) {
  alignas(T) std::byte bytes[sizeof(T)];
  absl::Status status = store.Read(seq, bytes);
  if (!status.ok()) return status;
  return *reinterpret_cast<const T*>(bytes);
}
}  // namespace internal

// The writer. Move-only.
template <typename T>
class AppendLog : internal::LogRecordCheck<T> {
 public:
  using Options = LogOptions;
  using Cursor = LogCursor<T>;

  // Opens the log in `dir` (created by options.mode), recovering its tail
  // (recovery() says what was cut). Errors: Unavailable (another writer),
  // FailedPrecondition (segments of another T), DataLoss (a damaged header
  // or commit in the active segment), NotFound, PermissionDenied,
  // ResourceExhausted (no space for a segment).
  [[nodiscard]] static absl::StatusOr<AppendLog> Open(
      const std::string& dir, const Options& options = {}) {
    return internal::CatchAllocation(
        "AppendLog::Open", dir, [&]() -> absl::StatusOr<AppendLog> {
          auto log = internal::LogHandle::OpenWriter(dir, options,
                                                     FingerprintOf<T>());
          if (!log.ok()) return log.status();
          return AppendLog(*log);
        });
  }

  // Appends one record; returns its sequence number.
  [[nodiscard]] absl::StatusOr<uint64_t> Append(const T& value) {
    return internal::CatchAllocation("AppendLog::Append", dir(),
                                     [&] { return log_.Append(&value, 1); });
  }
  // Appends `values` in order; returns the first one's sequence number. On
  // an error, a prefix of them may have been appended (see next_seq()).
  [[nodiscard]] absl::StatusOr<uint64_t> AppendBatch(
      absl::Span<const T> values) {
    return internal::CatchAllocation("AppendLog::AppendBatch", dir(), [&] {
      return log_.Append(values.data(), values.size());
    });
  }
  // Makes every appended record durable and visible to LogReaders. After a
  // failure every later Sync fails (the kernel may have dropped pages):
  // reopen the log.
  [[nodiscard]] absl::Status Sync() {
    return internal::CatchAllocation("AppendLog::Sync", dir(),
                                     [&] { return log_.Sync(); });
  }

  // A copy of record `seq`, checksum verified. OutOfRange outside
  // [first_seq(), next_seq()), DataLoss if it is damaged. Not safe
  // concurrently with any other call on this object although const (it
  // maps segments and updates the cache; see "Thread safety").
  [[nodiscard]] absl::StatusOr<T> Read(uint64_t seq) const {
    return internal::CatchAllocation("AppendLog::Read", dir(), [&] {
      return internal::ReadRecord<T>(log_, seq);
    });
  }
  [[nodiscard]] absl::StatusOr<T> operator[](uint64_t seq) const {
    return Read(seq);
  }
  // A cursor at `seq`. Not thread-safe although const, as Read: the cursor
  // uses this object (and its cache) at every step.
  Cursor From(uint64_t seq) const { return Cursor(log_, seq); }

  uint64_t first_seq() const { return log_.first_seq(); }
  uint64_t next_seq() const { return log_.next_seq(); }
  uint64_t size() const { return next_seq() - first_seq(); }

  // Retention: removes every segment whose records are all below `seq`
  // (never the active one), synced or not: keeps up to
  // LogOptions::recycle_segments of them for reuse by later rolls, deletes
  // the others. first_seq() may stay below `seq`. If the directory fsync
  // after a segment's removal fails, that segment is out of the log already
  // (first_seq() is past it), and every later Sync and TruncateBefore
  // fails, as after a failed Sync: reopen the log.
  [[nodiscard]] absl::Status TruncateBefore(uint64_t seq) {
    return internal::CatchAllocation("AppendLog::TruncateBefore", dir(),
                                     [&] { return log_.TruncateBefore(seq); });
  }
  // Syncs, finishes the active segment (trimmed to its records, marked
  // sealed) and starts a new one; with Options::compress_sealed its
  // compression is queued for the background thread.
  [[nodiscard]] absl::Status Seal() {
    return internal::CatchAllocation("AppendLog::Seal", dir(),
                                     [&] { return log_.Seal(); });
  }
  // Rewrites the sealed segment holding `seq` as zstd (temporary file,
  // fsync, rename over the original, directory fsync), now, in this
  // thread (after Sync() if the segment was filled since the last one).
  // FailedPrecondition for the active segment.
  [[nodiscard]] absl::Status Compress(uint64_t seq) {
    return internal::CatchAllocation("AppendLog::Compress", dir(),
                                     [&] { return log_.Compress(seq); });
  }
  // The reverse: rewrites the compressed segment holding `seq` uncompressed,
  // by the same protocol, after checking every record's checksum (DataLoss,
  // and the file untouched, if one fails). A crash at any step leaves the
  // compressed segment or the uncompressed one. No-op if not compressed.
  [[nodiscard]] absl::Status Decompress(uint64_t seq) {
    return internal::CatchAllocation("AppendLog::Decompress", dir(),
                                     [&] { return log_.Decompress(seq); });
  }
  // Does the log's pending background work (preparing the next segment,
  // allocating disk space ahead, compressing sealed segments) in the
  // calling thread: with pretouch_in_background = false, the only place
  // besides Seal, Compress, Decompress and close. May be called from any
  // thread, concurrently with the writer.
  void Pretouch() { log_.Pretouch(); }

  const RecoveryReport& recovery() const { return log_.recovery(); }
  const std::string& dir() const { return log_.dir(); }

  // What Open(dir) would cut from the log's torn tail (the recovery() it
  // would report), found by the same recovery code without writing: no
  // lock is taken and no file changes. Errors as Open's.
  [[nodiscard]] static absl::StatusOr<RecoveryReport> PlanRecovery(
      const std::string& dir) {
    return internal::CatchAllocation("AppendLog::PlanRecovery", dir, [&] {
      return internal::LogHandle::PlanRecovery(dir, FingerprintOf<T>());
    });
  }

  AppendLog(AppendLog&& other) noexcept
      : log_(std::exchange(other.log_, internal::LogHandle())) {}
  AppendLog& operator=(AppendLog&& other) noexcept {
    if (this != &other) {
      log_.Close();
      log_ = std::exchange(other.log_, internal::LogHandle());
    }
    return *this;
  }
  ~AppendLog() { log_.Close(); }

 private:
  explicit AppendLog(internal::LogHandle log) : log_(log) {}
  internal::LogHandle log_;
};

// A read-only view of a log that a writer may be appending to, in this or
// another process. Sees committed records only; follows new segments,
// retention and compression. Takes no lock. Move-only.
template <typename T>
class LogReader : internal::LogRecordCheck<T> {
 public:
  using Cursor = LogCursor<T>;

  // NotFound if `dir` holds no segment yet (after waiting up to
  // options.wait_for_log for one); FailedPrecondition for another T.
  [[nodiscard]] static absl::StatusOr<LogReader> Open(
      const std::string& dir, const ReaderOptions& options = {}) {
    return internal::CatchAllocation(
        "LogReader::Open", dir, [&]() -> absl::StatusOr<LogReader> {
          auto log = internal::LogHandle::OpenReader(dir, options,
                                                     FingerprintOf<T>());
          if (!log.ok()) return log.status();
          return LogReader(*log);
        });
  }
  LogReader(LogReader&& other) noexcept
      : log_(std::exchange(other.log_, internal::LogHandle())) {}
  LogReader& operator=(LogReader&& other) noexcept {
    if (this != &other) {
      log_.Close();
      log_ = std::exchange(other.log_, internal::LogHandle());
    }
    return *this;
  }
  ~LogReader() { log_.Close(); }

  // As AppendLog::Read and From, up to next_seq(); not thread-safe either.
  [[nodiscard]] absl::StatusOr<T> Read(uint64_t seq) {
    return internal::CatchAllocation("LogReader::Read", log_.dir(), [&] {
      return internal::ReadRecord<T>(log_, seq);
    });
  }
  Cursor From(uint64_t seq) { return Cursor(log_, seq); }
  // Rescans the directory (retention may have removed segments).
  uint64_t first_seq() { return log_.first_seq(); }
  // One past the last committed record; cheap (two atomic loads) unless a
  // segment rolled over.
  uint64_t next_seq() { return log_.next_seq(); }
  // Returns OK once record `seq` is committed, DeadlineExceeded after
  // `timeout`. Sleeps on a futex that the writer wakes at every commit.
  [[nodiscard]] absl::Status WaitFor(uint64_t seq, absl::Duration timeout) {
    return internal::CatchAllocation("LogReader::WaitFor", log_.dir(), [&] {
      return log_.WaitFor(seq, timeout);
    });
  }

 private:
  explicit LogReader(internal::LogHandle log) : log_(log) {}
  internal::LogHandle log_;
};

}  // namespace mapfile

#endif  // MAPFILE_APPEND_LOG_H_
