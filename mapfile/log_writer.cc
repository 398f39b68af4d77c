// Copyright 2026 The mapfile Authors.
//
// log_writer.cc: a log's writer: Open (a new or recovered log), the append
// paths (LogHandle::Append and its write buffer; AppendBlobs, which has the
// frame layer encode each variable-length frame into the same buffer), Sync
// and its commit, rolls to the next segment (prepared, or recycled, by the
// background: Prepare, Recycle, TakeNext), disk space ahead of the writer
// (Ahead, Reserve), Seal, retention (TruncateBefore) and the background
// jobs. Part of the log engine
// (mapfile/internal/log_store.h; docs/DESIGN.md, "The commit protocol").

// The record checksum is computed inline in Append: through the shared
// library it costs a third more (docs/PERFORMANCE.md).
#define XXH_INLINE_ALL
#include <fcntl.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/internal/os.h"
#include "mapfile/internal/pretouch.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

using os::Annotate;

void LogStore::Pretouch() {
  if (pretouch_) pretouch_->Run();
}

absl::Status LogStore::OpenWriter() {
  const OpenMode mode = options_.mode;
  if (mode == OpenMode::kReadOnly) {
    return absl::InvalidArgumentError(
        absl::StrCat(Context("Open"), ": kReadOnly; open a ",
                     blob_ ? "BlobReader" : "LogReader<T>", " to read a log"));
  }
  if ((options_.permissions & ~mode_t{0777}) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(Context("Open"), ": permissions ",
                     os::OctalMode(options_.permissions),
                     " has bits outside 0777"));
  }
  if (mode != OpenMode::kReadWrite) {
    absl::Status made =
        os::Mkdir(dir_, os::DirectoryMode(options_.permissions));
    if (!made.ok() && (mode == OpenMode::kCreateNew ||
                       made.code() != absl::StatusCode::kAlreadyExists)) {
      return Annotate(made, Context("Open"));
    }
  }
  MappedFile::Options lock;
  lock.mode = OpenMode::kCreate;
  lock.reserve = 0;
  lock.permissions = options_.permissions;
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(absl::StrCat(dir_, "/", kLogLockName), lock);
  if (file.status().code() == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(absl::StrCat(
        Context("Open"), ": another ", blob_ ? "BlobLog" : "AppendLog",
        " has this log open for writing (flock on ", kLogLockName,
        " is held)"));
  }
  MAPFILE_RETURN_IF_ERROR(Annotate(file.status(), Context("Open")));
  lock_ = std::make_unique<MappedFile>(*std::move(file));
  {
    // On tmpfs an allocation is pages of memory (~250 us a MiB), made
    // under the inode lock that the writer's pwrite needs, and at times
    // slow: a fallocate of 64 KiB took 380-450 us about every 8 MiB
    // allocated in a process's first pass over fresh memory, and a
    // background step of the active segment made a flush wait for it.
    // There a segment prepared on the background is allocated whole (its
    // own inode: the writer does not wait for it), and the appending
    // thread allocates only in a segment it made itself (the first one; a
    // preparation not ready at the roll), one buffer ahead, right after
    // each flush. Elsewhere (ext4: extents, no zeroing, but each fallocate
    // may wait for a journal commit) the background allocates in steps
    // (docs/PERFORMANCE.md, "The log's write path").
    tmpfs_ = os::OnTmpfs(dir_);
    // There a flush may carry an allocation: a quarter of a buffer at a
    // time, so that the slowest Append (a flush) stays short.
    if (tmpfs_) {
      frames_per_buffer_ = std::max<uint64_t>(1, kWriteBuffer / 4 / stride_);
    }
  }
  MAPFILE_RETURN_IF_ERROR(Rescan());
  if (segments_.empty()) MAPFILE_RETURN_IF_ERROR(StartAtFirstTemp());
  if (segments_.empty()) {
    for (uint64_t first : temps_) MAPFILE_RETURN_IF_ERROR(RemoveTemp(first));
    temps_.clear();
    // Retired files with no log (its segments removed by hand): their old
    // frames could carry the sequence numbers the new log starts at, and
    // pass for its records. Not reused.
    for (const std::string& free : jobs_->free) {
      MAPFILE_RETURN_IF_ERROR(Annotate(UnlinkLogFile(free), Context("Open")));
    }
    jobs_->free.clear();
    if (mode == OpenMode::kReadWrite) {
      return absl::NotFoundError(absl::StrCat(
          Context("Open"), ": no log segments (*", kSegmentSuffix, ")"));
    }
    MAPFILE_RETURN_IF_ERROR(CreateSegment(0));
  } else {
    Segment& last = *segments_.back();
    // Sequence numbers of its records, and of the next segment, must not
    // wrap.
    const uint64_t room = std::max(last.count, last.capacity);
    if (room > ~last.first) {
      return absl::DataLossError(absl::StrCat(
          Context("Open"), ": log segment \"", last.path, "\" has room for ",
          room, " records from ", last.first,
          ": past the largest sequence number"));
    }
    pending_ = segments_.size() - 1;
    MAPFILE_RETURN_IF_ERROR(Adopt());
    Segment& tail = *segments_.back();
    if (tail.sealed || tail.compressed) {
      tail.live = false;
      tail.sealed = true;
      MAPFILE_RETURN_IF_ERROR(CreateSegment(tail.first + tail.count));
    }
  }
  Segment& a = *segments_.back();
  a.flushed = a.count;
  a.limit = a.count;  // the first Append reserves space (Ahead)
  if (options_.compress_sealed) {
    // Resumes what a writer that died left: sealed segments still to
    // compress (the job skips compressed ones). Those from pending_ on are
    // sealed, named and queued by the next Sync.
    for (size_t i = 0; i < pending_; ++i) {
      PostCompress(*segments_[i]);
    }
  }
  return absl::OkStatus();
}

