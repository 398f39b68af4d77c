// Copyright 2026 The mapfile Authors.
//
// format.h: the on-disk layout shared by every mapfile file, and the type
// identity of the records it holds.
//
// Page 0 of every file is a 4096-byte header (docs/FORMAT.md, field by
// field): magic, format version, container kind, the record type's
// fingerprint (name, schema version, sizeof, alignof), record alignment, data
// offset, checksum algorithm, a kind-specific area, and two commit slots
// (LMDB-style A/B meta). Everything is little-endian and encoded field by
// field; untrusted bytes are copied and validated, never cast to a struct.
//
// A record type declares its stable identity once, in the global namespace:
//
//   struct Tick { int64_t time; double price; };
//   MAPFILE_TYPE(Tick, "example.Tick", 1);
//
// Arithmetic types are declared by the library ("int32", "float64", ...).
// An undeclared T is checked by size and alignment only: the weaker check,
// since two different structs of the same size pass it. The name and version
// are compared when both the file and the caller's T carry them.
//
// Thread safety: everything here is a pure function of its arguments.

#ifndef MAPFILE_FORMAT_H_
#define MAPFILE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mapfile {

// ----------------------------------------------------------------------------
// Constants of format 1.x

inline constexpr uint64_t kHeaderSize = 4096;
inline constexpr uint16_t kFormatMajor = 1;  // readers reject other majors
inline constexpr uint16_t kFormatMinor = 0;  // readers accept any minor
inline constexpr size_t kMaxTypeNameLength = 64;
// Records may be aligned up to this (a large page size); data_offset is a
// multiple of the record alignment, so at most kHeaderSize + this.
inline constexpr uint64_t kMaxRecordAlignment = 65536;

enum class ContainerKind : uint16_t {
  kVector = 1,      // MappedVector<T>: `count` records of sizeof(T)
  kLogSegment = 2,  // one segment file of an AppendLog<T>
};
enum class ChecksumAlgorithm : uint16_t { kXxh3_64 = 1 };
// The byte order of the records (the header itself is always little-endian).
enum class ByteOrder : uint8_t { kLittle = 1, kBig = 2 };
inline constexpr ByteOrder kHostByteOrder =
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    ByteOrder::kBig;
#else
    ByteOrder::kLittle;
#endif

// FileHeader::segment_flags bits (kLogSegment only).
inline constexpr uint32_t kSegmentSealed = 1;      // no more appends
inline constexpr uint32_t kSegmentCompressed = 2;  // data region is zstd

// ----------------------------------------------------------------------------
// Type identity

// The identity of a record type as stored in a header.
struct TypeFingerprint {
  std::string name;        // "" when the type is undeclared
  uint32_t version = 0;    // schema version; 0 when undeclared
  uint64_t size = 0;       // sizeof
  uint64_t alignment = 0;  // alignof

  bool declared() const { return !name.empty(); }
  // "\"Trade\" v2 (48 bytes, align 8)", or
  // "an undeclared type (48 bytes, align 8)".
  std::string ToString() const;
};

// Declared identity of T. Specialised by MAPFILE_TYPE (or by hand, with the
// same three members); the primary template means "undeclared".
template <typename T, typename Enable = void>
struct RecordTraits {
  static constexpr bool kDeclared = false;
  static constexpr const char* kName = "";
  static constexpr uint32_t kVersion = 0;
};

namespace internal {
template <typename T>
constexpr const char* ArithmeticName() {
  if (std::is_same_v<T, bool>) return "bool";
  if (std::is_floating_point_v<T>) {
    return sizeof(T) == 4   ? "float32"
           : sizeof(T) == 8 ? "float64"
                            : "long double";
  }
  constexpr bool s = std::is_signed_v<T>;
  switch (sizeof(T)) {
    case 1:
      return s ? "int8" : "uint8";
    case 2:
      return s ? "int16" : "uint16";
    case 4:
      return s ? "int32" : "uint32";
    default:
      return s ? "int64" : "uint64";
  }
}
}  // namespace internal

// Arithmetic types: named by representation, so `long` and `long long`
// files are interchangeable where both are 64-bit.
template <typename T>
struct RecordTraits<T, std::enable_if_t<std::is_arithmetic_v<T>>> {
  static constexpr bool kDeclared = true;
  static constexpr const char* kName = internal::ArithmeticName<T>();
  static constexpr uint32_t kVersion = 1;
};

// The fingerprint of T as a container writes it and checks it.
template <typename T>
TypeFingerprint FingerprintOf() {
  using U = std::remove_cv_t<T>;
  return {RecordTraits<U>::kName, RecordTraits<U>::kVersion, sizeof(U),
          alignof(U)};
}

// ----------------------------------------------------------------------------
// The header

