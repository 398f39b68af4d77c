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
// (mapfile/internal/log_format.h, docs/FORMAT.md "Log segments"). Finding
// a record is a binary search over the segments (O(log segments)), then O(1)
// arithmetic within its segment (plus, once, mapping or decompressing it).
//
// Guarantees:
//   * Append is a memory copy into the mapped active segment plus a
//     checksum, with no system call except: when a full segment rolls over
//     (Sync of the old one, creation of the next; with compress_sealed also
//     its compression); when sync_every_records/_bytes is reached (a Sync());
//     and with pretouch, once per half window, handing work to the pretouch
//     thread (a mutex, maybe a futex wake; with pretouch_in_background =
//     false, none) and, at a roll, waiting for the next segment it prepared.
//   * Sync() makes every record appended so far durable (the header's
//     inactive commit slot written, then one msync of it and the new
//     records: one device flush; group commit). After a crash, Open
//     recovers every synced record; records appended after the last Sync
//     are kept while their checksums hold, and the first bad one and
//     everything after it are cut and reported in recovery(). A Sync torn
//     by a power loss (its slot on disk, a record not) counts for nothing:
//     its records are treated as appended after the Sync before it.
//     No torn or corrupt record is ever returned: reads verify checksums and
//     fail with DataLoss.
//   * One writer per directory (flock on LOCK): a second AppendLog::Open, in
//     any process, is Unavailable. Any number of LogReaders, which take no
//     lock and see only committed (synced) records.
//   * Disk full: segments are preallocated, so appends inside a segment
//     cannot fail; a roll that finds no space is ResourceExhausted and
//     leaves the log as it was (the append did not happen).
//
// Validity of references: Cursor::value() refers into the mapped segment or
// a decompressed copy; it stays valid until the cursor moves or dies (the
// cursor keeps its segment alive, even across TruncateBefore, Compress and
// cache eviction). Read() and operator[] return copies.
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
#include "mapfile/mapped_file.h"

namespace mapfile {

struct LogOptions {
  // kCreate: open, or create the directory and an empty log. kCreateNew:
  // only create (AlreadyExists if the directory holds segments). kReadWrite:
  // only open. kReadOnly is InvalidArgument: use LogReader.
  OpenMode mode = OpenMode::kCreate;
  // Bytes per segment file, rounded up to pages (and to hold one record).
  uint64_t segment_size = uint64_t{64} << 20;
  // Rewrite every sealed segment as zstd (Seal() and full segments).
  bool compress_sealed = false;
  int compression_level = 3;
  // Automatic Sync() after this many appended records / bytes of records
  // since the last one; 0: only explicit Sync().
  uint64_t sync_every_records = 0;
  uint64_t sync_every_bytes = 0;
  // Decompressed segments kept in scratch memory, in bytes (at least the one
  // being read is always kept).
  uint64_t cache_bytes = uint64_t{256} << 20;
  // Keep this many bytes ahead of the last record populated and writable
  // (MADV_POPULATE_WRITE), as VectorOptions::pretouch, and prepare the next
  // segment (create, preallocate, map, populate) while the active one is
  // past half full, so that neither an append nor a roll page faults or
  // makes a system call. 0: off (no cost). The work runs on the process's
  // pretouch thread or, with pretouch_in_background = false, in Pretouch().
  // With pretouch a roll only switches to the prepared segment; the next
  // Sync() (or roll, Seal, TruncateBefore) finishes it: syncs the full
  // segment, then names the new one. Records appended in between live in a
  // file that a crash, or closing without Sync, drops, as unsynced records
  // may be dropped (DESIGN.md's durability contract).
  uint64_t pretouch = 0;
  bool pretouch_in_background = true;
};

struct RecoveryReport {
  uint64_t records_kept = 0;  // after the last commit, checksums valid
  uint64_t records_cut = 0;   // frames touched by the bytes cut
  uint64_t bytes_cut = 0;     // non-zero bytes after the kept records
  std::string segment;        // where the cut happened, if any
};

namespace internal {

class Pretoucher;  // mapfile/internal/pretouch.h

// Records [first, end) of one segment at base + (seq - first) * stride;
// `pin` keeps their memory alive.
struct RecordRun {
  const std::byte* base = nullptr;
  uint64_t first = 0;
  uint64_t end = 0;
  std::shared_ptr<const void> pin;
};

// The untyped log behind AppendLog<T> (writer) and LogReader<T> (reader).
class LogStore {
 public:
  static absl::StatusOr<std::unique_ptr<LogStore>> Open(
      const std::string& dir, const LogOptions& options,
      const TypeFingerprint& type, bool writer);
  ~LogStore();

