// Copyright 2026 The mapfile Authors.
//
// log_recovery.cc: what a writer's Open does to the tail of the last
// segment (Recover: the commit to trust, the frames to keep, the cut) and
// the same without writing (PlanRecovery). Part of the log engine
// (mapfile/internal/log_store.h; docs/DESIGN.md, "Recovery").

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <exception>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/os.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

absl::StatusOr<RecoveryPlan> LogStore::PlanRecovery(
    const std::string& dir, const TypeFingerprint& type, FrameKind frames) {
  MAPFILE_ASSIGN_OR_RETURN(
      std::unique_ptr<LogStore> s,
      Make(dir, LogOptions(), type, /*writer=*/true, frames));
  s->dry_run_ = true;
  MAPFILE_RETURN_IF_ERROR(s->Rescan());
  if (s->segments_.empty()) MAPFILE_RETURN_IF_ERROR(s->StartAtFirstTemp());
  if (s->segments_.empty()) {
    return absl::NotFoundError(absl::StrCat(
        s->Context("Open"), ": no log segments (*", kSegmentSuffix, ")"));
  }
  // The temporaries Open would adopt (a chain of rolls no Sync finished).
  MAPFILE_RETURN_IF_ERROR(s->Adopt());
  const Segment& last = *s->segments_.back();
  return RecoveryPlan{
      s->recovery_, last.temp.empty() ? last.path : last.temp, last.synced,
      s->data_offset_ + s->control_ + s->FramesEnd(last)};
}

// A store with the layout of `type`, before any file is touched.

