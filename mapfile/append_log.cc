// Copyright 2026 The mapfile Authors.
//
// The untyped half of AppendLog<T> and LogReader<T>: segments, the commit
// protocol, recovery, retention, compression and waiting.
// mapfile/internal/log_format.h and docs/FORMAT.md ("Log segments") give
// the layout; the protocol in brief:
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

#include "mapfile/append_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "mapfile/internal/checksum.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"
#include "mapfile/internal/pretouch.h"
#include "mapfile/scratch.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

uint64_t RecordChecksum(const void* payload, size_t size, uint64_t seq) {
  return XXH3_64bits_withSeed(payload, size, seq);
}

namespace {

using os::Annotate;

uint64_t* Word64(std::byte* data, size_t at) {
  return reinterpret_cast<uint64_t*>(data + at);
}
uint32_t* Word32(std::byte* data, size_t at) {
  return reinterpret_cast<uint32_t*>(data + at);
}

// DataLoss unless `count` records of `stride` bytes after a `control`-byte
// block fit in kMaxSegmentSize, as every genuine segment's do. Checked
// before any size is computed from a count read from a file or implied by
// segment names: such a product could overflow.
absl::Status CheckCount(absl::string_view path, uint64_t count,
                        uint64_t control, uint64_t stride) {
  const uint64_t most = (kMaxSegmentSize - control) / stride;
  if (count <= most) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("log segment \"", path, "\" claims ", count,
                   " records; a segment holds at most ", most));
}

}  // namespace

absl::Status CheckCompressedCommit(absl::string_view path,
                                   const LogLayout& layout,
                                   const FileHeader& h, const CommitSlot& c) {
  MAPFILE_RETURN_IF_ERROR(
      CheckCount(path, c.count, layout.control_size, layout.stride));
  const uint64_t length = layout.control_size + c.count * layout.stride;
  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat("compressed log segment \"", path, "\": ", what));
  };
  if (h.uncompressed_length != length) {
    return corrupt(absl::StrCat("holds ", h.uncompressed_length,
                                " bytes uncompressed; ", c.count,
                                " records need ", length));
  }
  if (c.length < c.count * 4) {
    return corrupt(absl::StrCat(c.length, " compressed bytes cannot hold ",
                                c.count, " records (at least 4 bytes each)"));
  }
  return absl::OkStatus();
}

struct LogStore::Segment {
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
  uint64_t capacity = 0;                // frames that fit
  uint64_t limit = 0;  // writer: Append calls Ahead() at this count

  std::shared_ptr<const void> pin() const {
    if (block) return block;
    return file;
  }
};

LogStore::~LogStore() {
  pretouch_.reset();  // waits for a task using this object
  if (prepared_ && prepared_->ok()) {
    os::Unlink((**prepared_)->file->path()).IgnoreError();
  }
}

void LogStore::Pretouch() {
  if (pretouch_) pretouch_->Run();
}

std::string LogStore::Context(absl::string_view call) const {
  return absl::StrCat(writer_ ? "AppendLog::" : "LogReader::", call, "(\"",
                      dir_, "\")");
}

absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Open(
    const std::string& dir, const LogOptions& options,
    const TypeFingerprint& type, bool writer) {
  MAPFILE_ASSIGN_OR_RETURN(std::unique_ptr<LogStore> s,
                           Make(dir, options, type, writer));
  if (writer) {
    MAPFILE_RETURN_IF_ERROR(s->OpenWriter());
    if (options.pretouch > 0) {
      s->pretouch_ = std::make_unique<Pretoucher>(
          os::RoundUp(options.pretouch, os::PageSize()),
          options.pretouch_in_background);
    }
  } else {
    MAPFILE_RETURN_IF_ERROR(s->Rescan());
  }
  return s;
}

// Runs a writer's recovery of the last segment (Rescan -> Map -> Recover)
// with dry_run_ set: each step that would write stops short of it.
absl::StatusOr<LogStore::RecoveryPlan> LogStore::PlanRecovery(
    const std::string& dir, const TypeFingerprint& type) {
  MAPFILE_ASSIGN_OR_RETURN(std::unique_ptr<LogStore> s,
                           Make(dir, LogOptions(), type, /*writer=*/true));
  s->dry_run_ = true;
  MAPFILE_RETURN_IF_ERROR(s->Rescan());
  if (s->segments_.empty()) {
    return absl::NotFoundError(absl::StrCat(
        s->Context("Open"), ": no log segments (*", kSegmentSuffix, ")"));
  }
  const Segment& last = *s->segments_.back();
  return RecoveryPlan{s->recovery_, last.path, last.count,
                      s->data_offset_ + s->control_ +
                          (last.count + s->recovery_.records_kept) * s->stride_};
}

