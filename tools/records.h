// Copyright 2026 The mapfile Authors.
//
// records.h: the records of a vector or a log, without their type: what
// `dump`, `tail` and `follow` print. A vector's records are read with pread
// (FileReader); a log's through the library's untyped log reader
// (internal::LogStore in mapfile/internal/log_store.h, the engine of
// LogReader<T>), so they are committed
// and checksum-verified exactly as a LogReader<T> would see them.
//
// Thread safety: a Records object is used by one thread.

#ifndef MAPFILE_TOOLS_RECORDS_H_
#define MAPFILE_TOOLS_RECORDS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "tools/inspect.h"

namespace mapfile {
namespace cli {

// Raw record bytes go to a file, or to stdout when it is not a terminal.
class RawSink {
 public:
  // "" or "-": stdout (InvalidArgument if it is a terminal). A file `path`
  // that does not exist is created, as cp(1) creates a copy, with the read
  // and write bits of `source` (the vector, segment or log directory the
  // records come from) under the umask: a copy of private records is not
  // readable by more users than they are.
  static absl::StatusOr<RawSink> Open(const std::string& path,
                                      const std::string& source);
  absl::Status Write(const std::byte* data, size_t size);
  absl::Status Close();

 private:
  os::Fd fd_;
  uint64_t at_ = 0;
};

class Records {
 public:
  // Resolves `path` (a vector file, a log segment or a log directory). A
  // segment stands for its log, limited to the segment's records.
  static absl::StatusOr<std::unique_ptr<Records>> Open(const std::string& path);
  virtual ~Records() = default;

  // The committed records are [first(), next()); next() looks for news.
  virtual uint64_t first() = 0;
  virtual uint64_t next() = 0;
  // "vector of \"T\" v1 (16 bytes, align 8)" (not escaped).
  virtual std::string Describe() const = 0;
  // The record type as the header says (with its field schema, if any),
  // and the records' byte order.
  virtual const TypeFingerprint& type() const = 0;
  virtual ByteOrder byte_order() const = 0;

  // Copies record `seq`'s type().size payload bytes into *out (checksum
  // verified, for a log). DataLoss if it fails its checksum.
  virtual absl::Status Payload(uint64_t seq, std::string* out) = 0;

  // Prints record `seq`: raw bytes to `raw`; else as a JSON object into
  // *records (appended to an array, assigned otherwise); else as hex lines
  // under a line that gives its sequence number, segment, offset and size.
  // DataLoss if it fails its checksum.
  virtual absl::Status Emit(uint64_t seq, nlohmann::json* records,
                            RawSink* raw) = 0;

  // Returns once record `seq` is committed; DeadlineExceeded after
  // `timeout`.
  virtual absl::Status Wait(uint64_t seq, absl::Duration timeout) = 0;
};

}  // namespace cli
}  // namespace mapfile

#endif  // MAPFILE_TOOLS_RECORDS_H_
