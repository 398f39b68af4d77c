// Copyright 2026 The mapfile Authors.
//
// The header page, byte by byte (docs/FORMAT.md is the prose version):
//
//   off   size  field
//   0     8     magic "MAPFILE\0"
//   8     2     format major            10  2  format minor
//   12    2     container kind          14  2  checksum algorithm
//   16    1     byte order of records   17  3  reserved
//   20    4     flags                   24  4  header size (4096)
//   28    4     type schema version     32  8  type size
//   40    8     type alignment          48  8  record alignment
//   56    8     data offset             64  1  type name length
//   65    7     reserved                72  64 type name (zero padded)
//   136   64    kind-specific area: 136 first sequence, 144 segment flags,
//               152 uncompressed length, rest reserved
//   200   3760  field schema if flags has kHeaderHasSchema (1.1), else
//               reserved: 200 u16 field count, 202 u16 entry bytes L,
//               204 u32 reserved, 208 L bytes of entries, each
//               u32 offset, u32 count, u8 type, u8 flags, u8 name length k,
//               k name bytes, one NUL
//   (the rest up to 3960 reserved)
//   3960  8     header checksum: XXH3-64 of bytes [0, 3960)
//   3968  64    commit slot 0           4032  64  commit slot 1
//
// A slot: 0 sequence (8), 8 count (8), 16 length (8), 24 reserved (32),
// 56 checksum (8): XXH3-64 of the slot's bytes [0, 56).

#include "mapfile/format.h"

#include <algorithm>
#include <atomic>
#include <cstring>

#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"
#include "mapfile/internal/checksum.h"
#include "mapfile/internal/os.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace {

constexpr char kMagic[8] = {'M', 'A', 'P', 'F', 'I', 'L', 'E', '\0'};
constexpr size_t kHeaderChecksumOffset = 3960;
constexpr size_t kSlotOffset = 3968;
constexpr size_t kSlotSize = 64;
constexpr size_t kSlotChecksumOffset = 56;

// Little-endian, whatever the host.
void Put(std::byte* p, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) p[i] = std::byte(value >> (8 * i));
}
uint64_t Get(const std::byte* p, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= uint64_t(p[i]) << (8 * i);
  return value;
}

absl::Status Corrupt(absl::string_view path, absl::string_view what) {
  return absl::DataLossError(
      absl::StrCat("mapfile header of ", os::Quote(path), ": ", what));
}

constexpr size_t kSchemaAt = 200;
constexpr size_t kFieldsAt = 208;
constexpr size_t kMaxSchemaBytes = kHeaderChecksumOffset - kFieldsAt;
constexpr size_t kFieldFixedBytes = 12;  // entry bytes besides the name

bool IsIdentifier(absl::string_view s) {
  if (s.empty()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

// Larger records are no use in a mapped file, and a hostile header's size
// must not overflow layout arithmetic (or size a buffer) in any reader.
constexpr uint64_t kMaxTypeSize = uint64_t{1} << 24;

absl::Status ValidateType(const TypeFingerprint& t, uint64_t record_alignment) {
  if (t.size == 0) return absl::InvalidArgumentError("type size is 0");
  if (t.size > kMaxTypeSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "type size ", t.size, " is larger than ", kMaxTypeSize, " bytes"));
  }
  if (t.name.size() > kMaxTypeNameLength) {
    return absl::InvalidArgumentError(absl::StrCat(
        "type name \"", t.name, "\" is longer than ", kMaxTypeNameLength));
  }
  if (!absl::has_single_bit(t.alignment) || t.alignment > kMaxRecordAlignment) {
    return absl::InvalidArgumentError(
        absl::StrCat("type alignment ", t.alignment,
                     " is not a power of two <= ", kMaxRecordAlignment));
  }
  if (!absl::has_single_bit(record_alignment) ||
      record_alignment > kMaxRecordAlignment ||
      record_alignment < t.alignment) {
    return absl::InvalidArgumentError(absl::StrCat(
        "record alignment ", record_alignment, " is not a power of two in [",
        t.alignment, ", ", kMaxRecordAlignment, "]"));
  }
  return ValidateFields(t.fields, t.size);
}

}  // namespace