// A store with the layout of `type`, before any file is touched.
absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Make(
    const std::string& dir, const LogOptions& options,
    const TypeFingerprint& type, bool writer) {
  std::unique_ptr<LogStore> s(new LogStore());
  s->dir_ = dir;
  s->options_ = options;
  s->type_ = type;
  s->writer_ = writer;
  const LogLayout layout(type);
  s->stride_ = layout.stride;
  s->payload_ = layout.payload;
  s->checksum_at_ = layout.checksum_at;
  s->control_ = layout.control_size;
  s->data_offset_ = layout.data_offset();
  absl::StatusOr<FileHeader> header =
      NewHeader(ContainerKind::kLogSegment, type, layout.alignment);
  MAPFILE_RETURN_IF_ERROR(
      Annotate(header.status(), absl::StrCat(s->Context("Open"),
                                           ": header of segments \"", dir,
                                           "/*", kSegmentSuffix, "\"")));
  s->header_ = *std::move(header);
  if (options.segment_size > kMaxSegmentSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(s->Context("Open"), ": segment_size ",
                     options.segment_size, " is above ", kMaxSegmentSize));
  }
  const uint64_t page = os::PageSize();
  s->size_ = std::max(os::RoundUp(options.segment_size, page),
                      os::RoundUp(layout.records_offset() + s->stride_, page));
  return s;
}

absl::Status LogStore::OpenWriter() {
  const OpenMode mode = options_.mode;
  if (mode == OpenMode::kReadOnly) {
    return absl::InvalidArgumentError(absl::StrCat(
        Context("Open"), ": kReadOnly; open a LogReader<T> to read a log"));
  }
  if (mode != OpenMode::kReadWrite) {
    absl::Status made = os::Mkdir(dir_);
    if (!made.ok() && (mode == OpenMode::kCreateNew ||
                       made.code() != absl::StatusCode::kAlreadyExists)) {
      return Annotate(made, Context("Open"));
    }
  }
  MappedFile::Options lock;
  lock.mode = OpenMode::kCreate;
  lock.reserve = 0;
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(absl::StrCat(dir_, "/", kLogLockName), lock);
  if (file.status().code() == absl::StatusCode::kUnavailable) {
    return absl::UnavailableError(absl::StrCat(
        Context("Open"), ": another AppendLog has this log open for writing "
                         "(flock on ", kLogLockName, " is held)"));
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
absl::Status LogStore::Rescan() {
  MAPFILE_ASSIGN_OR_RETURN(std::vector<std::string> names, os::ReadDir(dir_));
  std::vector<uint64_t> firsts;
  for (const std::string& name : names) {
    absl::string_view base = name;
    if (writer_ && !dry_run_ && absl::ConsumeSuffix(&base, kTempSuffix) &&
        ParseSegmentFileName(base)) {
      // A segment being created or compressed when a writer died (and no
      // other *.tmp file: those are not the log's to delete).
      MAPFILE_RETURN_IF_ERROR(os::Unlink(absl::StrCat(dir_, "/", name)));
    } else if (std::optional<uint64_t> first = ParseSegmentFileName(name)) {
      firsts.push_back(*first);
    }
  }
  if (firsts.empty()) {
    if (writer_) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat(
        Context("Open"), ": no log segments (*", kSegmentSuffix, ") yet"));
  }
  std::sort(firsts.begin(), firsts.end());
  std::vector<std::shared_ptr<Segment>> merged;
  size_t j = 0;
  for (uint64_t first : firsts) {
    while (j < segments_.size() && segments_[j]->first < first) ++j;
    if (j < segments_.size() && segments_[j]->first == first) {
      merged.push_back(segments_[j]);
    } else {
      merged.push_back(std::make_shared<Segment>(
          first, absl::StrCat(dir_, "/", SegmentFileName(first))));
    }
  }
  for (size_t i = 0; i + 1 < merged.size(); ++i) {
    Segment& s = *merged[i];
    s.count = merged[i + 1]->first - s.first;  // what the names imply
    MAPFILE_RETURN_IF_ERROR(CheckCount(s.path, s.count, control_, stride_));
    s.live = false;
    s.sealed = true;
  }
  segments_ = std::move(merged);
  Segment& last = *segments_.back();
  if (last.live && last.data != nullptr) {  // known, mapped or decompressed
    if (!writer_) UpdateLive(last);
    return absl::OkStatus();
  }
  last.live = true;
  if (!writer_) return Load(segments_.back()).status();
  MAPFILE_ASSIGN_OR_RETURN(FileHeader header, Map(last, !dry_run_));
  return Recover(last, header);
}

// Maps `s` and checks its header against this log. Leaves s.data null for a
// compressed segment (Load decompresses it).
absl::StatusOr<FileHeader> LogStore::Map(Segment& s, bool writable) {
  MappedFile::Options o;
  o.mode = writable ? OpenMode::kReadWrite : OpenMode::kReadOnly;
  o.lock = false;
  // A reader's live segment may be cut and re-extended by a recovering
  // writer: room to follow it without moving the mapping.
  o.reserve = writable ? size_ : writer_ ? 0 : uint64_t{1} << 30;
  MAPFILE_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(s.path, o));
  MAPFILE_ASSIGN_OR_RETURN(
      FileHeader h,
      DecodeHeader(absl::MakeConstSpan(file.data(), file.size()), s.path));
  MAPFILE_RETURN_IF_ERROR(
      CheckCompatible(h, ContainerKind::kLogSegment, type_, s.path));
  if (h.first_sequence != s.first ||
      h.record_alignment != header_.record_alignment ||
      h.data_offset != data_offset_) {
    return absl::DataLossError(absl::StrCat(
        "log segment \"", s.path, "\": header says first record ",
        h.first_sequence, ", alignment ", h.record_alignment, ", data at ",
        h.data_offset, "; its name and type say ", s.first, ", ",
        header_.record_alignment, ", ", data_offset_));
  }
  s.compressed = (h.segment_flags & kSegmentCompressed) != 0;
  s.file = std::make_shared<MappedFile>(std::move(file));
  if (!s.compressed) {
    s.data = s.file->data() + data_offset_;
    s.capacity = s.file->size() < data_offset_ + control_
                     ? 0
                     : (s.file->size() - data_offset_ - control_) / stride_;
    s.sealed |= (h.segment_flags & kSegmentSealed) != 0 ||
                (s.capacity > 0 &&
                 __atomic_load_n(Word32(s.data, kSealedAt), __ATOMIC_ACQUIRE));
  }
  return h;
}