// Lists the directory and merges it into segments_: known segments keep
// their mappings, gone ones are dropped, new ones are added unmapped. Every
// segment but the last holds exactly the records up to the next one's first
// (checked against its header when it is loaded).

// A segment for records from `first` under its temporary name: the file
// sized to the segment (sparse), the first step of disk space allocated
// (on tmpfs only the header page unless `ahead`: tmpfs_),
// the header written, mapped. Nothing synced: Sync makes it durable before
// it is named. Uses only what Open set: safe on the background thread.
absl::StatusOr<std::shared_ptr<Segment>> LogStore::Prepare(uint64_t first,
                                                           bool ahead) const {
  const std::string path = absl::StrCat(dir_, "/", SegmentFileName(first));
  const std::string temp = absl::StrCat(path, kTempSuffix);
  MappedFile::Options o;
  o.mode = OpenMode::kCreateNew;
  o.initial_size = size_;
  o.reserve = size_;
  o.lock = false;
  o.permissions = options_.permissions;
  o.preallocate = false;  // steps: Reserve
  if (std::shared_ptr<Segment> s = Recycle(first)) return s;
  const uint64_t step =
      tmpfs_ && !ahead ? os::RoundUp(data_offset_ + control_, os::PageSize())
                       : std::min(size_, kFirstStep);
  // Created here without a directory fsync (the Sync that names it makes
  // the directory durable), then mapped.
  absl::StatusOr<MappedFile> file;
  absl::Status status =
      os::Open(temp, O_RDWR | O_CREAT | O_EXCL, options_.permissions, nullptr,
               /*sync_parent=*/false)
          .status();
  if (status.ok()) {
    o.mode = OpenMode::kReadWrite;
    file = MappedFile::Open(temp, o);
    status = file.status();
  }
  if (status.ok()) {
    // Space for the header page and the control block before they are
    // stored through the mapping (a store to a hole on a full disk is
    // SIGBUS).
    status = os::Fallocate(file->fd(), temp, 0, step);
    if (status.code() == absl::StatusCode::kUnimplemented) {
      status = absl::OkStatus();  // no preallocation here: pwrite reports
    }
  }
  if (status.ok()) status = WriteHeader(*file, temp, first);
  if (!status.ok()) {
    UnlinkLogFile(temp).IgnoreError();  // best effort; Open removes it too
    // No call named here: Prepare runs for Append, Open and Seal (and on
    // the background thread); the public function's NameCall puts its name
    // in front.
    return Annotate(status, absl::StrCat("creating segment \"", path, "\""));
  }
  auto s = std::make_shared<Segment>(first, path);
  s->temp = temp;
  s->live = true;
  s->file = std::make_shared<MappedFile>(*std::move(file));
  s->data = s->file->data() + data_offset_;
  s->capacity = FramesIn(size_);
  s->allocated = step;
  if (blob_) {
    SetArea(*s);
    s->index = std::make_shared<BlobIndex>();
  }
  return s;
}

// The header page of a new segment for records from `first` (commit
// {1, 0, 0}) and a zero control block, with pwrite rather than through the
// mapping: a store to a page not in memory faults it in with readahead,
// which on ext4 read up to 2 MiB of the file (zeros, or a reused file's
// old frames), and the writer's flushes waited meanwhile (1-3 ms each:
// docs/PERFORMANCE.md, "The log's write path").
absl::Status LogStore::WriteHeader(MappedFile& file, const std::string& path,
                                   uint64_t first) const {
  std::unique_ptr<std::byte[]> bytes(
      new (std::nothrow) std::byte[data_offset_ + control_]());
  if (bytes == nullptr) {
    return absl::ResourceExhaustedError("out of memory for a header");
  }
  FileHeader h = header_;
  h.first_sequence = first;
  const absl::Span<std::byte> page(bytes.get(), kHeaderSize);
  EncodeHeader(h, page);
  EncodeSlot({1, 0, 0}, page);
  return os::Pwrite(file.fd(), path, bytes.get(), data_offset_ + control_, 0);
}

// Gives a segment its name: from here on it is part of the log.
// A failed rename leaves the segment as it was, and the next Sync renames
// it (a segment renamed before is not renamed again). A failed directory
// fsync is sticky, as a failed fdatasync is: the kernel may have dropped
// the update, and a later fsync that succeeds would not mean it is on disk.
absl::Status LogStore::Name(Segment& s) {
  if (!s.temp.empty()) {
    MAPFILE_RETURN_IF_ERROR(
        os::Rename(s.temp, s.path, /*sync_directory=*/false));
    s.temp.clear();
  }
  absl::Status synced = os::FsyncDirectory(dir_);
  if (!synced.ok()) {
    sync_error_ = synced;
    return synced;
  }
  MAPFILE_CRASH_POINT("log.renamed", &s.path);
  return absl::OkStatus();
}

// A new segment, named and durable at once (a new log; after Seal): its
// header is synced before its name.
absl::Status LogStore::CreateSegment(uint64_t first) {
  MAPFILE_ASSIGN_OR_RETURN(std::shared_ptr<Segment> s, TakeNext(first));
  absl::Status status = s->file->Sync(0, data_offset_ + control_);
  if (status.ok()) status = Name(*s);
  if (!status.ok()) {
    if (s->reservation) s->reservation->Close();
    UnlinkLogFile(s->temp).IgnoreError();
    return Annotate(status,
                    absl::StrCat("creating segment \"", s->path, "\""));
  }
  segments_.push_back(std::move(s));
  pending_ = segments_.size() - 1;
  return absl::OkStatus();
}


