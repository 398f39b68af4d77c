// Copyright 2026 The mapfile Authors.
//
// Tests of the header format: the byte layout, validation of hostile and
// truncated headers, commit slot selection, type identity and the messages
// that name both sides of a mismatch.

#include "mapfile/format.h"

#include <cstddef>
#include <cstring>
#include <thread>
#include <vector>

#include <functional>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

struct Trade {
  double price[5];
  int64_t quantity;
};
struct Quote {
  double bid, ask, bid_size, ask_size;
};
struct Undeclared {
  double a, b, c, d;
};
MAPFILE_TYPE(Trade, "Trade", 2);
MAPFILE_TYPE(Quote, "Quote", 1);

// One member of every kind MAPFILE_FIELDS takes, and one it is not told of.
enum class Side : uint8_t { kBuy = 1, kSell = 2 };
enum Color : int32_t { kRed = 1 };
struct AllKinds {
  bool flag;
  int8_t i8;
  int16_t i16;
  int32_t i32;
  int64_t i64;
  uint8_t u8;
  uint16_t u16;
  uint32_t u32;
  uint64_t u64;
  float f32;
  double f64;
  Side side;
  Color color;
  char symbol[8];
  uint8_t raw[3];
  std::byte blob[2];
  int16_t pair[2];
  double one[1];
  bool bits[3];
  int8_t small[2];
  uint32_t unlisted;
};
MAPFILE_TYPE(AllKinds, "test.AllKinds", 1);
MAPFILE_FIELDS(AllKinds, flag, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64,
               side, color, symbol, raw, blob, pair, one, bits, small);