absl::StatusOr<RecordRun> LogStore::Load(const std::shared_ptr<Segment>& sp) {
  Segment& s = *sp;
  if (s.data == nullptr) {
    absl::StatusOr<FileHeader> h = Map(s, false);
    if (h.status().code() == absl::StatusCode::kNotFound) {
      return absl::OutOfRangeError(absl::StrCat(
          Context("Read"), ": segment \"", s.path,
          "\" was removed (retention); first_seq() is the oldest record"));
    }
    MAPFILE_RETURN_IF_ERROR(h.status());
    MAPFILE_ASSIGN_OR_RETURN(CommitSlot c,
                             LatestCommit(*h, s.file->size(), s.path));
    if (s.live) s.count = c.count;
    if (c.count != s.count ||
        (!s.compressed && (c.count > s.capacity ||
                           c.length != c.count * stride_))) {
      return absl::DataLossError(absl::StrCat(
          "log segment \"", s.path, "\" commits ", c.count, " records in ",
          c.length, " bytes; the log expects ", s.count, " of ", stride_,
          " bytes (at most ", s.capacity, ")"));
    }
    if (s.compressed) {
      MAPFILE_RETURN_IF_ERROR(Inflate(s, *h, c));
      cache_.insert(cache_.begin(), sp);
    } else if (s.live) {
      // As the writer's recovery will decide: a commit torn by a power loss
      // (no writer has reopened the log since) counts for nothing.
      if (!s.sealed) s.count = LastWholeCommit(s, *h, c).count;
      UpdateLive(s);
    }
  } else if (s.compressed) {
    auto it = std::find(cache_.begin(), cache_.end(), sp);
    if (it != cache_.end()) std::rotate(cache_.begin(), it, it + 1);
  }
  RecordRun run{s.data + control_, s.first, s.first + s.count, s.pin()};
  // Evict the least recently used decompressed segments (not this one).
  uint64_t used = 0;
  for (size_t i = 0; i < cache_.size(); ++i) {
    used += cache_[i]->block->size();
    if (i > 0 && used > options_.cache_bytes) {
      for (size_t k = i; k < cache_.size(); ++k) {
        cache_[k]->block.reset();
        cache_[k]->data = nullptr;
      }
      cache_.resize(i);
      break;
    }
  }
  return run;
}

