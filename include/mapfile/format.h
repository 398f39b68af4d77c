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
// A declared type may also list its fields, after MAPFILE_TYPE:
//
//   MAPFILE_FIELDS(Tick, time, price);
//
// The schema (each field's name, offset, element type and count) is stored
// in the header of every file of T, so that tools (`mapfile dump`, the
// Python reader) show named, typed values, and opening a file whose schema
// differs from T's fails naming the first field that differs.
//
// Thread safety: everything here is a pure function of its arguments.

#ifndef MAPFILE_FORMAT_H_
#define MAPFILE_FORMAT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mapfile {

// ----------------------------------------------------------------------------
// Constants of format 1.x

inline constexpr uint64_t kHeaderSize = 4096;
inline constexpr uint16_t kFormatMajor = 1;  // readers reject other majors
// 1.1 added the field schema (kHeaderHasSchema) and required flags.
inline constexpr uint16_t kFormatMinor = 1;  // readers accept any minor
inline constexpr size_t kMaxTypeNameLength = 64;
// Records may be aligned up to this (a large page size); data_offset is a
// multiple of the record alignment, so at most kHeaderSize + this.
inline constexpr uint64_t kMaxRecordAlignment = 65536;

enum class ContainerKind : uint16_t {
  kVector = 1,      // MappedVector<T>: `count` records of sizeof(T)
  kLogSegment = 2,  // one segment file of an AppendLog<T>
  kBlobSegment = 3,  // one segment file of a BlobLog (variable-length records)
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

// FileHeader::flags bits. Bits 0-15 are optional: a reader that does not
// know one may ignore it. Bits 16-31 are required: a reader that does not
// know one rejects the file (FailedPrecondition), since ignoring it would
// misread the file (format 1.1 defines none; 1.0 readers ignore all flags).
inline constexpr uint32_t kHeaderHasSchema = 1;  // a field schema at 200
inline constexpr uint32_t kRequiredFlags = 0xffff0000u;
inline constexpr uint32_t kKnownFlags = kHeaderHasSchema;

// FileHeader::segment_flags bits (kLogSegment and kBlobSegment only).
inline constexpr uint32_t kSegmentSealed = 1;      // no more appends
inline constexpr uint32_t kSegmentCompressed = 2;  // data region is zstd

// ----------------------------------------------------------------------------
// Type identity

// The element type of a schema field (its code as stored in the header).
enum class FieldType : uint8_t {
  kBool = 1,     // one byte, 0 or 1
  kInt8 = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kUint8 = 6,
  kUint16 = 7,
  kUint32 = 8,
  kUint64 = 9,
  kFloat32 = 10,  // IEEE 754 binary32
  kFloat64 = 11,  // IEEE 754 binary64
  kText = 12,     // char[count]: bytes up to the first NUL (NUL-padded)
  kBytes = 13,    // uint8_t[count] or std::byte[count]: opaque bytes
};

// FieldInfo::flags bits.
inline constexpr uint8_t kFieldArray = 1;  // T[count], even when count is 1
inline constexpr uint8_t kFieldEnum = 2;   // an enum, stored as its underlying type

// Limits of a schema: names are C++ identifiers of at most 64 bytes, and
// the encoded schema must fit the header's reserved area.
inline constexpr size_t kMaxFieldNameLength = 64;
inline constexpr size_t kMaxFields = 256;

// One field of a record type, as MAPFILE_FIELDS records it.
struct FieldInfo {
  std::string name;
  FieldType type = FieldType::kUint8;
  uint8_t flags = 0;      // kFieldArray | kFieldEnum
  uint32_t offset = 0;    // offsetof in the record
  uint32_t count = 1;     // elements (kText/kBytes: bytes)