namespace mapfile {
namespace {

using ::testing::HasSubstr;

constexpr size_t kPage = kHeaderSize;

// A header page holding `type` records, with commits of `counts` in order.
std::vector<std::byte> Page(const TypeFingerprint& type,
                            std::vector<uint64_t> counts = {0}) {
  std::vector<std::byte> page(kPage);
  FileHeader h = NewHeader(ContainerKind::kVector, type, 64).value();
  EncodeHeader(h, absl::MakeSpan(page));
  uint64_t seq = 0;
  for (uint64_t n : counts)
    EncodeSlot({++seq, n, n * type.size}, absl::MakeSpan(page));
  return page;
}

void Put64(std::vector<std::byte>& page, size_t offset, uint64_t v) {
  for (int i = 0; i < 8; ++i) page[offset + i] = std::byte(v >> (8 * i));
}
// Rewrites the header checksum after a test edits a field: a hostile header
// is one whose checksum matches.
void Reseal(std::vector<std::byte>& page) {
  Put64(page, 3960, Checksum(page.data(), 3960));
}

absl::StatusOr<FileHeader> Decode(const std::vector<std::byte>& page) {
  return DecodeHeader(absl::MakeConstSpan(page), "/data/q.vec");
}

TEST(RecordTraitsTest, DeclaredArithmeticAndUndeclaredTypes) {
  TypeFingerprint trade = FingerprintOf<Trade>();
  EXPECT_EQ(trade.name, "Trade");
  EXPECT_EQ(trade.version, 2u);
  EXPECT_EQ(trade.size, 48u);
  EXPECT_EQ(trade.alignment, 8u);
  EXPECT_EQ(FingerprintOf<const Trade>().name, "Trade");
  EXPECT_EQ(FingerprintOf<int32_t>().name, "int32");
  EXPECT_EQ(FingerprintOf<uint8_t>().name, "uint8");
  EXPECT_EQ(FingerprintOf<double>().name, "float64");
  EXPECT_EQ(FingerprintOf<bool>().name, "bool");
  EXPECT_EQ(FingerprintOf<long>().name, FingerprintOf<long long>().name);
  EXPECT_FALSE(FingerprintOf<Undeclared>().declared());
  EXPECT_EQ(FingerprintOf<Undeclared>().ToString(),
            "an undeclared type (32 bytes, align 8)");
}

TEST(FieldsTest, RecordsEveryFieldKind) {
  const std::vector<FieldInfo> f = FingerprintOf<AllKinds>().fields;
  ASSERT_EQ(f.size(), 20u);
  struct Want {
    const char* name;
    FieldType type;
    uint8_t flags;
    size_t offset;
    uint32_t count;
    const char* type_name;
  };
  const Want want[] = {
      {"flag", FieldType::kBool, 0, offsetof(AllKinds, flag), 1, "bool"},
      {"i8", FieldType::kInt8, 0, offsetof(AllKinds, i8), 1, "int8"},
      {"i16", FieldType::kInt16, 0, offsetof(AllKinds, i16), 1, "int16"},
      {"i32", FieldType::kInt32, 0, offsetof(AllKinds, i32), 1, "int32"},
      {"i64", FieldType::kInt64, 0, offsetof(AllKinds, i64), 1, "int64"},
      {"u8", FieldType::kUint8, 0, offsetof(AllKinds, u8), 1, "uint8"},
      {"u16", FieldType::kUint16, 0, offsetof(AllKinds, u16), 1, "uint16"},
      {"u32", FieldType::kUint32, 0, offsetof(AllKinds, u32), 1, "uint32"},
      {"u64", FieldType::kUint64, 0, offsetof(AllKinds, u64), 1, "uint64"},
      {"f32", FieldType::kFloat32, 0, offsetof(AllKinds, f32), 1, "float32"},
      {"f64", FieldType::kFloat64, 0, offsetof(AllKinds, f64), 1, "float64"},
      {"side", FieldType::kUint8, kFieldEnum, offsetof(AllKinds, side), 1,
       "uint8 (enum)"},
      {"color", FieldType::kInt32, kFieldEnum, offsetof(AllKinds, color), 1,
       "int32 (enum)"},
      {"symbol", FieldType::kText, kFieldArray, offsetof(AllKinds, symbol), 8,
       "char[8]"},
      {"raw", FieldType::kBytes, kFieldArray, offsetof(AllKinds, raw), 3,
       "bytes[3]"},
      {"blob", FieldType::kBytes, kFieldArray, offsetof(AllKinds, blob), 2,
       "bytes[2]"},
      {"pair", FieldType::kInt16, kFieldArray, offsetof(AllKinds, pair), 2,
       "int16[2]"},
      {"one", FieldType::kFloat64, kFieldArray, offsetof(AllKinds, one), 1,
       "float64[1]"},
      {"bits", FieldType::kBool, kFieldArray, offsetof(AllKinds, bits), 3,
       "bool[3]"},
      {"small", FieldType::kInt8, kFieldArray, offsetof(AllKinds, small), 2,
       "int8[2]"},
  };
  for (size_t i = 0; i < f.size(); ++i) {
    SCOPED_TRACE(want[i].name);
    EXPECT_EQ(f[i].name, want[i].name);
    EXPECT_EQ(f[i].type, want[i].type);
    EXPECT_EQ(f[i].flags, want[i].flags);
    EXPECT_EQ(f[i].offset, want[i].offset);
    EXPECT_EQ(f[i].count, want[i].count);
    EXPECT_EQ(f[i].TypeName(), want[i].type_name);
  }
  EXPECT_EQ(f[10].ToString(),
            absl::StrCat("f64: float64 at offset ", offsetof(AllKinds, f64),
                         " (8 bytes)"));
  EXPECT_TRUE(FingerprintOf<Trade>().fields.empty());
  EXPECT_TRUE(FingerprintOf<double>().fields.empty());
}

TEST(FieldsTest, SchemaRoundTripsThroughTheHeader) {
  for (ContainerKind kind : {ContainerKind::kVector, ContainerKind::kLogSegment}) {
    std::vector<std::byte> page(kPage);
    FileHeader h = NewHeader(kind, FingerprintOf<AllKinds>(), 64).value();
    EncodeHeader(h, absl::MakeSpan(page));
    EncodeSlot({1, 0, 0}, absl::MakeSpan(page));
    // The documented bytes: flag bit 0, the count at 200, the first entry
    // at 208 ("flag": offset 0, count 1, bool, no flags, 4 bytes of name).
    EXPECT_EQ(page[20], std::byte{1});
    EXPECT_EQ(page[200], std::byte{20});
    const unsigned char first[] = {0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 4,
                                   'f', 'l', 'a', 'g', 0};
    EXPECT_EQ(std::memcmp(page.data() + 208, first, sizeof(first)), 0);
    absl::StatusOr<FileHeader> d = Decode(page);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_EQ(d->flags & kHeaderHasSchema, kHeaderHasSchema);
    EXPECT_TRUE(d->type.fields == FingerprintOf<AllKinds>().fields);
    EXPECT_TRUE(
        CheckCompatible(*d, kind, FingerprintOf<AllKinds>(), "/x").ok());
  }
}

TEST(FieldsTest, FilesWithoutASchemaOpenEitherWay) {
  // A 1.0 file (minor 0, no flags) of a type that now lists its fields.
  TypeFingerprint plain = FingerprintOf<AllKinds>();
  plain.fields.clear();
  std::vector<std::byte> page = Page(plain);
  EXPECT_EQ(page[20], std::byte{0});
  page[10] = std::byte{0};
  Reseal(page);
  absl::StatusOr<FileHeader> h = Decode(page);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(h->type.fields.empty());
  EXPECT_TRUE(CheckCompatible(*h, ContainerKind::kVector,
                              FingerprintOf<AllKinds>(), "/x")
                  .ok());
  // A file with a schema, opened by a program whose type lists none.
  h = Decode(Page(FingerprintOf<AllKinds>()));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_TRUE(CheckCompatible(*h, ContainerKind::kVector, plain, "/x").ok());
}

TEST(FieldsTest, SchemaMismatchNamesTheFirstFieldThatDiffersOnBothSides) {
  absl::StatusOr<FileHeader> h = Decode(Page(FingerprintOf<AllKinds>()));
  ASSERT_TRUE(h.ok()) << h.status();
  const std::string kType =
      "\"test.AllKinds\" v1 (" + std::to_string(sizeof(AllKinds)) +
      " bytes, align 8)";
  const std::string kF64 = "f64: float64 at offset " +
                           std::to_string(offsetof(AllKinds, f64)) + " (8 bytes)";
  TypeFingerprint want = FingerprintOf<AllKinds>();
  want.fields[10].type = FieldType::kInt64;
  absl::Status s = CheckCompatible(*h, ContainerKind::kVector, want, "/q.vec");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "/q.vec holds " + kType + " with field 11 \"" + kF64 +
                "\"; asked for " + kType + " with field 11 \"f64: int64 at "
                "offset " + std::to_string(offsetof(AllKinds, f64)) +
                " (8 bytes)\"");
  want = FingerprintOf<AllKinds>();
  want.fields[10].name = "price";
  s = CheckCompatible(*h, ContainerKind::kVector, want, "/q.vec");
  EXPECT_THAT(s.message(), HasSubstr("field 11 \"price: float64"));
  EXPECT_THAT(s.message(), HasSubstr("field 11 \"f64: float64"));
  want = FingerprintOf<AllKinds>();
  want.fields.pop_back();
  s = CheckCompatible(*h, ContainerKind::kVector, want, "/q.vec");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("with field 20 \"small: int8[2]"));
  EXPECT_THAT(s.message(), HasSubstr("asked for " + kType + " with no field 20"));
}