absl::Status ValidateFields(const std::vector<FieldInfo>& fields,
                            uint64_t record_size) {
  if (fields.size() > kMaxFields) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the schema has ", fields.size(), " fields; at most ", kMaxFields));
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i < fields.size(); ++i) {
    const FieldInfo& f = fields[i];
    // Messages quote a name only once it is known to be an identifier, so
    // they never carry a hostile file's bytes.
    const std::string which = absl::StrCat("field ", i + 1);
    if (f.name.size() > kMaxFieldNameLength || !IsIdentifier(f.name)) {
      return absl::InvalidArgumentError(absl::StrCat(
          which, "'s name is not an identifier of 1 to ", kMaxFieldNameLength,
          " bytes"));
    }
    const std::string named = absl::StrCat(which, " \"", f.name, "\"");
    if (f.element_size() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          named, " has unknown type ", static_cast<int>(f.type)));
    }
    if ((f.flags & ~(kFieldArray | kFieldEnum)) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          named, " has unknown flags ", static_cast<int>(f.flags)));
    }
    if (f.count == 0) {
      return absl::InvalidArgumentError(absl::StrCat(named, " has count 0"));
    }
    // u32 offset + u32 count * 8 cannot overflow 64 bits.
    if (uint64_t{f.offset} + f.size() > record_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          named, " (", f.size(), " bytes at offset ", f.offset,
          ") ends past the ", record_size, "-byte record"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (fields[j].name == f.name) {
        return absl::InvalidArgumentError(
            absl::StrCat(named, " has the name of field ", j + 1));
      }
    }
    bytes += kFieldFixedBytes + f.name.size();
  }
  if (bytes > kMaxSchemaBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the schema needs ", bytes, " bytes; the header holds ",
        kMaxSchemaBytes, " (fewer or shorter field names)"));
  }
  return absl::OkStatus();
}

uint64_t FieldInfo::element_size() const {
  switch (type) {
    case FieldType::kBool:
    case FieldType::kInt8:
    case FieldType::kUint8:
    case FieldType::kText:
    case FieldType::kBytes:
      return 1;
    case FieldType::kInt16:
    case FieldType::kUint16:
      return 2;
    case FieldType::kInt32:
    case FieldType::kUint32:
    case FieldType::kFloat32:
      return 4;
    case FieldType::kInt64:
    case FieldType::kUint64:
    case FieldType::kFloat64:
      return 8;
  }
  return 0;
}

std::string FieldInfo::TypeName() const {
  const char* base = "?";
  switch (type) {
    case FieldType::kBool: base = "bool"; break;
    case FieldType::kInt8: base = "int8"; break;
    case FieldType::kInt16: base = "int16"; break;
    case FieldType::kInt32: base = "int32"; break;
    case FieldType::kInt64: base = "int64"; break;
    case FieldType::kUint8: base = "uint8"; break;
    case FieldType::kUint16: base = "uint16"; break;
    case FieldType::kUint32: base = "uint32"; break;
    case FieldType::kUint64: base = "uint64"; break;
    case FieldType::kFloat32: base = "float32"; break;
    case FieldType::kFloat64: base = "float64"; break;
    case FieldType::kText: base = "char"; break;
    case FieldType::kBytes: base = "bytes"; break;
  }
  std::string text = base;
  if (flags & kFieldArray) absl::StrAppend(&text, "[", count, "]");
  if (flags & kFieldEnum) absl::StrAppend(&text, " (enum)");
  return text;
}

std::string FieldInfo::ToString() const {
  return absl::StrCat(name, ": ", TypeName(), " at offset ", offset, " (",
                      size(), size() == 1 ? " byte)" : " bytes)");
}

std::string TypeFingerprint::ToString() const {
  const std::string layout =
      absl::StrCat("(", size, " bytes, align ", alignment, ")");
  if (!declared()) return absl::StrCat("an undeclared type ", layout);
  return absl::StrCat("\"", name, "\" v", version, " ", layout);
}

