// Copyright 2026 The mapfile Authors.
//
// blob_log.h: BlobLog, a durable, segmented log of variable-length records
// (byte strings of 0 bytes to 1 GiB) numbered 0, 1, 2, ..., and BlobReader,
// which follows it from another thread or process. The same log engine as
// AppendLog<T> with another frame format: the same directory of segments,
// commit protocol, recovery, retention and compression, and the same
// contract.
//
//   MAPFILE_ASSIGN_OR_RETURN(BlobLog log, BlobLog::Open("/data/events"));
//   MAPFILE_ASSIGN_OR_RETURN(uint64_t seq, log.Append(event.SerializeAsString()));
//   MAPFILE_RETURN_IF_ERROR(log.Sync());           // durable up to `seq`
//   std::string record;
//   MAPFILE_RETURN_IF_ERROR(log.Read(seq, &record));
//
// Layout: a directory holding a LOCK file, segment files named by the
// sequence number of their first record ("00000000000000000000.seg", ...)
// and, beside each sealed segment, its offset index ("....idx"). A segment
// is a FORMAT.md header page of kind 3 (blob log segment) plus frames of
// [checksum, length, flags, payload, padding to 8 bytes]
// (mapfile/internal/blob_format.h, docs/FORMAT.md "Blob log segments").
// Read(seq) is O(1): a binary search over the segments (O(log segments)),
// then one lookup in the segment's dense offset index (8 bytes a record,
// built once per segment: read from NAME.idx, or from the frames when that
// is missing or damaged) and one checksum of the record.
//
// Guarantees (as AppendLog<T>'s, docs/DESIGN.md):
//   * Append copies the record and its 16-byte frame header into the mapped
//     active segment and checksums it (XXH3-64 seeded with the sequence
//     number), with no system call except when the segment is full (a roll:
//     Sync of the old one, creation of the next; with compress_sealed also
//     its compression) and when sync_every_records/_bytes is reached. A
//     record whose frame does not fit in segment_size gets a segment of its
//     own, grown to fit it.
//   * Sync() makes every record appended so far durable (group commit: one
//     msync of the commit slot and the new frames). After a crash, Open
//     recovers every synced record; records appended after the last Sync
//     are kept while their checksums hold, and the first bad one and
//     everything after it are cut and reported in recovery(). No torn or
//     corrupt record is ever returned: reads verify checksums and fail with
//     DataLoss.
//   * One writer per directory (flock on LOCK): a second BlobLog::Open, in
//     any process, is Unavailable. Any number of BlobReaders, which take no
//     lock and see only committed (synced) records.
//   * Bad input: a record longer than 1 GiB is InvalidArgument (nothing
//     appended). A damaged or hostile segment or index file (lengths that
//     lie, offsets past the end) gives DataLoss, never a crash or an
//     allocation sized by the file.
//   * LogOptions::pretouch is not used by BlobLog (its frames vary in size).
//
// Thread safety: a BlobLog or BlobReader object is not thread-safe, not
// even through its const methods (Read maps segments, extends indexes and
// updates the decompressed-segment cache): use one object per thread, or
// lock around every call. Separate objects on one directory need no
// locking: a writer thread and reader threads, or processes, each with
// their own object.

#ifndef MAPFILE_BLOB_LOG_H_
#define MAPFILE_BLOB_LOG_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "mapfile/log_options.h"

namespace mapfile {

namespace internal {
class LogStore;  // the log engine (mapfile/internal/)
}  // namespace internal

// The writer. Move-only.
class BlobLog {
 public:
  using Options = LogOptions;

  // Opens the blob log in `dir` (created by options.mode), recovering its
  // tail (recovery() says what was cut). Errors: Unavailable (another
  // writer), FailedPrecondition (the directory holds an AppendLog<T>'s
  // segments), DataLoss (a damaged header or commit in the active segment),
  // NotFound, PermissionDenied, ResourceExhausted (no space for a segment),
  // InvalidArgument (kReadOnly: use BlobReader).
  [[nodiscard]] static absl::StatusOr<BlobLog> Open(
      const std::string& dir, const Options& options = {});

  // What Open(dir) would cut from the log's torn tail (the recovery() it
  // would report), found by the same recovery code without writing: no
  // lock is taken and no file changes. Errors as Open's.
  [[nodiscard]] static absl::StatusOr<RecoveryReport> PlanRecovery(
      const std::string& dir);

