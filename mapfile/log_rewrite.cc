// Copyright 2026 The mapfile Authors.
//
// log_rewrite.cc: Compress and Decompress of a sealed segment (Rewrite):
// every record checked, the new file written beside the old one and
// renamed over it. Part of the log engine (mapfile/internal/log_store.h;
// docs/DESIGN.md).

#include <fcntl.h>
#include <sys/stat.h>
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
#include "mapfile/internal/pretouch.h"
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
  MAPFILE_RETURN_IF_ERROR(Owned(compress ? "Compress" : "Decompress"));
  FinishJobs(false);  // a background compression of the same segment
  CollectJobs();
  if (seq < segments_.back()->first && seq >= segments_[pending_]->first) {
    // A full segment no Sync finished yet: only a durable one is rewritten.
    MAPFILE_RETURN_IF_ERROR(Sync());
  }
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
  const std::string temp = absl::StrCat(s.path, kTempSuffix);
  absl::Status status =
      WriteRewrite(s.path, s.first, s.count, FramesEnd(s), s.data, compress,
                   context);
  if (status.ok()) {
    status = os::Rename(temp, s.path);
    MAPFILE_CRASH_POINT("log.renamed", &s.path);
  }
  // Success or not (a failed directory fsync follows a done rename), the
  // next read loads whatever file the name holds; cursors keep their copy.
  cache_.erase(std::remove(cache_.begin(), cache_.end(), sp), cache_.end());
  s.file.reset();
  s.block.reset();
  s.data = nullptr;
  s.index.reset();
  if (status.ok()) return status;
  UnlinkLogFile(temp).IgnoreError();  // best effort; Open removes it too
  return Annotate(status, context);
}

// Writes "<path>.tmp": the `count` records of the segment at `path` whose
// data region (control block, frames) is at `data`, compressed or not,
// every record checked first; fdatasync'ed. The caller renames it. Uses
// only what Open set: safe on the background thread.
absl::Status LogStore::WriteRewrite(const std::string& path, uint64_t first,
                                    uint64_t count, uint64_t frames,
                                    const std::byte* data, bool compress,
                                    const std::string& context) const {
  if (blob_) {
    // Every frame parses, verifies and ends where the next starts; together
    // they are the `frames` bytes the commit counts.
    BlobIndex index;
    if (index.Extend(data + control_, frames, first, count, true) !=
            FrameCheck::kValid ||
        index.count() != count || index.bytes() != frames) {
      return absl::DataLossError(absl::StrCat(
          context, ": record ", first + index.count(), " in \"", path,
          "\" fails its checksum"));
    }
  }
  for (uint64_t i = 0; i < count && !blob_; ++i) {
    if (!Valid(data + control_ + i * stride_, first + i)) {
      return absl::DataLossError(absl::StrCat(context, ": record ", first + i,
                                              " in \"", path,
                                              "\" fails its checksum"));
    }
  }
  const uint64_t length = control_ + frames;
  absl::Span<const std::byte> body(data, length);  // after the header page
  FileHeader h = header_;
  h.first_sequence = first;
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
        ZSTD_compress2(cctx.get(), out.data(), out.size(), data, length);
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
  EncodeSlot({1, count, compress ? body.size() : frames},
             absl::MakeSpan(page.data(), kHeaderSize));
  const std::string temp = absl::StrCat(path, kTempSuffix);
  // The new file gets the old one's access, never options_.permissions:
  // a rewrite must not widen (or narrow) who may read the segment.
  MAPFILE_ASSIGN_OR_RETURN(struct stat old, os::Stat(path));
  MAPFILE_ASSIGN_OR_RETURN(
      os::Fd fd, os::Open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0600));
  MAPFILE_RETURN_IF_ERROR(os::KeepAccess(fd.get(), temp, old));
  MAPFILE_RETURN_IF_ERROR(
      os::Pwrite(fd.get(), temp, page.data(), page.size(), 0));
  MAPFILE_RETURN_IF_ERROR(
      os::Pwrite(fd.get(), temp, body.data(), body.size(), data_offset_));
  MAPFILE_RETURN_IF_ERROR(os::Fdatasync(fd.get(), temp));
  MAPFILE_CRASH_POINT("file.datasynced", &temp, 0, data_offset_ + body.size());
  MAPFILE_RETURN_IF_ERROR(fd.Close());
  MAPFILE_CRASH_POINT("log.compress.written", &path);
  return absl::OkStatus();
}

// Compresses sealed segment `s` on the background thread. The job maps the
// file itself (it shares nothing with the writer's objects) and renames
// its result over the segment unless TruncateBefore retired it meanwhile.
void LogStore::PostCompress(const Segment& s) {
  if (dry_run_ || s.compressed) return;
  const std::string path = s.path;
  const uint64_t first = s.first;
  std::shared_ptr<LogJobs> jobs = jobs_;
  auto job = [this, path, first, jobs] {
    {
      std::lock_guard<std::mutex> lock(jobs->rename_mu);
      if (jobs->retired.count(first)) return;
    }
    MappedFile::Options o;
    o.lock = false;
    o.reserve = 0;
    absl::StatusOr<MappedFile> file = MappedFile::Open(path, o);
    if (!file.ok()) return;  // removed, or unreadable: Open tries again
    absl::StatusOr<FileHeader> h =
        DecodeHeader(absl::MakeConstSpan(file->data(), file->size()), path);
    if (!h.ok() || (h->segment_flags & kSegmentCompressed) != 0 ||
        h->first_sequence != first) {
      return;
    }
    absl::StatusOr<CommitSlot> c = LatestCommit(*h, file->size(), path);
    if (!c.ok() || file->size() < data_offset_ + control_ ||
        (blob_ ? c->length > file->size() - data_offset_ - control_
               : c->length != c->count * stride_)) {
      return;
    }
    const std::string temp = absl::StrCat(path, kTempSuffix);
    absl::Status status =
        WriteRewrite(path, first, c->count, c->length,
                     file->data() + data_offset_, true, Context(absl::StrCat("Compress(", first, ")")));
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(jobs->rename_mu);
      if (jobs->retired.count(first)) {
        status = absl::CancelledError("retired");
      } else {
        status = os::Rename(temp, path);
        MAPFILE_CRASH_POINT("log.renamed", &path);
      }
    }
    if (!status.ok()) {
      UnlinkLogFile(temp).IgnoreError();  // a later Open compresses it
      return;
    }
    std::lock_guard<std::mutex> lock(jobs->mu);
    jobs->compressed.push_back(first);
  };
  {
    std::lock_guard<std::mutex> lock(jobs_->mu);
    jobs_->queue.push_back(std::move(job));
  }
  pretouch_->Post([this] { Drain(true); });
}

// Drops the writer's mappings of segments the background compressed, so
// that their uncompressed files' space is freed (cursors keep their own).
void LogStore::CollectJobs() {
  std::vector<uint64_t> done;
  {
    std::lock_guard<std::mutex> lock(jobs_->mu);
    done.swap(jobs_->compressed);
  }
  for (uint64_t first : done) {
    if (segments_.empty() || first < segments_.front()->first) continue;
    const std::shared_ptr<Segment>& s = Find(first);
    if (s->first != first || s->live) continue;
    cache_.erase(std::remove(cache_.begin(), cache_.end(), s), cache_.end());
    s->file.reset();
    s->block.reset();
    s->data = nullptr;
    s->index.reset();
  }
}

}  // namespace internal
}  // namespace mapfile
