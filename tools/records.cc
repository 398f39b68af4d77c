// Copyright 2026 The mapfile Authors.

#include "tools/records.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <iostream>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "mapfile/blob_log.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/status_macros.h"
#include "tools/terminal.h"

namespace mapfile {
namespace cli {
namespace {

using json = nlohmann::json;

constexpr size_t kChunk = size_t{1} << 20;

// Where a record's payload lies, and how to read `n` of its bytes from
// `at` (relative to the payload).
struct RecordAt {
  uint64_t sequence;
  std::string segment;  // "" for a vector
  uint64_t offset;      // in the file (a compressed segment: in its image)
  uint64_t size;
  std::function<absl::Status(uint64_t at, std::byte* out, size_t n)> read;
};

// The bytes are streamed in chunks, so memory does not grow with the
// record size a header claims.
absl::Status EmitRecord(const RecordAt& r, json* records, RawSink* raw) {
  if (!raw && !records) {
    std::cout << absl::StrFormat(
        "record %d  %soffset %d  %d bytes\n", r.sequence,
        r.segment.empty() ? "" : absl::StrCat("segment ", Escape(r.segment), "  "),
        r.offset, r.size);
  }
  std::string hex;
  std::vector<std::byte> buffer(std::min<uint64_t>(kChunk, r.size));
  for (uint64_t done = 0; done < r.size;) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(kChunk, r.size - done));
    MAPFILE_RETURN_IF_ERROR(r.read(done, buffer.data(), n));
    if (raw) {
      MAPFILE_RETURN_IF_ERROR(raw->Write(buffer.data(), n));
    } else if (records) {
      hex += Hex(buffer.data(), n);
    } else {
      HexDump(std::cout, buffer.data(), n, r.offset + done);
    }
    done += n;
  }
  if (records) {
    json record = {{"sequence", r.sequence},
                   {"offset", r.offset},
                   {"size", r.size},
                   {"hex", hex}};
    if (!r.segment.empty()) record["segment"] = r.segment;
    records->is_array() ? records->push_back(std::move(record))
                        : void(*records = std::move(record));
  }
  return absl::OkStatus();
}

class VectorRecords final : public Records {
 public:
  explicit VectorRecords(FileReader f) : f_(std::move(f)) {}
  uint64_t first() override { return 0; }
  uint64_t next() override { return f_.commit()->count; }
  std::string Describe() const override {
    return absl::StrCat("vector of ", f_.header().type.ToString());
  }
  const TypeFingerprint& type() const override { return f_.header().type; }
  ByteOrder byte_order() const override { return f_.header().byte_order; }
  absl::Status Payload(uint64_t seq, std::string* out) override {
    const uint64_t size = f_.header().type.size;
    out->resize(size);
    return f_.Read(f_.header().data_offset + seq * size, out->data(), size);
  }
  absl::Status Emit(uint64_t seq, json* records, RawSink* raw) override {
    const uint64_t size = f_.header().type.size;
    const uint64_t offset = f_.header().data_offset + seq * size;
    return EmitRecord({seq, "", offset, size,
                       [&](uint64_t at, std::byte* out, size_t n) {
                         return f_.Read(offset + at, out, n);
                       }},
                      records, raw);
  }
  // Vectors have no wake-up word: poll the header.
  absl::Status Wait(uint64_t seq, absl::Duration timeout) override {
    const absl::Time deadline = absl::Now() + timeout;
    while (next() <= seq) {
      if (absl::Now() >= deadline) {
        return absl::DeadlineExceededError("no new record");
      }
      absl::SleepFor(absl::Milliseconds(20));
      MAPFILE_RETURN_IF_ERROR(f_.Refresh());
      MAPFILE_RETURN_IF_ERROR(f_.commit().status());
    }
    return absl::OkStatus();
  }

