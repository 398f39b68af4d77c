// Copyright 2026 The mapfile Authors.
//
// The blob frame codec and offset index (mapfile/internal/blob_format.h).

#include "mapfile/internal/blob_format.h"

#include "absl/strings/str_cat.h"
#include "mapfile/internal/checksum.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"

namespace mapfile {
namespace internal {
namespace {

// Frames and index files are little-endian whatever the host, like the
// header (records are bytes: they have no byte order).
void Put(std::byte* p, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = std::byte(value >> (8 * i));
}
uint64_t Get(const std::byte* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t(p[i]) << (8 * i);
  return value;
}

uint64_t FrameChecksum(const std::byte* frame, uint64_t length, uint64_t seq) {
  return XXH3_64bits_withSeed(frame + 8, 8 + length, seq);
}

}  // namespace

TypeFingerprint BlobFingerprint() { return {"mapfile.blob", 1, 1, 1}; }

void EncodeBlobFrame(absl::string_view payload, uint64_t seq, std::byte* to) {
  Put(to + 8, payload.size(), 4);
  Put(to + 12, 0, 4);
  if (!payload.empty()) std::memcpy(to + 16, payload.data(), payload.size());
  const uint64_t padded = BlobFrameSize(payload.size());
  std::memset(to + 16 + payload.size(), 0,
              padded - kBlobFrameHeader - payload.size());
  Put(to, FrameChecksum(to, payload.size(), seq), 8);
}

FrameCheck PeekBlobFrame(const std::byte* frames, uint64_t at, uint64_t limit,
                         uint64_t* length) {
  if (at > limit || limit - at < kBlobFrameHeader) return FrameCheck::kShort;
  const std::byte* f = frames + at;
  const uint64_t n = Get(f + 8, 4);
  if (n > kMaxBlobSize || Get(f + 12, 4) != 0) return FrameCheck::kBadLength;
  if (limit - at < BlobFrameSize(n)) return FrameCheck::kShort;
  *length = n;
  return FrameCheck::kValid;
}

FrameCheck CheckBlobFrame(const std::byte* frames, uint64_t at, uint64_t limit,
                          uint64_t seq, uint64_t* length) {
  const FrameCheck peek = PeekBlobFrame(frames, at, limit, length);
  if (peek != FrameCheck::kValid) return peek;
  if (Get(frames + at, 8) != FrameChecksum(frames + at, *length, seq)) {
    return FrameCheck::kBadChecksum;
  }
  return FrameCheck::kValid;
}

const char* FrameCheckName(FrameCheck check) {
  switch (check) {
    case FrameCheck::kValid:
      return "is valid";
    case FrameCheck::kShort:
      return "runs past the end of the segment's frames";
    case FrameCheck::kBadLength:
      return "has a length above the maximum or non-zero flags";
    case FrameCheck::kBadChecksum:
      return "fails its checksum";
  }
  return "is unknown";
}

FrameCheck BlobIndex::Extend(const std::byte* frames, uint64_t limit,
                             uint64_t first, uint64_t count, bool verify) {
  while (this->count() < count) {
    uint64_t length = 0;
    const uint64_t seq = first + this->count();
    const FrameCheck check =
        verify ? CheckBlobFrame(frames, bytes(), limit, seq, &length)
               : PeekBlobFrame(frames, bytes(), limit, &length);
    if (check != FrameCheck::kValid) return check;
    Push(BlobFrameSize(length));
  }
  return FrameCheck::kValid;
}

std::string BlobIndex::Encode(uint64_t first) const {
  std::string out(kIndexFileOverhead + 8 * count(), '\0');
  std::byte* p = reinterpret_cast<std::byte*>(out.data());
  std::memcpy(p, kIndexMagic, 8);
  Put(p + 8, first, 8);
  Put(p + 16, count(), 8);
  Put(p + 24, bytes(), 8);
  for (uint64_t i = 0; i < count(); ++i) Put(p + 32 + 8 * i, starts_[i], 8);
  const uint64_t body = out.size() - 8;
  Put(p + body, Xxh3(p, body), 8);
  return out;
}

absl::StatusOr<BlobIndex> BlobIndex::Decode(absl::string_view file,
                                            uint64_t first, uint64_t count,
                                            uint64_t length,
                                            absl::string_view path) {
  auto bad = [&](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat("blob index ", os::Quote(path), ": ", what));
  };
  // The segment's count is already bounded by its (real) frame bytes; the
  // file must have exactly the size that count implies before anything is
  // allocated from it.
  if (count > (length / kBlobFrameHeader) || (count == 0) != (length == 0) ||
      file.size() != kIndexFileOverhead + 8 * count) {
    return bad(absl::StrCat("is ", file.size(), " bytes; ", count,
                            " records need ",
                            kIndexFileOverhead + 8 * count));
  }
  const std::byte* p = reinterpret_cast<const std::byte*>(file.data());
  const uint64_t body = file.size() - 8;
  if (std::memcmp(p, kIndexMagic, 8) != 0 ||
      Get(p + body, 8) != Xxh3(p, body)) {
    return bad("bad magic or checksum");
  }
  if (Get(p + 8, 8) != first || Get(p + 16, 8) != count ||
      Get(p + 24, 8) != length) {
    return bad(absl::StrCat("describes records from ", Get(p + 8, 8), ", ",
                            Get(p + 16, 8), " of them in ", Get(p + 24, 8),
                            " bytes; the segment has ", first, ", ", count,
                            ", ", length));
  }
  BlobIndex index;
  index.starts_.clear();
  index.starts_.reserve(count + 1);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t start = Get(p + 32 + 8 * i, 8);
    const uint64_t previous = i == 0 ? 0 : index.starts_.back();
    if ((i == 0 && start != 0) ||
        (i > 0 && (start < previous || start - previous < kBlobFrameHeader)) ||
        start % kBlobAlignment != 0 || start > length ||
        length - start < kBlobFrameHeader) {
      return bad(absl::StrCat("frame ", i, " starts at ", start,
                              ", not a frame boundary"));
    }
    index.starts_.push_back(start);
  }
  index.starts_.push_back(length);
  return index;
}