std::string KindName(ContainerKind kind) {
  switch (kind) {
    case ContainerKind::kVector:
      return "vector";
    case ContainerKind::kLogSegment:
      return "log segment";
    case ContainerKind::kBlobSegment:
      return "blob log segment";
  }
  return absl::StrCat("kind ", static_cast<int>(kind));
}

uint64_t Checksum(const void* data, size_t length) {
  return internal::Xxh3(data, length);
}

absl::StatusOr<FileHeader> NewHeader(ContainerKind kind,
                                     const TypeFingerprint& type,
                                     uint64_t alignment) {
  FileHeader h;
  h.kind = kind;
  h.type = type;
  h.record_alignment = std::max(alignment, type.alignment);
  absl::Status s = ValidateType(type, h.record_alignment);
  if (!s.ok()) return s;
  h.data_offset = (kHeaderSize + h.record_alignment - 1) / h.record_alignment *
                  h.record_alignment;
  return h;
}

void EncodeHeader(const FileHeader& h, absl::Span<std::byte> page) {
  std::byte* p = page.data();
  std::memset(p, 0, kSlotOffset);
  std::memcpy(p, kMagic, sizeof(kMagic));
  Put(p + 8, h.format_major, 2);
  Put(p + 10, h.format_minor, 2);
  Put(p + 12, static_cast<uint16_t>(h.kind), 2);
  Put(p + 14, static_cast<uint16_t>(h.checksum), 2);
  Put(p + 16, static_cast<uint8_t>(h.byte_order), 1);
  Put(p + 20, h.flags, 4);
  Put(p + 24, kHeaderSize, 4);
  Put(p + 28, h.type.version, 4);
  Put(p + 32, h.type.size, 8);
  Put(p + 40, h.type.alignment, 8);
  Put(p + 48, h.record_alignment, 8);
  Put(p + 56, h.data_offset, 8);
  const size_t n = std::min(h.type.name.size(), kMaxTypeNameLength);
  Put(p + 64, n, 1);
  std::memcpy(p + 72, h.type.name.data(), n);
  Put(p + 136, h.first_sequence, 8);
  Put(p + 144, h.segment_flags, 4);
  Put(p + 152, h.uncompressed_length, 8);
  Put(p + 160, h.segment_size, 8);
  uint32_t flags = h.flags & ~kHeaderHasSchema;
  if (!h.type.fields.empty()) {
    flags |= kHeaderHasSchema;
    Put(p + kSchemaAt, h.type.fields.size(), 2);
    size_t at = kFieldsAt;
    for (const FieldInfo& f : h.type.fields) {
      // NewHeader validated the sizes; never write past the schema area.
      const size_t k = std::min(f.name.size(), kMaxFieldNameLength);
      if (at + kFieldFixedBytes + k > kHeaderChecksumOffset) break;
      Put(p + at, f.offset, 4);
      Put(p + at + 4, f.count, 4);
      Put(p + at + 8, static_cast<uint8_t>(f.type), 1);
      Put(p + at + 9, f.flags, 1);
      Put(p + at + 10, k, 1);
      std::memcpy(p + at + 11, f.name.data(), k);
      at += kFieldFixedBytes + k;  // the NUL is the page's zero
    }
    Put(p + kSchemaAt + 2, at - kFieldsAt, 2);
  }
  Put(p + 20, flags, 4);
  Put(p + kHeaderChecksumOffset, internal::Xxh3(p, kHeaderChecksumOffset), 8);
}

namespace {

// The slots are shared with other threads and processes through the mapping:
// they are stored and loaded as 8-byte atomic words (relaxed, but the
// sequence word, which publishes a slot with release and is read first with
// acquire). Slot words are 8-byte aligned in a page-aligned mapping; an
// unaligned buffer (a private image) is copied plainly. The word is copied
// in host order, so the bytes are those of the image on any host.
void StoreWord(std::byte* to, const std::byte* from, bool release) {
  uint64_t w;
  std::memcpy(&w, from, 8);
  auto* word = reinterpret_cast<uint64_t*>(to);
  if (reinterpret_cast<uintptr_t>(to) % 8 != 0) {
    std::memcpy(to, &w, 8);
  } else if (release) {
    __atomic_store_n(word, w, __ATOMIC_RELEASE);
  } else {
    __atomic_store_n(word, w, __ATOMIC_RELAXED);
  }
}

void LoadWord(std::byte* to, const std::byte* from, bool acquire) {
  const auto* word = reinterpret_cast<const uint64_t*>(from);
  uint64_t w;
  if (reinterpret_cast<uintptr_t>(from) % 8 != 0) {
    std::memcpy(&w, from, 8);
  } else {
    w = acquire ? __atomic_load_n(word, __ATOMIC_ACQUIRE)
                : __atomic_load_n(word, __ATOMIC_RELAXED);
  }
  std::memcpy(to, &w, 8);
}

}  // namespace

