// Copyright 2026 The mapfile Authors.
//
// log_store.h: the untyped log engine behind AppendLog<T> and LogReader<T>
// (and the `mapfile` tool): segments, the commit protocol, recovery,
// retention, compression and waiting. Internal: not installed; the faces
// reach it through internal::LogHandle (append_log.h).
//
// The engine's files, one idea each (docs/DESIGN.md, "The log engine"):
//   log_segment.cc   segment files and their mapping: Map, Load, Inflate,
//                    the decompressed-segment cache, the count checks
//   log_recovery.cc  Recover, LastWholeCommit, PlanRecovery
//   log_writer.cc    Open, the append path, Sync/Commit, rolls, Prepare and
//                    Name of new segments, pretouch (Ahead), Seal, retention
//   log_rewrite.cc   Compress/Decompress (Rewrite)
//   log_reader.cc    Rescan, Refresh, Find, Run, Read, WaitFor, first/next
//   log_handle.cc    LogHandle: the faces' calls into the engine
//   blob_log.cc      BlobLog/BlobReader: the engine with FrameKind::kBlob,
//                    whose frames are blob_format.h's (encode, check, index)
// mapfile/internal/log_format.h and docs/FORMAT.md ("Log segments") give
// the bytes. The commit protocol, in brief (docs/DESIGN.md, "The commit
// protocol", says why each step is where it is):
//
//   Append   memcpy payload + checksum into the active segment's mapping.
//   Sync     write the inactive commit slot (count, length); msync the
//            header page through the new frames (one flush); publish the
//            count in the control block (release) and FUTEX_WAKE readers.
//   Roll     Sync; create the next segment (temporary name, header synced,
//            rename, directory fsync); mark the old one sealed, trim it,
//            optionally compress it. Every segment but the last is thus
//            complete and durable before the next one exists. With
//            pretouch the next segment was prepared (still a temporary)
//            off the writer's path; the roll switches to it and the next
//            Sync does the rest, in the same order.
//   Open     the last segment's newest valid slot whose new frames all
//            verify gives the committed count; frames after it are kept
//            while their checksums hold; the file is cut after the last
//            kept frame and re-extended with zeros.
//
// Thread safety: a LogStore is used by one thread at a time (the pretouch
// thread runs only Prepare, which reads what Open set).

#ifndef MAPFILE_INTERNAL_LOG_STORE_H_
#define MAPFILE_INTERNAL_LOG_STORE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mapfile/append_log.h"
#include "mapfile/format.h"
#include "mapfile/log_options.h"
#include "mapfile/mapped_file.h"
#include "mapfile/scratch.h"

namespace mapfile {
namespace internal {

class Pretoucher;  // mapfile/internal/pretouch.h
class BlobIndex;   // mapfile/internal/blob_format.h

// Which faces a LogStore serves: fixed-size frames of one type (AppendLog<T>,
// LogReader<T>; segment kind kLogSegment) or variable-length frames
// (BlobLog, BlobReader; kind kBlobSegment), whose format, checks and offset
// index are the frame layer's (mapfile/internal/blob_format.h). The engine
// asks it only where record i starts and how many bytes a segment's frames
// take; everything else (segments, commits, recovery, retention,
// compression, waiting) is shared.
enum class FrameKind { kFixed, kBlob };

// The control block's words (log_format.h: kPublishedAt, ...) in a
// segment's data region.
inline uint64_t* Word64(std::byte* data, size_t at) {
  return reinterpret_cast<uint64_t*>(data + at);
}
inline uint32_t* Word32(std::byte* data, size_t at) {
  return reinterpret_cast<uint32_t*>(data + at);
}

// One segment file of the log, as the engine knows it.
struct Segment {
  Segment(uint64_t f, std::string p) : first(f), path(std::move(p)) {}
  uint64_t first;
  uint64_t count = 0;  // records: appended (writer's active), committed
  std::string path;
  bool live = false;  // the last segment: the writer's active one
  bool sealed = false;
  bool compressed = false;
  std::shared_ptr<MappedFile> file;     // mapped segment
  std::shared_ptr<ScratchBlock> block;  // decompressed data region
  std::byte* data = nullptr;            // data region in `file` or `block`
  uint64_t capacity = 0;                // frames that fit (kBlob: at most)
  uint64_t limit = 0;  // writer: Append calls Ahead() at this count
  // kBlob: bytes of the frame area (the mapped file after the control
  // block, or a decompressed image's frames), and where each frame starts.
  // A reader's index may lag `count` (it extends it on demand).
  uint64_t area = 0;
  std::shared_ptr<BlobIndex> index;
  bool own = false;  // kBlob writer: holds a record larger than a segment

