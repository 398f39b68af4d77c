// Copyright 2026 The mapfile Authors.
//
// log_segment.cc: a log's segment files and their mapping (Map, Load) and
// the decompressed-segment cache (Inflate, eviction in Load); for blob
// segments also their frame area and offset index (SetArea, LoadIndex,
// WriteIndex, InflateBlobs: the frame layer, blob_format.h, does the
// decoding). Part of the
// log engine (mapfile/internal/log_store.h; docs/DESIGN.md).

#include <fcntl.h>
#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mapfile/internal/blob_format.h"
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
      CheckCompatible(h, kind_, type_, path));
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
      CheckCompatible(h, kind_, type_, s.path));
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
  if (!s.compressed && blob_) {
    SetArea(s);
    s.sealed |= (h.segment_flags & kSegmentSealed) != 0 ||
                (s.area > 0 &&
                 __atomic_load_n(Word32(s.data, kSealedAt), __ATOMIC_ACQUIRE));
  } else if (!s.compressed) {
    s.data = s.file->data() + data_offset_;
    // A segment being appended to holds records only within the size its
    // header recorded (FORMAT.md, offset 160): a reused file keeps its old,
    // maybe longer, length (Recycle), and what lies past is stale. So
    // whether it is full (Adopt) does not depend on the file's length.
    uint64_t length = s.file->size();
    if ((h.segment_flags & kSegmentSealed) == 0 && h.segment_size != 0) {
      length = std::min(length, SegmentSize(h));
    }
    s.capacity = FramesIn(length);
    s.sealed |= (h.segment_flags & kSegmentSealed) != 0 ||
                (s.capacity > 0 &&
                 __atomic_load_n(Word32(s.data, kSealedAt), __ATOMIC_ACQUIRE));
  }
  return h;
}

// A reader or writer keeps at most this many sealed, uncompressed segments
// mapped: each mapping is an entry of the process's map table
// (vm.max_map_count, 65530 by default), which a reader that reads through
// a long log of small segments, or a writer that fills one, would
// otherwise fill (mmap fails with ENOMEM). Those read least recently (a
// writer's: never read, oldest first) are unmapped, and mapped again if
// read again.
constexpr size_t kMappedSegments = 128;

// Unmaps the sealed segments read least recently, all but kMappedSegments:
// not `keep`, not the live one, not one a cursor of this process holds
// (pin: a writer reuses a retired file only if none does, TruncateBefore),
// and not a writer's from pending_ on (the next Sync finishes them through
// their mappings).
void LogStore::UnmapIdle(const Segment& keep) {
  std::vector<Segment*> idle;
  const size_t end = writer_ ? pending_ : segments_.size();
  for (size_t i = 0; i < end; ++i) {
    Segment* s = segments_[i].get();
    if (s != &keep && s->file != nullptr && s->file.use_count() == 1 &&
        !s->live) {
      idle.push_back(s);
    }
  }
  if (idle.size() <= kMappedSegments) return;
  std::stable_sort(idle.begin(), idle.end(),
                   [](const Segment* a, const Segment* b) {
                     return a->read_at < b->read_at;
                   });
  for (size_t i = 0; i + kMappedSegments < idle.size(); ++i) {
    idle[i]->file.reset();
    idle[i]->data = nullptr;
  }
}

