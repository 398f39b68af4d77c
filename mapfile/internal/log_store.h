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
// the bytes. The commit protocol (docs/DESIGN.md, "The commit protocol",
// says why each step is where it is):
//
//   Append   encode the frame (payload + seeded checksum) into a 256 KiB
//            user-space buffer; when it is full, one pwrite into the
//            active segment, whose disk space was allocated ahead (Ahead,
//            Reserve). No system call between buffer flushes. Mappings are
//            only read (frames) and stored to for the control block.
//            Blob frames (AppendBlobs) go into the same buffer, their sizes
//            onto the active segment's index; one larger than the buffer
//            is written with its own pwrite after what was buffered.
//   Roll     the active segment is full (kBlob: the next frame does not
//            fit): flush the buffer and switch to the
//            next segment, prepared by the background under its temporary
//            name "<first>.seg.tmp". Nothing is synced or named: a chain of
//            such segments may follow the last named one.
//   Sync     flush the buffer; for every segment filled since the last Sync,
//            in order: its commit slot (all its records), trim to what it
//            holds, fdatasync; then the active segment's slot and frames,
//            one fdatasync; then rename each temporary to its name and
//            fsync the directory; then publish (control blocks, futex) and
//            queue the compression of the sealed ones. So a named segment
//            with a successor is always complete and durable, and a commit
//            in the last named segment implies all before it.
//   Open     the last named segment: its newest slot whose frames all
//            verify, then the frames after it while their checksums hold.
//            If that segment is full and "<end>.seg.tmp" exists (a chain no
//            Sync finished), the temporary is adopted the same way, and so
//            on (Adopt); the file after the last kept frame is cut, unless
//            nothing there passes a checksum (nothing follows; a reused
//            file's old frames); other temporaries are removed. What was
//            kept is not committed: it stays as the dead writer left it,
//            for this writer's first Sync (only a torn slot is committed
//            at once). If only temporaries are left (a TruncateBefore
//            died between its two renames), the first is named first.
//   Retain   TruncateBefore retires whole segments below a sequence
//            number, synced or not; when the last named segment goes,
//            the temporary after it is named in its place (its header
//            synced first), once the retirement's directory fsync is done.
//
// What each way of stopping leaves:
//   * close (destructor): the buffer is written (pwrite), queued background
//     work finished; temporaries stay. The next Open keeps every record.
//   * kill -9: as close, minus the buffer (frames appended since the last
//     flush, at most 256 KiB). The next Open keeps every record written.
//   * power loss: everything up to the last successful Sync (its data was
//     fdatasync'ed before its names and its commit); later records are
//     kept while their checksums hold and cut at the first that does not,
//     in whichever segment of the chain (later ones are removed).
//   Readers are published only what a Sync made durable.
//
// Thread safety: a LogStore is used by one thread at a time; background
// jobs (Jobs, below) use only what Open set and their own shared state.
//
// fork(): a writer belongs to the process that opened it (which holds the
// log's lock). In a forked child its calls that write or wait fail with
// FailedPrecondition (Owned), and its destructor writes nothing and waits
// for nothing: the parent still writes the log, and the background thread
// that may have held the jobs' locks at the fork does not exist there.

#ifndef MAPFILE_INTERNAL_LOG_STORE_H_
#define MAPFILE_INTERNAL_LOG_STORE_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "mapfile/append_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/os.h"
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

// Bytes of frames the writer gathers before one pwrite, the longest thing
// an Append does: of 1 MiB it took 220-280 us on ext4 here, more than an
// Append may (docs/PERFORMANCE.md, "The log's write path"); of 256 KiB,
// 45-105 us. On tmpfs, where a flush may also allocate the next one's
// pages, fixed frames are flushed every quarter buffer.
inline constexpr uint64_t kWriteBuffer = uint64_t{256} << 10;
// Disk space of a segment is allocated in chunks of this much: the first
// (header, control block, the first records) when it is made, the others
// ahead of the writer (LogStore::Ahead), steps doubling up to its size.
inline constexpr uint64_t kFirstStep = uint64_t{1} << 20;

// unlink(2) of one of the log's files (directory fsynced unless
// `sync_directory` is false), then the crash point "log.unlinked": its name
// may be used again later, and a test's model of the disk forgets the
// removed file's durable bytes there.
inline absl::Status UnlinkLogFile(const std::string& path,
                                  bool sync_directory = true) {
  absl::Status status = os::Unlink(path, sync_directory);
  MAPFILE_CRASH_POINT("log.unlinked", &path);
  return status;
}