TEST(FieldsTest, NewHeaderRejectsSchemasThatCannotBeStored) {
  auto check = [](TypeFingerprint t, const char* message) {
    absl::Status s = NewHeader(ContainerKind::kVector, t, 64).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << message;
    EXPECT_THAT(s.message(), HasSubstr(message));
  };
  TypeFingerprint t = FingerprintOf<AllKinds>();
  t.fields[3].offset = sizeof(AllKinds) - 2;
  check(t, "field 4 \"i32\" (4 bytes at offset");
  t = FingerprintOf<AllKinds>();
  t.fields[3].name = "i16";
  check(t, "field 4 \"i16\" has the name of field 3");
  t.fields[3].name = "bad name";
  check(t, "field 4's name is not an identifier");
  t.fields[3].name = std::string(65, 'x');
  check(t, "field 4's name is not an identifier");
  t = FingerprintOf<AllKinds>();
  t.fields[0].count = 0;
  check(t, "field 1 \"flag\" has count 0");
  t.fields[0].count = 1;
  t.fields[0].type = static_cast<FieldType>(99);
  check(t, "has unknown type 99");
  t = FingerprintOf<AllKinds>();
  t.size = 1 << 20;
  t.fields.resize(300, t.fields[0]);
  check(t, "at most 256");
  t.fields.clear();
  for (int i = 0; i < 100; ++i) {  // 100 x (12 + 40) bytes > 3752
    FieldInfo f;
    f.name = std::string(39, 'a') + char('A' + i % 26) + char('A' + i / 26);
    t.fields.push_back(f);
  }
  check(t, "the schema needs 5300 bytes; the header holds 3752");
}

