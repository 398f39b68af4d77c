// Copyright 2026 The mapfile Authors.
//
// log_options.h: the options and the recovery report shared by the log
// faces (AppendLog<T> and LogReader<T> in append_log.h): how a writer opens
// a log (LogOptions), how a reader opens one (ReaderOptions), and what a
// writer's Open cut from a torn tail (RecoveryReport).
//
// Thread safety: plain structs.

#ifndef MAPFILE_LOG_OPTIONS_H_
#define MAPFILE_LOG_OPTIONS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "mapfile/mapped_file.h"

namespace mapfile {

struct LogOptions {
  // kCreate: open, or create the directory and an empty log. kCreateNew:
  // only create (AlreadyExists if the directory holds segments). kReadWrite:
  // only open. kReadOnly is InvalidArgument: use LogReader.
  OpenMode mode = OpenMode::kCreate;
  // segments; the directory gets 0755 from it. The mode bits of every file
  // this log creates afresh (segments, including each new one a roll or
  // Seal() starts, and LOCK), filtered by the umask as open(2) does; a log
  // directory Open creates gets DirectoryMode: each read bit also grants
  // search (0644 -> 0755, 0600 -> 0700, 0640 -> 0750). A rewrite
  // (Compress, Decompress, compress_sealed) gives the new file the mode,
  // owner and group of the segment it replaces, whatever `permissions` and
  // the umask say, so that it never widens access (docs/MAPPED_FILE.md,
  // "File permissions"). Bits outside 0777 are InvalidArgument.
  mode_t permissions = 0644;
  // Bytes per segment file, rounded up to pages (and to hold one record).
  uint64_t segment_size = uint64_t{64} << 20;
  // Rewrite every sealed segment as zstd (Seal() and full segments).
  bool compress_sealed = false;
  int compression_level = 3;
  // Automatic Sync() after this many appended records / bytes of records
  // since the last one; 0: only explicit Sync().
  uint64_t sync_every_records = 0;
  uint64_t sync_every_bytes = 0;
  // Decompressed segments kept in scratch memory, in bytes (at least the one
  // being read is always kept).
  uint64_t cache_bytes = uint64_t{256} << 20;
  // Retention (TruncateBefore) keeps up to this many retired segment files
  // (renamed "<first>.seg.free") and a roll reuses one instead of creating
  // a file: its disk blocks, and often its pages, are already there. 0:
  // retired segments are deleted, as they always are with compress_sealed
  // (and compressed ones).
  // A LogReader in another process still reading a retired segment that is
  // reused meanwhile gets DataLoss (checksums) instead of OutOfRange; a
  // reused file is never made shorter than it was while that reader may
  // map it (except by a later writer's recovery: set 0 if readers may lag
  // behind retention across writer restarts).
  uint64_t recycle_segments = 2;
  // Where background work runs: preparing the next segment, allocating disk
  // space ahead of the writer, compressing sealed segments (process's
  // pretouch thread; with pretouch_in_background = false, only in
  // Pretouch(), Seal/Compress/Decompress and close). `pretouch` is kept for
  // compatibility: the writer no longer stores through a mapping, so there
  // are no pages to populate.
  uint64_t pretouch = 0;
  bool pretouch_in_background = true;
};

// How a reader (LogReader<T>) opens a log.
struct ReaderOptions {
  // Decompressed (compressed sealed) segments kept in scratch memory, in
  // bytes; at least the one being read is always kept.
  uint64_t cache_bytes = uint64_t{256} << 20;
  // A reader opened before its writer created the log waits up to this
  // long for the log's first segment to appear (polling the directory every
  // few milliseconds) instead of failing with NotFound at once. Zero: no
  // wait.
  absl::Duration wait_for_log = absl::ZeroDuration();
};

struct RecoveryReport {
  uint64_t records_kept = 0;  // after the last commit, checksums valid
  uint64_t records_cut = 0;   // frames touched by the bytes cut
  uint64_t bytes_cut = 0;     // non-zero bytes after the kept records
                              // (not a reused file's old frames, which
                              // stay: none can pass for a record)
  std::string segment;        // where the cut happened, if any
};

}  // namespace mapfile

#endif  // MAPFILE_LOG_OPTIONS_H_