  // What a writer's Open would do to the log's tail, found by running its
  // recovery without writing (no lock taken, no file changed).
  struct RecoveryPlan {
    RecoveryReport report;    // recovery() after that Open
    std::string segment;      // the last segment, which recovery examines
    uint64_t committed = 0;   // records its commit slot counts
    uint64_t cut_offset = 0;  // file offset of the first byte cut
  };
  static absl::StatusOr<RecoveryPlan> PlanRecovery(const std::string& dir,
                                                   const TypeFingerprint& type);

  // Writer only.
  absl::StatusOr<uint64_t> Append(const void* records, size_t n);
  absl::Status Sync();
  absl::Status TruncateBefore(uint64_t seq);
  absl::Status Seal();
  absl::Status Compress(uint64_t seq);
  absl::Status Decompress(uint64_t seq);
  void Pretouch();
  const RecoveryReport& recovery() const { return recovery_; }

  // Both. A reader's next_seq() and first_seq() look for news first.
  uint64_t first_seq();
  uint64_t next_seq();
  absl::Status Read(uint64_t seq, void* out);
  absl::StatusOr<RecordRun> Run(uint64_t seq);
  bool Valid(const std::byte* frame, uint64_t seq) const;
  uint64_t stride() const { return stride_; }
  absl::Status WaitFor(uint64_t seq, absl::Duration timeout);
  const std::string& dir() const { return dir_; }

 private:
  struct Segment;
  LogStore() = default;
  static absl::StatusOr<std::unique_ptr<LogStore>> Make(
      const std::string& dir, const LogOptions& options,
      const TypeFingerprint& type, bool writer);
  absl::Status OpenWriter();
  absl::Status Rescan();
  absl::Status Refresh(bool rescan);
  void UpdateLive(Segment& s);
  absl::StatusOr<FileHeader> Map(Segment& s, bool writable);
  absl::StatusOr<RecordRun> Load(const std::shared_ptr<Segment>& s);
  absl::Status Inflate(Segment& s, const FileHeader& h, const CommitSlot& c);
  absl::Status Rewrite(uint64_t seq, bool compress);
  absl::Status Recover(Segment& s, const FileHeader& header);
  CommitSlot LastWholeCommit(const Segment& s, const FileHeader& h,
                             const CommitSlot& c) const;
  absl::Status CreateSegment(uint64_t first);
  absl::StatusOr<std::shared_ptr<Segment>> Prepare(uint64_t first) const;
  absl::Status Name(const Segment& s);
  std::shared_ptr<Segment> TakePrepared(uint64_t first);
  absl::Status Ahead();
  absl::Status Commit(Segment& a);
  absl::Status Roll();
  absl::Status FinishRoll();
  absl::Status SealOld(Segment& old);
  absl::Status Publish(Segment& s, bool seal);
  const std::shared_ptr<Segment>& Find(uint64_t seq);
  std::string Context(absl::string_view call) const;

