// Copyright 2026 The mapfile Authors.
//
// inspect.h: how the `mapfile` tool reads what PATH names, without knowing
// the record type T: a vector file, a log segment, or a log directory.
//
// Files are read with pread, never mapped (except to ask the kernel which
// pages are resident): a file that shrinks under the tool gives a DataLoss
// error instead of SIGBUS, nothing is allocated from what a header claims,
// and a FIFO or device is refused before anything is read from it. The
// header's meaning (checksums, slots, bounds) comes from the library's
// format layer; nothing here re-implements it.
//
// Thread safety: a FileReader is used by one thread.

#ifndef MAPFILE_TOOLS_INSPECT_H_
#define MAPFILE_TOOLS_INSPECT_H_

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "mapfile/append_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/internal/os.h"

namespace mapfile {
namespace cli {

// Opens `path` read-only without blocking (a FIFO with no writer must not
// hang the tool) and fstats it into *st. InvalidArgument, naming the path
// and what it is, for anything but a regular file or a directory.
absl::StatusOr<os::Fd> OpenInput(const std::string& path, struct stat* st);

// One mapfile file (a vector or a log segment), read with pread.
class FileReader {
 public:
  // Opens the file and decodes its header. Errors: those of OpenInput;
  // InvalidArgument for a directory or a file that is not a mapfile file
  // (empty, foreign); FailedPrecondition for an unknown major version;
  // DataLoss for a damaged or truncated header (format.h's DecodeHeader).
  // A bad commit is not an error here: see commit().
  static absl::StatusOr<FileReader> Open(const std::string& path);

  const std::string& path() const { return fd_.path(); }
  // The file's size when it was opened.
  uint64_t size() const { return size_; }
  // Bytes of disk the file occupies (st_blocks).
  uint64_t allocated() const { return allocated_; }
  const FileHeader& header() const { return header_; }
  // LatestCommit's verdict for the file's size at open: the committed state,
  // or DataLoss (both slots invalid, a count past the end of the file, ...).
  const absl::StatusOr<CommitSlot>& commit() const { return commit_; }

  // Reads exactly `size` bytes at `offset`. DataLoss if the file now ends
  // before that (it shrank while the tool read it).
  absl::Status Read(uint64_t offset, void* buffer, size_t size) const;

  // The fraction of the file's pages in the page cache (mincore).
  absl::StatusOr<double> Residency() const;

  // Re-reads the size, the header and the commit: what a writer committed
  // since. Errors as Open's.
  absl::Status Refresh();

 private:
  FileReader() = default;

  os::Fd fd_;
  uint64_t size_ = 0;
  uint64_t allocated_ = 0;
  FileHeader header_;
  absl::StatusOr<CommitSlot> commit_;
};

// ---------------------------------------------------------------- logs

// A segment file of a log directory.
struct SegmentName {
  uint64_t first;  // from the file name
  std::string path;
};

// The segment files in `dir` (named as log_format.h says), by first
// sequence. InvalidArgument if there are none.
absl::StatusOr<std::vector<SegmentName>> ListSegments(const std::string& dir);

// The files in `dir` named "<first>.seg" + `suffix`, by first sequence
// (none is not an error): with internal::kTempSuffix the temporary segments
// (rolled into since the last Sync, a prepared next segment, or a rewrite
// under way), with internal::kFreeSuffix the retired ones kept for reuse
// (docs/DESIGN.md, "The log's commit protocol").
absl::StatusOr<std::vector<SegmentName>> ListSegmentFiles(
    const std::string& dir, absl::string_view suffix);

// The log in `dir` as a LogReader sees it (committed records only), for
// records of the type in its segments' headers: the engine's untyped
// reader (mapfile/internal/log_store.h), which every log command reads
// through.
absl::StatusOr<std::unique_ptr<internal::LogStore>> OpenLog(
    const std::string& dir, const TypeFingerprint& type);

// Checks frames [begin, end) of an uncompressed segment (read with pread,
// in chunks) against their checksums; calls bad(seq, offset) for each that
// fails, and stops early when it returns false. Returns the number of
// frames checked.
absl::StatusOr<uint64_t> CheckFrames(
    const FileReader& f, const internal::LogLayout& layout, uint64_t begin,
    uint64_t end, const std::function<bool(uint64_t, uint64_t)>& bad,
    const std::function<void(uint64_t)>& progress = nullptr);

// The same for a compressed segment holding `commit`, decompressed as a
// stream (memory does not grow with the segment). DataLoss if the zstd
// frame is damaged or its length is not what the header says.
absl::StatusOr<uint64_t> CheckCompressedFrames(
    const FileReader& f, const internal::LogLayout& layout,
    const CommitSlot& commit,
    const std::function<bool(uint64_t, uint64_t)>& bad);

// "little-endian", "big-endian", "byte order 7".
std::string ByteOrderName(ByteOrder order);
// "xxh3-64", "checksum 7".
std::string ChecksumName(ChecksumAlgorithm algorithm);

}  // namespace cli
}  // namespace mapfile

#endif  // MAPFILE_TOOLS_INSPECT_H_