// Append reached the active segment's limit: writes the buffer, rolls a
// full segment, and reserves space for the next buffer's frames.
absl::Status LogStore::Ahead() {
  MAPFILE_RETURN_IF_ERROR(Flush());
  if (segments_.back()->count == segments_.back()->capacity) {
    MAPFILE_RETURN_IF_ERROR(Roll());
  }
  Segment& a = *segments_.back();
  uint64_t limit = std::min(a.capacity, a.count + frames_per_buffer_);
  const uint64_t half = a.capacity / 2;
  if (a.count >= half && !a.next_posted) {
    // Half full: time to prepare the next segment in the background.
    a.next_posted = true;
    PostPrepare(a.first + a.capacity);
  } else if (a.count < half) {
    limit = std::min(limit, std::max<uint64_t>(half, a.count + 1));
  }
  // Records go only where disk space is allocated. On tmpfs it is
  // allocated here, for the next buffer's frames (tmpfs_).
  // Elsewhere, once the writer is past half of it, the background
  // allocates as much again (steps doubling from kFirstStep, in kFirstStep
  // chunks): a segment holds at most one step it does not use, and the
  // appending thread rarely allocates itself.
  Reservation& r = Reserved(a);
  a.allocated = std::max(a.allocated, r.end.load(std::memory_order_acquire));
  const uint64_t used = data_offset_ + control_ + a.count * stride_;
  if (tmpfs_) {
    // Failing that (a nearly full tmpfs), the Append fails only if its own
    // frame has no room (below).
    Reserve(a, used + frames_per_buffer_ * stride_, os::PageSize())
        .IgnoreError();
  } else if (!r.busy.load(std::memory_order_acquire) &&
             a.allocated < a.file->size()) {
    if (used > a.allocated / 2) {
      PostReserve(a, std::min(a.file->size(), 2 * a.allocated));
    } else {
      // Come back at half of it to ask, so that the background has the
      // other half of the time to allocate before the writer gets there.
      const uint64_t at = (a.allocated / 2 - data_offset_ - control_) /
                              stride_ + 1;
      if (a.allocated / 2 > data_offset_ + control_ && at > a.count) {
        limit = std::min(limit, at);
      }
    }
  }
  if (FramesIn(a.allocated) <= a.count) {
    MAPFILE_RETURN_IF_ERROR(
        Reserve(a, data_offset_ + control_ + (a.count + 1) * stride_,
                tmpfs_ ? os::PageSize() : kFirstStep));
  }
  a.limit = std::min(limit, std::max(a.count + 1, FramesIn(a.allocated)));
  return absl::OkStatus();
}

absl::Status LogStore::Publish(Segment& s, bool seal) {
  if (seal) __atomic_store_n(Word32(s.data, kSealedAt), 1u, __ATOMIC_RELEASE);
  __atomic_store_n(Word64(s.data, kPublishedAt), s.count, __ATOMIC_RELEASE);
  uint32_t* generation = Word32(s.data, kGenerationAt);
  __atomic_fetch_add(generation, 1u, __ATOMIC_RELEASE);
  return os::FutexWake(generation, s.path);
}

// The append path, in the engine's file but on the face's handle, so that
// AppendLog<T>::Append is one out-of-line call (docs/PERFORMANCE.md): the
// frames are encoded into the write buffer; Ahead writes it when full.
absl::StatusOr<uint64_t> LogHandle::Append(const void* records,
                                           size_t n) const {
  LogStore& log = *store_;
  if (log.pretouch_->Inherited()) return log.Owned("Append");
  const uint64_t first =
      log.segments_.back()->first + log.segments_.back()->count;
  const auto* from = static_cast<const std::byte*>(records);
  // Frames with padding (sizeof(T) not a multiple of 8, or alignment above
  // 8) are cleared first: the padding is zero on disk.
  const bool padded = log.payload_ + sizeof(uint64_t) != log.stride_;
  for (size_t left = n; left > 0;) {
    Segment* a = log.segments_.back().get();
    if (a->count >= a->limit) {
      MAPFILE_RETURN_IF_ERROR(log.Ahead());
      a = log.segments_.back().get();
    }
    const uint64_t m = std::min<uint64_t>(left, a->limit - a->count);
    std::byte* to = log.buffer_.get() + (a->count - a->flushed) * log.stride_;
    uint64_t seq = a->first + a->count;
    for (uint64_t i = 0; i < m;
         ++i, to += log.stride_, from += log.payload_, ++seq) {
      if (padded) std::memset(to, 0, log.stride_);
      std::memcpy(to, from, log.payload_);
      // RecordChecksum (log_format.cc), inlined: XXH3-64 seeded with seq.
      const uint64_t sum = XXH3_64bits_withSeed(from, log.payload_, seq);
      std::memcpy(to + log.checksum_at_, &sum, sizeof(sum));
    }
    a->count += m;
    left -= m;
  }
  log.unsynced_records_ += n;
  if ((log.options_.sync_every_records > 0 &&
       log.unsynced_records_ >= log.options_.sync_every_records) ||
      (log.options_.sync_every_bytes > 0 &&
       log.unsynced_records_ * log.payload_ >= log.options_.sync_every_bytes)) {
    MAPFILE_RETURN_IF_ERROR(log.Sync());
  }
  return first;
}