// rename(2) of a retired or recycled segment file (its directory fsynced
// if `sync_directory`), between the crash points "log.moving" (from) and
// "log.moved" (to), which a test's model of the disk follows.
inline absl::Status MoveLogFile(const std::string& from, const std::string& to,
                                bool sync_directory) {
  MAPFILE_CRASH_POINT("log.moving", &from);
  absl::Status status = os::Rename(from, to, sync_directory);
  if (status.ok()) MAPFILE_CRASH_POINT("log.moved", &to);
  return status;
}

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
  uint64_t read_at = 0;                 // LogStore::reads_ when last loaded
  uint64_t capacity = 0;                // frames that fit (kBlob: at most)
  // kBlob: bytes of the frame area (the mapped file after the control
  // block, or a decompressed image's frames), and where each frame starts.
  // A reader's index may lag `count` (it extends it on demand).
  uint64_t area = 0;
  std::shared_ptr<BlobIndex> index;
  bool own = false;  // kBlob writer: holds a record larger than a segment
  // Writer: the file's name until a Sync names it (empty once named);
  // Append calls Ahead() at `limit`; records below `flushed` are in the
  // file (the others in the buffer); bytes below `allocated` have disk
  // space; the commit slot's sequence and count.
  std::string temp;
  uint64_t limit = 0;
  uint64_t flushed = 0;
  uint64_t allocated = 0;
  uint64_t slot_sequence = 1;
  uint64_t synced = 0;
  bool next_posted = false;  // the next segment's preparation was asked for
  // A recycled file's old length: it is never cut shorter, so that a
  // reader in another process still mapping the retired segment reads
  // stale bytes there (failing checksums), never past the end (SIGBUS).
  uint64_t floor = 0;
  std::shared_ptr<struct Reservation> reservation;  // space allocated ahead

  std::shared_ptr<const void> pin() const {
    if (block) return block;
    return file;
  }
};

// Disk space of a segment allocated ahead of the writer by background jobs
// (LogStore::Ahead). A job holds `mu` while it allocates; Close (before the
// file is trimmed or retired) takes it, so no job extends a file after.
struct Reservation {
  std::mutex mu;
  bool closed = false;            // guarded by mu
  std::atomic<uint64_t> end{0};   // bytes [0, end) are allocated
  std::atomic<bool> busy{false};  // a job is queued or running
  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
  }
};