void EncodeSlot(const CommitSlot& slot, absl::Span<std::byte> page) {
  std::byte s[kSlotSize] = {};
  Put(s, slot.sequence, 8);
  Put(s + 8, slot.count, 8);
  Put(s + 16, slot.length, 8);
  Put(s + kSlotChecksumOffset, internal::Xxh3(s, kSlotChecksumOffset), 8);
  // The sequence word last: a concurrent reader sees old words, new words
  // or a mix, and the checksum rejects a mix.
  std::byte* const to =
      page.data() + kSlotOffset + kSlotSize * (slot.sequence & 1);
  for (size_t at = 8; at < kSlotSize; at += 8) {
    StoreWord(to + at, s + at, false);
  }
  StoreWord(to, s, true);
}

namespace {

// The schema of the header page `p` (already checksummed), validated
// against a record of `record_size` bytes. Every length is checked before
// it is followed, and nothing is sized by an unchecked field.
absl::StatusOr<std::vector<FieldInfo>> DecodeSchema(const std::byte* p,
                                                    uint64_t record_size) {
  const size_t n = Get(p + kSchemaAt, 2);
  const size_t bytes = Get(p + kSchemaAt + 2, 2);
  if (n == 0 || n > kMaxFields) {
    return absl::InvalidArgumentError(
        absl::StrCat("schema field count ", n, " is not in [1, ", kMaxFields, "]"));
  }
  if (bytes > kMaxSchemaBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schema length ", bytes, " exceeds the ", kMaxSchemaBytes, "-byte area"));
  }
  std::vector<FieldInfo> fields(n);
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string which = absl::StrCat("schema field ", i + 1);
    if (bytes - at < kFieldFixedBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, " runs past the schema's ", bytes, " bytes"));
    }
    const std::byte* e = p + kFieldsAt + at;
    const size_t k = Get(e + 10, 1);
    if (k == 0 || k > kMaxFieldNameLength || bytes - at < kFieldFixedBytes + k) {
      return absl::InvalidArgumentError(absl::StrCat(
          which, "'s name length ", k, " is not in [1, ", kMaxFieldNameLength,
          "] or runs past the schema"));
    }
    if (Get(e + 11 + k, 1) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(which, "'s name is not NUL-terminated"));
    }
    FieldInfo& f = fields[i];
    f.offset = static_cast<uint32_t>(Get(e, 4));
    f.count = static_cast<uint32_t>(Get(e + 4, 4));
    f.type = static_cast<FieldType>(Get(e + 8, 1));
    f.flags = static_cast<uint8_t>(Get(e + 9, 1));
    f.name.assign(reinterpret_cast<const char*>(e + 11), k);
    at += kFieldFixedBytes + k;
  }
  if (at != bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "schema length ", bytes, " disagrees with its fields' ", at, " bytes"));
  }
  MAPFILE_RETURN_IF_ERROR(ValidateFields(fields, record_size));
  return fields;
}

}  // namespace