absl::StatusOr<uint64_t> LogStore::AppendBlobs(
    const absl::string_view* records, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (records[i].size() > kMaxBlobSize) {
      return absl::InvalidArgumentError(absl::StrCat(
          Context("Append"), ": record ", i, " of the batch is ",
          records[i].size(), " bytes; a record holds at most ", kMaxBlobSize));
    }
  }
  MAPFILE_RETURN_IF_ERROR(Owned("Append"));
  MAPFILE_RETURN_IF_ERROR(write_error_);
  const uint64_t first = next_seq();
  // Frame bytes a segment of segment_size holds: a larger record gets a
  // segment of its own, grown to fit it.
  const uint64_t normal = size_ - data_offset_ - control_;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t frame = BlobFrameSize(records[i].size());
    Segment* a = segments_.back().get();
    if (a->own || a->index->bytes() + frame > a->area) {
      if (a->count > 0) {
        // As a full segment of fixed frames: its frames written, then the
        // next one (named, with this one finished, at the next Sync).
        MAPFILE_RETURN_IF_ERROR(Flush());
        MAPFILE_RETURN_IF_ERROR(Roll());
        a = segments_.back().get();
      }
      if (frame > a->area) MAPFILE_RETURN_IF_ERROR(GrowFor(*a, frame));
    }
    const uint64_t at = a->index->bytes();
    const uint64_t seq = a->first + a->count;
    // Frames go only where disk space is allocated (kFirstStep at a time;
    // a buffer's worth on tmpfs, where an allocation is zeroed memory),
    // by the background first (a segment it prepared on tmpfs).
    a->allocated = std::max(
        a->allocated, Reserved(*a).end.load(std::memory_order_acquire));
    MAPFILE_RETURN_IF_ERROR(Reserve(*a, data_offset_ + control_ + at + frame,
                                    tmpfs_ ? kWriteBuffer : kFirstStep));
    if (frame > kWriteBuffer) {
      // Larger than the buffer: what is buffered first, then this frame
      // with a pwrite of its own.
      MAPFILE_RETURN_IF_ERROR(Flush());
      std::unique_ptr<std::byte[]> big(new (std::nothrow) std::byte[frame]);
      if (big == nullptr) {
        return absl::ResourceExhaustedError(
            absl::StrCat(Context("Append"), ": cannot allocate ", frame,
                         " bytes to encode record ", seq));
      }
      EncodeBlobFrame(records[i], seq, big.get());
      MAPFILE_RETURN_IF_ERROR(Annotate(
          os::Pwrite(a->file->fd(), a->temp.empty() ? a->path : a->temp,
                     big.get(), frame, data_offset_ + control_ + at),
          absl::StrCat(Context("Append"), ": writing record ", seq,
                       " to segment \"", a->path, "\"")));
      a->index->Push(frame);
      ++a->count;
      a->flushed = a->count;
    } else {
      if (buffered_bytes_ + frame > kWriteBuffer) {
        MAPFILE_RETURN_IF_ERROR(Flush());
      }
      EncodeBlobFrame(records[i], seq, buffer_.get() + buffered_bytes_);
      buffered_bytes_ += frame;
      a->index->Push(frame);
      ++a->count;
    }
    a->own = frame > normal;
    unsynced_bytes_ += records[i].size();
  }
  unsynced_records_ += n;
  if ((options_.sync_every_records > 0 &&
       unsynced_records_ >= options_.sync_every_records) ||
      (options_.sync_every_bytes > 0 &&
       unsynced_bytes_ >= options_.sync_every_bytes)) {
    MAPFILE_RETURN_IF_ERROR(Sync());
  }
  return first;
}

// Grows the (empty) active blob segment `a` to hold a frame of `frame`
// bytes; its disk space is allocated by Reserve, as any segment's.
absl::Status LogStore::GrowFor(Segment& a, uint64_t frame) {
  const uint64_t need =
      os::RoundUp(data_offset_ + control_ + a.index->bytes() + frame,
                  os::PageSize());
  MAPFILE_RETURN_IF_ERROR(Annotate(
      a.file->Grow(need),
      absl::StrCat(Context("Append"), ": growing \"", a.path, "\" for a ",
                   frame, "-byte frame")));
  SetArea(a);
  return absl::OkStatus();
}

// The protocol's Sync (top of this file). A power loss during it leaves
// the state of the Sync before or this one: named segments are complete
// and durable before their successors are named; the active segment's
// slot and frames are flushed together, and a torn pair is detected by the
// frames' checksums (LastWholeCommit).
absl::Status LogStore::Sync() {
  MAPFILE_RETURN_IF_ERROR(Owned("Sync"));
  if (!sync_error_.ok()) {
    return Annotate(sync_error_,
                    absl::StrCat(Context("Sync"),
                                 ": an earlier directory fsync failed"));
  }
  MAPFILE_RETURN_IF_ERROR(Flush());
  const size_t last = segments_.size() - 1;
  for (size_t i = pending_; i < last; ++i) {
    MAPFILE_RETURN_IF_ERROR(
        Annotate(Finish(*segments_[i]), Context("Sync")));
  }
  Segment& a = *segments_.back();
  if (a.count != a.synced || !a.temp.empty()) {
    EncodeSlot({a.slot_sequence + 1, a.count, FramesEnd(a)},
               absl::MakeSpan(a.file->data(), kHeaderSize));
    MAPFILE_CRASH_POINT("log.sync.slot_written", &a.path);
    // From the header page through the last new frame: one flush of the
    // slot and the new frames (and, for a new segment, its header).
    MAPFILE_RETURN_IF_ERROR(Annotate(
        a.file->Sync(0, data_offset_ + control_ + FramesEnd(a)),
        Context("Sync")));
    ++a.slot_sequence;
    a.synced = a.count;
  }
  for (size_t i = pending_ + 1; i <= last; ++i) {
    MAPFILE_RETURN_IF_ERROR(Annotate(
        Name(*segments_[i]),
        absl::StrCat(Context("Sync"), ": naming segment \"",
                     segments_[i]->path, "\"")));
  }
  for (size_t i = pending_; i < last; ++i) {
    Segment& s = *segments_[i];
    s.live = false;
    s.sealed = true;
    MAPFILE_RETURN_IF_ERROR(Publish(s, true));
    MAPFILE_CRASH_POINT("log.roll.sealed", &s.path);
    if (blob_) WriteIndex(s);
    if (options_.compress_sealed) PostCompress(s);
  }
  if (pending_ < last) {
    pending_ = last;
    UnmapIdle(a);  // the ones sealed here are the writer's no more
  }
  unsynced_records_ = 0;
  unsynced_bytes_ = 0;
  CollectJobs();
  return Publish(a, false);
}