 private:
  FileReader f_;
};

class LogRecords final : public Records {
 public:
  LogRecords(std::unique_ptr<internal::LogStore> store, TypeFingerprint type,
             ByteOrder order, uint64_t lo, uint64_t hi)
      : store_(std::move(store)), type_(std::move(type)), order_(order),
        layout_(type_), lo_(lo), hi_(hi) {}
  uint64_t first() override { return std::max(lo_, store_->first_seq()); }
  uint64_t next() override { return std::min(hi_, store_->next_seq()); }
  std::string Describe() const override {
    return absl::StrCat("log of ", type_.ToString());
  }
  const TypeFingerprint& type() const override { return type_; }
  ByteOrder byte_order() const override { return order_; }
  absl::Status Payload(uint64_t seq, std::string* out) override {
    MAPFILE_ASSIGN_OR_RETURN(const std::byte* frame, Frame(seq));
    out->assign(reinterpret_cast<const char*>(frame), layout_.payload);
    return absl::OkStatus();
  }
  absl::Status Emit(uint64_t seq, json* records, RawSink* raw) override {
    MAPFILE_ASSIGN_OR_RETURN(internal::RecordRun run, store_->Run(seq));
    MAPFILE_ASSIGN_OR_RETURN(const std::byte* frame, Frame(seq));
    return EmitRecord(
        {seq, internal::SegmentFileName(run.first),
         layout_.records_offset() + (seq - run.first) * layout_.stride,
         layout_.payload,
         [frame](uint64_t at, std::byte* out, size_t n) {
           std::memcpy(out, frame + at, n);
           return absl::OkStatus();
         }},
        records, raw);
  }
  // Record `seq`'s frame, its checksum verified.
  absl::StatusOr<const std::byte*> Frame(uint64_t seq) {
    MAPFILE_ASSIGN_OR_RETURN(internal::RecordRun run, store_->Run(seq));
    const std::byte* frame = run.base + (seq - run.first) * layout_.stride;
    if (!store_->Valid(frame, seq)) {
      return absl::DataLossError(
          absl::StrCat("log \"", store_->dir(), "\": record ", seq, " in ",
                       internal::SegmentFileName(run.first),
                       " fails its checksum"));
    }
    return frame;
  }
  absl::Status Wait(uint64_t seq, absl::Duration timeout) override {
    if (seq >= hi_) {  // past this segment: nothing will come
      absl::SleepFor(timeout);
      return absl::DeadlineExceededError("the segment is complete");
    }
    return store_->WaitFor(seq, timeout);
  }

 private:
  std::unique_ptr<internal::LogStore> store_;
  TypeFingerprint type_;
  ByteOrder order_;
  internal::LogLayout layout_;
  uint64_t lo_, hi_;
};

// Whether `bytes` are UTF-8 text a terminal shows as it is: valid UTF-8
// without control characters (C0, DEL, C1).
bool PrintableUtf8(absl::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    const int n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
    if (n == 0 || (c >= 0xf0 && n != 4) || i + n > bytes.size()) return false;
    uint32_t cp = c & (0x7f >> n);
    for (int k = 1; k < n; ++k) {
      const auto d = static_cast<unsigned char>(bytes[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    // Overlong forms, surrogates, past U+10FFFF, C1 controls.
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0)) {
      return false;
    }
    i += n;
  }
  return true;
}

// A blob log through the library's BlobReader: each record is read whole
// (checked) and printed as text when it is printable UTF-8, escaped
// otherwise.
class BlobRecords final : public Records {
 public:
  BlobRecords(BlobReader reader, uint64_t lo, uint64_t hi)
      : reader_(std::move(reader)), lo_(lo), hi_(hi) {}
  uint64_t first() override { return std::max(lo_, reader_.first_seq()); }
  uint64_t next() override { return std::min(hi_, reader_.next_seq()); }
  std::string Describe() const override {
    return "blob log (variable-length records)";
  }
  const TypeFingerprint& type() const override { return type_; }
  ByteOrder byte_order() const override { return kHostByteOrder; }
  // Blob records are bytes of any length, with no fields to print (--csv,
  // or a schema, is for records of a type).
  absl::Status Payload(uint64_t seq, std::string*) override {
    return absl::InvalidArgumentError(absl::StrCat(
        "record ", seq, " of a blob log has no fields to print; dump it as "
        "text, --json or --raw"));
  }
  absl::Status Emit(uint64_t seq, json* records, RawSink* raw) override {
    MAPFILE_RETURN_IF_ERROR(reader_.Read(seq, &record_));
    const auto* bytes = reinterpret_cast<const std::byte*>(record_.data());
    if (raw) return raw->Write(bytes, record_.size());
    const bool text = PrintableUtf8(record_);
    if (records) {
      json r = {{"sequence", seq}, {"size", record_.size()}};
      if (text) {
        r["text"] = record_;
      } else {
        r["hex"] = Hex(bytes, record_.size());
      }
      records->is_array() ? records->push_back(std::move(r))
                          : void(*records = std::move(r));
      return absl::OkStatus();
    }
    // Text as it is; anything else escaped (\xNN), so a record can never
    // drive the terminal.
    std::cout << absl::StrFormat("record %d  %d bytes%s  %s\n", seq,
                                 record_.size(), text ? "" : " (escaped)",
                                 text ? record_ : Escape(record_));
    return absl::OkStatus();
  }
  absl::Status Wait(uint64_t seq, absl::Duration timeout) override {
    if (seq >= hi_) {  // past this segment: nothing will come
      absl::SleepFor(timeout);
      return absl::DeadlineExceededError("the segment is complete");
    }
    return reader_.WaitFor(seq, timeout);
  }