// Decompresses `s` into scratch memory, every record's checksum verified.
absl::Status LogStore::Inflate(Segment& s, const FileHeader& h,
                               const CommitSlot& c) {
  // No allocation sized by a bomb: the image is bounded by the compressed
  // bytes (CheckCompressedCommit; c.count == s.count, Load checked), and
  // its zstd frame must declare that size.
  MAPFILE_RETURN_IF_ERROR(
      CheckCompressedCommit(s.path, LogLayout(type_), h, c));
  const uint64_t length = h.uncompressed_length;
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("compressed log segment \"", s.path,
                                            "\": ", what));
  };
  const std::byte* frame = s.file->data() + data_offset_;
  if (ZSTD_getFrameContentSize(frame, c.length) != length) {
    return corrupt(absl::StrCat("its zstd frame does not declare ", length,
                                " bytes of content"));
  }
  MAPFILE_ASSIGN_OR_RETURN(Layout layout,
                           Layout::Create(length, header_.record_alignment));
  MAPFILE_ASSIGN_OR_RETURN(ScratchBlock block, Allocate(layout));
  const size_t n = ZSTD_decompress(block.data(), length, frame, c.length);
  if (ZSTD_isError(n)) return corrupt(ZSTD_getErrorName(n));
  if (n != length) {
    return corrupt(absl::StrCat("decompresses to ", n, " bytes, not ", length));
  }
  std::byte* data = static_cast<std::byte*>(block.data());
  for (uint64_t i = 0; i < s.count; ++i) {
    if (!Valid(data + control_ + i * stride_, s.first + i)) {
      return corrupt(absl::StrCat("record ", s.first + i,
                                  " fails its checksum after decompression"));
    }
  }
  s.block = std::make_shared<ScratchBlock>(std::move(block));
  s.data = data;
  s.file.reset();
  return absl::OkStatus();
}

void LogStore::UpdateLive(Segment& s) {
  if (s.data == nullptr || s.compressed) return;
  const uint64_t published =
      __atomic_load_n(Word64(s.data, kPublishedAt), __ATOMIC_ACQUIRE);
  if (published > s.capacity && s.file->Refresh().ok()) {
    // A recovering writer cut and re-extended the file.
    s.data = s.file->data() + data_offset_;
    s.capacity = (s.file->size() - data_offset_ - control_) / stride_;
  }
  s.count = std::max(s.count, std::min(published, s.capacity));
}

absl::Status LogStore::Refresh(bool rescan) {
  Segment& last = *segments_.back();
  if (!rescan && last.data != nullptr && !last.compressed &&
      !__atomic_load_n(Word32(last.data, kSealedAt), __ATOMIC_ACQUIRE)) {
    UpdateLive(last);
    return absl::OkStatus();
  }
  return Rescan();
}