// A writer's background work. The next segment is prepared ahead of every
// other job (a roll may wait for it); allocations go first in the queue,
// compressions last.
struct LogJobs {
  enum Prepare { kNone, kQueued, kRunning, kDone };
  std::mutex mu;
  std::condition_variable done;  // a job or the preparation finished
  // Guarded by mu.
  std::deque<std::function<void()>> queue;
  int running = 0;
  Prepare prepare = kNone;
  uint64_t prepare_first = 0;
  std::optional<absl::StatusOr<std::shared_ptr<Segment>>> prepared;
  std::vector<uint64_t> compressed;  // segments rewritten, by first
  std::vector<std::string> free;     // retired segment files to reuse
  bool closing = false;  // the log closes: no segment is allocated further
  // Held by a background compression around its rename and by
  // TruncateBefore around marking segments retired: a retired segment is
  // never renamed back into existence.
  std::mutex rename_mu;
  std::set<uint64_t> retired;  // guarded by rename_mu
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
  absl::Status CutBack(const std::string& path) const;
  absl::StatusOr<RecordRun> Load(const std::shared_ptr<Segment>& s);
  void UnmapIdle(const Segment& keep);
  absl::Status Inflate(Segment& s, const FileHeader& h, const CommitSlot& c);
  absl::Status InflateBlobs(Segment& s, const std::byte* compressed,
                            uint64_t compressed_length, std::byte* data,
                            uint64_t length);
  absl::Status Rewrite(uint64_t seq, bool compress);
  absl::Status Recover(Segment& s, const FileHeader& header);
  absl::Status Adopt();
  absl::Status StartAtFirstTemp();
  absl::Status RemoveTemp(uint64_t first);
  uint64_t SegmentSize(const FileHeader& h) const;
  uint64_t FindFrame(const Segment& s, uint64_t from, uint64_t to,
                     bool passes, absl::Status* error) const;
  uint64_t ScanFrames(const Segment& s, uint64_t from, uint64_t to,
                      bool passes, absl::Status* error) const;
  absl::StatusOr<bool> TempIsSegment(uint64_t first) const;
  bool NoFramePasses(const Segment& s, uint64_t from) const;
  static uint64_t DataEnd(const MappedFile& f, uint64_t at);
  CommitSlot LastWholeCommit(const Segment& s, const FileHeader& h,
                             const CommitSlot& c) const;
  absl::StatusOr<CommitSlot> LastWholeBlobCommit(Segment& s,
                                                 const FileHeader& h,
                                                 const CommitSlot& c) const;
  absl::Status LoadIndex(Segment& s, uint64_t length);
  void WriteIndex(const Segment& s) const;
  void SetArea(Segment& s) const;
  uint64_t FramesEnd(const Segment& s) const;
  // Fixed frames that fit in the first `bytes` of a segment file (0 if
  // they do not reach past the control block).
  uint64_t FramesIn(uint64_t bytes) const {
    return bytes < data_offset_ + control_
               ? 0
               : (bytes - data_offset_ - control_) / stride_;
  }
  uint64_t FramesAt(const Segment& s, uint64_t i) const;
  absl::Status GrowFor(Segment& a, uint64_t frame);
  absl::Status WriteRewrite(const std::string& path, uint64_t first,
                            uint64_t count, uint64_t frames,
                            const std::byte* data, bool compress,
                            const std::string& context) const;
  absl::Status CreateSegment(uint64_t first);
  absl::StatusOr<std::shared_ptr<Segment>> Prepare(uint64_t first,
                                                   bool ahead = false) const;
  std::shared_ptr<Segment> Recycle(uint64_t first) const;
  absl::Status WriteHeader(MappedFile& file, const std::string& path,
                           uint64_t first) const;
  absl::Status Name(Segment& s);
  absl::StatusOr<std::shared_ptr<Segment>> TakeNext(uint64_t first);
  absl::Status Ahead();
  absl::Status Flush();
  absl::Status Reserve(Segment& a, uint64_t end, uint64_t grain);
  static Reservation& Reserved(Segment& a);
  void QueueReserve(Segment& a, uint64_t to);
  void PostReserve(Segment& a, uint64_t to);
  void Unprepare(Segment& s);
  bool RoomForFree();
  void AddFree(const std::string& path);
  absl::Status Finish(Segment& s);
  absl::Status Roll();
  absl::Status Publish(Segment& s, bool seal);
  void PostPrepare(uint64_t first);
  void PostCompress(const Segment& s);
  void Drain(bool prepare);
  void FinishJobs(bool prepare);
  void CollectJobs();
  const std::shared_ptr<Segment>& Find(uint64_t seq);
  std::string Context(absl::string_view call) const;
  absl::Status Owned(absl::string_view call) const;

  std::string dir_;
  LogOptions options_;
  TypeFingerprint type_;
  bool writer_ = false;
  bool blob_ = false;  // FrameKind::kBlob
  ContainerKind kind_ = ContainerKind::kLogSegment;
  bool dry_run_ = false;  // PlanRecovery: a writer that writes nothing
  bool torn_ = false;  // Recover found a torn newest slot: Adopt rewrites it
  // Writer on tmpfs: a segment prepared on the background is allocated
  // whole there; in others the appending thread allocates one write buffer
  // ahead (Ahead), not the background in steps.
  bool tmpfs_ = false;
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
  // Writer. segments_[pending_] is the segment that was active at the last
  // Sync (or Open); the ones after it were rolled into since and are still
  // under their temporary names (the protocol above).
  size_t pending_ = 0;
  uint64_t unsynced_records_ = 0;
  uint64_t unsynced_bytes_ = 0;  // kBlob: payload bytes since the last Sync
  uint64_t buffered_bytes_ = 0;  // kBlob: bytes of frames in buffer_
  // Frames of the active segment's records [flushed, count), not yet
  // written to its file (kWriteBuffer bytes; frames_per_buffer_ frames).
  std::unique_ptr<std::byte[]> buffer_;
  uint64_t buffer_bytes_ = 0;  // kWriteBuffer, or one frame if larger
  uint64_t frames_per_buffer_ = 0;
  absl::Status write_error_;  // sticky: a failed pwrite lost buffered frames
  absl::Status sync_error_;   // sticky: a directory fsync failed (Name)
  // Temporary segment files found by Open ("<first>.seg.tmp"), by first.
  std::vector<uint64_t> temps_;
  // Background work on the process's pretouch thread (or in Pretouch()).
  std::shared_ptr<LogJobs> jobs_;
  std::unique_ptr<Pretoucher> pretouch_;
  // Decompressed segments, most recently used first.
  std::vector<std::shared_ptr<Segment>> cache_;
  uint64_t reads_ = 0;  // Loads so far: Segment::read_at orders them
  RecoveryReport recovery_;
};

}  // namespace internal
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_LOG_STORE_H_