absl::StatusOr<RecordRun> LogStore::Load(const std::shared_ptr<Segment>& sp) {
  Segment& s = *sp;
  s.read_at = ++reads_;
  if (s.data == nullptr) {
    UnmapIdle(s);
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
    const bool fits =
        s.compressed ||
        (c.count <= s.capacity &&
         (blob_ ? c.length <= s.area : c.length == c.count * stride_));
    if (c.count != s.count || !fits) {
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
      if (blob_) {
        s.index = std::make_shared<BlobIndex>();
        if (!s.sealed) {
          MAPFILE_ASSIGN_OR_RETURN(CommitSlot whole,
                                   LastWholeBlobCommit(s, *h, c));
          s.count = whole.count;
        }
      } else if (!s.sealed) {
        s.count = LastWholeCommit(s, *h, c).count;
      }
      UpdateLive(s);
    } else if (blob_) {
      MAPFILE_RETURN_IF_ERROR(LoadIndex(s, c.length));
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
  if (blob_) {
    MAPFILE_RETURN_IF_ERROR(
        CheckCompressedBlobCommit(s.path, h, c, control_, kMaxSegmentSize));
  } else {
    MAPFILE_RETURN_IF_ERROR(
        CheckCompressedCommit(s.path, LogLayout(type_), h, c));
  }
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
  std::byte* data = static_cast<std::byte*>(block.data());
  if (blob_) {
    MAPFILE_RETURN_IF_ERROR(InflateBlobs(s, frame, c.length, data, length));
  } else {
    const size_t n = ZSTD_decompress(data, length, frame, c.length);
    if (ZSTD_isError(n)) return corrupt(ZSTD_getErrorName(n));
    if (n != length) {
      return corrupt(
          absl::StrCat("decompresses to ", n, " bytes, not ", length));
    }
  }
  for (uint64_t i = 0; i < s.count && !blob_; ++i) {
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

// Bytes of `s`'s frames: what its commit slot's length counts.
uint64_t LogStore::FramesEnd(const Segment& s) const {
  return blob_ ? s.index->bytes() : s.count * stride_;
}

// Where record `i` of `s` starts in its frame area (i <= its records; for
// blob frames, i <= what its index holds).
uint64_t LogStore::FramesAt(const Segment& s, uint64_t i) const {
  if (!blob_) return i * stride_;
  return i == 0 ? 0 : s.index->end(i - 1);
}

// kBlob: the frame area of `s`'s mapped file (data, area, capacity).
void LogStore::SetArea(Segment& s) const {
  const uint64_t size = s.file->size();
  s.data = s.file->data() + data_offset_;
  s.area = size < data_offset_ + control_ ? 0 : size - data_offset_ - control_;
  s.capacity = s.area / kBlobFrameHeader;
}

// Inflate for blob frames: decompresses `compressed` into `data` (`length`
// bytes) 1 MiB at a time, indexing and verifying each frame as soon as it
// is whole, so that an image of garbage (a hostile file claiming gigabytes
// of zeros, say) fails at its first frame, after touching little of the
// memory reserved for it, instead of after decompressing all of it.
absl::Status LogStore::InflateBlobs(Segment& s, const std::byte* compressed,
                                    uint64_t compressed_length, std::byte* data,
                                    uint64_t length) {
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(absl::StrCat("compressed blob log segment \"",
                                            s.path, "\": ", what));
  };
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(),
                                                         ZSTD_freeDCtx);
  if (dctx == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        Context("Read"), ": zstd: cannot allocate a context"));
  }
  ZSTD_inBuffer in{compressed, compressed_length, 0};
  ZSTD_outBuffer out{data, 0, 0};
  auto index = std::make_shared<BlobIndex>();
  const std::byte* frames = data + control_;
  FrameCheck check = FrameCheck::kShort;
  for (size_t done = 1; done != 0;) {
    const size_t before = out.pos, consumed = in.pos;
    out.size = std::min<uint64_t>(length, out.pos + (uint64_t{1} << 20));
    done = ZSTD_decompressStream(dctx.get(), &out, &in);
    if (ZSTD_isError(done)) return corrupt(ZSTD_getErrorName(done));
    if (out.pos > control_) {
      check = index->Extend(frames, out.pos - control_, s.first, s.count,
                            /*verify=*/true);
      if (check != FrameCheck::kValid && check != FrameCheck::kShort) break;
    }
    if (done != 0 && out.pos == before && in.pos == consumed) {
      return corrupt(in.pos == in.size
                         ? "its zstd frame ends early"
                         : "its zstd frame holds more than it declares");
    }
  }
  if (out.pos != length || index->count() != s.count ||
      index->bytes() != length - control_) {
    return corrupt(absl::StrCat(
        "record ", s.first + index->count(), " at offset ", index->bytes(),
        " ",
        check == FrameCheck::kValid ? "is past the end of the records"
                                    : FrameCheckName(check),
        " after decompression (", out.pos, " of ", length, " bytes)"));
  }
  s.index = std::move(index);
  s.area = length - control_;
  return absl::OkStatus();
}

// kBlob: the index of sealed segment `s` whose frames end at `length`: its
// NAME.idx if that describes it, else rebuilt from the frames (and, by a
// writer, written back). A frame that does not parse ends the index early;
// ReadBlob reports records past it as DataLoss.
absl::Status LogStore::LoadIndex(Segment& s, uint64_t length) {
  s.area = std::min(s.area, length);
  const std::string path = absl::StrCat(dir_, "/", IndexFileName(s.first));
  absl::StatusOr<os::Fd> fd = os::Open(path, O_RDONLY | O_CLOEXEC);
  if (fd.ok()) {
    absl::StatusOr<struct stat> st = os::Fstat(fd->get(), path);
    // Read only a file of the size `count` implies (no allocation sized
    // by a hostile file).
    if (st.ok() && static_cast<uint64_t>(st->st_size) ==
                       kIndexFileOverhead + 8 * s.count &&
        s.count <= length / kBlobFrameHeader) {
      std::string bytes(static_cast<size_t>(st->st_size), '\0');
      absl::StatusOr<size_t> n =
          os::Pread(fd->get(), path, bytes.data(), bytes.size(), 0);
      if (n.ok() && *n == bytes.size()) {
        absl::StatusOr<BlobIndex> index =
            BlobIndex::Decode(bytes, s.first, s.count, length, path);
        if (index.ok()) {
          s.index = std::make_shared<BlobIndex>(*std::move(index));
          return absl::OkStatus();
        }
      }
    }
  }
  s.index = std::make_shared<BlobIndex>();
  s.index->Extend(s.data + control_, s.area, s.first, s.count, false);
  if (writer_ && !dry_run_ && s.index->count() == s.count &&
      s.index->bytes() == length) {
    WriteIndex(s);
  }
  return absl::OkStatus();
}

// Writes NAME.idx for sealed segment `s` (temporary file, rename). The
// index is a cache: a failure, or a power loss that leaves it torn or
// empty, only means the next reader rebuilds it from the frames.
void LogStore::WriteIndex(const Segment& s) const {
  const std::string path = absl::StrCat(dir_, "/", IndexFileName(s.first));
  const std::string temp = absl::StrCat(path, kTempSuffix);
  const std::string bytes = s.index->Encode(s.first);
  absl::Status status = [&]() -> absl::Status {
    // The index gets its segment's access (os.h, "Permissions"): who may
    // read the segment may read where its records start, and no one else.
    MAPFILE_ASSIGN_OR_RETURN(struct stat segment, os::Stat(s.path));
    MAPFILE_ASSIGN_OR_RETURN(
        os::Fd fd, os::Open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    MAPFILE_RETURN_IF_ERROR(os::KeepAccess(fd.get(), temp, segment));
    MAPFILE_RETURN_IF_ERROR(
        os::Pwrite(fd.get(), temp, bytes.data(), bytes.size(), 0));
    MAPFILE_RETURN_IF_ERROR(fd.Close());
    return os::Rename(temp, path);
  }();
  if (!status.ok()) os::Unlink(temp).IgnoreError();
}

}  // namespace internal
}  // namespace mapfile