// A schema edited after the fact, its header checksum recomputed: only
// DecodeHeader's validation stands between it and the tools.
TEST(FieldsTest, HostileSchemasAreDataLoss) {
  struct Case {
    const char* what;
    std::function<void(std::vector<std::byte>&)> edit;
    const char* message;
  };
  auto put = [](std::vector<std::byte>& p, size_t at, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) p[at + i] = std::byte(v >> (8 * i));
  };
  // Entry 1 ("flag") is at 208; its name at 219, its NUL at 223.
  const std::vector<Case> cases = {
      {"name not NUL-terminated", [&](auto& p) { p[223] = std::byte{'x'}; },
       "schema field 1's name is not NUL-terminated"},
      {"name length 0", [&](auto& p) { put(p, 218, 0, 1); },
       "schema field 1's name length 0"},
      {"name length 255", [&](auto& p) { put(p, 218, 255, 1); },
       "schema field 1's name length 255"},
      {"name with a control byte", [&](auto& p) { p[220] = std::byte{27}; },
       "field 1's name is not an identifier"},
      {"offset past the record", [&](auto& p) { put(p, 208, 1 << 20, 4); },
       "field 1 \"flag\" (1 bytes at offset 1048576) ends past the"},
      {"count that overflows", [&](auto& p) {
         put(p, 208 + 8, 11, 1);  // float64
         put(p, 212, 0xffffffff, 4);
       }, "(34359738360 bytes at offset 0) ends past the"},
      {"count 0", [&](auto& p) { put(p, 212, 0, 4); }, "has count 0"},
      {"unknown type", [&](auto& p) { put(p, 216, 200, 1); }, "unknown type 200"},
      {"unknown field flags", [&](auto& p) { put(p, 217, 0x80, 1); },
       "unknown flags 128"},
      {"too many fields", [&](auto& p) { put(p, 200, 1000, 2); },
       "schema field count 1000"},
      {"no fields", [&](auto& p) { put(p, 200, 0, 2); }, "schema field count 0"},
      {"more fields than bytes", [&](auto& p) { put(p, 200, 21, 2); },
       "schema field 21 runs past"},
      {"length past the area", [&](auto& p) { put(p, 202, 60000, 2); },
       "schema length 60000 exceeds"},
      {"length that disagrees", [&](auto& p) { put(p, 200, 19, 2); },
       "disagrees with its fields"},
      // Entry 2 ("i8") is at 224, its name at 235: "i8" -> "u8".
      {"duplicate names", [&](auto& p) { p[235] = std::byte{'u'}; },
       "field 6 \"u8\" has the name of field 2"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<std::byte> page = Page(FingerprintOf<AllKinds>());
    c.edit(page);
    Reseal(page);
    absl::Status s = Decode(page).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr(c.message));
  }
}

TEST(FieldsTest, UnknownRequiredFlagIsRejectedClearly) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>());
  page[22] = std::byte{1};  // bit 16, the first required bit
  Reseal(page);
  absl::Status s = Decode(page).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "\"/data/q.vec\" (format 1.1) needs features this library does "
            "not have (required flags 0x00010000); use a newer mapfile");
}