absl::Status LogStore::Recover(Segment& s, const FileHeader& h) {
  MappedFile& f = *s.file;
  MAPFILE_ASSIGN_OR_RETURN(CommitSlot c, LatestCommit(h, f.size(), s.path));
  if (!s.compressed && (c.count > s.capacity || c.length != c.count * stride_)) {
    return absl::DataLossError(absl::StrCat(
        "log segment \"", s.path, "\": commit ", c.sequence, " says ",
        c.count, " records in ", c.length, " bytes (frames of ", stride_,
        " bytes, room for ", s.capacity, ")"));
  }
  if (!s.compressed && !s.sealed) c = LastWholeCommit(s, h, c);
  s.count = c.count;
  slot_sequence_ = c.sequence;
  synced_ = c.count;
  if (s.compressed) return CheckCount(s.path, s.count, control_, stride_);
  if (s.sealed) return dry_run_ ? absl::OkStatus() : Publish(s, true);
  uint64_t kept = c.count;
  while (kept < s.capacity && Valid(s.data + control_ + kept * stride_,
                                    s.first + kept)) {
    ++kept;
  }
  // What lies after the kept frames: non-zero bytes up to the first zero
  // page (a dying process leaves no holes; the cut below clears any).
  const uint64_t cut = data_offset_ + control_ + kept * stride_;
  const uint64_t page = os::PageSize();
  uint64_t end = cut;
  for (uint64_t at = cut; at < f.size();) {
    const uint64_t next = std::min(f.size(), (at / page + 1) * page);
    uint64_t i = next;
    while (i > at && f.data()[i - 1] == std::byte{0}) --i;
    if (i == at) break;
    end = i;
    at = next;
  }
  recovery_.records_kept = kept - c.count;
  if (end > cut) {
    recovery_.bytes_cut = end - cut;
    recovery_.records_cut = (end - cut + stride_ - 1) / stride_;
    recovery_.segment = s.path;
  }
  if (dry_run_) return absl::OkStatus();  // PlanRecovery: say, don't cut
  // Cut everything after the kept frames (stale or torn bytes, anywhere)
  // and extend the file again: the free frames are zeros, as in a new
  // segment.
  const uint64_t size = std::max(f.size(), size_);
  MAPFILE_RETURN_IF_ERROR(f.Truncate(cut));
  MAPFILE_CRASH_POINT("log.recover.cut", &s.path);
  MAPFILE_RETURN_IF_ERROR(f.Truncate(size));
  // The cut must be durable before a record is appended over it: else a
  // power loss can bring back the old tail behind the new records, whole
  // frames of a dead run that pass their checksums (power_loss_test).
  MAPFILE_RETURN_IF_ERROR(f.Sync(0, 0));  // fdatasync: the size changed
  s.data = f.data() + data_offset_;
  s.capacity = (size - data_offset_ - control_) / stride_;
  s.count = kept;
  return kept > c.count ? Sync() : Publish(s, false);
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

// A segment for records from `first` under its temporary name, header
// synced, mapped. Uses only what Open set: safe on the pretouch thread.
absl::StatusOr<std::shared_ptr<LogStore::Segment>> LogStore::Prepare(
    uint64_t first) const {
  const std::string path = absl::StrCat(dir_, "/", SegmentFileName(first));
  const std::string temp = absl::StrCat(path, kTempSuffix);
  MappedFile::Options o;
  o.mode = OpenMode::kCreateNew;
  o.initial_size = size_;
  o.reserve = size_;
  o.lock = false;
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
    return Annotate(status, absl::StrCat(Context("Append"),
                                       ": creating segment \"", path, "\""));
  }
  auto s = std::make_shared<Segment>(first, path);
  s->live = true;
  s->file = std::make_shared<MappedFile>(*std::move(file));
  s->data = s->file->data() + data_offset_;
  s->capacity = (size_ - data_offset_ - control_) / stride_;
  return s;
}

