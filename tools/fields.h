// Copyright 2026 The mapfile Authors.
//
// fields.h: records printed by their field schema (MAPFILE_FIELDS, stored
// in the header; docs/FORMAT.md): as aligned named columns, as JSON Lines
// with typed values, or as CSV with a header row. What `dump`, `tail` and
// `follow` print for a file that has a schema.
//
// Every value is built from the record's bytes through the schema that
// DecodeHeader validated (each field inside the record), so no byte is read
// outside the record. Text fields are escaped (tools/terminal.h: printable
// ASCII as is, everything else \xNN, \ as \\) before any quoting, so no
// control byte from a file reaches a terminal, a CSV cell or a JSON string.
//
// Thread safety: a FieldPrinter belongs to one thread.

#ifndef MAPFILE_TOOLS_FIELDS_H_
#define MAPFILE_TOOLS_FIELDS_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "mapfile/format.h"

namespace mapfile {
namespace cli {

enum class RecordFormat { kColumns, kJson, kCsv };

// The key of the sequence number (vector: index) in every row: "seq", or
// "_seq" (then "__seq", ...) if a field already has that name.
std::string SequenceKey(const TypeFingerprint& type);

// Prints records of `type` to `out`. If `type` has no fields, the record is
// one bytes field named "bytes" (hex), so CSV works for every file.
class FieldPrinter {
 public:
  FieldPrinter(const TypeFingerprint& type, ByteOrder order,
               RecordFormat format, std::ostream& out);
  FieldPrinter(const FieldPrinter&) = delete;
  FieldPrinter& operator=(const FieldPrinter&) = delete;

  // Prints (or, for columns, may buffer) record `seq`; `record` holds
  // type.size bytes.
  void Add(uint64_t seq, const std::byte* record);
  // Prints what is buffered. Columns take their widths from the rows of the
  // first flush (at most kWidthRows of them are buffered before it happens
  // by itself); a later wider value widens its row only.
  void Flush();

  static constexpr size_t kWidthRows = 64;

 private:
  struct Column {
    std::string header;
    const FieldInfo* field;
    uint32_t element;  // index in an array field
    bool right;        // numbers are right-aligned
  };
  std::string Cell(const Column& c, const std::byte* record) const;
  std::string JsonValue(const FieldInfo& f, const std::byte* record) const;
  void PrintRow(const std::vector<std::string>& cells);

  TypeFingerprint type_;
  bool big_;  // records are big-endian
  RecordFormat format_;
  std::ostream& out_;
  std::string seq_key_;
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> pending_;
  std::vector<size_t> widths_;
  bool header_done_ = false;
};

// The bytes [offset, offset + size) of the record not covered by any field
// (members that are not listed, and padding), in offset order.
struct Gap {
  uint64_t offset;
  uint64_t size;
};
std::vector<Gap> Gaps(const TypeFingerprint& type);

}  // namespace cli
}  // namespace mapfile

#endif  // MAPFILE_TOOLS_FIELDS_H_