// One commit slot: the committed state of the file. The slot written by a
// commit with sequence s is slot s % 2; the valid slot with the higher
// sequence is the committed state.
struct CommitSlot {
  uint64_t sequence = 0;  // >= 1
  uint64_t count = 0;     // records committed
  uint64_t length = 0;    // bytes of data committed, from data_offset
};

struct FileHeader {
  uint16_t format_major = kFormatMajor;
  uint16_t format_minor = kFormatMinor;
  ContainerKind kind = ContainerKind::kVector;
  ChecksumAlgorithm checksum = ChecksumAlgorithm::kXxh3_64;
  ByteOrder byte_order = kHostByteOrder;
  uint32_t flags = 0;  // none defined in 1.0; unknown bits are ignored
  TypeFingerprint type;
  uint64_t record_alignment = 0;
  uint64_t data_offset = 0;
  // Kind-specific area; zero for kinds that do not use it.
  uint64_t first_sequence = 0;       // kLogSegment: sequence of record 0
  uint32_t segment_flags = 0;        // kLogSegment: kSegmentSealed | ...
  uint64_t uncompressed_length = 0;  // kLogSegment, compressed: data bytes
  // As decoded: a slot whose checksum or sequence parity is wrong (torn,
  // corrupt, never written) is nullopt.
  std::optional<CommitSlot> slots[2];
};

// A header for a new file: validates `type` (size > 0, power-of-two
// alignment, name at most kMaxTypeNameLength bytes) and `alignment` (a power
// of two, at most kMaxRecordAlignment; raised to type.alignment) and places
// the data at the first multiple of it at or after kHeaderSize. Slots empty.
// InvalidArgument on bad input.
absl::StatusOr<FileHeader> NewHeader(ContainerKind kind,
                                     const TypeFingerprint& type,
                                     uint64_t alignment);

// Writes the header's fixed part and its checksum into page[0, 3968); the
// commit slots are left as they are. REQUIRES: page.size() >= kHeaderSize.
void EncodeHeader(const FileHeader& header, absl::Span<std::byte> page);

// Writes `slot` (with its checksum) into commit slot slot.sequence % 2 of
// the header page. REQUIRES: page.size() >= kHeaderSize.
void EncodeSlot(const CommitSlot& slot, absl::Span<std::byte> page);

// Decodes and validates the header at the start of `file` (the file's bytes;
// only the first kHeaderSize are read, and only after checking there are
// that many). `path` names the file in messages. Errors:
//   DataLoss           shorter than a header, bad header checksum, or a
//                      checksummed field out of range (hostile header)
//   InvalidArgument    not a mapfile file (magic)
//   FailedPrecondition a format major version this library does not read
absl::StatusOr<FileHeader> DecodeHeader(absl::Span<const std::byte> file,
                                        absl::string_view path);

// The committed state: the valid slot with the highest sequence, checked
// against the file (data_offset + length <= file_size; for vectors length ==
// count * type.size without overflow). DataLoss if neither slot is valid or
// the winner does not fit.
absl::StatusOr<CommitSlot> LatestCommit(const FileHeader& header,
                                        uint64_t file_size,
                                        absl::string_view path);

// FailedPrecondition unless the file holds `kind` records of type `want` in
// this machine's byte order. The message names both sides:
//   /data/q.vec holds "Trade" v2 (48 bytes, align 8); asked for "Quote" v1
//   (32 bytes, align 8)
absl::Status CheckCompatible(const FileHeader& header, ContainerKind kind,
                             const TypeFingerprint& want,
                             absl::string_view path);

// "vector", "log segment", "kind 7".
std::string KindName(ContainerKind kind);

// The format's checksum (XXH3-64) of `length` bytes: for containers that
// checksum their records (log segments).
uint64_t Checksum(const void* data, size_t length);

}  // namespace mapfile

// Declares the stable identity of record type T; use once, in the global
// namespace, with T's fully qualified name:
//   MAPFILE_TYPE(market::Trade, "market.Trade", 2);
// `name` is a string literal of 1..64 bytes; `version` the schema version,
// to be raised whenever T's layout or meaning changes.
#define MAPFILE_TYPE(T, name, version)                                   \
  namespace mapfile {                                                    \
  template <>                                                            \
  struct RecordTraits<T> {                                               \
    static_assert(sizeof(name) > 1 &&                                    \
                      sizeof(name) - 1 <= ::mapfile::kMaxTypeNameLength, \
                  "MAPFILE_TYPE: the name must be 1 to 64 bytes");       \
    static constexpr bool kDeclared = true;                              \
    static constexpr const char* kName = name;                           \
    static constexpr uint32_t kVersion = version;                        \
  };                                                                     \
  }                                                                      \
  static_assert(true, "")

#endif  // MAPFILE_FORMAT_H_