// Gives a prepared segment its name: from here on it is the log's last.
absl::Status LogStore::Name(const Segment& s) {
  absl::Status status = os::Rename(s.file->path(), s.path);
  if (!status.ok()) {
    return Annotate(status, absl::StrCat(Context("Append"),
                                       ": creating segment \"", s.path, "\""));
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
std::shared_ptr<LogStore::Segment> LogStore::TakePrepared(uint64_t first) {
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

absl::StatusOr<uint64_t> LogStore::Append(const void* records, size_t n) {
  const uint64_t first = next_seq();
  const auto* from = static_cast<const std::byte*>(records);
  for (size_t left = n; left > 0;) {
    Segment* a = segments_.back().get();
    if (a->count >= a->limit) {
      MAPFILE_RETURN_IF_ERROR(Ahead());
      a = segments_.back().get();
    }
    const uint64_t m = std::min<uint64_t>(left, a->limit - a->count);
    std::byte* to = a->data + control_ + a->count * stride_;
    for (uint64_t i = 0; i < m; ++i, to += stride_, from += payload_) {
      std::memcpy(to, from, payload_);
      const uint64_t sum = RecordChecksum(from, payload_, a->first + a->count + i);
      std::memcpy(to + checksum_at_, &sum, sizeof(sum));
    }
    a->count += m;
    left -= m;
  }
  unsynced_records_ += n;
  if ((options_.sync_every_records > 0 &&
       unsynced_records_ >= options_.sync_every_records) ||
      (options_.sync_every_bytes > 0 &&
       unsynced_records_ * payload_ >= options_.sync_every_bytes)) {
    MAPFILE_RETURN_IF_ERROR(Sync());
  }
  return first;
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
  EncodeSlot({slot_sequence_ + 1, a.count, a.count * stride_},
             absl::MakeSpan(a.file->data(), kHeaderSize));
  MAPFILE_CRASH_POINT("log.sync.slot_written", &a.path);
  // From the header page through the last new frame: msync writes only the
  // dirty pages of the range, which are the slot's and the new frames'.
  MAPFILE_RETURN_IF_ERROR(
      a.file->Sync(0, data_offset_ + control_ + a.count * stride_));
  ++slot_sequence_;
  synced_ = a.count;
  unsynced_records_ = 0;
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
      old.file->Truncate(data_offset_ + control_ + old.count * stride_));
  old.capacity = old.count;
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
    MAPFILE_CRASH_POINT("log.truncate.unlinked", &segments_.front()->path);
    cache_.erase(std::remove(cache_.begin(), cache_.end(), segments_.front()),
                 cache_.end());
    segments_.erase(segments_.begin());
  }
  return absl::OkStatus();
}

absl::Status LogStore::Compress(uint64_t seq) { return Rewrite(seq, true); }
absl::Status LogStore::Decompress(uint64_t seq) { return Rewrite(seq, false); }

// Rewrites the sealed segment holding `seq` compressed or uncompressed,
// every record checked first: temporary file, fdatasync, rename over the
// original, directory fsync (os::Rename). A crash leaves the old segment or
// the new one, never a partial file (Open removes the temporary).
absl::Status LogStore::Rewrite(uint64_t seq, bool compress) {
  const std::string context = Context(
      absl::StrCat(compress ? "Compress(" : "Decompress(", seq, ")"));
  // Loading decompresses (and checks) a compressed segment into `run.pin`.
  MAPFILE_ASSIGN_OR_RETURN(RecordRun run, Run(seq));
  const std::shared_ptr<Segment> sp = Find(seq);
  Segment& s = *sp;
  if (s.live) {
    return absl::FailedPreconditionError(absl::StrCat(
        context, ": the record is in the active segment; Seal() first"));
  }
  if (s.compressed == compress) return absl::OkStatus();
  for (uint64_t i = s.first; i < run.end; ++i) {
    if (!Valid(run.base + (i - s.first) * stride_, i)) {
      return absl::DataLossError(absl::StrCat(
          context, ": record ", i, " in \"", s.path, "\" fails its checksum"));
    }
  }
  const uint64_t length = control_ + s.count * stride_;
  absl::Span<const std::byte> body(s.data, length);  // after the header page
  FileHeader h = header_;
  h.first_sequence = s.first;
  h.segment_flags = kSegmentSealed;
  ScratchBlock out;
  if (compress) {
    MAPFILE_ASSIGN_OR_RETURN(Layout layout,
                             Layout::Create(ZSTD_compressBound(length), 8));
    MAPFILE_ASSIGN_OR_RETURN(out, Allocate(layout));
    std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(),
                                                           ZSTD_freeCCtx);
    if (cctx == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat(context, ": zstd: cannot allocate a context"));
    }
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel,
                           options_.compression_level);
    ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
    const size_t n =
        ZSTD_compress2(cctx.get(), out.data(), out.size(), s.data, length);
    if (ZSTD_isError(n)) {
      return absl::InternalError(
          absl::StrCat(context, ": zstd: ", ZSTD_getErrorName(n)));
    }
    body = {static_cast<const std::byte*>(out.data()), n};
    h.segment_flags |= kSegmentCompressed;
    h.uncompressed_length = length;
  }
  std::vector<std::byte> page(data_offset_);  // the header, zero-padded
  EncodeHeader(h, absl::MakeSpan(page.data(), kHeaderSize));
  EncodeSlot({1, s.count, compress ? body.size() : s.count * stride_},
             absl::MakeSpan(page.data(), kHeaderSize));
  const std::string temp = absl::StrCat(s.path, kTempSuffix);
  absl::Status status = [&]() -> absl::Status {
    MAPFILE_ASSIGN_OR_RETURN(
        os::Fd fd, os::Open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0644));
    MAPFILE_RETURN_IF_ERROR(
        os::Pwrite(fd.get(), temp, page.data(), page.size(), 0));
    MAPFILE_RETURN_IF_ERROR(os::Pwrite(fd.get(), temp, body.data(),
                                       body.size(), data_offset_));
    MAPFILE_RETURN_IF_ERROR(os::Fdatasync(fd.get(), temp));
    MAPFILE_CRASH_POINT("file.datasynced", &temp, 0,
                        data_offset_ + body.size());
    MAPFILE_RETURN_IF_ERROR(fd.Close());
    MAPFILE_CRASH_POINT("log.compress.written", &s.path);
    MAPFILE_RETURN_IF_ERROR(os::Rename(temp, s.path));
    MAPFILE_CRASH_POINT("log.renamed", &s.path);
    return absl::OkStatus();
  }();
  // Success or not (a failed directory fsync follows a done rename), the
  // next read loads whatever file the name holds; cursors keep their copy.
  cache_.erase(std::remove(cache_.begin(), cache_.end(), sp), cache_.end());
  s.file.reset();
  s.block.reset();
  s.data = nullptr;
  if (status.ok()) return status;
  os::Unlink(temp).IgnoreError();  // best effort; Open removes it too
  return Annotate(status, context);
}