  // Bytes of one element: 1, 2, 4 or 8.
  uint64_t element_size() const;
  uint64_t size() const { return element_size() * count; }
  // "float64", "char[8]", "uint32[2]", "int32 (enum)".
  std::string TypeName() const;
  // "price: float64 at offset 8 (8 bytes)".
  std::string ToString() const;
  bool operator==(const FieldInfo& o) const {
    return name == o.name && type == o.type && flags == o.flags &&
           offset == o.offset && count == o.count;
  }
  bool operator!=(const FieldInfo& o) const { return !(*this == o); }
};

// The identity of a record type as stored in a header.
struct TypeFingerprint {
  std::string name;        // "" when the type is undeclared
  uint32_t version = 0;    // schema version; 0 when undeclared
  uint64_t size = 0;       // sizeof
  uint64_t alignment = 0;  // alignof
  // The field schema (MAPFILE_FIELDS), in declaration order; empty when the
  // type lists none (or the file was written without one). Initialised so
  // that {name, version, size, alignment} stays a complete initializer.
  std::vector<FieldInfo> fields = {};

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

// The fields of T. Specialised by MAPFILE_FIELDS; the primary template
// means "no schema".
template <typename T>
struct FieldTraits {
  static constexpr bool kHasFields = false;
  static std::vector<FieldInfo> Fields() { return {}; }
};

namespace internal {

template <typename T>
struct AlwaysFalse : std::false_type {};

// The FieldType of a scalar member type; kText/kBytes are array-only.
template <typename E>
constexpr FieldType ScalarFieldType() {
  if constexpr (std::is_enum_v<E>) {
    return ScalarFieldType<std::underlying_type_t<E>>();
  } else if constexpr (std::is_same_v<E, bool>) {
    return FieldType::kBool;
  } else if constexpr (std::is_integral_v<E>) {
    constexpr bool s = std::is_signed_v<E>;
    switch (sizeof(E)) {
      case 1:
        return s ? FieldType::kInt8 : FieldType::kUint8;
      case 2:
        return s ? FieldType::kInt16 : FieldType::kUint16;
      case 4:
        return s ? FieldType::kInt32 : FieldType::kUint32;
      default:
        return s ? FieldType::kInt64 : FieldType::kUint64;
    }
  } else if constexpr (std::is_same_v<E, float>) {
    return FieldType::kFloat32;
  } else {
    return FieldType::kFloat64;
  }
}

template <typename E>
inline constexpr bool kScalarField =
    std::is_enum_v<E> || std::is_same_v<E, bool> ||
    (std::is_integral_v<E> && sizeof(E) <= 8) || std::is_same_v<E, float> ||
    std::is_same_v<E, double>;

// A member of type M at `offset`, named `name`: what MAPFILE_FIELDS stores.
template <typename M>
FieldInfo MakeField(const char* name, size_t offset) {
  using E = std::remove_cv_t<std::remove_extent_t<M>>;
  static_assert(std::rank_v<M> <= 1 && (std::rank_v<M> == 0 || std::extent_v<M> > 0),
                "MAPFILE_FIELDS: a multi-dimensional or unbounded array member "
                "is not supported; flatten it to T[N], or leave it out of "
                "MAPFILE_FIELDS (it is then shown as a gap)");
  static_assert(kScalarField<E> || std::is_same_v<E, std::byte>,
                "MAPFILE_FIELDS: a member type is not supported. Fields may "
                "be bool, int8..int64, uint8..uint64, float, double, enums, "
                "char[N] (text), uint8_t[N] / std::byte[N] (bytes), or fixed "
                "arrays of these numeric types. List only such members (an "
                "unlisted member is shown as a gap), or split a nested struct "
                "into members of these types");
  static_assert(std::rank_v<M> == 1 || !std::is_same_v<E, std::byte>,
                "MAPFILE_FIELDS: a single std::byte member is not supported; "
                "use uint8_t, or std::byte[N] for bytes");
  FieldInfo f;
  f.name = name;
  f.offset = static_cast<uint32_t>(offset);
  if constexpr (std::rank_v<M> == 1) {
    f.count = static_cast<uint32_t>(std::extent_v<M>);
    f.flags = kFieldArray;
    if constexpr (std::is_same_v<E, char>) {
      f.type = FieldType::kText;
      return f;
    } else if constexpr (std::is_same_v<E, unsigned char> ||
                         std::is_same_v<E, std::byte>) {
      f.type = FieldType::kBytes;
      return f;
    }
  }
  if constexpr (kScalarField<E>) {
    f.type = ScalarFieldType<E>();
    if (std::is_enum_v<E>) f.flags |= kFieldEnum;
  }
  return f;
}

}  // namespace internal

// The fingerprint of T as a container writes it and checks it.
template <typename T>
TypeFingerprint FingerprintOf() {
  using U = std::remove_cv_t<T>;
  return {RecordTraits<U>::kName, RecordTraits<U>::kVersion, sizeof(U),
          alignof(U), FieldTraits<U>::Fields()};
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
  // kHeaderHasSchema is set by EncodeHeader when type.fields is not empty,
  // and must be set for DecodeHeader to read a schema.
  uint32_t flags = 0;
  TypeFingerprint type;
  uint64_t record_alignment = 0;
  uint64_t data_offset = 0;
  // Kind-specific area; zero for kinds that do not use it.
  // (kBlobSegment uses it as kLogSegment does.)
  uint64_t first_sequence = 0;       // kLogSegment: sequence of record 0
  uint32_t segment_flags = 0;        // kLogSegment: kSegmentSealed | ...
  uint64_t uncompressed_length = 0;  // kLogSegment, compressed: data bytes
  // kLogSegment: the file's length while it is the active segment (the
  // log's segment_size when it was created); 0 in files of writers before
  // it was recorded. A writer never extends a segment past it.
  uint64_t segment_size = 0;
  // As decoded: a slot whose checksum or sequence parity is wrong (torn,
  // corrupt, never written) is nullopt.
  std::optional<CommitSlot> slots[2];
};

// A header for a new file: validates `type` (size > 0, power-of-two
// alignment, name at most kMaxTypeNameLength bytes, fields as
// ValidateFields) and `alignment` (a power
// of two, at most kMaxRecordAlignment; raised to type.alignment) and places
// the data at the first multiple of it at or after kHeaderSize. Slots empty.
// InvalidArgument on bad input.
absl::StatusOr<FileHeader> NewHeader(ContainerKind kind,
                                     const TypeFingerprint& type,
                                     uint64_t alignment);

// OK if `fields` can describe records of `record_size` bytes and fit in a
// header: at most kMaxFields, names C++ identifiers of at most
// kMaxFieldNameLength bytes and unique, known types, count >= 1, each field
// inside the record, and the encoded schema within the header's 3752
// bytes. Otherwise InvalidArgument naming the field.
absl::Status ValidateFields(const std::vector<FieldInfo>& fields,
                            uint64_t record_size);

// Writes the header's fixed part (with the schema of header.type.fields, and
// kHeaderHasSchema in the flags if there is one) and its checksum into
// page[0, 3968); the commit slots are left as they are.
// REQUIRES: page.size() >= kHeaderSize, and header.type as NewHeader
// validates it.
void EncodeHeader(const FileHeader& header, absl::Span<std::byte> page);

// Writes `slot` (with its checksum) into commit slot slot.sequence % 2 of
// the header page. REQUIRES: page.size() >= kHeaderSize.
void EncodeSlot(const CommitSlot& slot, absl::Span<std::byte> page);

// Decodes and validates the header at the start of `file` (the file's bytes;
// only the first kHeaderSize are read, and only after checking there are
// that many). `path` names the file in messages. Errors:
//   InvalidArgument    not a mapfile file: no "MAPFILE" magic (a file too
//                      short to hold it included)
//   DataLoss           a mapfile file damaged: the magic but shorter than a
//                      header, bad header checksum, or a checksummed field
//                      out of range (hostile header, including a schema
//                      that fails ValidateFields)
//   FailedPrecondition a format major version this library does not read, or
//                      a required flag it does not know
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
// When both the file and `want` carry a field schema, they must be equal;
// the message names the first field that differs, as each side has it:
//   /data/q.vec: field 2 of "Quote" v1 differs: the file has "ask: float32
//   at offset 8 (4 bytes)"; the program has "ask: float64 at offset 8
//   (8 bytes)"
// A file or a type without a schema is checked by the fingerprint alone.
absl::Status CheckCompatible(const FileHeader& header, ContainerKind kind,
                             const TypeFingerprint& want,
                             absl::string_view path);

// "vector", "log segment", "blob log segment", "kind 7".
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

// Declares the fields of record type T (after its MAPFILE_TYPE, in the
// global namespace, with T's fully qualified name), up to 64 of them:
//   MAPFILE_FIELDS(market::Trade, time, price, quantity, symbol);
// Each listed member must be bool, an integer of 8 to 64 bits, float,
// double, an enum (stored as its underlying type), char[N] (text, NUL
// padded), uint8_t[N] or std::byte[N] (bytes), or a fixed array of the
// numeric types; anything else fails to compile with a message that says
// so. Members not listed are allowed: tools show them as gaps. T must be
// standard-layout (the offsets come from offsetof).
#define MAPFILE_FIELDS(T, ...)                                             \
  namespace mapfile {                                                      \
  template <>                                                              \
  struct FieldTraits<T> {                                                  \
    static_assert(RecordTraits<T>::kDeclared,                              \
                  "MAPFILE_FIELDS: declare MAPFILE_TYPE(T, name, version) " \
                  "before MAPFILE_FIELDS(T, ...)");                        \
    static_assert(std::is_standard_layout_v<T>,                            \
                  "MAPFILE_FIELDS: T must be a standard-layout type (plain " \
                  "data members with the same access)");                   \
    static constexpr bool kHasFields = true;                               \
    static std::vector<FieldInfo> Fields() {                               \
      using MapfileRecordType_ = T;                                        \
      return {MAPFILE_INTERNAL_FOR_EACH(MAPFILE_INTERNAL_FIELD, __VA_ARGS__)}; \
    }                                                                      \
  };                                                                       \
  }                                                                        \
  static_assert(true, "")

#define MAPFILE_INTERNAL_FIELD(m)                                          \
  ::mapfile::internal::MakeField<decltype(MapfileRecordType_::m)>(        \
      #m, offsetof(MapfileRecordType_, m))

// MAPFILE_INTERNAL_FOR_EACH(F, a, b, c) -> F(a), F(b), F(c); up to 64.
#define MAPFILE_INTERNAL_EXPAND(x) x
#define MAPFILE_INTERNAL_COUNT(...)                                         \
  MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_NTH(                             \
      __VA_ARGS__, 64, 63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51,  \
      50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34,   \
      33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,   \
      16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0))
#define MAPFILE_INTERNAL_NTH(                                               \
    _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16,  \
    _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30,   \
    _31, _32, _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44,   \
    _45, _46, _47, _48, _49, _50, _51, _52, _53, _54, _55, _56, _57, _58,   \
    _59, _60, _61, _62, _63, _64, N, ...)                                   \
  N
#define MAPFILE_INTERNAL_CAT(a, b) MAPFILE_INTERNAL_CAT2(a, b)
#define MAPFILE_INTERNAL_CAT2(a, b) a##b
#define MAPFILE_INTERNAL_FOR_EACH(F, ...)                                  \
  MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_CAT(                            \
      MAPFILE_INTERNAL_FE_, MAPFILE_INTERNAL_COUNT(__VA_ARGS__))(F, __VA_ARGS__))