  BlobLog(BlobLog&& other) noexcept;
  BlobLog& operator=(BlobLog&& other) noexcept;
  ~BlobLog();

  // Appends one record (any bytes, 0 to 1 GiB); returns its sequence
  // number. InvalidArgument, nothing appended, above 1 GiB.
  [[nodiscard]] absl::StatusOr<uint64_t> Append(absl::string_view record);
  // Appends `records` in order; returns the first one's sequence number.
  // InvalidArgument, nothing appended, if any is above 1 GiB. On another
  // error a prefix of them may have been appended (see next_seq()).
  [[nodiscard]] absl::StatusOr<uint64_t> AppendBatch(
      absl::Span<const absl::string_view> records);
  // Makes every appended record durable and visible to BlobReaders. After
  // a failure every later Sync fails (the kernel may have dropped pages):
  // reopen the log.
  [[nodiscard]] absl::Status Sync();

  // A copy of record `seq`, checksum verified. OutOfRange outside
  // [first_seq(), next_seq()), DataLoss if it is damaged. Not safe
  // concurrently with any other call on this object although const.
  [[nodiscard]] absl::StatusOr<std::string> Read(uint64_t seq) const;
  // The same into *out, reusing its capacity (no allocation once it is
  // large enough). On an error *out is unspecified.
  [[nodiscard]] absl::Status Read(uint64_t seq, std::string* out) const;

  uint64_t first_seq() const;
  uint64_t next_seq() const;  // one past the last appended
  uint64_t size() const { return next_seq() - first_seq(); }

  // Retention: deletes every segment (and its index) whose records are all
  // below `seq` (never the active one). first_seq() may stay below `seq`.
  // A failed directory fsync here is sticky, as in AppendLog::TruncateBefore.
  [[nodiscard]] absl::Status TruncateBefore(uint64_t seq);
  // Syncs, finishes the active segment (trimmed to its records, marked
  // sealed, its index written beside it; compressed if
  // Options::compress_sealed) and starts a new one.
  [[nodiscard]] absl::Status Seal();
  // Rewrites the sealed segment holding `seq` as zstd (temporary file,
  // fsync, rename over the original, directory fsync); reads stay
  // transparent. FailedPrecondition for the active segment.
  [[nodiscard]] absl::Status Compress(uint64_t seq);
  // The reverse, after checking every record's checksum (DataLoss, and the
  // file untouched, if one fails). No-op if not compressed.
  [[nodiscard]] absl::Status Decompress(uint64_t seq);

  const RecoveryReport& recovery() const;
  const std::string& dir() const;

 private:
  explicit BlobLog(std::unique_ptr<internal::LogStore> store);
  std::unique_ptr<internal::LogStore> store_;
};

// A read-only view of a blob log that a writer may be appending to, in this
// or another process. Sees committed records only; follows new segments,
// retention and compression. Takes no lock. Move-only.
class BlobReader {
 public:
  // NotFound if `dir` holds no segment yet (after waiting up to
  // options.wait_for_log for one to appear); FailedPrecondition if it holds
  // an AppendLog<T>'s segments.
  [[nodiscard]] static absl::StatusOr<BlobReader> Open(
      const std::string& dir, const ReaderOptions& options = {});

  BlobReader(BlobReader&& other) noexcept;
  BlobReader& operator=(BlobReader&& other) noexcept;
  ~BlobReader();

  // As BlobLog::Read, up to next_seq(); not thread-safe either.
  [[nodiscard]] absl::StatusOr<std::string> Read(uint64_t seq);
  [[nodiscard]] absl::Status Read(uint64_t seq, std::string* out);
  // Rescans the directory (retention may have removed segments).
  uint64_t first_seq();
  // One past the last committed record; cheap unless new records were
  // committed (it indexes them) or a segment rolled over.
  uint64_t next_seq();
  // Returns OK once record `seq` is committed, DeadlineExceeded after
  // `timeout`. Sleeps on a futex that the writer wakes at every commit.
  [[nodiscard]] absl::Status WaitFor(uint64_t seq, absl::Duration timeout);

 private:
  explicit BlobReader(std::unique_ptr<internal::LogStore> store);
  std::unique_ptr<internal::LogStore> store_;
};

}  // namespace mapfile

#endif  // MAPFILE_BLOB_LOG_H_