TEST(FormatTest, EncodesTheDocumentedBytes) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>(), {0, 3});
  const unsigned char expected[] = {
      'M', 'A',  'P', 'F', 'I', 'L', 'E', 0,  // magic
      1,   0,    1,   0,                      // format 1.1
      1,   0,    1,   0,                      // vector, XXH3-64
      1,   0,    0,   0,                      // little-endian records
      0,   0,    0,   0,                      // flags
      0,   0x10, 0,   0,                      // header size 4096
      2,   0,    0,   0,                      // schema version 2
      48,  0,    0,   0,   0,   0,   0,   0,  // sizeof
      8,   0,    0,   0,   0,   0,   0,   0,  // alignof
      64,  0,    0,   0,   0,   0,   0,   0,  // record alignment
      0,   0x10, 0,   0,   0,   0,   0,   0,  // data offset 4096
      5,   0,    0,   0,   0,   0,   0,   0,  // name length
      'T', 'r',  'a', 'd', 'e'};
  EXPECT_EQ(std::memcmp(page.data(), expected, sizeof(expected)), 0);
  // Commit 2 (3 records) is in slot 0 at 3968, commit 1 in slot 1 at 4032.
  EXPECT_EQ(page[3968], std::byte{2});
  EXPECT_EQ(page[3968 + 8], std::byte{3});
  EXPECT_EQ(page[3968 + 16], std::byte{144});
  EXPECT_EQ(page[4032], std::byte{1});
}

TEST(FormatTest, RoundTripsEveryField) {
  std::vector<std::byte> page(kPage);
  FileHeader h =
      NewHeader(ContainerKind::kLogSegment, FingerprintOf<Quote>(), 256)
          .value();
  h.first_sequence = 1234567890123;
  h.segment_flags = kSegmentSealed | kSegmentCompressed;
  h.uncompressed_length = 99999;
  EncodeHeader(h, absl::MakeSpan(page));
  EncodeSlot({7, 10, 500}, absl::MakeSpan(page));
  absl::StatusOr<FileHeader> d = Decode(page);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->kind, ContainerKind::kLogSegment);
  EXPECT_EQ(d->type.name, "Quote");
  EXPECT_EQ(d->type.version, 1u);
  EXPECT_EQ(d->type.size, 32u);
  EXPECT_EQ(d->record_alignment, 256u);
  EXPECT_EQ(d->data_offset, 4096u);
  EXPECT_EQ(d->first_sequence, 1234567890123u);
  EXPECT_EQ(d->segment_flags, kSegmentSealed | kSegmentCompressed);
  EXPECT_EQ(d->uncompressed_length, 99999u);
  EXPECT_FALSE(d->slots[0].has_value());
  ASSERT_TRUE(d->slots[1].has_value());
  EXPECT_EQ(d->slots[1]->count, 10u);
  absl::StatusOr<CommitSlot> c = LatestCommit(*d, 4096 + 500, "/data/q.log");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sequence, 7u);
}

TEST(FormatTest, DataOffsetFollowsRecordAlignment) {
  auto offset = [](uint64_t size, uint64_t align, uint64_t want) {
    return NewHeader(ContainerKind::kVector, {"", 0, size, align}, want)
        .value()
        .data_offset;
  };
  EXPECT_EQ(offset(8, 8, 64), 4096u);
  EXPECT_EQ(offset(8192, 8192, 64), 8192u);  // raised to alignof
  EXPECT_EQ(offset(8, 8, 65536), 65536u);
  EXPECT_EQ(NewHeader(ContainerKind::kVector, {"", 0, 8, 8}, 1)
                .value()
                .record_alignment,
            8u);
}

TEST(FormatTest, NewHeaderRejectsInvalidTypesAndAlignments) {
  const TypeFingerprint bad[] = {
      {"", 0, 0, 8}, {"", 0, 8, 3}, {std::string(65, 'x'), 1, 8, 8}};
  for (const TypeFingerprint& t : bad) {
    EXPECT_EQ(NewHeader(ContainerKind::kVector, t, 64).status().code(),
              absl::StatusCode::kInvalidArgument)
        << t.ToString();
  }
  for (uint64_t a : {uint64_t{48}, kMaxRecordAlignment * 2}) {
    EXPECT_EQ(
        NewHeader(ContainerKind::kVector, {"", 0, 8, 8}, a).status().code(),
        absl::StatusCode::kInvalidArgument)
        << a;
  }
}