absl::Status LogStore::Recover(Segment& s, const FileHeader& h) {
  MappedFile& f = *s.file;
  MAPFILE_ASSIGN_OR_RETURN(CommitSlot c, LatestCommit(h, f.size(), s.path));
  const uint64_t newest_sequence = c.sequence;
  if (blob_ && !s.compressed) {
    if (c.count > s.capacity || c.length > s.area) {
      return absl::DataLossError(absl::StrCat(
          "blob log segment \"", s.path, "\": commit ", c.sequence, " says ",
          c.count, " records in ", c.length, " bytes (room for ", s.area,
          " bytes of frames)"));
    }
    s.index = std::make_shared<BlobIndex>();
    if (!s.sealed) {
      MAPFILE_ASSIGN_OR_RETURN(c, LastWholeBlobCommit(s, h, c));
    } else {
      s.index->Extend(s.data + control_, c.length, s.first, c.count, false);
      if (s.index->count() != c.count || s.index->bytes() != c.length) {
        return absl::DataLossError(absl::StrCat(
            "blob log segment \"", s.path, "\": the frame of record ",
            s.first + s.index->count(), " at offset ", s.index->bytes(),
            " does not fit its commit of ", c.count, " records in ", c.length,
            " bytes"));
      }
    }
  } else if (!s.compressed) {
    MAPFILE_RETURN_IF_ERROR(
        CheckCommit(s.path, LogLayout(type_), h, c, f.size()));
    if (!s.sealed) c = LastWholeCommit(s, h, c);
  }
  // The newest slot was torn by a power loss: it must not win again.
  const bool torn = c.sequence != newest_sequence;
  s.count = c.count;
  s.flushed = c.count;  // all in the file: nothing buffered
  s.slot_sequence = c.sequence;
  s.synced = c.count;
  if (s.compressed) return CheckCount(s.path, s.count, control_, stride_);
  if (s.sealed) return dry_run_ ? absl::OkStatus() : Publish(s, true);
  // What follows reads past the commit, up to where the records end: with
  // no readahead (pread) or read-around (the mapping) meanwhile. Either
  // would cache zeros of the allocated space after the records (up to the
  // device's read_ahead_kb, 8 MiB here), which every later Open takes for
  // data (SEEK_DATA, NoFramePasses) and reads again, caching more: the
  // Open of a synced 10^7-record log grew to 3-16 ms that way, against 0.3.
  // (So a reopen after a reboot reads its unsynced frames without
  // readahead.)
  struct NoReadahead {
    MappedFile& f;
    explicit NoReadahead(MappedFile& file) : f(file) {
      Advise(POSIX_FADV_RANDOM, Access::kRandom);
    }
    ~NoReadahead() { Advise(POSIX_FADV_NORMAL, Access::kNormal); }
    void Advise(int file_advice, Access map_advice) {  // hints: errors ignored
      ::posix_fadvise(f.fd(), 0, 0, file_advice);
      f.Advise(map_advice).IgnoreError();
    }
  } no_readahead(f);
  uint64_t kept = c.count;
  uint64_t cut = 0;
  if (blob_) {
    s.index->Extend(s.data + control_, s.area, s.first, ~uint64_t{0} - s.first,
                    /*verify=*/true);
    kept = s.index->count();
    cut = data_offset_ + control_ + s.index->bytes();
  } else {
    // A read that failed ends nothing: the Open fails, the file untouched.
    absl::Status read;
    kept = FindFrame(s, kept, s.capacity, /*passes=*/false, &read);
    MAPFILE_RETURN_IF_ERROR(read);
    cut = data_offset_ + control_ + kept * stride_;
  }
  // What lies after the kept frames: non-zero bytes up to the first zero
  // page or hole (a dying process leaves no holes; the cut below clears
  // any), looked at no further than needed to pass `stop`.
  const uint64_t page = os::PageSize();
  const uint64_t data_end = DataEnd(f, cut);
  auto end_after_cut = [&](uint64_t stop) {
    uint64_t end = cut;
    for (uint64_t at = cut; at < data_end && end <= stop;) {
      const uint64_t next = std::min(f.size(), (at / page + 1) * page);
      uint64_t i = next;
      while (i > at && f.data()[i - 1] == std::byte{0}) --i;
      if (i == at) break;
      end = i;
      at = next;
    }
    return end;
  };
  // Enough to tell the cases below apart; all of it only for a cut.
  uint64_t end = end_after_cut(cut + stride_);
  recovery_.records_kept += kept - c.count;
  // Past the frame at `kept` (torn, or never written), a recycled segment
  // holds the old frames of the segment it was: each fails the checksum of
  // the sequence number it would have here. If no frame there passes, those
  // bytes stay, and are not reported: cutting them would only free the
  // pages the writer is about to fill again, and no later recovery can take
  // them for records either. A frame that passes belongs to a dead run that
  // a power loss brought back behind a torn one: then everything after
  // `kept` is cut, as a torn tail is. The same holds when nothing follows
  // the kept frames (a full segment; a clean close): no cut, so no
  // fdatasync of a segment that a Sync will flush anyway (on ext4, 20-30 ms
  // for a full 64 MiB one whose pages no Sync wrote yet).
  // Blob frames have no fixed places to check, so a blob segment is left
  // uncut only when nothing at all follows its kept frames: the rest of
  // their page zero and no data after it (SEEK_DATA), as a clean close
  // leaves it (its cut and fdatasync were 1-2 ms of a 1.3-5 ms reopen on
  // ext4 here).
  const uint64_t next_page = os::RoundUp(cut, page);
  const bool stale =
      f.size() == SegmentSize(h) &&
      (blob_ ? end == cut &&
                   (next_page >= f.size() ||
                    (::lseek(f.fd(), static_cast<off_t>(next_page),
                             SEEK_DATA) < 0 &&
                     errno == ENXIO))
             : (end == cut || end > cut + stride_) &&
                   NoFramePasses(s, end == cut ? kept : kept + 1));
  if (end > cut && !stale) {
    end = end_after_cut(~uint64_t{0});
    recovery_.bytes_cut = end - cut;
    recovery_.records_cut = blob_ ? BlobFramesTouched(f.data() + cut, end - cut)
                                  : (end - cut + stride_ - 1) / stride_;
    recovery_.segment = s.path;
  }
  s.count = kept;  // as Open will have it (Adopt looks at it)
  if (dry_run_) return absl::OkStatus();  // PlanRecovery: say, don't cut
  s.flushed = kept;
  if (stale) {
    // Its length stays what it was (a reader of the retired segment may
    // still map it: DESIGN.md, "Recycling"); allocation is known only up to
    // the kept frames (a page of data may hold unallocated blocks), and
    // Reserve over allocated space is cheap.
    if (end > cut) s.floor = f.size();
    s.allocated = cut;
  } else {
    // Cut everything after the kept frames (torn bytes, a dead run) and
    // extend the file again, sparse: the free frames are zeros, as in a
    // new segment. Its length is the log's segment size, never what the
    // file claimed (a file extended to 1 TiB is cut back, and takes no
    // disk).
    const uint64_t size = std::max(os::RoundUp(cut, page), SegmentSize(h));
    MAPFILE_RETURN_IF_ERROR(f.Truncate(cut));
    MAPFILE_CRASH_POINT("log.recover.cut", &s.path);
    MAPFILE_RETURN_IF_ERROR(f.Truncate(size));
    // The cut must be durable before a record is appended over it: else a
    // power loss can bring back the old tail behind the new records, whole
    // frames of a dead run that pass their checksums (power_loss_test).
    MAPFILE_RETURN_IF_ERROR(f.Sync(0, 0));  // fdatasync: the size changed
    if (blob_) {
      SetArea(s);
    } else {
      s.data = f.data() + data_offset_;
      s.capacity = FramesIn(size);
    }
    s.allocated = cut;  // Reserve allocates from here (idempotent below it)
  }
  if (torn) {
    // Rewrites the torn slot (same sequence, the records recovery kept), so
    // that readers, `mapfile verify` and the next Open find the recovered
    // state on disk instead of deciding again: the commit Adopt makes
    // writes the slot whenever the count differs from what was synced.
    s.synced = ~uint64_t{0};
    torn_ = true;
  }
  return absl::OkStatus();  // the next Sync commits what was kept (Adopt)
}