 private:
  BlobReader reader_;
  uint64_t lo_, hi_;
  std::string record_;
  TypeFingerprint type_ = internal::BlobFingerprint();
};

std::string Parent(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

absl::StatusOr<RawSink> RawSink::Open(const std::string& path,
                                      const std::string& source) {
  RawSink sink;
  if (path.empty() || path == "-") {
    if (IsTerminal(STDOUT_FILENO)) {
      return absl::InvalidArgumentError(
          "--raw: stdout is a terminal; redirect it or give --output FILE");
    }
    return sink;
  }
  MAPFILE_ASSIGN_OR_RETURN(struct stat from, os::Stat(source));
  MAPFILE_ASSIGN_OR_RETURN(
      sink.fd_,
      os::Open(path, O_WRONLY | O_CREAT | O_TRUNC, from.st_mode & 0666));
  return sink;
}

absl::Status RawSink::Write(const std::byte* data, size_t size) {
  if (!fd_.valid()) {
    std::cout.write(reinterpret_cast<const char*>(data),
                    static_cast<std::streamsize>(size));
    return std::cout ? absl::OkStatus()
                     : absl::DataLossError("--raw: writing to stdout failed");
  }
  MAPFILE_RETURN_IF_ERROR(os::Pwrite(fd_.get(), fd_.path(), data, size, at_));
  at_ += size;
  return absl::OkStatus();
}

absl::Status RawSink::Close() {
  std::cout.flush();
  return fd_.valid() ? fd_.Close() : absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Records>> Records::Open(
    const std::string& path) {
  struct stat st;
  MAPFILE_ASSIGN_OR_RETURN(os::Fd fd, OpenInput(path, &st));
  std::string dir = path;
  std::string segment = path;
  uint64_t lo = 0, hi = std::numeric_limits<uint64_t>::max();
  if (S_ISDIR(st.st_mode)) {
    MAPFILE_ASSIGN_OR_RETURN(std::vector<SegmentName> segments,
                             ListSegments(path));
    segment = segments.back().path;  // the active one says the type
  }
  MAPFILE_ASSIGN_OR_RETURN(FileReader f, FileReader::Open(segment));
  MAPFILE_RETURN_IF_ERROR(f.commit().status());
  const FileHeader& h = f.header();
  if (h.kind == ContainerKind::kVector) {
    return std::unique_ptr<Records>(new VectorRecords(std::move(f)));
  }
  if (h.kind != ContainerKind::kLogSegment &&
      h.kind != ContainerKind::kBlobSegment) {
    return absl::UnimplementedError(absl::StrCat(
        "\"", segment, "\" holds a ", KindName(h.kind),
        ", which this version of the tool cannot read"));
  }
  if (!S_ISDIR(st.st_mode)) {  // one segment: its records, via its log
    dir = Parent(path);
    lo = h.first_sequence;
    MAPFILE_ASSIGN_OR_RETURN(std::vector<SegmentName> segments,
                             ListSegments(dir));
    for (const SegmentName& s : segments) {
      if (s.first > lo) {
        hi = s.first;
        break;
      }
    }
  }
  if (h.kind == ContainerKind::kBlobSegment) {
    MAPFILE_ASSIGN_OR_RETURN(BlobReader reader, BlobReader::Open(dir));
    return std::unique_ptr<Records>(
        new BlobRecords(std::move(reader), lo, hi));
  }
  MAPFILE_ASSIGN_OR_RETURN(std::unique_ptr<internal::LogStore> store,
                           OpenLog(dir, h.type));
  return std::unique_ptr<Records>(
      new LogRecords(std::move(store), h.type, h.byte_order, lo, hi));
}

}  // namespace cli
}  // namespace mapfile