absl::StatusOr<FileHeader> DecodeHeader(absl::Span<const std::byte> file,
                                        absl::string_view path) {
  if (file.size() < kHeaderSize) {
    // A file without the magic is not ours (InvalidArgument, as below);
    // one with it was a mapfile file and lost its end (DataLoss).
    if (file.size() < sizeof(kMagic) ||
        std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          os::Quote(path), " is not a mapfile file (", file.size(),
          " bytes, no \"MAPFILE\" magic)"));
    }
    return Corrupt(path, absl::StrCat("the file is ", file.size(),
                                      " bytes, shorter than the ", kHeaderSize,
                                      "-byte header"));
  }
  // Work on a private copy: another process may be writing the slots (each
  // read sequence word first, as EncodeSlot stores it last).
  std::byte p[kHeaderSize];
  std::memcpy(p, file.data(), kSlotOffset);
  // A live writer can commit twice while the slots are read one after the
  // other: the slot read first then holds an older commit than one this
  // reader saw before, and the newer slot, torn under the read, loses to
  // it (a size going back). So the slots are copied again until neither
  // sequence word changed meanwhile (every commit changes one; a commit
  // takes a system call, the copy nanoseconds, so one retry is rare).
  for (int tries = 0; tries < 64; ++tries) {
    for (size_t at = kSlotOffset; at < kHeaderSize; at += 8) {
      LoadWord(p + at, file.data() + at, (at - kSlotOffset) % kSlotSize == 0);
    }
    std::atomic_thread_fence(std::memory_order_acquire);
    bool stable = true;
    for (size_t at = kSlotOffset; at < kHeaderSize; at += kSlotSize) {
      std::byte now[8];
      LoadWord(now, file.data() + at, false);
      stable &= std::memcmp(now, p + at, 8) == 0;
    }
    if (stable) break;
  }
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(os::Quote(path),
                     " is not a mapfile file (no \"MAPFILE\" magic)"));
  }
  FileHeader h;
  h.format_major = Get(p + 8, 2);
  h.format_minor = Get(p + 10, 2);
  if (h.format_major != kFormatMajor) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has format version ", h.format_major, ".", h.format_minor,
        "; this library reads version ", kFormatMajor, ".x"));
  }
  h.checksum = static_cast<ChecksumAlgorithm>(Get(p + 14, 2));
  if (h.checksum != ChecksumAlgorithm::kXxh3_64) {
    return Corrupt(path, absl::StrCat("unknown checksum algorithm ",
                                      static_cast<int>(h.checksum)));
  }
  if (Get(p + kHeaderChecksumOffset, 8) !=
      internal::Xxh3(p, kHeaderChecksumOffset)) {
    return Corrupt(path, "header checksum mismatch");
  }
  h.kind = static_cast<ContainerKind>(Get(p + 12, 2));
  h.byte_order = static_cast<ByteOrder>(Get(p + 16, 1));
  h.flags = Get(p + 20, 4);
  h.type.version = Get(p + 28, 4);
  h.type.size = Get(p + 32, 8);
  h.type.alignment = Get(p + 40, 8);
  h.record_alignment = Get(p + 48, 8);
  h.data_offset = Get(p + 56, 8);
  const size_t name_length = Get(p + 64, 1);
  if (Get(p + 24, 4) != kHeaderSize) {
    return Corrupt(path, absl::StrCat("header size ", Get(p + 24, 4),
                                      " is not ", kHeaderSize));
  }
  if (name_length > kMaxTypeNameLength) {
    return Corrupt(path, absl::StrCat("type name length ", name_length,
                                      " exceeds ", kMaxTypeNameLength));
  }
  h.type.name.assign(reinterpret_cast<const char*>(p + 72), name_length);
  if (const uint32_t unknown = h.flags & kRequiredFlags & ~kKnownFlags) {
    return absl::FailedPreconditionError(absl::StrCat(
        os::Quote(path), " (format ", h.format_major, ".", h.format_minor,
        ") needs features this library does not have (required flags 0x",
        absl::Hex(unknown, absl::kZeroPad8), "); use a newer mapfile"));
  }
  if (h.flags & kHeaderHasSchema) {
    // Validated against the type's size, which ValidateType checks next.
    if (h.type.size == 0 || h.type.size > kMaxTypeSize) {
      return Corrupt(path, absl::StrCat("type size ", h.type.size,
                                        " is not in [1, ", kMaxTypeSize, "]"));
    }
    absl::StatusOr<std::vector<FieldInfo>> fields =
        DecodeSchema(p, h.type.size);
    if (!fields.ok()) return Corrupt(path, fields.status().message());
    h.type.fields = *std::move(fields);
  }
  if (absl::Status s = ValidateType(h.type, h.record_alignment); !s.ok()) {
    return Corrupt(path, s.message());
  }
  if (h.data_offset < kHeaderSize ||
      h.data_offset > kHeaderSize + kMaxRecordAlignment ||
      h.data_offset % h.record_alignment != 0) {
    return Corrupt(path, absl::StrCat("data offset ", h.data_offset,
                                      " is not an aligned offset after the "
                                      "header"));
  }
  h.first_sequence = Get(p + 136, 8);
  h.segment_flags = Get(p + 144, 4);
  h.uncompressed_length = Get(p + 152, 8);
  h.segment_size = Get(p + 160, 8);
  for (int i = 0; i < 2; ++i) {
    const std::byte* s = p + kSlotOffset + kSlotSize * i;
    CommitSlot slot{Get(s, 8), Get(s + 8, 8), Get(s + 16, 8)};
    if (Get(s + kSlotChecksumOffset, 8) ==
            internal::Xxh3(s, kSlotChecksumOffset) &&
        slot.sequence != 0 && (slot.sequence & 1) == uint64_t(i)) {
      h.slots[i] = slot;
    }
  }
  return h;
}