uint64_t BlobFramesTouched(const std::byte* bytes, uint64_t n) {
  uint64_t frames = 0;
  uint64_t at = 0;
  uint64_t length = 0;
  while (at < n && PeekBlobFrame(bytes, at, n, &length) == FrameCheck::kValid) {
    ++frames;
    at += BlobFrameSize(length);
  }
  return at < n ? frames + 1 : frames;
}

absl::Status CheckCompressedBlobCommit(absl::string_view path,
                                       const FileHeader& h,
                                       const CommitSlot& c, uint64_t control,
                                       uint64_t max_image) {
  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(absl::StrCat("compressed blob log segment ",
                                            os::Quote(path), ": ", what));
  };
  const uint64_t image = h.uncompressed_length;
  if (image < control || image > max_image ||
      (image - control) / kBlobFrameHeader < c.count ||
      (image - control) % kBlobAlignment != 0) {
    return corrupt(absl::StrCat("holds ", image, " bytes uncompressed; ",
                                c.count, " records need at least ",
                                control, " + ", kBlobFrameHeader, " each, ",
                                "and a segment at most ", max_image));
  }
  constexpr uint64_t kMostExpansion = (uint64_t{128} << 10) / 4;
  if (c.length == 0 || image / kMostExpansion > c.length) {
    return corrupt(absl::StrCat(c.length, " compressed bytes cannot hold ",
                                image, " bytes"));
  }
  return absl::OkStatus();
}

std::optional<uint64_t> ParseIndexFileName(absl::string_view name) {
  return ParseSequenceFileName(name, kIndexSuffix);
}

std::string IndexFileName(uint64_t first_seq) {
  return SequenceFileName(first_seq, kIndexSuffix);
}

}  // namespace internal
}  // namespace mapfile