// The active segment is full (and its frames written): continue in the
// next segment, under its temporary name until the next Sync. No system
// call unless the background has not prepared it yet.
absl::Status LogStore::Roll() {
  // Room first: a push_back that ran out of memory after `old` was marked
  // sealed would leave a sealed active segment and the new file behind.
  segments_.reserve(segments_.size() + 1);
  Segment& old = *segments_.back();
  MAPFILE_ASSIGN_OR_RETURN(std::shared_ptr<Segment> next,
                           TakeNext(old.first + old.count));
  MAPFILE_CRASH_POINT("log.segment.created", &old.path);
  old.live = false;
  old.sealed = true;  // here; on disk and for readers at the next Sync
  next->flushed = 0;
  next->limit = 0;
  segments_.push_back(std::move(next));
  return absl::OkStatus();
}



absl::Status LogStore::Seal() {
  MAPFILE_RETURN_IF_ERROR(Owned("Seal"));
  MAPFILE_RETURN_IF_ERROR(Sync());
  Segment& old = *segments_.back();
  if (old.count == 0) return absl::OkStatus();
  // The sealed segment keeps only what it holds.
  if (old.reservation) old.reservation->Close();
  MAPFILE_RETURN_IF_ERROR(Annotate(Finish(old), Context("Seal")));
  MAPFILE_RETURN_IF_ERROR(
      old.file->Truncate(std::max(old.floor,
                                  data_offset_ + control_ + FramesEnd(old))));
  MAPFILE_RETURN_IF_ERROR(Annotate(old.file->Sync(0, 0), Context("Seal")));
  old.capacity = old.count;
  if (blob_) {
    old.area = old.index->bytes();
    old.own = false;
  }
  std::shared_ptr<Segment> sealed = segments_.back();
  MAPFILE_RETURN_IF_ERROR(CreateSegment(sealed->first + sealed->count));
  sealed->live = false;
  sealed->sealed = true;
  MAPFILE_RETURN_IF_ERROR(Publish(*sealed, true));
  MAPFILE_CRASH_POINT("log.roll.sealed", &sealed->path);
  if (blob_) WriteIndex(*sealed);
  if (options_.compress_sealed) PostCompress(*sealed);
  Segment& a = *segments_.back();
  a.flushed = 0;
  a.limit = 0;
  return absl::OkStatus();
}