// With the magic, a mapfile file that lost its end: damage. Without it (too
// short to hold it), not a mapfile file at all.
TEST(FormatTest, MapfileFileShorterThanHeaderIsDataLoss) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>());
  for (size_t n : {size_t{8}, size_t{100}, kPage - 1}) {
    absl::Status s =
        DecodeHeader(absl::MakeConstSpan(page.data(), n), "/x").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << n;
    EXPECT_THAT(s.message(), HasSubstr("shorter than the 4096-byte header"));
  }
}

TEST(FormatTest, FileTooShortForTheMagicIsNotAMapfileFile) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>());
  for (size_t n : {size_t{0}, size_t{1}, size_t{7}}) {
    absl::Status s =
        DecodeHeader(absl::MakeConstSpan(page.data(), n), "/x").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << n;
    EXPECT_EQ(s.message(),
              absl::StrCat("\"/x\" is not a mapfile file (", n,
                           " bytes, no \"MAPFILE\" magic)"));
  }
  std::vector<std::byte> text(375, std::byte{'#'});  // a short text file
  EXPECT_EQ(DecodeHeader(text, "/x").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(FormatTest, ForeignFileIsInvalidArgument) {
  std::vector<std::byte> page(kPage, std::byte{'#'});
  absl::Status s = Decode(page).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "\"/data/q.vec\" is not a mapfile file (no \"MAPFILE\" magic)");
}

TEST(FormatTest, UnknownMajorVersionIsRejectedNamingBoth) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>());
  page[8] = std::byte{2};
  page[10] = std::byte{3};
  Reseal(page);
  absl::Status s = Decode(page).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(
      s.message(),
      "/data/q.vec has format version 2.3; this library reads version 1.x");
}

TEST(FormatTest, UnknownMinorVersionAndFlagsAreAccepted) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>());
  page[10] = std::byte{9};
  Put64(page, 200, 0xfeedface);  // a field a later minor version added
  page[20] = std::byte{0xfe};    // optional flags nobody knows yet
  page[21] = std::byte{0xff};
  Reseal(page);
  absl::StatusOr<FileHeader> h = Decode(page);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->format_minor, 9);
  EXPECT_TRUE(
      CheckCompatible(*h, ContainerKind::kVector, FingerprintOf<Trade>(), "/x")
          .ok());
}

TEST(FormatTest, HeaderChecksumMismatchIsDataLoss) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>());
  page[33] ^= std::byte{1};  // sizeof 48 -> 304
  absl::Status s = Decode(page).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("header checksum mismatch"));
}

TEST(FormatTest, HostileFieldsWithValidChecksumAreDataLoss) {
  struct Case {
    size_t offset;
    uint64_t value;
    int bytes;
    const char* message;
  };
  const Case cases[] = {
      {14, 9, 2, "unknown checksum algorithm 9"},
      {24, 8192, 4, "header size 8192"},
      {64, 200, 1, "type name length 200"},
      {32, 0, 8, "type size is 0"},
      {40, 24, 8, "type alignment 24"},
      {40, uint64_t{1} << 40, 8, "type alignment"},
      {48, 4, 8, "record alignment 4"},
      {56, 4100, 8, "data offset 4100"},
      {56, 0, 8, "data offset 0"},
      {56, ~uint64_t{0} - 4095, 8, "data offset"},
  };
  for (const Case& c : cases) {
    std::vector<std::byte> page = Page(FingerprintOf<Trade>());
    for (int i = 0; i < c.bytes; ++i)
      page[c.offset + i] = std::byte(c.value >> (8 * i));
    Reseal(page);
    absl::Status s = Decode(page).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << c.message;
    EXPECT_THAT(s.message(), HasSubstr(c.message));
  }
}

TEST(CommitSlotTest, NewestValidSlotWins) {
  std::vector<std::byte> page =
      Page(FingerprintOf<uint64_t>(), {1, 2, 3, 4, 5});
  FileHeader h = Decode(page).value();
  EXPECT_EQ(LatestCommit(h, 1 << 20, "/x")->count, 5u);
  EXPECT_EQ(LatestCommit(h, 1 << 20, "/x")->sequence, 5u);
}

