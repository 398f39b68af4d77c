// Copyright 2026 The mapfile Authors.

#include "tools/inspect.h"

#include <fcntl.h>
#include <zstd.h>

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "mapfile/mapped_file.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace cli {
absl::StatusOr<os::Fd> OpenInput(const std::string& path, struct stat* st) {
  MAPFILE_ASSIGN_OR_RETURN(os::Fd fd,
                           os::Open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY));
  MAPFILE_ASSIGN_OR_RETURN(*st, os::Fstat(fd.get(), path));
  if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is ", os::FileTypeName(st->st_mode),
                     ", not a mapfile file or log directory"));
  }
  return fd;
}

absl::StatusOr<FileReader> FileReader::Open(const std::string& path) {
  struct stat st;
  FileReader r;
  MAPFILE_ASSIGN_OR_RETURN(r.fd_, OpenInput(path, &st));
  if (S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is a directory, not a mapfile file"));
  }
  MAPFILE_RETURN_IF_ERROR(r.Refresh());
  return r;
}

absl::Status FileReader::Refresh() {
  const std::string& path = fd_.path();
  MAPFILE_ASSIGN_OR_RETURN(struct stat st, os::Fstat(fd_.get(), path));
  size_ = static_cast<uint64_t>(st.st_size);
  allocated_ = static_cast<uint64_t>(st.st_blocks) * 512;
  if (size_ == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", path, "\" is empty, not a mapfile file"));
  }
  // The header page, zero-padded when the file is shorter: decoding the
  // padded copy tells a foreign file (no magic: not ours) from a mapfile
  // file cut inside its header (damage).
  std::byte page[kHeaderSize] = {};
  MAPFILE_ASSIGN_OR_RETURN(
      size_t got, os::Pread(fd_.get(), path, page, kHeaderSize, 0));
  absl::StatusOr<FileHeader> header =
      DecodeHeader(absl::MakeConstSpan(page, kHeaderSize), path);
  if (got < kHeaderSize &&
      (header.ok() || !absl::IsInvalidArgument(header.status()))) {
    header = DecodeHeader(absl::MakeConstSpan(page, got), path);
  }
  if (!header.ok()) return header.status();
  header_ = *std::move(header);
  commit_ = LatestCommit(header_, size_, path);
  return absl::OkStatus();
}

absl::Status FileReader::Read(uint64_t offset, void* buffer,
                              size_t size) const {
  MAPFILE_ASSIGN_OR_RETURN(size_t got,
                           os::Pread(fd_.get(), path(), buffer, size, offset));
  if (got < size) {
    return absl::DataLossError(absl::StrCat(
        "\"", path(), "\" ends at byte ", offset + got, " but ", size,
        " bytes were expected at offset ", offset,
        " (the file shrank while it was read?)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<double> FileReader::Residency() const {
  MappedFile::Options options;
  options.mode = OpenMode::kReadOnly;
  options.reserve = 0;  // just the file
  options.lock = false;  // inspecting a live file must not block its writer
  MAPFILE_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path(), options));
  return file.Residency();
}

absl::StatusOr<std::vector<SegmentName>> ListSegments(const std::string& dir) {
  MAPFILE_ASSIGN_OR_RETURN(std::vector<std::string> names, os::ReadDir(dir));
  std::vector<SegmentName> segments;
  for (const std::string& name : names) {
    if (std::optional<uint64_t> first = internal::ParseSegmentFileName(name)) {
      segments.push_back({*first, absl::StrCat(dir, "/", name)});
    }
  }
  if (segments.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", dir, "\" is a directory with no log segments (*",
        internal::kSegmentSuffix, "), not a mapfile log"));
  }
  std::sort(segments.begin(), segments.end(),
            [](const SegmentName& a, const SegmentName& b) {
              return a.first < b.first;
            });
  return segments;
}

absl::StatusOr<std::vector<SegmentName>> ListSegmentFiles(
    const std::string& dir, absl::string_view suffix) {
  MAPFILE_ASSIGN_OR_RETURN(std::vector<std::string> names, os::ReadDir(dir));
  std::vector<SegmentName> files;
  for (const std::string& name : names) {
    if (!absl::EndsWith(name, suffix)) continue;
    const absl::string_view base =
        absl::string_view(name).substr(0, name.size() - suffix.size());
    if (std::optional<uint64_t> first = internal::ParseSegmentFileName(base)) {
      files.push_back({*first, absl::StrCat(dir, "/", name)});
    }
  }
  std::sort(files.begin(), files.end(),
            [](const SegmentName& a, const SegmentName& b) {
              return a.first < b.first;
            });
  return files;
}