// Where the data that `at` is in ends (SEEK_HOLE): the mapping is read only
// below it. The file's size if the file system cannot say.
uint64_t LogStore::DataEnd(const MappedFile& f, uint64_t at) {
  const off_t hole = ::lseek(f.fd(), static_cast<off_t>(at), SEEK_HOLE);
  return hole < 0 ? f.size() : std::min<uint64_t>(f.size(), hole);
}

// The first record of `s` in [from, to) whose frame's check gives
// `passes`, or where reading stopped: `to`, the file's end, or a read that
// failed (then *error says why). Frames are read with pread a buffer at a
// time, not through the mapping: faulting in, and later unmapping, every
// page of the segments a reopen checks cost more than the checks (perf: a
// third of a reopen on tmpfs), and a read fault on a hole of a full tmpfs
// is SIGBUS (pread reads a hole as zeros, which fail).
//
// A long range is checked by two threads, a half each (a reopen checks
// every record no Sync committed, 144 MB for 2M records of 64 B: 40-50 ms
// on one core here, docs/PERFORMANCE.md); one thread if no second can be
// started.
uint64_t LogStore::FindFrame(const Segment& s, uint64_t from, uint64_t to,
                             bool passes, absl::Status* error) const {
  constexpr uint64_t kSplit = uint64_t{8} << 20;  // bytes of frames
  if (to > from && (to - from) * stride_ >= kSplit) {
    // One buffer on this thread first: a range whose answer comes early
    // (the end of a log that was synced, a remainder of zeros) is not read
    // at its middle as well, which would also leave zero pages cached
    // there, as data to every later SEEK_DATA (NoFramePasses).
    const uint64_t head =
        from + std::max<uint64_t>(1, kWriteBuffer / stride_);
    const uint64_t first = ScanFrames(s, from, head, passes, error);
    if (first < head || !error->ok()) return first;
    from = head;
  }
  if (to > from && (to - from) * stride_ >= kSplit) {
    const uint64_t mid = from + (to - from) / 2;
    absl::Status later_error;
    uint64_t later = mid;
    std::optional<std::thread> helper;
    try {
      helper.emplace([&] {
        try {
          later = ScanFrames(s, mid, to, passes, &later_error);
        } catch (const std::bad_alloc&) {
          later_error = absl::ResourceExhaustedError("out of memory");
        }
      });
    } catch (const std::exception&) {  // no thread: one does it all
    }
    if (helper) {
      struct Join {  // also when this thread's half throws (bad_alloc)
        std::thread& t;
        ~Join() {
          if (t.joinable()) t.join();
        }
      } join{*helper};
      const uint64_t first = ScanFrames(s, from, mid, passes, error);
      helper->join();
      if (first < mid || !error->ok()) return first;
      *error = later_error;
      return later;
    }
  }
  return ScanFrames(s, from, to, passes, error);
}