TEST(CommitSlotTest, CorruptNewestSlotFallsBackToThePreviousCommit) {
  for (size_t byte = 0; byte < 64; ++byte) {
    std::vector<std::byte> page = Page(FingerprintOf<uint64_t>(), {1, 2, 3, 4});
    page[3968 + byte] ^= std::byte{0x40};  // slot 0 holds commit 4
    absl::StatusOr<CommitSlot> c =
        LatestCommit(Decode(page).value(), 1 << 20, "/x");
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->sequence, 3u) << byte;
    EXPECT_EQ(c->count, 3u) << byte;
  }
}

TEST(CommitSlotTest, BothSlotsCorruptIsDataLoss) {
  std::vector<std::byte> page = Page(FingerprintOf<uint64_t>(), {1, 2});
  page[3968 + 9] ^= std::byte{1};
  page[4032 + 60] ^= std::byte{1};
  absl::Status s = LatestCommit(Decode(page).value(), 1 << 20, "/x").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("both commit slots are invalid"));
}

TEST(CommitSlotTest, SlotInTheWrongPlaceIsIgnored) {
  std::vector<std::byte> page = Page(FingerprintOf<uint64_t>(), {1});
  // A valid image of commit 2 copied into slot 1, where odd commits live.
  std::vector<std::byte> other(kPage);
  EncodeSlot({2, 9, 72}, absl::MakeSpan(other));
  std::memcpy(page.data() + 4032, other.data() + 3968, 64);
  FileHeader h = Decode(page).value();
  EXPECT_FALSE(h.slots[0].has_value());
  EXPECT_FALSE(h.slots[1].has_value());
}

TEST(CommitSlotTest, CommitPastTheEndOfTheFileIsDataLoss) {
  std::vector<std::byte> page = Page(FingerprintOf<uint64_t>(), {100});
  FileHeader h = Decode(page).value();
  EXPECT_TRUE(LatestCommit(h, 4096 + 800, "/x").ok());
  absl::Status s = LatestCommit(h, 4096 + 799, "/x").status();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("truncated"));
  EXPECT_EQ(LatestCommit(h, 100, "/x").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(CommitSlotTest, CountThatDisagreesWithLengthIsDataLoss) {
  for (CommitSlot slot :
       {CommitSlot{1, 3, 23}, CommitSlot{1, ~uint64_t{0} / 4, 8},
        CommitSlot{1, 1, 0}}) {
    std::vector<std::byte> page = Page(FingerprintOf<uint64_t>(), {});
    EncodeSlot(slot, absl::MakeSpan(page));
    absl::Status s = LatestCommit(Decode(page).value(), 1 << 20, "/x").status();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << slot.count;
  }
}

// Every single-byte change of the header page is either detected (an error)
// or harmless: the state read is one that was committed.
TEST(FormatTest, EverySingleByteCorruptionIsDetectedOrHarmless) {
  const std::vector<std::byte> good = Page(FingerprintOf<Trade>(), {4, 5});
  const FileHeader want = Decode(good).value();
  int detected = 0;
  for (size_t i = 0; i < kPage; ++i) {
    for (int bit : {0x01, 0x80, 0xff}) {
      std::vector<std::byte> page = good;
      page[i] ^= std::byte(bit);
      absl::StatusOr<FileHeader> h = Decode(page);
      absl::Status s = h.status();
      if (s.ok()) {
        s = CheckCompatible(*h, ContainerKind::kVector, FingerprintOf<Trade>(),
                            "/x");
      }
      absl::StatusOr<CommitSlot> c = s.ok() ? LatestCommit(*h, 1 << 20, "/x")
                                            : absl::StatusOr<CommitSlot>(s);
      if (!c.ok()) {
        ++detected;
        continue;
      }
      ASSERT_GE(i, 3968u) << "undetected change at byte " << i;
      EXPECT_EQ(h->data_offset, want.data_offset);
      EXPECT_EQ(c->count, c->sequence == 2 ? 5u : 4u) << i;
    }
  }
  EXPECT_EQ(detected, 3 * 3968);  // every change outside the slots
}

TEST(CheckCompatibleTest, TypeMismatchNamesBothSides) {
  FileHeader h = Decode(Page(FingerprintOf<Trade>())).value();
  absl::Status s = CheckCompatible(h, ContainerKind::kVector,
                                   FingerprintOf<Quote>(), "/data/q.vec");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "/data/q.vec holds \"Trade\" v2 (48 bytes, align 8); asked for "
            "\"Quote\" v1 (32 bytes, align 8)");
}

