// Copyright 2026 The mapfile Authors.
//
// Arbitrary bytes as a blob log's segment and offset index: read by a
// BlobReader, then recovered by a BlobLog, which reads everything and
// appends. Errors only; a record returned must be one a frame holds whole.
//
// Input: byte 0 bit 0 clear: the bytes are the log's only (active)
// segment. Set: bytes 1-2 (little-endian) are the length L of a segment
// that is sealed by a valid empty successor segment named byte 0 >> 1, so
// the segment must hold that many records; bytes [3, 3 + L) are it and the
// rest is its NAME.idx.

#include <algorithm>
#include <string>

#include "mapfile/blob_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/log_format.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

// A valid empty blob segment whose first record is `first`.
std::string EmptySegment(uint64_t first) {
  std::string bytes(mapfile::kHeaderSize + 64, '\0');
  auto header = mapfile::NewHeader(mapfile::ContainerKind::kBlobSegment,
                                   mapfile::internal::BlobFingerprint(), 8);
  if (!header.ok()) std::abort();
  header->first_sequence = first;
  const absl::Span<std::byte> page(reinterpret_cast<std::byte*>(bytes.data()),
                                   mapfile::kHeaderSize);
  mapfile::EncodeHeader(*header, page);
  mapfile::EncodeSlot({1, 0, 0}, page);
  return bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using mapfile::internal::IndexFileName;
  using mapfile::internal::SegmentFileName;
  const std::string dir = mapfile::fuzz::FreshDir("blob_segment");
  if (size >= 3 && (data[0] & 1) != 0) {
    const size_t length = std::min<size_t>(data[1] | (data[2] << 8), size - 3);
    mapfile::fuzz::Write(dir + "/" + SegmentFileName(0), data + 3, length);
    mapfile::fuzz::Write(dir + "/" + IndexFileName(0), data + 3 + length,
                         size - 3 - length);
    const std::string next = EmptySegment(data[0] >> 1);
    mapfile::fuzz::Write(dir + "/" + SegmentFileName(data[0] >> 1),
                         reinterpret_cast<const uint8_t*>(next.data()),
                         next.size());
  } else {
    mapfile::fuzz::Write(dir + "/" + SegmentFileName(0), data, size);
  }
  std::string record;
  if (auto r = mapfile::BlobReader::Open(dir); r.ok()) {
    for (uint64_t s = r->first_seq(); s < r->next_seq() && s < 4096; ++s) {
      if (r->Read(s, &record).ok() &&
          record.size() > mapfile::internal::kMaxBlobSize) {
        std::abort();
      }
    }
  }
  mapfile::LogOptions o;
  o.mode = mapfile::OpenMode::kReadWrite;
  o.segment_size = 16 << 10;
  if (auto w = mapfile::BlobLog::Open(dir, o); w.ok()) {
    for (uint64_t s = w->first_seq(); s < w->next_seq() && s < 4096; ++s) {
      (void)w->Read(s, &record);
    }
    if (w->Append("fuzz").ok()) (void)w->Sync();
  }
  return 0;
}