// FindFrame's work on one thread.
uint64_t LogStore::ScanFrames(const Segment& s, uint64_t from, uint64_t to,
                              bool passes, absl::Status* error) const {
  const uint64_t frames = data_offset_ + control_;
  const uint64_t chunk = std::max<uint64_t>(1, kWriteBuffer / stride_);
  std::unique_ptr<std::byte[]> buffer(
      new (std::nothrow) std::byte[chunk * stride_]);
  *error = buffer != nullptr
               ? absl::OkStatus()
               : absl::ResourceExhaustedError(absl::StrCat(
                     "out of memory to read the frames of \"", s.path, "\""));
  uint64_t i = from;
  while (error->ok() && i < to) {
    const absl::StatusOr<size_t> got =
        os::Pread(s.file->fd(), s.path, buffer.get(),
                  std::min(chunk, to - i) * stride_, frames + i * stride_);
    if (!got.ok()) *error = got.status();
    const uint64_t n = got.ok() ? *got / stride_ : 0;
    if (n == 0) break;  // (fewer only at the file's end)
    for (uint64_t k = 0; k < n; ++k, ++i) {
      if (Valid(buffer.get() + k * stride_, s.first + i) == passes) return i;
    }
  }
  return i;
}

// Whether no frame of `s` from record `from` on passes its checksum. Only
// the file's data ranges (SEEK_DATA) are read: a hole reads as zeros,
// which never pass. False if it cannot tell.
bool LogStore::NoFramePasses(const Segment& s, uint64_t from) const {
  const MappedFile& f = *s.file;
  const uint64_t frames = data_offset_ + control_;
  for (uint64_t i = from; i < s.capacity;) {
    const off_t data =
        ::lseek(f.fd(), static_cast<off_t>(frames + i * stride_), SEEK_DATA);
    if (data < 0) return errno == ENXIO;  // no data after frame i
    const uint64_t hole = DataEnd(f, static_cast<uint64_t>(data));
    // The frames that overlap [data, hole), read whole.
    i = std::max(i, (static_cast<uint64_t>(data) - frames) / stride_);
    const uint64_t last =
        std::min(s.capacity, (hole - frames + stride_ - 1) / stride_);
    absl::Status read;
    if (FindFrame(s, i, last, /*passes=*/true, &read) < last || !read.ok()) {
      return false;  // one passes, or the data could not be read
    }
    i = last;
  }
  return true;
}

// Commit flushes its frames and its slot together, so a power loss during
// it can leave the newest slot on disk without all the frames it counts.
// That Sync never returned; the one before it (the other slot, made durable
// by the previous Sync) is the last that did. So the newest slot stands only
// if every frame it added verifies; else the commit before it, under the
// sequence number just below, so the next commit overwrites the torn slot.
// (Damage to a frame of the newest commit thus reads as a torn commit: its
// records are cut and reported, as a torn tail is, never returned.)
CommitSlot LogStore::LastWholeCommit(const Segment& s, const FileHeader& h,
                                     const CommitSlot& c) const {
  const uint64_t from = NewestCommitFrom(h, c);
  for (uint64_t i = from; i < c.count; ++i) {
    if (!Valid(s.data + control_ + i * stride_, s.first + i)) {
      return {c.sequence - 1, from, from * stride_};
    }
  }
  return c;
}

