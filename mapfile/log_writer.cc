// Copyright 2026 The mapfile Authors.
//
// log_writer.cc: a log's writer: Open (a new or recovered log), the append
// paths (LogHandle::Append; AppendBlobs, which has the frame layer encode
// each variable-length frame), Sync and its commit, rolls to a new segment
// (created here, or prepared ahead by the pretouch thread: Ahead), Seal and
// retention (TruncateBefore). Part of the log engine
// (mapfile/internal/log_store.h; docs/DESIGN.md, "The commit protocol").

#include <sys/mman.h>

#include <algorithm>
#include <cstring>

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
  MAPFILE_RETURN_IF_ERROR(Rescan());
  if (segments_.empty()) {
    if (mode == OpenMode::kReadWrite) {
      return absl::NotFoundError(absl::StrCat(
          Context("Open"), ": no log segments (*", kSegmentSuffix, ")"));
    }
    return CreateSegment(0);
  }
  Segment& last = *segments_.back();
  // Sequence numbers of its records, and of the next segment, must not wrap.
  const uint64_t room = std::max(last.count, last.capacity);
  if (room > ~last.first) {
    return absl::DataLossError(absl::StrCat(
        Context("Open"), ": log segment \"", last.path, "\" has room for ",
        room, " records from ", last.first,
        ": past the largest sequence number"));
  }
  if (!last.sealed && !last.compressed) return absl::OkStatus();
  last.live = false;
  last.sealed = true;
  return CreateSegment(last.first + last.count);
}

// Lists the directory and merges it into segments_: known segments keep
// their mappings, gone ones are dropped, new ones are added unmapped. Every
// segment but the last holds exactly the records up to the next one's first
// (checked against its header when it is loaded).

// synced, mapped. Uses only what Open set: safe on the pretouch thread.
absl::StatusOr<std::shared_ptr<Segment>> LogStore::Prepare(
    uint64_t first) const {
  const std::string path = absl::StrCat(dir_, "/", SegmentFileName(first));
  const std::string temp = absl::StrCat(path, kTempSuffix);
  MappedFile::Options o;
  o.mode = OpenMode::kCreateNew;
  o.initial_size = size_;
  o.reserve = size_;
  o.lock = false;
  o.permissions = options_.permissions;
  absl::StatusOr<MappedFile> file = MappedFile::Open(temp, o);
  absl::Status status = file.status();
  if (status.ok()) {
    FileHeader h = header_;
    h.first_sequence = first;
    const absl::Span<std::byte> page(file->data(), kHeaderSize);
    EncodeHeader(h, page);
    EncodeSlot({1, 0, 0}, page);
    status = file->Sync(0, data_offset_ + control_);
  }
  if (!status.ok()) {
    os::Unlink(temp).IgnoreError();  // best effort; Open removes it too
    return Annotate(status, absl::StrCat("creating segment \"", path, "\""));
  }
  auto s = std::make_shared<Segment>(first, path);
  s->live = true;
  s->file = std::make_shared<MappedFile>(*std::move(file));
  s->data = s->file->data() + data_offset_;
  s->capacity = (size_ - data_offset_ - control_) / stride_;
  if (blob_) {
    SetArea(*s);
    s->index = std::make_shared<BlobIndex>();
  }
  return s;
}

// Gives a prepared segment its name: from here on it is the log's last.
absl::Status LogStore::Name(const Segment& s) {
  absl::Status status = os::Rename(s.file->path(), s.path);
  if (!status.ok()) {
    return Annotate(status,
                    absl::StrCat("creating segment \"", s.path, "\""));
  }
  MAPFILE_CRASH_POINT("log.renamed", &s.path);
  synced_ = 0;
  slot_sequence_ = 1;
  return absl::OkStatus();
}

absl::Status LogStore::CreateSegment(uint64_t first) {
  MAPFILE_ASSIGN_OR_RETURN(std::shared_ptr<Segment> s, Prepare(first));
  absl::Status status = Name(*s);
  if (!status.ok()) {
    os::Unlink(s->file->path()).IgnoreError();
    return status;
  }
  segments_.push_back(std::move(s));
  return absl::OkStatus();
}