absl::Status LogStore::TruncateBefore(uint64_t seq) {
  MAPFILE_RETURN_IF_ERROR(Owned("TruncateBefore"));
  if (!sync_error_.ok()) {  // as Sync: nothing after it would be durable
    return Annotate(sync_error_,
                    absl::StrCat(Context("TruncateBefore"),
                                 ": an earlier directory fsync failed"));
  }
  // Segments from pending_ on hold records no Sync made durable yet; they
  // go as well (the log is "durable up to the last Sync", and these records
  // are no longer wanted), else a log that is never synced would never
  // shrink. When the last named segment goes, its successor (a temporary)
  // is named at once in its place, its header made durable first: so that
  // the log always starts at a named segment, which recovery trusts only as
  // far as its checksums hold (docs/DESIGN.md, "Retention"). (Not when it
  // is made: a sync on the background thread there delayed Appends on
  // ext4, 9-34 over 200 us per 2M, up to 4.6 ms.)
  while (segments_.size() > 1 && segments_[1]->first <= seq) {
    const bool last_named = pending_ == 0;
    std::shared_ptr<Segment> gone = segments_.front();
    if (last_named) {
      MAPFILE_RETURN_IF_ERROR(Annotate(
          segments_[1]->file->Sync(0, data_offset_ + control_),
          absl::StrCat(Context("TruncateBefore"), ": syncing the header of \"",
                       segments_[1]->temp, "\"")));
    }
    if (gone->reservation) gone->reservation->Close();
    {
      std::lock_guard<std::mutex> lock(jobs_->rename_mu);
      jobs_->retired.insert(gone->first);
    }
    bool keep = false;
    // Reused only if nothing else reads it: no cursor (use_count; a
    // segment never read since Open is not mapped), and no background
    // compression, which could still map the file when a reuse trims it
    // (with compress_sealed, retired segments are deleted).
    if ((gone->file == nullptr || gone->file.use_count() == 1) &&
        !gone->compressed) {
      keep = RoomForFree();
    }
    // The file leaves its name first (nothing changed if that fails), the
    // log follows at once, and the directory is synced last: a failed
    // fsync leaves the segment out of the log, as it is out of the
    // directory, and is sticky, as in Name.
    const std::string free = absl::StrCat(gone->path, kFreeSuffix);
    const absl::Status moved =
        keep ? MoveLogFile(gone->path, free, /*sync_directory=*/false)
             : UnlinkLogFile(gone->path, /*sync_directory=*/false);
    if (!moved.ok()) return Annotate(moved, Context("TruncateBefore"));
    cache_.erase(std::remove(cache_.begin(), cache_.end(), gone),
                 cache_.end());
    segments_.erase(segments_.begin());
    if (!last_named) --pending_;
    if (blob_) {  // a cache of the segment: gone or not, no matter
      os::Unlink(absl::StrCat(dir_, "/", IndexFileName(gone->first)),
                 /*sync_directory=*/false)
          .IgnoreError();
    }
    absl::Status synced = os::FsyncDirectory(dir_);
    if (synced.ok()) {
      MAPFILE_CRASH_POINT("log.truncate.unlinked", &gone->path);
      if (last_named) {
        // Readers following it as their live segment look for the next one
        // (Refresh): no Sync sealed it. Only now, out of the log for good
        // (a seal on disk under its name would stop recovery scanning it),
        // and before a roll may reuse the file.
        __atomic_store_n(Word32(gone->data, kSealedAt), 1u, __ATOMIC_RELEASE);
        uint32_t* generation = Word32(gone->data, kGenerationAt);
        __atomic_fetch_add(generation, 1u, __ATOMIC_RELEASE);
        os::FutexWake(generation, gone->path).IgnoreError();
      }
    }
    if (keep) AddFree(free);
    // The successor is named only once the retirement is durable: else a
    // power loss could keep its name and bring back the retired segment,
    // whose commit does not count its records (a writer that dies here
    // leaves only temporaries, and the next Open names the first:
    // StartAtFirstTemp). A failed rename is sticky too: no Sync names the
    // segment at pending_.
    if (synced.ok() && last_named) synced = Name(*segments_.front());
    if (!synced.ok()) {
      sync_error_ = Annotate(
          synced, absl::StrCat(Context("TruncateBefore"), ": retiring \"",
                               gone->path, "\""));
      return sync_error_;
    }
  }
  return absl::OkStatus();
}

// A retired segment file (LogOptions::recycle_segments) made the segment
// for records from `first`, as Prepare's; null if none is left or it
// cannot be reused (then it is deleted). Its old frames stay until
// overwritten: each carries the checksum of its old sequence number, so
// none can pass for a record here (recovery leaves them, or cuts them with a
// torn tail: log_recovery.cc).
std::shared_ptr<Segment> LogStore::Recycle(uint64_t first) const {
  std::string free;
  {
    std::lock_guard<std::mutex> lock(jobs_->mu);
    if (jobs_->free.empty()) return nullptr;
    free = std::move(jobs_->free.back());
    jobs_->free.pop_back();
  }
  const std::string path = absl::StrCat(dir_, "/", SegmentFileName(first));
  const std::string temp = absl::StrCat(path, kTempSuffix);
  MappedFile::Options o;
  o.mode = OpenMode::kReadWrite;
  o.reserve = size_;
  o.lock = false;
  o.preallocate = false;
  absl::StatusOr<MappedFile> file;
  uint64_t allocated = 0;
  absl::Status status = MoveLogFile(free, temp, /*sync_directory=*/false);
  if (status.ok()) {
    file = MappedFile::Open(temp, o);
    status = file.status();
  }
  uint64_t length = 0;
  if (status.ok()) {
    // The file keeps its old length, also when it is longer than this
    // segment (the log was reopened with a smaller segment_size): records
    // go only within size_, the size its header records, which is what
    // decides when it is full (Map, Adopt). Never longer than a segment
    // can be (a hostile file is not reused).
    length = file->size();
    allocated = std::min(os::RoundDown(file->size(), os::PageSize()), size_);
    if (allocated < data_offset_ + control_ || length > kMaxSegmentSize) {
      status = absl::OutOfRangeError("");
    }
  }
  if (status.ok() && length < size_) {
    status = file->Truncate(size_);  // sparse past the old end
  }
  if (!status.ok()) {
    UnlinkLogFile(free).IgnoreError();
    UnlinkLogFile(temp).IgnoreError();
    return nullptr;  // Prepare makes a new file
  }
  if (!WriteHeader(*file, temp, first).ok()) {
    UnlinkLogFile(temp).IgnoreError();
    return nullptr;  // Prepare makes a new file
  }
  auto s = std::make_shared<Segment>(first, path);
  s->temp = temp;
  s->live = true;
  s->file = std::make_shared<MappedFile>(*std::move(file));
  s->data = s->file->data() + data_offset_;
  s->capacity = FramesIn(size_);
  s->allocated = allocated;
  s->floor = length;
  if (blob_) {
    SetArea(*s);
    s->area = std::min(s->area, size_ - data_offset_ - control_);  // size_'s
    s->capacity = s->area / kBlobFrameHeader;
    s->index = std::make_shared<BlobIndex>();
  }
  return s;
}