absl::StatusOr<CommitSlot> LatestCommit(const FileHeader& h, uint64_t file_size,
                                        absl::string_view path) {
  const std::optional<CommitSlot>& a = h.slots[0];
  const std::optional<CommitSlot>& b = h.slots[1];
  if (!a && !b) return Corrupt(path, "both commit slots are invalid");
  const CommitSlot& c = (!b || (a && a->sequence > b->sequence)) ? *a : *b;
  if (h.kind == ContainerKind::kVector &&
      (c.length % h.type.size != 0 || c.length / h.type.size != c.count)) {
    return Corrupt(path, absl::StrCat("commit ", c.sequence, " says ", c.count,
                                      " records in ", c.length, " bytes"));
  }
  if (file_size < h.data_offset || file_size - h.data_offset < c.length) {
    return Corrupt(path, absl::StrCat("commit ", c.sequence, " holds ",
                                      c.length, " bytes after offset ",
                                      h.data_offset, " but the file is ",
                                      file_size, " bytes (truncated?)"));
  }
  return c;
}

absl::Status CheckCompatible(const FileHeader& h, ContainerKind kind,
                             const TypeFingerprint& want,
                             absl::string_view path) {
  auto fail = [&](const std::string& holds, const std::string& asked) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " holds ", holds, "; asked for ", asked));
  };
  if (h.kind != kind) {
    return fail(absl::StrCat("a ", KindName(h.kind)),
                absl::StrCat("a ", KindName(kind)));
  }
  if (h.byte_order != kHostByteOrder) {
    auto order = [](ByteOrder o) -> std::string {
      return o == ByteOrder::kLittle ? "little-endian"
             : o == ByteOrder::kBig  ? "big-endian"
                                     : absl::StrCat("byte order ", int(o));
    };
    return fail(absl::StrCat(order(h.byte_order), " records"),
                absl::StrCat(order(kHostByteOrder), " records (this machine)"));
  }
  const TypeFingerprint& have = h.type;
  const bool names_differ =
      have.declared() && want.declared() &&
      (have.name != want.name || have.version != want.version);
  if (names_differ || have.size != want.size ||
      have.alignment != want.alignment) {
    return fail(have.ToString(), want.ToString());
  }
  if (have.fields.empty() || want.fields.empty()) return absl::OkStatus();
  for (size_t i = 0; i < std::max(have.fields.size(), want.fields.size()); ++i) {
    auto field = [&](const std::vector<FieldInfo>& fields) {
      return i < fields.size()
                 ? absl::StrCat("field ", i + 1, " \"", fields[i].ToString(), "\"")
                 : absl::StrCat("no field ", i + 1);
    };
    if (i >= have.fields.size() || i >= want.fields.size() ||
        have.fields[i] != want.fields[i]) {
      return fail(absl::StrCat(have.ToString(), " with ", field(have.fields)),
                  absl::StrCat(want.ToString(), " with ", field(want.fields)));
    }
  }
  return absl::OkStatus();
}

}  // namespace mapfile