TEST(CheckCompatibleTest, VersionMismatchIsRejected) {
  TypeFingerprint v3 = FingerprintOf<Trade>();
  v3.version = 3;
  FileHeader h = Decode(Page(FingerprintOf<Trade>())).value();
  EXPECT_EQ(CheckCompatible(h, ContainerKind::kVector, v3, "/q").message(),
            "/q holds \"Trade\" v2 (48 bytes, align 8); asked for \"Trade\" v3 "
            "(48 bytes, align 8)");
}

TEST(CheckCompatibleTest, UndeclaredTypeIsCheckedBySizeAndAlignmentOnly) {
  FileHeader quotes = Decode(Page(FingerprintOf<Quote>())).value();
  EXPECT_TRUE(CheckCompatible(quotes, ContainerKind::kVector,
                              FingerprintOf<Undeclared>(), "/q")
                  .ok());
  FileHeader trades = Decode(Page(FingerprintOf<Trade>())).value();
  EXPECT_EQ(CheckCompatible(trades, ContainerKind::kVector,
                            FingerprintOf<Undeclared>(), "/q")
                .message(),
            "/q holds \"Trade\" v2 (48 bytes, align 8); asked for an "
            "undeclared type (32 bytes, align 8)");
  TypeFingerprint align16 = FingerprintOf<Undeclared>();
  align16.alignment = 16;
  EXPECT_FALSE(
      CheckCompatible(quotes, ContainerKind::kVector, align16, "/q").ok());
}

TEST(CheckCompatibleTest, KindMismatchNamesBothKinds) {
  FileHeader h = Decode(Page(FingerprintOf<Trade>())).value();
  absl::Status s = CheckCompatible(h, ContainerKind::kLogSegment,
                                   FingerprintOf<Trade>(), "/q");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "/q holds a vector; asked for a log segment");
}

TEST(CheckCompatibleTest, ForeignByteOrderNamesBothOrders) {
  std::vector<std::byte> page = Page(FingerprintOf<Trade>());
  page[16] = std::byte(kHostByteOrder == ByteOrder::kLittle ? 2 : 1);
  Reseal(page);
  absl::Status s = CheckCompatible(Decode(page).value(), ContainerKind::kVector,
                                   FingerprintOf<Trade>(), "/q");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("-endian records; asked for"));
  EXPECT_THAT(s.message(), HasSubstr("(this machine)"));
}

// A reader decoding while a writer commits (as a reader process does on the
// shared mapping) sees whole commits only (or none, when both slots are
// caught mid-write), never going back. The slots are
// accessed as atomic words: with plain memcpy this was a data race, which
// ThreadSanitizer reports here.
TEST(FormatTest, ConcurrentCommitsDecodeWholeAndInOrder) {
  const TypeFingerprint type = FingerprintOf<Quote>();
  std::vector<std::byte> page = Page(type);
  constexpr uint64_t kCommits = 20000;
  std::thread writer([&] {
    for (uint64_t seq = 2; seq <= kCommits; ++seq)
      EncodeSlot({seq, seq, seq * type.size}, absl::MakeSpan(page));
  });
  uint64_t last = 0;
  while (last < kCommits) {
    auto h = DecodeHeader(page, "p");
    ASSERT_TRUE(h.ok()) << h.status();
    auto c = LatestCommit(*h, kPage + kCommits * type.size, "p");
    // Both slots caught mid-write (commits back to back): try again.
    if (c.status().code() == absl::StatusCode::kDataLoss) continue;
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_GE(c->sequence, last);
    if (c->sequence > 1) ASSERT_EQ(c->count, c->sequence);
    last = c->sequence;
  }
  writer.join();
}

}  // namespace
}  // namespace mapfile