// The segment for records from `first`: the one the background prepared,
// or (not asked for, failed, or not started yet) one prepared here. Waits
// only for a preparation already running.
absl::StatusOr<std::shared_ptr<Segment>> LogStore::TakeNext(
    uint64_t first) {
  std::optional<absl::StatusOr<std::shared_ptr<Segment>>> got;
  {
    std::unique_lock<std::mutex> lock(jobs_->mu);
    jobs_->done.wait(lock, [&] { return jobs_->prepare != LogJobs::kRunning; });
    if (jobs_->prepare == LogJobs::kDone) got.swap(jobs_->prepared);
    jobs_->prepare = LogJobs::kNone;
  }
  if (got && got->ok()) {
    if ((**got)->first == first) return **got;
    Unprepare(***got);  // Seal() came first
  }
  // A failed preparation is retried, and reported, here.
  return Prepare(first);
}

void LogStore::PostPrepare(uint64_t first) {
  if (dry_run_) return;
  std::optional<absl::StatusOr<std::shared_ptr<Segment>>> untaken;
  {
    std::lock_guard<std::mutex> lock(jobs_->mu);
    if (jobs_->prepare == LogJobs::kDone) untaken.swap(jobs_->prepared);
    jobs_->prepared.reset();
    jobs_->prepare = LogJobs::kQueued;
    jobs_->prepare_first = first;
  }
  if (untaken && untaken->ok()) Unprepare(***untaken);
  pretouch_->Post([this] { Drain(true); });
}

// A prepared segment that will not be used (the log closes, or Seal came
// first): kept as a retired file for a later roll when recycling is on and
// there is room (LogOptions::recycle_segments), else removed. It is cut to
// the space allocated for it first: Recycle takes a retired file's length
// (rounded down to a page) for allocated space.
void LogStore::Unprepare(Segment& s) {
  if (s.reservation) s.reservation->Close();  // no job allocates in it now
  const bool keep = RoomForFree();
  const std::string free = absl::StrCat(s.path, kFreeSuffix);
  // (Never shorter than a reused file was: a reader of the segment it was
  // may still map it; what lies between is old data, allocated. On tmpfs,
  // where a segment prepared ahead is allocated whole, the memory of what
  // it never used goes back.)
  const uint64_t length = std::max(
      s.floor, tmpfs_ ? os::RoundUp(data_offset_ + control_, os::PageSize())
                      : std::min(s.allocated, s.file->size()));
  if (keep && s.file->Truncate(length).ok() &&
      MoveLogFile(s.temp, free, /*sync_directory=*/false).ok()) {
    AddFree(free);
    return;
  }
  UnlinkLogFile(s.temp).IgnoreError();  // best effort; Open removes it too
}

// Whether a retired file may be kept for reuse: recycling is on (not with
// compress_sealed) and there are fewer than recycle_segments. Room on the
// list is reserved, so that AddFree, after the file's move, cannot throw.
// Only the appending thread adds; the background only takes (Recycle).
bool LogStore::RoomForFree() {
  if (options_.compress_sealed) return false;
  std::lock_guard<std::mutex> lock(jobs_->mu);
  if (jobs_->free.size() >= options_.recycle_segments) return false;
  jobs_->free.reserve(jobs_->free.size() + 1);
  return true;
}

void LogStore::AddFree(const std::string& path) {
  std::lock_guard<std::mutex> lock(jobs_->mu);
  jobs_->free.push_back(path);
}

// Runs background jobs until none is left (with `prepare`, also the
// preparation of the next segment); any thread.
void LogStore::Drain(bool prepare) {
  LogJobs& j = *jobs_;
  std::unique_lock<std::mutex> lock(j.mu);
  while (true) {
    if (prepare && j.prepare == LogJobs::kQueued) {
      j.prepare = LogJobs::kRunning;
      const uint64_t first = j.prepare_first;
      lock.unlock();
      std::optional<absl::StatusOr<std::shared_ptr<Segment>>> s;
      try {
        s = Prepare(first, /*ahead=*/true);
      } catch (...) {
        // Out of memory (the only exception mapfile code throws): the
        // preparation is dropped, and TakeNext prepares the segment itself
        // and reports what fails there. A throw here would leave the
        // preparation kRunning, and TakeNext and ~LogStore waiting forever.
        s.reset();
      }
      lock.lock();
      if (s && s->ok() && tmpfs_ && !j.closing) {
        // The rest of it is allocated next, on this thread (tmpfs_): it is
        // the writer's once it is done (below), and a roll need not wait.
        try {
          QueueReserve(***s, (**s)->file->size());
        } catch (...) {
          // Out of memory: the writer allocates as it goes.
        }
      }
      if (s) {
        j.prepared = std::move(s);
        j.prepare = LogJobs::kDone;
      } else {
        j.prepared.reset();
        j.prepare = LogJobs::kNone;
      }
      j.done.notify_all();
      continue;
    }
    if (j.queue.empty()) return;
    std::function<void()> run = std::move(j.queue.front());
    j.queue.pop_front();
    ++j.running;
    lock.unlock();
    try {
      run();
    } catch (...) {
      // Out of memory inside a job: it is dropped, and its work redone by
      // its owner (an allocation step: Reserve at the writer's limit; a
      // compression: the next Open queues the segments still uncompressed).
      // `running` must still come down, or FinishJobs would wait forever.
    }
    lock.lock();
    --j.running;
    j.done.notify_all();
  }
}

// Afterwards no job is queued or running (with `prepare`, the next
// segment is prepared too; without, it may still be pending).
void LogStore::FinishJobs(bool prepare) {
  // (No thread when Open ran out of memory before it made one.)
  if (prepare && pretouch_ != nullptr) pretouch_->FinishTasks();
  Drain(prepare);  // what the thread left (none after a fork; pretouch.h)
  std::unique_lock<std::mutex> lock(jobs_->mu);
  jobs_->done.wait(lock, [&] {
    return jobs_->running == 0 &&
           (!prepare || jobs_->prepare != LogJobs::kRunning);
  });
}