  std::string dir_;
  LogOptions options_;
  TypeFingerprint type_;
  bool writer_ = false;
  bool dry_run_ = false;  // PlanRecovery: a writer that writes nothing
  FileHeader header_;  // of new segment files
  uint64_t size_ = 0;  // of new segment files
  // The frame layout (mapfile/internal/log_format.h).
  uint64_t stride_ = 0;
  uint64_t payload_ = 0;
  uint64_t checksum_at_ = 0;
  uint64_t control_ = 0;
  uint64_t data_offset_ = 0;
  std::unique_ptr<MappedFile> lock_;
  std::vector<std::shared_ptr<Segment>> segments_;  // by first sequence
  // Writer: the active segment's synced records and commit sequence.
  uint64_t synced_ = 0;
  uint64_t slot_sequence_ = 0;
  uint64_t unsynced_records_ = 0;
  // Pretouch (LogOptions::pretouch): the next segment, prepared by a task
  // (read only after Pretoucher::FinishTasks), and whether segments_.back()
  // is such a segment not yet named and its predecessor not yet synced.
  std::unique_ptr<Pretoucher> pretouch_;
  bool preparing_ = false;
  std::optional<absl::StatusOr<std::shared_ptr<Segment>>> prepared_;
  bool roll_pending_ = false;
  // Decompressed segments, most recently used first.
  std::vector<std::shared_ptr<Segment>> cache_;
  RecoveryReport recovery_;
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
      frame_ += store_->stride();
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
  LogCursor(internal::LogStore* store, uint64_t seq) : store_(store), seq_(seq) {
    Seek();
  }
  void Seek() {
    frame_ = nullptr;
    if (seq_ >= store_->next_seq()) return;
    absl::StatusOr<internal::RecordRun> run = store_->Run(seq_);
    if (!run.ok()) {
      status_ = run.status();
      return;
    }
    run_ = *std::move(run);
    frame_ = run_.base + (seq_ - run_.first) * store_->stride();
    Check();
  }
  void Check() {
    if (store_->Valid(frame_, seq_)) return;
    status_ = absl::DataLossError(
        absl::StrCat("log \"", store_->dir(), "\": record ", seq_,
                     " fails its checksum"));
    frame_ = nullptr;
  }

  internal::LogStore* store_;
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
absl::StatusOr<T> ReadRecord(LogStore& store, uint64_t seq) {
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
    auto store =
        internal::LogStore::Open(dir, options, FingerprintOf<T>(), true);
    if (!store.ok()) return store.status();
    return AppendLog(*std::move(store));
  }

  // Appends one record; returns its sequence number.
  [[nodiscard]] absl::StatusOr<uint64_t> Append(const T& value) {
    return store_->Append(&value, 1);
  }
  // Appends `values` in order; returns the first one's sequence number. On
  // an error, a prefix of them may have been appended (see next_seq()).
  [[nodiscard]] absl::StatusOr<uint64_t> AppendBatch(
      absl::Span<const T> values) {
    return store_->Append(values.data(), values.size());
  }
  // Makes every appended record durable and visible to LogReaders. After a
  // failure every later Sync fails (the kernel may have dropped pages):
  // reopen the log.
  [[nodiscard]] absl::Status Sync() { return store_->Sync(); }

  // A copy of record `seq`, checksum verified. OutOfRange outside
  // [first_seq(), next_seq()), DataLoss if it is damaged. Not safe
  // concurrently with any other call on this object although const (it
  // maps segments and updates the cache; see "Thread safety").
  [[nodiscard]] absl::StatusOr<T> Read(uint64_t seq) const {
    return internal::ReadRecord<T>(*store_, seq);
  }
  [[nodiscard]] absl::StatusOr<T> operator[](uint64_t seq) const {
    return Read(seq);
  }
  // A cursor at `seq`. Not thread-safe although const, as Read: the cursor
  // uses this object (and its cache) at every step.
  Cursor From(uint64_t seq) const { return Cursor(store_.get(), seq); }

  uint64_t first_seq() const { return store_->first_seq(); }
  uint64_t next_seq() const { return store_->next_seq(); }
  uint64_t size() const { return next_seq() - first_seq(); }