  std::shared_ptr<const void> pin() const {
    if (block) return block;
    return file;
  }
};

// What a writer's Open would do to the log's tail, found by running its
// recovery without writing (no lock taken, no file changed).
struct RecoveryPlan {
  RecoveryReport report;    // recovery() after that Open
  std::string segment;      // the last segment, which recovery examines
  uint64_t committed = 0;   // records its commit slot counts
  uint64_t cut_offset = 0;  // file offset of the first byte cut
};

// The untyped log. Writers and readers differ by `writer`; the cache size
// is LogOptions::cache_bytes (a reader's comes from ReaderOptions).
class LogStore {
 public:
  static absl::StatusOr<std::unique_ptr<LogStore>> Open(
      const std::string& dir, const LogOptions& options,
      const TypeFingerprint& type, bool writer,
      FrameKind frames = FrameKind::kFixed);
  ~LogStore();

  static absl::StatusOr<RecoveryPlan> PlanRecovery(
      const std::string& dir, const TypeFingerprint& type,
      FrameKind frames = FrameKind::kFixed);

  // Writer only (Append is LogHandle::Append, in log_writer.cc).
  // kBlob: appends `n` variable-length records. InvalidArgument, nothing
  // appended, if one is longer than kMaxBlobSize.
  absl::StatusOr<uint64_t> AppendBlobs(const absl::string_view* records,
                                       size_t n);
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
  // kBlob: record `seq`'s bytes, frame and checksum verified, into *out.
  absl::Status ReadBlob(uint64_t seq, std::string* out);
  absl::StatusOr<RecordRun> Run(uint64_t seq);
  bool Valid(const std::byte* frame, uint64_t seq) const;
  uint64_t stride() const { return stride_; }
  uint64_t payload() const { return payload_; }
  uint64_t checksum_at() const { return checksum_at_; }
  absl::Status WaitFor(uint64_t seq, absl::Duration timeout);
  const std::string& dir() const { return dir_; }

 private:
  friend class LogHandle;  // its Append is the append path
  LogStore() = default;
  static absl::StatusOr<std::unique_ptr<LogStore>> Make(
      const std::string& dir, const LogOptions& options,
      const TypeFingerprint& type, bool writer, FrameKind frames);
  absl::Status OpenWriter();
  absl::Status Rescan();
  absl::Status Refresh(bool rescan);
  void UpdateLive(Segment& s);
  absl::StatusOr<FileHeader> Map(Segment& s, bool writable);
  absl::StatusOr<RecordRun> Load(const std::shared_ptr<Segment>& s);
  absl::Status Inflate(Segment& s, const FileHeader& h, const CommitSlot& c);
  absl::Status InflateBlobs(Segment& s, const std::byte* compressed,
                            uint64_t compressed_length, std::byte* data,
                            uint64_t length);
  absl::Status Rewrite(uint64_t seq, bool compress);
  absl::Status Recover(Segment& s, const FileHeader& header);
  CommitSlot LastWholeCommit(const Segment& s, const FileHeader& h,
                             const CommitSlot& c) const;
  absl::StatusOr<CommitSlot> LastWholeBlobCommit(Segment& s,
                                                 const FileHeader& h,
                                                 const CommitSlot& c) const;
  absl::Status LoadIndex(Segment& s, uint64_t length);
  void WriteIndex(const Segment& s) const;
  void SetArea(Segment& s) const;
  uint64_t FramesEnd(const Segment& s) const;
  absl::Status CreateSegment(uint64_t first);
  absl::StatusOr<std::shared_ptr<Segment>> Prepare(uint64_t first) const;
  absl::Status GrowFor(Segment& a, uint64_t frame);
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
  bool blob_ = false;  // FrameKind::kBlob
  ContainerKind kind_ = ContainerKind::kLogSegment;
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
  uint64_t unsynced_bytes_ = 0;  // kBlob: payload bytes since the last Sync
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
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_LOG_STORE_H_