// The segment a pretouch task prepared, if it is the one for `first`.
std::shared_ptr<Segment> LogStore::TakePrepared(uint64_t first) {
  if (!preparing_) return nullptr;
  pretouch_->FinishTasks();
  preparing_ = false;
  std::optional<absl::StatusOr<std::shared_ptr<Segment>>> got;
  got.swap(prepared_);
  // A failed preparation is retried, and reported, by the caller.
  if (!got || !got->ok()) return nullptr;
  if ((**got)->first == first) return **got;
  os::Unlink((**got)->file->path()).IgnoreError();  // Seal() came first
  return nullptr;
}

// Append reached the active segment's limit: rolls a full segment; with
// pretouch, asks for the frames ahead and, past half the segment, for the
// next segment.
absl::Status LogStore::Ahead() {
  if (segments_.back()->count == segments_.back()->capacity) {
    MAPFILE_RETURN_IF_ERROR(Roll());
  }
  Segment& a = *segments_.back();
  if (!pretouch_) {
    a.limit = a.capacity;
    return absl::OkStatus();
  }
  const uint64_t window = pretouch_->window();
  const uint64_t ahead = std::max<uint64_t>(2, window / stride_);
  std::byte* const records = a.data + control_;
  pretouch_->Touch(records + a.count * stride_,
                   records + std::min(a.capacity, a.count + ahead) * stride_);
  a.limit = std::min(a.capacity, a.count + ahead / 2);
  if (!preparing_ && a.count < a.capacity / 2) {
    // Come back at half the segment to prepare the next one, even when the
    // window reaches past the segment's end.
    a.limit = std::min(a.limit, a.capacity / 2);
  } else if (!preparing_) {
    preparing_ = true;
    const uint64_t first = a.first + a.capacity;
    pretouch_->Post([this, first, window] {
      prepared_ = Prepare(first);
      if (!prepared_->ok()) return;
      const Segment& s = ***prepared_;
      os::Madvise(s.data, std::min(control_ + window, size_ - data_offset_),
                  MADV_POPULATE_WRITE, s.path)
          .IgnoreError();  // as Pretoucher: a hint
    });
  }
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
// AppendLog<T>::Append is one out-of-line call (docs/PERFORMANCE.md).
absl::StatusOr<uint64_t> LogHandle::Append(const void* records,
                                           size_t n) const {
  LogStore& log = *store_;
  const uint64_t first =
      log.segments_.back()->first + log.segments_.back()->count;
  const auto* from = static_cast<const std::byte*>(records);
  for (size_t left = n; left > 0;) {
    Segment* a = log.segments_.back().get();
    if (a->count >= a->limit) {
      MAPFILE_RETURN_IF_ERROR(log.Ahead());
      a = log.segments_.back().get();
    }
    const uint64_t m = std::min<uint64_t>(left, a->limit - a->count);
    std::byte* to = a->data + log.control_ + a->count * log.stride_;
    for (uint64_t i = 0; i < m; ++i, to += log.stride_, from += log.payload_) {
      std::memcpy(to, from, log.payload_);
      const uint64_t sum =
          RecordChecksum(from, log.payload_, a->first + a->count + i);
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
  const uint64_t first = next_seq();
  // Frame bytes a segment of segment_size holds: a larger record gets a
  // segment of its own, grown to fit it.
  const uint64_t normal = size_ - data_offset_ - control_;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t frame = BlobFrameSize(records[i].size());
    Segment* a = segments_.back().get();
    if (a->own || a->index->bytes() + frame > a->area) {
      if (a->count > 0) {
        MAPFILE_RETURN_IF_ERROR(Roll());
        a = segments_.back().get();
      }
      if (frame > a->area) MAPFILE_RETURN_IF_ERROR(GrowFor(*a, frame));
    }
    EncodeBlobFrame(records[i], a->first + a->count,
                    a->data + control_ + a->index->bytes());
    a->index->Push(frame);
    ++a->count;
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

// Grows the (empty) active segment `a` to hold a frame of `frame` bytes.
// Preallocated, as segments are: a full disk is ResourceExhausted here.
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

absl::Status LogStore::Sync() {
  if (roll_pending_) MAPFILE_RETURN_IF_ERROR(FinishRoll());
  return Commit(*segments_.back());
}

// Commits `a`'s records: the slot that counts them is written next to the
// frames and one msync (one device flush) makes both durable. A power loss
// during it may keep the slot without all of its frames; every frame has a
// checksum, so recovery sees that and falls back to the commit before
// (LastWholeCommit). docs/PERFORMANCE.md: one flush instead of two.
absl::Status LogStore::Commit(Segment& a) {
  if (a.count == synced_) return absl::OkStatus();
  EncodeSlot({slot_sequence_ + 1, a.count, FramesEnd(a)},
             absl::MakeSpan(a.file->data(), kHeaderSize));
  MAPFILE_CRASH_POINT("log.sync.slot_written", &a.path);
  // From the header page through the last new frame: msync writes only the
  // dirty pages of the range, which are the slot's and the new frames'.
  MAPFILE_RETURN_IF_ERROR(
      a.file->Sync(0, data_offset_ + control_ + FramesEnd(a)));
  ++slot_sequence_;
  synced_ = a.count;
  unsynced_records_ = 0;
  unsynced_bytes_ = 0;
  return Publish(a, false);
}

absl::Status LogStore::Roll() {
  if (roll_pending_) MAPFILE_RETURN_IF_ERROR(FinishRoll());
  std::shared_ptr<Segment> old = segments_.back();
  const uint64_t first = old->first + old->count;
  if (std::shared_ptr<Segment> next = TakePrepared(first)) {
    segments_.push_back(std::move(next));  // FinishRoll does the rest
    roll_pending_ = true;
    return absl::OkStatus();
  }
  MAPFILE_RETURN_IF_ERROR(Commit(*old));
  MAPFILE_RETURN_IF_ERROR(CreateSegment(first));
  return SealOld(*old);
}

// The durable half of a roll to a prepared segment, in Roll's order: the
// full segment committed, then the next one named, then the old one sealed.
absl::Status LogStore::FinishRoll() {
  Segment& old = *segments_[segments_.size() - 2];
  MAPFILE_RETURN_IF_ERROR(Commit(old));
  MAPFILE_RETURN_IF_ERROR(Name(*segments_.back()));
  roll_pending_ = false;
  return SealOld(old);
}

absl::Status LogStore::SealOld(Segment& old) {
  MAPFILE_CRASH_POINT("log.segment.created", &old.path);
  old.live = false;
  old.sealed = true;
  // The sealed flag is a hint for readers (a segment with a successor is
  // sealed anyway), so it is made durable but not waited for by recovery.
  MAPFILE_RETURN_IF_ERROR(Publish(old, true));
  MAPFILE_RETURN_IF_ERROR(old.file->Sync(data_offset_, control_));
  MAPFILE_CRASH_POINT("log.roll.sealed", &old.path);
  if (pretouch_) {
    pretouch_->Stop();  // it may be populating the tail cut below
    Segment& a = *segments_.back();
    a.limit = std::min(a.limit, a.count);  // ask again at the next append
  }
  MAPFILE_RETURN_IF_ERROR(
      old.file->Truncate(data_offset_ + control_ + FramesEnd(old)));
  old.capacity = old.count;
  if (blob_) {
    old.area = old.index->bytes();
    old.own = false;
    WriteIndex(old);
  }
  return options_.compress_sealed ? Compress(old.first) : absl::OkStatus();
}

absl::Status LogStore::Seal() {
  if (segments_.back()->count > 0) MAPFILE_RETURN_IF_ERROR(Roll());
  return roll_pending_ ? FinishRoll() : absl::OkStatus();
}

absl::Status LogStore::TruncateBefore(uint64_t seq) {
  // A pending roll's full segment stays until its successor has a name.
  while (segments_.size() > (roll_pending_ ? 2u : 1u) &&
         segments_[1]->first <= seq) {
    MAPFILE_RETURN_IF_ERROR(Annotate(os::Unlink(segments_.front()->path),
                                   Context("TruncateBefore")));
    if (blob_) {  // a cache of the segment: gone or not, no matter
      os::Unlink(absl::StrCat(dir_, "/", IndexFileName(segments_.front()->first)))
          .IgnoreError();
    }
    MAPFILE_CRASH_POINT("log.truncate.unlinked", &segments_.front()->path);
    cache_.erase(std::remove(cache_.begin(), cache_.end(), segments_.front()),
                 cache_.end());
    segments_.erase(segments_.begin());
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace mapfile