  // Retention: deletes every segment whose records are all below `seq`
  // (never the active one). first_seq() may stay below `seq`.
  [[nodiscard]] absl::Status TruncateBefore(uint64_t seq) {
    return store_->TruncateBefore(seq);
  }
  // Syncs, finishes the active segment (trimmed to its records, marked
  // sealed; compressed if Options::compress_sealed) and starts a new one.
  [[nodiscard]] absl::Status Seal() { return store_->Seal(); }
  // Rewrites the sealed segment holding `seq` as zstd (temporary file,
  // fsync, rename over the original, directory fsync). FailedPrecondition
  // for the active segment.
  [[nodiscard]] absl::Status Compress(uint64_t seq) {
    return store_->Compress(seq);
  }
  // The reverse: rewrites the compressed segment holding `seq` uncompressed,
  // by the same protocol, after checking every record's checksum (DataLoss,
  // and the file untouched, if one fails). A crash at any step leaves the
  // compressed segment or the uncompressed one. No-op if not compressed.
  [[nodiscard]] absl::Status Decompress(uint64_t seq) {
    return store_->Decompress(seq);
  }
  // With LogOptions::pretouch: does the pretouch work (populating pages
  // ahead, preparing the next segment) in the calling thread. May be called
  // from any thread, concurrently with the writer.
  void Pretouch() { store_->Pretouch(); }

  const RecoveryReport& recovery() const { return store_->recovery(); }
  const std::string& dir() const { return store_->dir(); }

  // What Open(dir) would cut from the log's torn tail (the recovery() it
  // would report), found by the same recovery code without writing: no
  // lock is taken and no file changes. Errors as Open's.
  [[nodiscard]] static absl::StatusOr<RecoveryReport> PlanRecovery(
      const std::string& dir) {
    auto plan = internal::LogStore::PlanRecovery(dir, FingerprintOf<T>());
    if (!plan.ok()) return plan.status();
    return plan->report;
  }

 private:
  explicit AppendLog(std::unique_ptr<internal::LogStore> store)
      : store_(std::move(store)) {}
  std::unique_ptr<internal::LogStore> store_;
};

// A read-only view of a log that a writer may be appending to, in this or
// another process. Sees committed records only; follows new segments,
// retention and compression. Takes no lock. Move-only.
template <typename T>
class LogReader : internal::LogRecordCheck<T> {
 public:
  using Cursor = LogCursor<T>;

  // NotFound if `dir` holds no segment yet; FailedPrecondition for another T.
  [[nodiscard]] static absl::StatusOr<LogReader> Open(const std::string& dir) {
    auto store =
        internal::LogStore::Open(dir, LogOptions(), FingerprintOf<T>(), false);
    if (!store.ok()) return store.status();
    return LogReader(*std::move(store));
  }

  // As AppendLog::Read and From, up to next_seq(); not thread-safe either.
  [[nodiscard]] absl::StatusOr<T> Read(uint64_t seq) {
    return internal::ReadRecord<T>(*store_, seq);
  }
  Cursor From(uint64_t seq) { return Cursor(store_.get(), seq); }
  // Rescans the directory (retention may have removed segments).
  uint64_t first_seq() { return store_->first_seq(); }
  // One past the last committed record; cheap (two atomic loads) unless a
  // segment rolled over.
  uint64_t next_seq() { return store_->next_seq(); }
  // Returns OK once record `seq` is committed, DeadlineExceeded after
  // `timeout`. Sleeps on a futex that the writer wakes at every commit.
  [[nodiscard]] absl::Status WaitFor(uint64_t seq, absl::Duration timeout) {
    return store_->WaitFor(seq, timeout);
  }

 private:
  explicit LogReader(std::unique_ptr<internal::LogStore> store)
      : store_(std::move(store)) {}
  std::unique_ptr<internal::LogStore> store_;
};

}  // namespace mapfile

#endif  // MAPFILE_APPEND_LOG_H_
