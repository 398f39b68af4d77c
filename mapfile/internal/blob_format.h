// Copyright 2026 The mapfile Authors.
//
// blob_format.h: the frame layer of a BlobLog segment (ContainerKind
// kBlobSegment): how one variable-length record is encoded, decoded and
// checked, and the dense offset index that makes Read(seq) O(1). The log
// engine stores and commits bytes; everything that knows what a blob frame
// looks like is here. docs/FORMAT.md ("Blob log segments") is the prose
// version of this table.
//
// A blob segment is a mapfile file of kind 3: the 4096-byte header page
// (type "mapfile.blob" v1, record alignment 8, data offset 4096), then the
// same 64-byte control block as an AppendLog segment (published count,
// generation, sealed; mapfile/internal/log_format.h), then the frames, each
// starting at a multiple of 8 from the first:
//
//   0   u64  checksum: XXH3-64 of bytes [8, 16 + length) of the frame (the
//            length, the flags and the payload), seeded with the record's
//            sequence number
//   8   u32  length: payload bytes, 0 to kMaxBlobSize
//   12  u32  flags: 0 (reserved; any other value is a damaged frame)
//   16       payload, then zero padding to a multiple of 8
//
// The commit slots hold the committed count and length = the bytes of the
// committed frames (from the first frame; the control block not counted).
// A never-written frame (zeros) fails its check, so the first bad frame
// ends the log at recovery, as in a fixed-size segment.
//
// The offset index of a segment, BlobIndex, holds where every frame starts.
// The writer extends it as it appends; readers extend the active segment's
// index from the frames the writer has published, starting where they
// stopped; a sealed segment's index is kept beside it in NAME.idx (written
// when the segment is sealed):
//
//   0         8  magic "MFBLOBIX"
//   8         8  first sequence (the segment's)
//   16        8  count (records of the segment)
//   24        8  length (frame bytes of the segment: its committed length)
//   32  8*count  the start of frame i, from the first frame, i = 0..count-1
//   32+8*count 8  XXH3-64 of every byte before
//
// An index file that is missing, of another size, fails its checksum, or
// does not describe the segment (count, length, offsets not increasing by
// whole frames) is ignored and the index rebuilt from the frames' length
// fields. Offsets from any source are bounds-checked before use and every
// read checks the frame it lands on (its length must fill exactly the
// span up to the next offset, its checksum must hold): an index that lies
// gives DataLoss, never bytes of another record.
//
// Thread safety: functions are pure; a BlobIndex is a value (one writer, or
// one reader, per object).

#ifndef MAPFILE_INTERNAL_BLOB_FORMAT_H_
#define MAPFILE_INTERNAL_BLOB_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mapfile/format.h"

