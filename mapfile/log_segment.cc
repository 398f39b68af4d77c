// Copyright 2026 The mapfile Authors.
//
// log_segment.cc: a log's segment files and their mapping (Map, Load) and
// the decompressed-segment cache (Inflate, eviction in Load). Part of the
// log engine (mapfile/internal/log_store.h; docs/DESIGN.md).

#include <fcntl.h>
#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/internal/os.h"
#include "mapfile/scratch.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

// Maps `s` and checks its header against this log. Leaves s.data null for a
// compressed segment (Load decompresses it).
// A writer's segment file longer than any segment can be (a file extended
// sparse, a hostile file) is cut back to the size its header recorded
// before it is mapped: no address space, memory or disk is taken for what
// its length claims. Frames past the recorded size cannot be records.
absl::Status LogStore::CutBack(const std::string& path) const {
  MAPFILE_ASSIGN_OR_RETURN(struct stat st, os::Stat(path));
  if (static_cast<uint64_t>(st.st_size) <= kMaxSegmentSize) {
    return absl::OkStatus();
  }
  MAPFILE_ASSIGN_OR_RETURN(os::Fd fd, os::Open(path, O_RDWR));
  std::vector<std::byte> page(kHeaderSize);
  MAPFILE_ASSIGN_OR_RETURN(size_t n, os::Pread(fd.get(), path, page.data(),
                                               page.size(), 0));
  MAPFILE_ASSIGN_OR_RETURN(FileHeader h,
                           DecodeHeader(absl::MakeConstSpan(page.data(), n),
                                        path));
  MAPFILE_RETURN_IF_ERROR(
      CheckCompatible(h, ContainerKind::kLogSegment, type_, path));
  if ((h.segment_flags & (kSegmentSealed | kSegmentCompressed)) != 0) {
    return absl::DataLossError(absl::StrCat(
        "log segment \"", path, "\": sealed, yet ", st.st_size,
        " bytes long (at most ", kMaxSegmentSize, ")"));
  }
  return os::Annotate(os::Ftruncate(fd.get(), path, SegmentSize(h)),
                      Context("Open"));
}

absl::StatusOr<FileHeader> LogStore::Map(Segment& s, bool writable) {
  MappedFile::Options o;
  o.mode = writable ? OpenMode::kReadWrite : OpenMode::kReadOnly;
  o.lock = false;
  // A reader's live segment may be cut and re-extended by a recovering
  // writer: room to follow it without moving the mapping.
  o.reserve = writable ? size_ : writer_ ? 0 : uint64_t{1} << 30;
  // The writer allocates disk space itself, in steps (Reserve), and never
  // for what a file's length claims (a sparse 1 TiB segment stays sparse).
  o.preallocate = false;
  const std::string& path = s.temp.empty() ? s.path : s.temp;
  if (writable) MAPFILE_RETURN_IF_ERROR(CutBack(path));
  MAPFILE_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path, o));
  MAPFILE_ASSIGN_OR_RETURN(
      FileHeader h,
      DecodeHeader(absl::MakeConstSpan(file.data(), file.size()), path));
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

}  // namespace internal
}  // namespace mapfile