// Writes the active segment's buffered frames to its file.
absl::Status LogStore::Flush() {
  Segment& a = *segments_.back();
  if (a.count == a.flushed) return absl::OkStatus();
  MAPFILE_RETURN_IF_ERROR(write_error_);
  // (Blob frames: the buffer holds those of records [flushed, count).)
  const uint64_t from = FramesAt(a, a.flushed);
  const uint64_t offset = data_offset_ + control_ + from;
  absl::Status status =
      os::Pwrite(a.file->fd(), a.temp.empty() ? a.path : a.temp, buffer_.get(),
                 FramesEnd(a) - from, offset);
  if (!status.ok()) {
    // The frames were accepted by earlier Appends: they are lost, and so
    // is every later Sync (reopen the log).
    write_error_ = Annotate(
        status, absl::StrCat(Context("Append"), ": writing records ",
                             a.first + a.flushed, "..",
                             a.first + a.count - 1, " to segment \"",
                             a.path, "\""));
    return write_error_;
  }
  a.flushed = a.count;
  buffered_bytes_ = 0;
  return absl::OkStatus();
}

// Makes sure bytes [0, end) of `a` have disk space (the background did not
// get there first, or tmpfs: tmpfs_): fallocates up to the next
// multiple of `grain` (at most the file's end), so that writes below it
// cannot fail for space. ResourceExhausted on a full disk: the Append that
// needed the space fails, and nothing is appended.
absl::Status LogStore::Reserve(Segment& a, uint64_t end, uint64_t grain) {
  if (end <= a.allocated) return absl::OkStatus();
  const uint64_t to = std::min(a.file->size(), os::RoundUp(end, grain));
  if (to <= a.allocated) return absl::OkStatus();  // (end past the file)
  absl::Status status =
      os::Fallocate(a.file->fd(), a.temp.empty() ? a.path : a.temp,
                    a.allocated, to - a.allocated);
  if (status.code() == absl::StatusCode::kUnimplemented) {
    status = absl::OkStatus();  // nothing to reserve with: pwrite reports
  }
  if (!status.ok()) {
    return Annotate(status, absl::StrCat(Context("Append"),
                                         ": allocating space in segment \"",
                                         a.path, "\""));
  }
  a.allocated = to;
  return absl::OkStatus();
}

// The space of `a` allocated ahead of the writer (made on first use).
Reservation& LogStore::Reserved(Segment& a) {
  if (a.reservation == nullptr) {
    a.reservation = std::make_shared<Reservation>();
    a.reservation->end = a.allocated;
  }
  return *a.reservation;
}

// Queues, ahead of other jobs, the job that allocates bytes up to `to` of
// `a`, a piece at a time (each under the reservation's lock, so that Close
// waits for one piece at most). REQUIRES: jobs_->mu held.
void LogStore::QueueReserve(Segment& a, uint64_t to) {
  Reservation& reserved = Reserved(a);
  reserved.end = std::max(reserved.end.load(), a.allocated);
  std::shared_ptr<Reservation> r = a.reservation;
  std::shared_ptr<MappedFile> file = a.file;  // alive while the job runs
  const std::string path = a.temp.empty() ? a.path : a.temp;
  // On tmpfs, where the writer's pwrite waits for the inode lock that an
  // allocation holds, a piece is what the writer flushes at a time.
  const uint64_t piece = tmpfs_ ? kWriteBuffer / 4 : kFirstStep;
  jobs_->queue.push_front([r, file, path, to, piece] {
    try {
      for (uint64_t at = r->end.load(); at < to;) {
        std::lock_guard<std::mutex> lock(r->mu);
        if (r->closed) break;
        const uint64_t next = std::min(to, at + piece);
        // A failure (full disk) is the writer's to meet and report: it
        // allocates for itself when it gets there.
        if (!os::Fallocate(file->fd(), path, at, next - at).ok()) break;
        r->end.store(next, std::memory_order_release);
        at = next;
      }
    } catch (...) {
      // Out of memory (an error message): as a failure, the writer's.
    }
    r->busy.store(false, std::memory_order_release);
  });  // before compressions
  reserved.busy = true;  // only once queued: a failed push_front leaves it idle
}

// Allocates bytes up to `to` of `a` on the background thread.
void LogStore::PostReserve(Segment& a, uint64_t to) {
  {
    std::lock_guard<std::mutex> lock(jobs_->mu);
    QueueReserve(a, to);
  }
  pretouch_->Post([this] { Drain(true); });
}

// A segment filled since the last Sync: its slot counts all its records,
// the file is cut to them, and both are made durable (one fdatasync).
absl::Status LogStore::Finish(Segment& s) {
  if (s.synced == s.count && s.temp.empty()) return absl::OkStatus();
  if (s.reservation) s.reservation->Close();  // before the trim
  EncodeSlot({s.slot_sequence + 1, s.count, FramesEnd(s)},
             absl::MakeSpan(s.file->data(), kHeaderSize));
  MAPFILE_RETURN_IF_ERROR(
      s.file->Truncate(std::max(s.floor,
                                data_offset_ + control_ + FramesEnd(s))));
  s.capacity = s.count;
  if (blob_) {
    s.area = s.index->bytes();
    s.own = false;
  }
  MAPFILE_RETURN_IF_ERROR(s.file->Sync(0, s.file->size()));
  ++s.slot_sequence;
  s.synced = s.count;
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace mapfile