// LastWholeCommit for blob frames, which also indexes `s` (s.index, empty
// on entry) up to the commit it returns. The frames of the commit before
// the newest were durable before the newest slot was written: one that
// does not parse is damage to committed records, DataLoss. A frame of the
// newest commit that does not parse or verify means that commit was torn.
absl::StatusOr<CommitSlot> LogStore::LastWholeBlobCommit(
    Segment& s, const FileHeader& h, const CommitSlot& c) const {
  const uint64_t from = NewestCommitFrom(h, c);
  const std::byte* frames = s.data + control_;
  BlobIndex& index = *s.index;
  const FrameCheck check =
      index.Extend(frames, c.length, s.first, from, /*verify=*/false);
  if (check != FrameCheck::kValid) {
    return absl::DataLossError(absl::StrCat(
        "blob log segment \"", s.path, "\": committed record ",
        s.first + index.count(), " at offset ", index.bytes(), " ",
        FrameCheckName(check)));
  }
  if (index.Extend(frames, c.length, s.first, c.count, true) !=
          FrameCheck::kValid ||
      index.bytes() != c.length) {
    index.Truncate(from);
    return CommitSlot{c.sequence - 1, from, index.bytes()};
  }
  return c;
}

// Whether the temporary for records from `first` holds a segment of this
// log being appended to: its header decodes and names `first`, and it is
// not sealed or compressed. Not: a new segment whose header was never
// written whole, a reused file renamed before its header was rewritten, a
// rewrite's temporary, a file gone. Another record type is an error, as
// is a read that fails: neither is ever a reason to drop a file.
absl::StatusOr<bool> LogStore::TempIsSegment(uint64_t first) const {
  const std::string path =
      absl::StrCat(dir_, "/", SegmentFileName(first), kTempSuffix);
  absl::StatusOr<os::Fd> fd = os::Open(path, O_RDONLY);
  if (absl::IsNotFound(fd.status())) return false;
  MAPFILE_RETURN_IF_ERROR(fd.status());
  std::vector<std::byte> page(kHeaderSize);
  MAPFILE_ASSIGN_OR_RETURN(
      size_t n, os::Pread(fd->get(), path, page.data(), page.size(), 0));
  absl::StatusOr<FileHeader> h =
      DecodeHeader(absl::MakeConstSpan(page.data(), n), path);
  if (!h.ok()) return false;
  MAPFILE_RETURN_IF_ERROR(CheckCompatible(*h, kind_, type_, path));
  return h->first_sequence == first &&
         (h->segment_flags & (kSegmentSealed | kSegmentCompressed)) == 0;
}

// A log with no named segment but temporaries: TruncateBefore retired the
// last named segment and the writer died before it named the next, a
// temporary whose header it synced first. The first temporary that is a
// segment being appended to (not a new log's first segment whose header
// was never written, nor a rewrite of a retired one) starts the log: it is
// named (a dry run recovers it under its temporary name) and recovered as
// the last named segment is, its chain adopted. None: a new log.
absl::Status LogStore::StartAtFirstTemp() {
  std::sort(temps_.begin(), temps_.end());
  for (uint64_t first : temps_) {
    auto head = std::make_shared<Segment>(
        first, absl::StrCat(dir_, "/", SegmentFileName(first)));
    head->temp = absl::StrCat(head->path, kTempSuffix);
    absl::StatusOr<bool> segment = TempIsSegment(first);
    if (!segment.ok()) return os::Annotate(segment.status(), Context("Open"));
    if (!*segment) continue;
    absl::StatusOr<FileHeader> h = Map(*head, !dry_run_);
    if (!h.ok()) return os::Annotate(h.status(), Context("Open"));
    if (head->compressed || head->sealed) continue;  // its control block
    temps_.erase(std::find(temps_.begin(), temps_.end(), first));
    if (dry_run_) {
      head->live = true;
      segments_.push_back(head);
      return Recover(*head, *h);
    }
    absl::Status named = head->file->Sync(0, data_offset_ + control_);
    head->file.reset();
    if (named.ok()) named = Name(*head);
    MAPFILE_RETURN_IF_ERROR(os::Annotate(
        named, absl::StrCat(Context("Open"), ": naming segment \"",
                            head->path, "\"")));
    temps_.clear();  // listed again, with the retired files
    jobs_->free.clear();
    return Rescan();
  }
  return absl::OkStatus();
}

