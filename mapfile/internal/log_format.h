// Copyright 2026 The mapfile Authors.
//
// log_format.h: the layout of an AppendLog segment's data region (the part
// after the FORMAT.md header page), shared by AppendLog, LogReader, their
// tests and the tools. docs/FORMAT.md ("Log segments") is the prose version:
//
//   data_offset        control block, `control_size` bytes:
//                        0  u64 published count (live, see below)
//                        8  u32 generation (futex word, +1 per publish)
//                        12 u32 sealed (1: no more appends)
//                        16 reserved (zero) up to control_size
//   + control_size     record 0's frame, then record 1's, ... every
//                      `stride` bytes; a frame is
//                        0            the payload: sizeof(T) bytes of T
//                        checksum_at  u64 XXH3-64 of the payload, seeded
//                                     with the record's sequence number
//                        ...          zero padding up to stride
//
// The control block's words are native-endian (the records' byte order,
// recorded in the header) and accessed with atomic loads and stores: the
// writer stores `published` (release) after each commit is durable, then
// increments `generation` and FUTEX_WAKEs it; readers load them (acquire)
// and FUTEX_WAIT on `generation`. They are hints for live readers: recovery
// trusts only the header's commit slots and the record checksums.
//
// Thread safety: pure functions and constants.

#ifndef MAPFILE_INTERNAL_LOG_FORMAT_H_
#define MAPFILE_INTERNAL_LOG_FORMAT_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "mapfile/format.h"
#include "mapfile/internal/os.h"

namespace mapfile {
namespace internal {

inline constexpr char kLogLockName[] = "LOCK";
inline constexpr char kSegmentSuffix[] = ".seg";
inline constexpr char kTempSuffix[] = ".tmp";
// A retired segment kept for reuse (LogOptions::recycle_segments):
// "<first>.seg.free". Not part of the log; readers never open it.
inline constexpr char kFreeSuffix[] = ".free";
// Largest segment file (and decompressed segment image) the log accepts.
inline constexpr uint64_t kMaxSegmentSize = uint64_t{1} << 36;

// Offsets of the control block's words, from data_offset.
inline constexpr size_t kPublishedAt = 0;
inline constexpr size_t kGenerationAt = 8;
inline constexpr size_t kSealedAt = 12;
// Where a segment's header (at the file's start) holds its first_sequence
// (format.cc, EncodeHeader).
inline constexpr size_t kFirstSequenceAt = 136;

// XXH3-64 of the payload with the sequence number as seed: a record copied
// to another place (another sequence number) fails its check.
uint64_t RecordChecksum(const void* payload, size_t size, uint64_t seq);

// Whether `frame` holds record `seq`: the u64 at `checksum_at` is the
// RecordChecksum of the `payload` bytes before it. The one check of a frame,
// for reads, recovery and decompression alike, and for `mapfile verify`.
inline bool FrameValid(const std::byte* frame, uint64_t payload,
                       uint64_t checksum_at, uint64_t seq) {
  uint64_t stored;
  std::memcpy(&stored, frame + checksum_at, sizeof(stored));
  return stored == RecordChecksum(frame, payload, seq);
}

// Where things are in a segment of records of type `t`.
struct LogLayout {
  explicit LogLayout(const TypeFingerprint& t)
      : payload(t.size),
        alignment(std::max<uint64_t>(8, t.alignment)),
        checksum_at(os::RoundUp(t.size, 8)),
        stride(os::RoundUp(checksum_at + 8, alignment)),
        control_size(os::RoundUp(64, alignment)) {}

  uint64_t payload;       // sizeof(T)
  uint64_t alignment;     // of every frame (header record_alignment)
  uint64_t checksum_at;   // offset of the checksum in a frame
  uint64_t stride;        // bytes per frame
  uint64_t control_size;  // bytes from data_offset to record 0
  // data_offset as NewHeader places it for `alignment`.
  uint64_t data_offset() const { return os::RoundUp(kHeaderSize, alignment); }
  // File offset of record 0.
  uint64_t records_offset() const { return data_offset() + control_size; }
  // Frames that fit in a segment file of `file_size` bytes.
  uint64_t Capacity(uint64_t file_size) const {
    return file_size < records_offset() ? 0
                                        : (file_size - records_offset()) / stride;
  }
};

// The first record that commit `c`, the newest of segment header `h`, added:
// the count of the other slot (the commit before it), or 0. A power loss
// during the Sync that wrote `c` can leave these records' frames torn.
inline uint64_t NewestCommitFrom(const FileHeader& h, const CommitSlot& c) {
  const std::optional<CommitSlot>& other = h.slots[(c.sequence & 1) ^ 1];
  return other && other->sequence < c.sequence && other->count <= c.count
             ? other->count
             : 0;
}

// OK if a compressed segment at `path` with header `h` can hold the records
// of its commit `c`: its image (control block and frames, at most
// kMaxSegmentSize) is h.uncompressed_length bytes, and its c.length
// compressed bytes are at least 4 a record (each frame's checksum does not
// compress). Else DataLoss. Nothing may be sized by `h` or `c` before this.
absl::Status CheckCompressedCommit(absl::string_view path,
                                   const LogLayout& layout,
                                   const FileHeader& h, const CommitSlot& c);

// DataLoss unless `count` records of `stride` bytes after a `control`-byte
// block fit in kMaxSegmentSize, as every genuine segment's do. Checked
// before any size is computed from a count read from a file or implied by
// segment names: such a product could overflow.
absl::Status CheckCount(absl::string_view path, uint64_t count,
                        uint64_t control, uint64_t stride);

// OK if the uncompressed segment at `path` (`file_size` bytes, header `h`)
// can hold the records of its commit `c`: its data where this layout puts
// it, c.count frames within the file and c.length their bytes. Else
// DataLoss. The check recovery makes before trusting a commit, and
// `mapfile verify` before reading frames.
absl::Status CheckCommit(absl::string_view path, const LogLayout& layout,
                         const FileHeader& h, const CommitSlot& c,
                         uint64_t file_size);

// "00000000000000001234" + suffix: zero-padded so that names sort by
// sequence. The names of segments (".seg") and of blob indexes (".idx").
inline std::string SequenceFileName(uint64_t first_seq,
                                    absl::string_view suffix) {
  char name[32];
  std::snprintf(name, sizeof(name), "%020llu",
                static_cast<unsigned long long>(first_seq));
  return absl::StrCat(name, suffix);
}

// The first sequence number of a SequenceFileName with `suffix`, or nullopt
// for any other name (temporary files, the lock, foreign files).
inline std::optional<uint64_t> ParseSequenceFileName(absl::string_view name,
                                                     absl::string_view suffix) {
  if (name.size() != 20 + suffix.size() || name.substr(20) != suffix) {
    return std::nullopt;
  }
  uint64_t seq = 0;
  for (char c : name.substr(0, 20)) {
    if (c < '0' || c > '9' || seq > (~uint64_t{0} - 9) / 10) return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

// "00000000000000001234.seg".
inline std::string SegmentFileName(uint64_t first_seq) {
  return SequenceFileName(first_seq, kSegmentSuffix);
}

// The first sequence number of a segment file name, or nullopt.
inline std::optional<uint64_t> ParseSegmentFileName(absl::string_view name) {
  return ParseSequenceFileName(name, kSegmentSuffix);
}

}  // namespace internal
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_LOG_FORMAT_H_
