// Copyright 2026 The mapfile Authors.
//
// log_format.cc: the checks of mapfile/internal/log_format.h, the one
// place that decides whether a frame or a commit read from a file can be
// trusted (for the log engine and the `mapfile` tool alike).

#include "mapfile/internal/log_format.h"

#include "absl/strings/str_cat.h"
#include "mapfile/internal/checksum.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

uint64_t RecordChecksum(const void* payload, size_t size, uint64_t seq) {
  return XXH3_64bits_withSeed(payload, size, seq);
}

absl::Status CheckCount(absl::string_view path, uint64_t count,
                        uint64_t control, uint64_t stride) {
  const uint64_t most = (kMaxSegmentSize - control) / stride;
  if (count <= most) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat("log segment \"", path, "\" claims ", count,
                   " records; a segment holds at most ", most));
}

absl::Status CheckCommit(absl::string_view path, const LogLayout& layout,
                         const FileHeader& h, const CommitSlot& c,
                         uint64_t file_size) {
  if (h.data_offset != layout.data_offset()) {
    return absl::DataLossError(absl::StrCat(
        "log segment \"", path, "\": data at offset ", h.data_offset,
        "; records of its type start at ", layout.data_offset()));
  }
  const uint64_t room = layout.Capacity(file_size);
  if (c.count > room || c.length != c.count * layout.stride) {
    return absl::DataLossError(absl::StrCat(
        "log segment \"", path, "\": commit ", c.sequence, " says ", c.count,
        " records in ", c.length, " bytes (frames of ", layout.stride,
        " bytes, room for ", room, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckCompressedCommit(absl::string_view path,
                                   const LogLayout& layout,
                                   const FileHeader& h, const CommitSlot& c) {
  MAPFILE_RETURN_IF_ERROR(
      CheckCount(path, c.count, layout.control_size, layout.stride));
  const uint64_t length = layout.control_size + c.count * layout.stride;
  auto corrupt = [&](const std::string& what) {
    return absl::DataLossError(
        absl::StrCat("compressed log segment \"", path, "\": ", what));
  };
  if (h.uncompressed_length != length) {
    return corrupt(absl::StrCat("holds ", h.uncompressed_length,
                                " bytes uncompressed; ", c.count,
                                " records need ", length));
  }
  if (c.length < c.count * 4) {
    return corrupt(absl::StrCat(c.length, " compressed bytes cannot hold ",
                                c.count, " records (at least 4 bytes each)"));
  }
  return absl::OkStatus();
}


}  // namespace internal
}  // namespace mapfile