// Recovery, after the last named segment's (Rescan -> Recover): while it is
// full, adopts the temporary segment that continues it (a chain of rolls
// no Sync finished; the protocol above), recovered the same way; removes
// every other temporary. The records kept past the last commit stay as the
// writer that appended them left them: not durable, not published, the
// temporaries unnamed, until this writer's next Sync commits them with its
// own (the commit would be an fdatasync of every byte the dead writer did
// not sync: 40-50 ms for 2M records on ext4 here, docs/PERFORMANCE.md).
// Only a torn slot is committed at once, so that no later Open decides
// again between it and the frames written over it.
absl::Status LogStore::Adopt() {
  while (true) {
    Segment& last = *segments_.back();
    // Full: its frames reach the size its header recorded (capacity, from
    // Map), whatever the file's length (a reused file may be longer).
    // (A blob segment is full when the next frame did not fit: any
    // length can be.)
    if (last.compressed || last.sealed ||
        (!blob_ && last.count < last.capacity)) {
      break;
    }
    const uint64_t first = last.first + last.count;
    auto it = std::find(temps_.begin(), temps_.end(), first);
    if (it == temps_.end()) break;
    temps_.erase(it);
    auto s = std::make_shared<Segment>(
        first, absl::StrCat(dir_, "/", SegmentFileName(first)));
    s->temp = absl::StrCat(s->path, kTempSuffix);
    // A read that fails is the Open's error, never a reason to drop it.
    absl::StatusOr<bool> segment = TempIsSegment(first);
    if (!segment.ok()) return os::Annotate(segment.status(), Context("Open"));
    bool keep = *segment;
    if (keep) {
      absl::StatusOr<FileHeader> h = Map(*s, !dry_run_);
      if (!h.ok()) return os::Annotate(h.status(), Context("Open"));
      // (Sealed in its control block: a reused file whose new header
      // reached the disk before its control block did.)
      keep = !s->compressed && !s->sealed;
      if (keep) {
        MAPFILE_RETURN_IF_ERROR(os::Annotate(Recover(*s, *h), Context("Open")));
      }
    }
    if (!keep || s->count == 0) {
      // Nothing of it can be kept (a header or commit never written whole,
      // or no valid frame): it holds no record a Sync covered.
      s->file.reset();
      if (!dry_run_) MAPFILE_RETURN_IF_ERROR(RemoveTemp(first));
      break;
    }
    last.live = false;
    last.sealed = true;
    s->live = true;
    segments_.push_back(std::move(s));
  }
  if (dry_run_) return absl::OkStatus();  // PlanRecovery: say, don't write
  for (uint64_t first : temps_) MAPFILE_RETURN_IF_ERROR(RemoveTemp(first));
  temps_.clear();
  if (torn_) return Sync();
  unsynced_records_ = recovery_.records_kept;
  Segment& last = *segments_.back();
  if (last.compressed || last.sealed || pending_ + 1 < segments_.size() ||
      last.count != last.synced) {
    return absl::OkStatus();  // Recover's, or nothing new is durable
  }
  return Publish(last, false);
}

// Removes the temporary segment file for records from `first` (gone
// already is fine: another file system view, or a second Open's race).
absl::Status LogStore::RemoveTemp(uint64_t first) {
  absl::Status status =
      UnlinkLogFile(absl::StrCat(dir_, "/", SegmentFileName(first), kTempSuffix));
  if (status.code() == absl::StatusCode::kNotFound) return absl::OkStatus();
  return os::Annotate(status, Context("Open"));
}

// The length the active segment with header `h` has: what it recorded when
// it was created (options given to a later Open apply to new segments
// only), or, in a file that recorded none or an impossible one, the
// options'.
uint64_t LogStore::SegmentSize(const FileHeader& h) const {
  const uint64_t page = os::PageSize();
  const uint64_t smallest = os::RoundUp(data_offset_ + control_ + stride_, page);
  if (h.segment_size < smallest || h.segment_size > kMaxSegmentSize) {
    return size_;
  }
  return os::RoundUp(h.segment_size, page);
}

}  // namespace internal
}  // namespace mapfile