absl::StatusOr<std::unique_ptr<internal::LogStore>> OpenLog(
    const std::string& dir, const TypeFingerprint& type) {
  return internal::LogStore::Open(dir, LogOptions(), type, /*writer=*/false);
}

absl::StatusOr<uint64_t> CheckFrames(
    const FileReader& f, const internal::LogLayout& layout, uint64_t begin,
    uint64_t end, const std::function<bool(uint64_t, uint64_t)>& bad,
    const std::function<void(uint64_t)>& progress) {
  const uint64_t first = f.header().first_sequence;
  const uint64_t per_chunk = std::max<uint64_t>(1, (1 << 20) / layout.stride);
  std::vector<std::byte> buffer(
      std::min(per_chunk, end > begin ? end - begin : 0) * layout.stride);
  uint64_t checked = 0;
  for (uint64_t i = begin; i < end;) {
    const uint64_t n = std::min(per_chunk, end - i);
    const uint64_t at = layout.records_offset() + i * layout.stride;
    MAPFILE_RETURN_IF_ERROR(f.Read(at, buffer.data(), n * layout.stride));
    for (uint64_t k = 0; k < n; ++k, ++checked) {
      if (!internal::FrameValid(buffer.data() + k * layout.stride,
                                layout.payload, layout.checksum_at,
                                first + i + k) &&
          !bad(first + i + k, at + k * layout.stride)) {
        return checked + 1;
      }
    }
    i += n;
    if (progress) progress(i - begin);
  }
  return checked;
}

absl::StatusOr<uint64_t> CheckCompressedFrames(
    const FileReader& f, const internal::LogLayout& layout,
    const CommitSlot& commit,
    const std::function<bool(uint64_t, uint64_t)>& bad) {
  const FileHeader& h = f.header();
  auto corrupt = [&](absl::string_view what) {
    return absl::DataLossError(
        absl::StrCat("compressed log segment \"", f.path(), "\": ", what));
  };
  MAPFILE_RETURN_IF_ERROR(
      internal::CheckCompressedCommit(f.path(), layout, h, commit));
  const uint64_t expected = h.uncompressed_length;
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream*)> stream(
      ZSTD_createDStream(), ZSTD_freeDStream);
  if (!stream) return absl::ResourceExhaustedError("zstd: no memory");
  std::vector<std::byte> in(ZSTD_DStreamInSize()), out(ZSTD_DStreamOutSize());
  // Grown as bytes arrive: memory follows what the file really holds, not
  // the record size its header claims.
  std::vector<std::byte> frame;
  uint64_t produced = 0, read = 0, checked = 0;
  size_t pending = 1;  // ZSTD_decompressStream's "more input expected"
  while (read < commit.length || pending != 0) {
    if (read == commit.length) return corrupt("the zstd frame is cut short");
    const size_t n = static_cast<size_t>(
        std::min<uint64_t>(in.size(), commit.length - read));
    MAPFILE_RETURN_IF_ERROR(f.Read(h.data_offset + read, in.data(), n));
    read += n;
    ZSTD_inBuffer input{in.data(), n, 0};
    while (input.pos < input.size) {
      ZSTD_outBuffer output{out.data(), out.size(), 0};
      pending = ZSTD_decompressStream(stream.get(), &output, &input);
      if (ZSTD_isError(pending)) return corrupt(ZSTD_getErrorName(pending));
      for (size_t k = 0; k < output.pos; ++k, ++produced) {
        if (produced >= expected) return corrupt("decompresses to too many bytes");
        if (produced < layout.control_size) continue;
        frame.push_back(out[k]);
        if (frame.size() < layout.stride) continue;
        const uint64_t index = (produced - layout.control_size) / layout.stride;
        ++checked;
        const bool valid =
            internal::FrameValid(frame.data(), layout.payload,
                                 layout.checksum_at, h.first_sequence + index);
        frame.clear();
        if (!valid &&
            !bad(h.first_sequence + index,
                 layout.control_size + index * layout.stride)) {
          return checked;
        }
      }
    }
  }
  if (produced != expected) {
    return corrupt(absl::StrCat("decompresses to ", produced, " bytes, not ",
                                expected));
  }
  return checked;
}

std::string ByteOrderName(ByteOrder order) {
  switch (order) {
    case ByteOrder::kLittle:
      return "little-endian";
    case ByteOrder::kBig:
      return "big-endian";
  }
  return absl::StrCat("byte order ", static_cast<int>(order));
}

std::string ChecksumName(ChecksumAlgorithm algorithm) {
  if (algorithm == ChecksumAlgorithm::kXxh3_64) return "xxh3-64";
  return absl::StrCat("checksum ", static_cast<int>(algorithm));
}

}  // namespace cli
}  // namespace mapfile