#define MAPFILE_INTERNAL_FE_1(F, x) F(x)
#define MAPFILE_INTERNAL_FE_2(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_1(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_3(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_2(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_4(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_3(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_5(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_4(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_6(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_5(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_7(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_6(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_8(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_7(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_9(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_8(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_10(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_9(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_11(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_10(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_12(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_11(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_13(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_12(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_14(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_13(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_15(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_14(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_16(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_15(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_17(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_16(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_18(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_17(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_19(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_18(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_20(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_19(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_21(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_20(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_22(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_21(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_23(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_22(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_24(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_23(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_25(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_24(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_26(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_25(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_27(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_26(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_28(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_27(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_29(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_28(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_30(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_29(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_31(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_30(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_32(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_31(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_33(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_32(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_34(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_33(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_35(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_34(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_36(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_35(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_37(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_36(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_38(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_37(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_39(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_38(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_40(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_39(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_41(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_40(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_42(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_41(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_43(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_42(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_44(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_43(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_45(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_44(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_46(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_45(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_47(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_46(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_48(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_47(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_49(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_48(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_50(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_49(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_51(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_50(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_52(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_51(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_53(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_52(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_54(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_53(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_55(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_54(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_56(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_55(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_57(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_56(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_58(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_57(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_59(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_58(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_60(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_59(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_61(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_60(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_62(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_61(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_63(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_62(F, __VA_ARGS__))
#define MAPFILE_INTERNAL_FE_64(F, x, ...) \
  F(x), MAPFILE_INTERNAL_EXPAND(MAPFILE_INTERNAL_FE_63(F, __VA_ARGS__))

#endif  // MAPFILE_FORMAT_H_