uint64_t LogStore::first_seq() {
  if (!writer_) Refresh(true).IgnoreError();  // next_seq()/Read report errors
  return segments_.front()->first;
}

uint64_t LogStore::next_seq() {
  if (!writer_) Refresh(false).IgnoreError();
  const Segment& last = *segments_.back();
  return last.first + last.count;
}

const std::shared_ptr<LogStore::Segment>& LogStore::Find(uint64_t seq) {
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), seq,
      [](uint64_t s, const std::shared_ptr<Segment>& p) { return s < p->first; });
  return *(it - 1);
}

absl::StatusOr<RecordRun> LogStore::Run(uint64_t seq) {
  const uint64_t next = next_seq();
  if (seq >= next || seq < segments_.front()->first) {
    return absl::OutOfRangeError(absl::StrCat(
        Context(absl::StrCat("Read(", seq, ")")), ": outside the log's [",
        segments_.front()->first, ", ", next, ")"));
  }
  MAPFILE_ASSIGN_OR_RETURN(RecordRun run, Load(Find(seq)));
  run.end = std::min(run.end, next);
  return run;
}

bool LogStore::Valid(const std::byte* frame, uint64_t seq) const {
  return FrameValid(frame, payload_, checksum_at_, seq);
}

absl::Status LogStore::Read(uint64_t seq, void* out) {
  MAPFILE_ASSIGN_OR_RETURN(RecordRun run, Run(seq));
  const std::byte* frame = run.base + (seq - run.first) * stride_;
  if (!Valid(frame, seq)) {
    return absl::DataLossError(
        absl::StrCat(Context(absl::StrCat("Read(", seq, ")")), ": record ",
                     seq, " in \"", Find(seq)->path, "\" fails its checksum"));
  }
  std::memcpy(out, frame, payload_);
  return absl::OkStatus();
}

absl::Status LogStore::WaitFor(uint64_t seq, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const std::shared_ptr<Segment> last = segments_.back();
    const uint32_t* word = last->data != nullptr && !last->compressed
                               ? Word32(last->data, kGenerationAt)
                               : nullptr;
    const uint32_t generation =
        word != nullptr ? __atomic_load_n(word, __ATOMIC_ACQUIRE) : 0;
    const uint64_t next = next_seq();
    if (next > seq) return absl::OkStatus();
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          Context(absl::StrCat("WaitFor(", seq, ")")),
          ": not committed within ", absl::FormatDuration(timeout),
          " (next_seq() is ", next, ")"));
    }
    if (last != segments_.back()) continue;  // rolled over: look again
    // Slices of at most 100 ms: a writer that died between creating a
    // segment and marking the old one sealed wakes nobody.
    const absl::Time until = std::min(deadline, now + absl::Milliseconds(100));
    bool woken = false;
    if (word != nullptr) {
      const timespec ts = absl::ToTimespec(until);
      MAPFILE_ASSIGN_OR_RETURN(woken,
                               os::FutexWait(word, generation, &ts, last->path));
    } else {
      absl::SleepFor(until - now);
    }
    if (!woken) Refresh(true).IgnoreError();
  }
}

}  // namespace internal
}  // namespace mapfile
