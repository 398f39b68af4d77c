// Copyright 2026 The mapfile Authors.

#include "tools/fields.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "tools/terminal.h"

namespace mapfile {
namespace cli {
namespace {

// The `n`-byte unsigned integer at `p`, little- or big-endian.
uint64_t LoadBits(const std::byte* p, size_t n, bool big) {
  uint64_t v = 0;
  for (size_t i = 0; i < n; ++i) {
    v |= static_cast<uint64_t>(p[i]) << (8 * (big ? n - 1 - i : i));
  }
  return v;
}

template <typename F>
std::string FloatText(F value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  char buffer[64];
  // Shortest text that reads back as the same value.
  auto r = std::to_chars(buffer, buffer + sizeof(buffer), value);
  std::string text(buffer, r.ptr);
  // "100.0", not "100": a float column reads back as floats (pandas, CSV).
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

// An element of a numeric field as text; `json` writes non-finite floats as
// null (JSON has no NaN) and bools as true/false either way.
std::string Number(FieldType t, const std::byte* p, bool big, bool json) {
  const uint64_t n = [&] {
    FieldInfo f;
    f.type = t;
    return f.element_size();
  }();
  const uint64_t bits = LoadBits(p, n, big);
  auto sign = [&](int width) {
    const int shift = 64 - width;
    return static_cast<int64_t>(bits << shift) >> shift;
  };
  switch (t) {
    case FieldType::kBool:
      return bits != 0 ? "true" : "false";
    case FieldType::kInt8:
      return absl::StrCat(sign(8));
    case FieldType::kInt16:
      return absl::StrCat(sign(16));
    case FieldType::kInt32:
      return absl::StrCat(sign(32));
    case FieldType::kInt64:
      return absl::StrCat(static_cast<int64_t>(bits));
    case FieldType::kFloat32: {
      float f;
      const uint32_t b32 = static_cast<uint32_t>(bits);
      std::memcpy(&f, &b32, 4);
      if (json && !std::isfinite(f)) return "null";
      return FloatText(f);
    }
    case FieldType::kFloat64: {
      double d;
      std::memcpy(&d, &bits, 8);
      if (json && !std::isfinite(d)) return "null";
      return FloatText(d);
    }
    default:
      return absl::StrCat(bits);
  }
}

// The text of a char[N] field: its bytes up to the first NUL, escaped.
std::string Text(const std::byte* p, uint32_t count) {
  const char* s = reinterpret_cast<const char*>(p);
  return Escape(absl::string_view(s, strnlen(s, count)));
}

// `s` (already escaped: printable ASCII) as a JSON string.
std::string JsonString(absl::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// A CSV cell (RFC 4180): quoted when it holds a comma, a quote or a space
// at either end.
std::string CsvCell(const std::string& s) {
  const bool quote = s.find_first_of(",\"") != std::string::npos ||
                     (!s.empty() && (s.front() == ' ' || s.back() == ' '));
  if (!quote) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

bool Expanded(const FieldInfo& f) {
  return (f.flags & kFieldArray) && f.type != FieldType::kText &&
         f.type != FieldType::kBytes;
}

}  // namespace

std::string SequenceKey(const TypeFingerprint& type) {
  std::string key = "seq";
  for (bool taken = true; taken;) {
    taken = false;
    for (const FieldInfo& f : type.fields) taken |= f.name == key;
    if (taken) key = "_" + key;
  }
  return key;
}

std::vector<Gap> Gaps(const TypeFingerprint& type) {
  std::vector<std::pair<uint64_t, uint64_t>> spans;
  for (const FieldInfo& f : type.fields) spans.push_back({f.offset, f.offset + f.size()});
  std::sort(spans.begin(), spans.end());
  std::vector<Gap> gaps;
  uint64_t at = 0;
  for (const auto& [begin, end] : spans) {
    if (begin > at) gaps.push_back({at, begin - at});
    at = std::max(at, end);
  }
  if (at < type.size) gaps.push_back({at, type.size - at});
  return gaps;
}

FieldPrinter::FieldPrinter(const TypeFingerprint& type, ByteOrder order,
                           RecordFormat format, std::ostream& out)
    : type_(type), big_(order == ByteOrder::kBig), format_(format), out_(out) {
  if (type_.fields.empty()) {
    FieldInfo bytes;
    bytes.name = "bytes";
    bytes.type = FieldType::kBytes;
    bytes.flags = kFieldArray;
    bytes.count = static_cast<uint32_t>(type_.size);
    type_.fields.push_back(bytes);
  }
  seq_key_ = SequenceKey(type_);
  columns_.push_back({seq_key_, nullptr, 0, true});
  for (const FieldInfo& f : type_.fields) {
    const bool number = f.type != FieldType::kText && f.type != FieldType::kBytes;
    if (Expanded(f)) {
      for (uint32_t i = 0; i < f.count; ++i) {
        columns_.push_back({absl::StrCat(f.name, "[", i, "]"), &f, i, true});
      }
    } else {
      columns_.push_back({f.name, &f, 0, number});
    }
  }
}

std::string FieldPrinter::Cell(const Column& c, const std::byte* record) const {
  const FieldInfo& f = *c.field;
  const std::byte* p = record + f.offset;
  switch (f.type) {
    case FieldType::kText:
      return Text(p, f.count);
    case FieldType::kBytes:
      return Hex(p, f.count);
    default:
      return Number(f.type, p + c.element * f.element_size(), big_, false);
  }
}

std::string FieldPrinter::JsonValue(const FieldInfo& f,
                                    const std::byte* record) const {
  const std::byte* p = record + f.offset;
  switch (f.type) {
    case FieldType::kText:
      return JsonString(Text(p, f.count));
    case FieldType::kBytes:
      return JsonString(Hex(p, f.count));
    default:
      break;
  }
  if (!(f.flags & kFieldArray)) return Number(f.type, p, big_, true);
  std::string out = "[";
  for (uint32_t i = 0; i < f.count; ++i) {
    if (i > 0) out += ", ";
    out += Number(f.type, p + i * f.element_size(), big_, true);
  }
  return out + "]";
}

void FieldPrinter::Add(uint64_t seq, const std::byte* record) {
  if (format_ == RecordFormat::kJson) {
    std::string line = absl::StrCat("{\"", seq_key_, "\": ", seq);
    for (const FieldInfo& f : type_.fields) {
      absl::StrAppend(&line, ", \"", f.name, "\": ", JsonValue(f, record));
    }
    out_ << line << "}\n";
    return;
  }
  std::vector<std::string> cells;
  cells.reserve(columns_.size());
  cells.push_back(absl::StrCat(seq));
  for (size_t i = 1; i < columns_.size(); ++i) {
    cells.push_back(Cell(columns_[i], record));
  }
  if (format_ == RecordFormat::kCsv) {
    if (!header_done_) {
      std::vector<std::string> header;
      for (const Column& c : columns_) header.push_back(c.header);
      PrintRow(header);
      header_done_ = true;
    }
    PrintRow(cells);
    return;
  }
  pending_.push_back(std::move(cells));
  if (pending_.size() >= kWidthRows) Flush();
}

void FieldPrinter::PrintRow(const std::vector<std::string>& cells) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (format_ == RecordFormat::kCsv) {
      if (i > 0) line += ',';
      line += CsvCell(cells[i]);
      continue;
    }
    if (i > 0) line += "  ";
    const size_t pad = widths_[i] > cells[i].size() ? widths_[i] - cells[i].size() : 0;
    if (columns_[i].right) line.append(pad, ' ');
    line += cells[i];
    if (!columns_[i].right && i + 1 < cells.size()) line.append(pad, ' ');
  }
  out_ << line << '\n';
}

void FieldPrinter::Flush() {
  if (format_ == RecordFormat::kColumns && !pending_.empty()) {
    if (!header_done_) {
      std::vector<std::string> header;
      for (const Column& c : columns_) header.push_back(c.header);
      widths_.assign(columns_.size(), 0);
      for (size_t i = 0; i < columns_.size(); ++i) {
        widths_[i] = header[i].size();
        for (const auto& row : pending_) widths_[i] = std::max(widths_[i], row[i].size());
      }
      PrintRow(header);
      header_done_ = true;
    }
    for (const auto& row : pending_) PrintRow(row);
    pending_.clear();
  }
  out_.flush();
}

}  // namespace cli
}  // namespace mapfile
