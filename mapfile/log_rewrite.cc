// Copyright 2026 The mapfile Authors.
//
// log_rewrite.cc: Compress and Decompress of a sealed segment (Rewrite):
// every record checked, the new file written beside the old one and
// renamed over it. Part of the log engine (mapfile/internal/log_store.h;
// docs/DESIGN.md).

#include <fcntl.h>
#include <zstd.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/internal/os.h"
#include "mapfile/scratch.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

using os::Annotate;

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
  absl::StatusOr<RecordRun> loaded = Run(seq);
  if (absl::IsOutOfRange(loaded.status())) {  // in its own words, not Read's
    return absl::OutOfRangeError(absl::StrCat(
        context, ": no record ", seq, " in the log's [", first_seq(), ", ",
        next_seq(), ")"));
  }
  MAPFILE_ASSIGN_OR_RETURN(RecordRun run, std::move(loaded));
  const std::shared_ptr<Segment> sp = Find(seq);
  Segment& s = *sp;
  if (s.live) {
    return absl::FailedPreconditionError(absl::StrCat(
        context, ": the record is in the active segment; Seal() first"));
  }
  if (s.compressed == compress) return absl::OkStatus();
  for (uint64_t i = s.first; i < run.end && blob_; ++i) {
    uint64_t n = 0;
    const BlobIndex& x = *s.index;
    if (i - s.first >= x.count() ||
        CheckBlobFrame(run.base, x.start(i - s.first), x.end(i - s.first), i,
                       &n) != FrameCheck::kValid ||
        BlobFrameSize(n) != x.end(i - s.first) - x.start(i - s.first)) {
      return absl::DataLossError(absl::StrCat(
          context, ": record ", i, " in \"", s.path, "\" fails its checksum"));
    }
  }
  for (uint64_t i = s.first; i < run.end && !blob_; ++i) {
    if (!Valid(run.base + (i - s.first) * stride_, i)) {
      return absl::DataLossError(absl::StrCat(
          context, ": record ", i, " in \"", s.path, "\" fails its checksum"));
    }
  }
  const uint64_t length = control_ + FramesEnd(s);
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
  EncodeSlot({1, s.count, compress ? body.size() : FramesEnd(s)},
             absl::MakeSpan(page.data(), kHeaderSize));
  const std::string temp = absl::StrCat(s.path, kTempSuffix);
  absl::Status status = [&]() -> absl::Status {
    // The new file gets the old one's access, never options_.permissions:
    // a rewrite must not widen (or narrow) who may read the segment.
    MAPFILE_ASSIGN_OR_RETURN(struct stat old, os::Stat(s.path));
    MAPFILE_ASSIGN_OR_RETURN(
        os::Fd fd, os::Open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
    MAPFILE_RETURN_IF_ERROR(os::KeepAccess(fd.get(), temp, old));
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
  s.index.reset();
  if (status.ok()) return status;
  os::Unlink(temp).IgnoreError();  // best effort; Open removes it too
  return Annotate(status, context);
}

}  // namespace internal
}  // namespace mapfile