namespace mapfile {
namespace internal {

// Largest record a BlobLog stores: 1 GiB. Larger is InvalidArgument at
// Append and DataLoss in a file.
inline constexpr uint64_t kMaxBlobSize = uint64_t{1} << 30;
inline constexpr uint64_t kBlobFrameHeader = 16;
inline constexpr uint64_t kBlobAlignment = 8;
inline constexpr char kIndexSuffix[] = ".idx";
inline constexpr char kIndexMagic[8] = {'M', 'F', 'B', 'L', 'O', 'B', 'I', 'X'};
inline constexpr uint64_t kIndexFileOverhead = 40;  // header and checksum

// The type a blob segment's header names: the frame format, not a user
// type (CheckCompatible compares it like any other).
TypeFingerprint BlobFingerprint();

// Bytes of the frame of a `length`-byte record.
constexpr uint64_t BlobFrameSize(uint64_t length) {
  return kBlobFrameHeader + (length + kBlobAlignment - 1) / kBlobAlignment *
                                kBlobAlignment;
}

// Writes the frame of record `seq` with `payload` at `to` (BlobFrameSize
// bytes, 8-aligned not required). REQUIRES: payload.size() <= kMaxBlobSize.
void EncodeBlobFrame(absl::string_view payload, uint64_t seq, std::byte* to);

// What a frame at some offset of a segment's frame area is.
enum class FrameCheck {
  kValid,        // header fits, length allowed, checksum holds
  kShort,        // fewer than 16 bytes, or the payload, before `limit`
  kBadLength,    // length above kMaxBlobSize or flags not 0
  kBadChecksum,  // the checksum does not hold (torn, damaged, or zeros)
};

// The payload length of the frame at `frames + at`, if its header fits
// before `limit` (bytes of the frame area) and its whole frame too; else
// kShort or kBadLength. Reads only the header: no checksum.
FrameCheck PeekBlobFrame(const std::byte* frames, uint64_t at, uint64_t limit,
                         uint64_t* length);
// PeekBlobFrame and then the checksum, for record `seq`.
FrameCheck CheckBlobFrame(const std::byte* frames, uint64_t at, uint64_t limit,
                          uint64_t seq, uint64_t* length);
// "is shorter than its header", "...": for messages.
const char* FrameCheckName(FrameCheck check);

// Where each frame of one segment starts, from the first frame. Dense (8
// bytes a record), so Read(seq) is two loads and a bounds check.
class BlobIndex {
 public:
  BlobIndex() : starts_{0} {}
  // Records indexed, and the bytes of their frames.
  uint64_t count() const { return starts_.size() - 1; }
  uint64_t bytes() const { return starts_.back(); }
  // REQUIRES: i < count(). Frame i is [start(i), start(i + 1)).
  uint64_t start(uint64_t i) const { return starts_[i]; }
  uint64_t end(uint64_t i) const { return starts_[i + 1]; }
  // A frame of `frame_size` bytes follows the last one.
  void Push(uint64_t frame_size) { starts_.push_back(bytes() + frame_size); }
  // Forgets records from `count` on. REQUIRES: count <= this->count().
  void Truncate(uint64_t count) { starts_.resize(count + 1); }

  // Indexes the frames after the last one in `frames` (a frame area of
  // `limit` bytes; record 0 of it has sequence number `first`), at most
  // until `count` records are indexed. With `verify`, each frame's checksum
  // too. Stops at the first frame that is not valid and returns what it
  // was, or kValid if it reached `count`.
  FrameCheck Extend(const std::byte* frames, uint64_t limit, uint64_t first,
                    uint64_t count, bool verify);

  // The NAME.idx bytes of this index for a segment whose first record is
  // `first`.
  std::string Encode(uint64_t first) const;
  // The index in `file` (NAME.idx's bytes) if it describes a segment from
  // `first` of `count` records in `length` frame bytes; else DataLoss
  // saying why (the caller rebuilds). Allocates only after checking the
  // file's size against `count`.
  static absl::StatusOr<BlobIndex> Decode(absl::string_view file,
                                          uint64_t first, uint64_t count,
                                          uint64_t length,
                                          absl::string_view path);

 private:
  std::vector<uint64_t> starts_;  // count() + 1 entries; starts_[0] == 0
};

// Frames that the `n` bytes at `bytes` (cut by recovery after the kept
// frames) touch: each whole frame header that parses, plus one for what
// follows the last (0 for no bytes).
uint64_t BlobFramesTouched(const std::byte* bytes, uint64_t n);

// OK if a compressed blob segment at `path` with header `h` can hold the
// records of its commit `c`: its image (control block of `control` bytes
// and frames, at most `max_image` bytes) holds at least a frame header a
// record, and is no larger than zstd can expand c.length bytes to (it
// encodes at most 128 KiB in a 4-byte block). Else DataLoss. Nothing may be
// sized by `h` or `c` before this.
absl::Status CheckCompressedBlobCommit(absl::string_view path,
                                       const FileHeader& h,
                                       const CommitSlot& c, uint64_t control,
                                       uint64_t max_image);

// "00000000000000001234.idx", beside the segment of the same first record.
std::string IndexFileName(uint64_t first_seq);
// The first sequence number of an index file name, or nullopt.
std::optional<uint64_t> ParseIndexFileName(absl::string_view name);

}  // namespace internal
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_BLOB_FORMAT_H_
