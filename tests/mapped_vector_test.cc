// Copyright 2026 The mapfile Authors.
//
// Tests of MappedVector<T>: typed round trips, stable addresses across
// growth, STL algorithms over the file, type/kind/version mismatches,
// hostile and truncated headers, commit slot recovery, faults, a full disk,
// and a crash test that SIGKILLs a writer at random instants.

#include "mapfile/mapped_vector.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/internal/os.h"
#include "tests/testing.h"

struct Rec64 {
  uint64_t key;
  char payload[56];
};
struct alignas(64) Line64 {
  uint64_t key;
  int32_t values[3];
};
struct alignas(4096) Page4096 {
  uint64_t key;
  double values[4];
};
struct Trade {
  double price[5];
  int64_t quantity;
};
struct TradeV3 {
  double price[5];
  int64_t quantity;
};
struct Quote {
  double bid, ask, bid_size, ask_size;
};
struct Blob32 {  // undeclared
  double values[4];
};
MAPFILE_TYPE(Rec64, "test.Rec64", 1);
MAPFILE_TYPE(Line64, "test.Line64", 1);
MAPFILE_TYPE(Page4096, "test.Page4096", 1);
MAPFILE_TYPE(Trade, "Trade", 2);
MAPFILE_TYPE(TradeV3, "Trade", 3);
MAPFILE_TYPE(Quote, "Quote", 1);

// Two programs' idea of the same declared type: the same name, version and
// size, but the second changed a field's type without raising the version.
struct TickOld {
  int64_t time;
  double price;
  char symbol[8];
};
struct TickNew {
  int64_t time;
  int64_t price;
  char symbol[8];
};
MAPFILE_TYPE(TickOld, "test.Tick", 1);
MAPFILE_FIELDS(TickOld, time, price, symbol);
MAPFILE_TYPE(TickNew, "test.Tick", 1);
MAPFILE_FIELDS(TickNew, time, price, symbol);

namespace mapfile {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

// Element i of the test sequences, and the key it is sorted by.
template <typename T>
T Make(uint64_t i) {
  if constexpr (std::is_arithmetic_v<T>) {
    return static_cast<T>(i * 7919);
  } else {
    T t{};
    t.key = i * 7919 % 100003;
    return t;
  }
}
template <typename T>
uint64_t Key(const T& t) {
  if constexpr (std::is_arithmetic_v<T>) {
    return t;
  } else {
    return t.key;
  }
}

template <typename T>
class TypedVectorTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string path_ = dir_.File("v.vec");
};
using Types = ::testing::Types<uint8_t, Rec64, Line64, Page4096>;
TYPED_TEST_SUITE(TypedVectorTest, Types);

TYPED_TEST(TypedVectorTest, RoundTripsThroughCloseAndReopen) {
  const size_t n = 1000;
  {
    auto v = MappedVector<TypeParam>::Open(this->path_);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->empty());
    for (size_t i = 0; i < n; ++i)
      ASSERT_TRUE(v->push_back(Make<TypeParam>(i)).ok());
    ASSERT_TRUE(v->Sync().ok());
    const size_t align = std::max<size_t>(alignof(TypeParam), 64);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(v->data()) % align, 0u);
  }
  auto r = MappedVector<const TypeParam>::Open(this->path_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), n);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_EQ(Key((*r)[i]), Key(Make<TypeParam>(i))) << i;
  }
}

TYPED_TEST(TypedVectorTest, AddressesStayStableGrowingPastOneGiB) {
  VectorOptions options;
  options.preallocate = false;  // sparse: the test is about address space
  auto v = MappedVector<TypeParam>::Open(this->path_, options);
  ASSERT_TRUE(v.ok()) << v.status();
  for (size_t i = 0; i < 10; ++i)
    ASSERT_TRUE(v->push_back(Make<TypeParam>(i)).ok());
  const TypeParam* first = &(*v)[0];
  const size_t target = (size_t{1} << 30) / sizeof(TypeParam) + 1;
  for (size_t n = 16; n < 2 * target; n *= 4) {
    ASSERT_TRUE(v->reserve(std::min(n, target)).ok()) << n;
    ASSERT_EQ(&(*v)[0], first) << n;
    ASSERT_EQ(v->file()->remap_count(), 0u);
  }
  EXPECT_GE(v->capacity() * sizeof(TypeParam), size_t{1} << 30);
  ASSERT_TRUE(v->push_back(Make<TypeParam>(10)).ok());
  (*v)[v->capacity() - 1] = Make<TypeParam>(99);  // the last page is mapped
  for (size_t i = 0; i <= 10; ++i)
    EXPECT_EQ(Key((*v)[i]), Key(Make<TypeParam>(i)));
}

TYPED_TEST(TypedVectorTest, SortAndLowerBoundRunOverTheFile) {
  auto v = MappedVector<TypeParam>::Open(this->path_);
  ASSERT_TRUE(v.ok()) << v.status();
  for (size_t i = 0; i < 300; ++i)
    ASSERT_TRUE(v->push_back(Make<TypeParam>(i)).ok());
  auto by_key = [](const TypeParam& a, const TypeParam& b) {
    return Key(a) < Key(b);
  };
  std::sort(v->begin(), v->end(), by_key);
  EXPECT_TRUE(std::is_sorted(v->cbegin(), v->cend(), by_key));
  const TypeParam probe = (*v)[123];
  auto it = std::lower_bound(v->begin(), v->end(), probe, by_key);
  ASSERT_NE(it, v->end());
  EXPECT_EQ(Key(*it), Key(probe));
  EXPECT_EQ(Key(*v->rbegin()), Key(v->back()));
  ASSERT_TRUE(v->Sync().ok());
  v = absl::UnknownError("closed");
  auto r = MappedVector<const TypeParam>::Open(this->path_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(std::is_sorted(r->begin(), r->end(), by_key));
}

TYPED_TEST(TypedVectorTest, ScratchVectorGrowsAndSorts) {
  auto v = MappedVector<TypeParam>::CreateScratch();
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->file(), nullptr);
  EXPECT_EQ(v->path(), "");
  for (size_t i = 0; i < 5000; ++i)
    ASSERT_TRUE(v->push_back(Make<TypeParam>(i)).ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v->data()) % alignof(TypeParam), 0u);
  for (size_t i = 0; i < 5000; ++i)
    ASSERT_EQ(Key((*v)[i]), Key(Make<TypeParam>(i)));
  std::sort(v->begin(), v->end(), [](const TypeParam& a, const TypeParam& b) {
    return Key(a) < Key(b);
  });
  EXPECT_TRUE(v->Sync().ok());
  v->clear();
  ASSERT_TRUE(v->shrink_to_fit().ok());
  EXPECT_EQ(v->capacity(), 0u);
}

class VectorTest : public ::testing::Test {
 protected:
  // A file of `n` uint64_t 0..n-1, synced.
  void MakeFile(size_t n) {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    for (uint64_t i = 0; i < n; ++i) ASSERT_TRUE(v->push_back(i).ok());
    ASSERT_TRUE(v->Sync().ok());
  }
  absl::Status OpenStatus() {
    return MappedVector<const uint64_t>::Open(path_).status();
  }
  // Changes the file's bytes at `offset`.
  void Patch(uint64_t offset, const void* bytes, size_t n) {
    auto fd = os::Open(path_, O_RDWR);
    ASSERT_TRUE(fd.ok()) << fd.status();
    ASSERT_TRUE(os::Pwrite(fd->get(), path_, bytes, n, offset).ok());
  }
  void Flip(uint64_t offset) {
    std::string page = testing::ReadFile(path_).substr(offset, 1);
    page[0] ^= 0xff;
    Patch(offset, page.data(), 1);
  }
  // Sets a header field and recomputes the header checksum: a hostile file.
  void PatchField(uint64_t offset, uint64_t value, size_t bytes) {
    std::string page = testing::ReadFile(path_).substr(0, kHeaderSize);
    for (size_t i = 0; i < bytes; ++i)
      page[offset + i] = char(value >> (8 * i));
    const uint64_t sum = Checksum(page.data(), 3960);
    for (int i = 0; i < 8; ++i) page[3960 + i] = char(sum >> (8 * i));
    Patch(0, page.data(), 3968);
  }

  os::fault::ScopedReset reset_;
  testing::TempDir dir_;
  std::string path_ = dir_.File("q.vec");
};

TEST_F(VectorTest, TypeMismatchNamesBothSides) {
  ASSERT_TRUE(MappedVector<Trade>::Open(path_).ok());
  absl::Status s = MappedVector<Quote>::Open(path_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "MappedVector::Open(\"" + path_ + "\"): " + path_ +
                             " holds \"Trade\" v2 (48 bytes, align 8); "
                             "asked for \"Quote\" v1 (32 bytes, align 8)");
}

TEST_F(VectorTest, SchemaVersionMismatchIsRejected) {
  ASSERT_TRUE(MappedVector<Trade>::Open(path_).ok());
  absl::Status s = MappedVector<TradeV3>::Open(path_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("asked for \"Trade\" v3"));
}

TEST_F(VectorTest, SchemaIsStoredAndADifferentOneIsRejectedNamingTheField) {
  {
    auto v = MappedVector<TickOld>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->push_back({1, 2.5, "AAPL"}).ok());
    ASSERT_TRUE(v->Sync().ok());
  }
  auto again = MappedVector<const TickOld>::Open(path_);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ((*again)[0].price, 2.5);
  absl::Status s = MappedVector<TickNew>::Open(path_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(path_));
  EXPECT_THAT(s.message(),
              HasSubstr("with field 2 \"price: float64 at offset 8 (8 bytes)\"; "
                        "asked for \"test.Tick\" v1 (24 bytes, align 8) with "
                        "field 2 \"price: int64 at offset 8 (8 bytes)\""));
}

TEST_F(VectorTest, UndeclaredTypeIsCheckedBySize) {
  ASSERT_TRUE(MappedVector<Quote>::Open(path_).ok());
  EXPECT_TRUE(MappedVector<Blob32>::Open(path_).ok());  // the weaker check
  absl::Status s = MappedVector<uint32_t>::Open(path_).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(),
              HasSubstr("asked for \"uint32\" v1 (4 bytes, align 4)"));
}

TEST_F(VectorTest, ForeignKindMajorVersionAndByteOrderAreRejected) {
  struct Case {
    uint64_t offset, value;
    size_t bytes;
    const char* message;
  };
  const Case cases[] = {
      {12, 2, 2, "holds a log segment; asked for a vector"},
      {8, 2, 2, "has format version 2.1; this library reads version 1.x"},
      {16, kHostByteOrder == ByteOrder::kLittle ? 2u : 1u, 1,
       "-endian records; asked for"},
  };
  for (const Case& c : cases) {
    MakeFile(3);
    PatchField(c.offset, c.value, c.bytes);
    absl::Status s = OpenStatus();
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << c.message;
    EXPECT_THAT(s.message(), HasSubstr(c.message));
    EXPECT_THAT(s.message(), HasSubstr(path_));
    ASSERT_TRUE(os::Unlink(path_).ok());
  }
}

TEST_F(VectorTest, EmptyTinyAndCutFilesAreClearErrors) {
  ASSERT_TRUE(testing::WriteFile(path_, ""));
  absl::Status s = OpenStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("is not a mapfile file (0 bytes"));
  ASSERT_TRUE(testing::WriteFile(path_, "x"));
  EXPECT_THAT(OpenStatus().message(),
              HasSubstr("is not a mapfile file (1 bytes"));
  ASSERT_TRUE(testing::WriteFile(path_, std::string(5000, 'x')));
  EXPECT_EQ(OpenStatus().code(), absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(os::Unlink(path_).ok());
  MakeFile(3);
  std::string whole = testing::ReadFile(path_);
  ASSERT_TRUE(testing::WriteFile(path_, whole.substr(0, 2000)));
  s = OpenStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(),
              HasSubstr("2000 bytes, shorter than the 4096-byte header"));
  ASSERT_TRUE(testing::WriteFile(path_, whole.substr(0, 4096 + 16)));  // 2 of 3
  s = OpenStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("truncated"));
}

TEST_F(VectorTest, CreateOnAnEmptyFileInitialisesIt) {
  ASSERT_TRUE(testing::WriteFile(path_, ""));
  VectorOptions read_write;
  read_write.mode = OpenMode::kReadWrite;
  EXPECT_EQ(MappedVector<uint64_t>::Open(path_, read_write).status().code(),
            absl::StatusCode::kInvalidArgument);
  MakeFile(5);
  auto r = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 5u);
}

TEST_F(VectorTest, MissingFileIsNotFoundAndCreateNewRefusesAnExistingOne) {
  VectorOptions options;
  options.mode = OpenMode::kReadOnly;
  EXPECT_EQ(MappedVector<uint64_t>::Open(path_, options).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(OpenStatus().code(), absl::StatusCode::kNotFound);
  options.mode = OpenMode::kCreateNew;
  ASSERT_TRUE(MappedVector<uint64_t>::Open(path_, options).ok());
  EXPECT_EQ(MappedVector<uint64_t>::Open(path_, options).status().code(),
            absl::StatusCode::kAlreadyExists);
}

VectorOptions ReadOnly() {
  VectorOptions options;
  options.mode = OpenMode::kReadOnly;
  return options;
}

// Every element `v` holds is its index.
template <typename V>
bool HoldsIndices(const V& v) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] != i) return false;
  }
  return true;
}

TEST_F(VectorTest, ReadOnlyVectorOfMutableTReadsAndRefusesEveryMutator) {
  MakeFile(10);
  const std::string before = testing::ReadFile(path_);
  auto v = MappedVector<uint64_t>::Open(path_, ReadOnly());
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 10u);
  EXPECT_TRUE(HoldsIndices(*v));
  EXPECT_FALSE(v->file()->writable());
  const uint64_t values[] = {1, 2};
  const std::pair<const char*, absl::Status> refused[] = {
      {"push_back", v->push_back(1)},
      {"emplace_back", v->emplace_back(1u)},
      {"append", v->append(values)},
      {"resize", v->resize(20)},
      {"resize", v->resize(5, 7)},
      {"reserve", v->reserve(1 << 20)},
      {"shrink_to_fit", v->shrink_to_fit()},
      {"Sync", v->Sync()},
  };
  for (const auto& [call, status] : refused) {
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << call;
    EXPECT_EQ(status.message(),
              absl::StrCat("MappedVector::", call, "(\"", path_,
                           "\"): the vector is opened read-only "
                           "(OpenMode::kReadOnly)"));
  }
  EXPECT_EQ(v->size(), 10u);
  // clear()/pop_back() narrow this object's view only; Refresh undoes it.
  v->pop_back();
  EXPECT_EQ(v->size(), 9u);
  v->clear();
  EXPECT_TRUE(v->empty());
  EXPECT_EQ(v->Sync().code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(v->Refresh().ok());
  EXPECT_EQ(v->size(), 10u);
  EXPECT_EQ(testing::ReadFile(path_), before);
}

// The writer (this process) holds the file and has unsynced pushes; a reader
// in another process opens it meanwhile and sees the committed size.
TEST_F(VectorTest, ReaderOpensWhileAWriterInAnotherProcessHoldsTheFile) {
  auto w = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(w.ok()) << w.status();
  for (uint64_t i = 0; i < 100; ++i) ASSERT_TRUE(w->push_back(i).ok());
  ASSERT_TRUE(w->Sync().ok());
  for (uint64_t i = 100; i < 150; ++i) ASSERT_TRUE(w->push_back(i).ok());
  const auto reader = [&] {
    auto r = MappedVector<uint64_t>::Open(path_, ReadOnly());
    if (!r.ok()) return 1;
    if (r->size() != 100 || !HoldsIndices(*r)) return 2;
    auto c = MappedVector<const uint64_t>::Open(path_);
    if (!c.ok() || c->size() != 100) return 3;
    VectorOptions locked = ReadOnly();
    locked.reader_lock = true;
    if (MappedVector<uint64_t>::Open(path_, locked).status().code() !=
        absl::StatusCode::kUnavailable) {
      return 4;
    }
    if (MappedVector<uint64_t>::Open(path_).status().code() !=
        absl::StatusCode::kUnavailable) {
      return 5;  // still one writer
    }
    return 0;
  };
  EXPECT_EQ(testing::RunInChild(reader), 0);
  ASSERT_TRUE(w->Sync().ok());
  EXPECT_EQ(testing::RunInChild([&] {
              auto r = MappedVector<const uint64_t>::Open(path_);
              return r.ok() && r->size() == 150 && HoldsIndices(*r) ? 0 : 1;
            }),
            0);
}

TEST_F(VectorTest, ReaderLockKeepsWritersOut) {
  MakeFile(3);
  VectorOptions locked = ReadOnly();
  locked.reader_lock = true;
  {
    auto r = MappedVector<const uint64_t>::Open(path_, locked);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(MappedVector<uint64_t>::Open(path_).status().code(),
              absl::StatusCode::kUnavailable);
    EXPECT_TRUE(MappedVector<const uint64_t>::Open(path_, locked).ok());
  }
  EXPECT_TRUE(MappedVector<uint64_t>::Open(path_).ok());
}

// A reader opened before a writer in another process grows the file (by
// many growth steps) follows it with Refresh(), at the same address.
TEST_F(VectorTest, RefreshFollowsAWriterAcrossGrowth) {
  MakeFile(10);
  auto r = MappedVector<uint64_t>::Open(path_, ReadOnly());
  ASSERT_TRUE(r.ok()) << r.status();
  const uint64_t* data = r->data();
  const size_t n = 300000;  // 2.4 MB: the file grows several times
  EXPECT_EQ(testing::RunInChild([&] {
              auto w = MappedVector<uint64_t>::Open(path_);
              if (!w.ok()) return 1;
              while (w->size() < n) {
                if (!w->push_back(w->size()).ok()) return 2;
              }
              if (!w->Sync().ok()) return 3;
              for (int i = 0; i < 5; ++i) (void)w->push_back(0);  // unsynced
              return 0;
            }),
            0);
  EXPECT_EQ(r->size(), 10u);  // until Refresh
  ASSERT_TRUE(r->Refresh().ok());
  EXPECT_EQ(r->size(), n);
  EXPECT_EQ(r->data(), data);
  EXPECT_TRUE(HoldsIndices(*r));
  {  // the writer commits a smaller size: a reader follows it down too
    auto w = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(w.ok()) << w.status();
    ASSERT_TRUE(w->resize(3).ok());
    ASSERT_TRUE(w->Sync().ok());
    EXPECT_EQ(w->Refresh().code(), absl::StatusCode::kFailedPrecondition);
  }
  ASSERT_TRUE(r->Refresh().ok());
  EXPECT_EQ(r->size(), 3u);
  auto scratch = MappedVector<uint64_t>::CreateScratch();
  ASSERT_TRUE(scratch.ok());
  EXPECT_EQ(scratch->Refresh().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(VectorTest, AlignmentOptionPlacesTheFirstElementUpToThePageSize) {
  VectorOptions options;
  options.alignment = 4096;
  auto v = MappedVector<uint64_t>::Open(path_, options);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->push_back(1).ok());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v->data()) % 4096, 0u);
  absl::Span<const uint64_t> span(*v);  // contiguous: spans and ranges work
  EXPECT_EQ(span.size(), 1u);
  for (size_t bad : {size_t{0}, size_t{48}, os::PageSize() * 2}) {
    options.alignment = bad;
    EXPECT_EQ(MappedVector<uint64_t>::Open(dir_.File("other.vec"), options)
                  .status()
                  .code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
    EXPECT_EQ(MappedVector<uint64_t>::CreateScratch(options).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(VectorTest, SecondWriterIsUnavailable) {
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(MappedVector<uint64_t>::Open(path_).status().code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(VectorTest, UnsyncedTailIsIgnoredOnReopen) {
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    for (uint64_t i = 0; i < 10; ++i) ASSERT_TRUE(v->push_back(i).ok());
    ASSERT_TRUE(v->Sync().ok());
    for (uint64_t i = 10; i < 15; ++i) ASSERT_TRUE(v->push_back(i).ok());
    EXPECT_EQ(v->committed_size(), 10u);
  }
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->size(), 10u);
  EXPECT_EQ(v->back(), 9u);
}

// Regression: with pretouch on, a reopened vector's fast-path limit started
// at 0 below its size, `limit_ - size_` wrapped, and append skipped the
// growth and wrote past the mapping (SIGSEGV).
TEST_F(VectorTest, AppendAfterReopenWithPretouchGrowsTheFile) {
  std::vector<uint64_t> values(20000);
  for (uint64_t i = 0; i < values.size(); ++i) values[i] = i + 1000;
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    for (uint64_t i = 0; i < 1000; ++i) ASSERT_TRUE(v->push_back(i).ok());
    ASSERT_TRUE(v->Sync().ok());
  }
  VectorOptions o;
  o.pretouch = 1 << 20;
  {
    auto v = MappedVector<uint64_t>::Open(path_, o);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->append(values).ok());
    ASSERT_TRUE(v->push_back(21000).ok());
    ASSERT_TRUE(v->Sync().ok());
  }
  auto v = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->size(), 21001u);
  for (uint64_t i = 0; i < v->size(); ++i) ASSERT_EQ((*v)[i], i) << i;
}

// Regression: kCreate took a file whose header page reads as zeros for an
// unfinished creation and wrote a fresh header with count 0 over it,
// silently dropping the committed elements behind it.
TEST_F(VectorTest, ZeroedHeaderOfAFileWithDataIsDataLossNotAFreshStart) {
  for (const size_t n : {1000, 100000}) {  // inside, past the first growth
    for (const size_t zeroed : {size_t{512}, kHeaderSize}) {  // slots, all
      {
        auto v = MappedVector<uint64_t>::Open(path_);
        ASSERT_TRUE(v.ok()) << v.status();
        ASSERT_TRUE(v->resize(n, 7).ok());
        ASSERT_TRUE(v->Sync().ok());
      }
      std::string bytes = testing::ReadFile(path_);
      bytes.replace(kHeaderSize - zeroed, zeroed, zeroed, '\0');
      ASSERT_TRUE(testing::WriteFile(path_, bytes));
      auto v = MappedVector<uint64_t>::Open(path_);
      EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss)
          << n << " " << zeroed << ": " << v.status();
      EXPECT_THAT(v.status().message(), HasSubstr(path_));
      EXPECT_TRUE(testing::ReadFile(path_) == bytes) << "file changed";
      ASSERT_TRUE(os::Unlink(path_).ok());
    }
  }
}

// Regression: the defaulted moves left the source's size(), capacity() and
// data() pointing at the mapping the destination now owns.
TEST_F(VectorTest, MovedFromVectorIsEmptyAsAStdVector) {
  auto opened = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_TRUE(opened->resize(100, 5).ok());
  const uint64_t* const data = opened->data();
  MappedVector<uint64_t> a(*std::move(opened));
  auto expect_empty = [](const MappedVector<uint64_t>& v) {
    EXPECT_EQ(v.size(), 0u);
    EXPECT_EQ(v.capacity(), 0u);
    EXPECT_EQ(v.data(), nullptr);
    EXPECT_TRUE(v.begin() == v.end());
  };
  expect_empty(*opened);
  EXPECT_EQ(a.data(), data);
  ASSERT_EQ(a.size(), 100u);
  auto b = MappedVector<uint64_t>::CreateScratch();
  ASSERT_TRUE(b.ok());
  *b = std::move(a);
  expect_empty(a);
  EXPECT_EQ(b->data(), data);
  EXPECT_EQ(b->size(), 100u);
  EXPECT_EQ(b->path(), path_);
  ASSERT_TRUE(a.push_back(9).ok());  // usable again: a scratch vector
  EXPECT_EQ(a[0], 9u);
  EXPECT_EQ((*b)[99], 5u);
}

TEST_F(VectorTest, BadAlignmentErrorNamesTheCallAndTheFile) {
  VectorOptions o;
  o.alignment = 48;
  auto v = MappedVector<uint64_t>::Open(path_, o);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(v.status().message()),
              StartsWith("MappedVector::Open(\"" + path_ + "\"): "));
  auto s = MappedVector<uint64_t>::CreateScratch(o);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()),
              StartsWith("MappedVector::CreateScratch: "));
}

TEST_F(VectorTest, ShrinkingCommitsOnSyncAndKeepsCommittedBytes) {
  MakeFile(1000);
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  v->pop_back();
  v->clear();
  ASSERT_TRUE(v->shrink_to_fit().ok());
  EXPECT_GE(v->capacity(), 1000u);  // still committed: a crash must find it
  ASSERT_TRUE(v->Sync().ok());
  ASSERT_TRUE(v->shrink_to_fit().ok());
  EXPECT_EQ(v->capacity(), 0u);
  EXPECT_EQ(v->file()->size(), 4096u);
  ASSERT_TRUE(v->push_back(42).ok());
  ASSERT_TRUE(v->Sync().ok());
  v = absl::UnknownError("closed");
  auto r = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front(), 42u);
}

// Past mmap_threshold a scratch vector moves, once, into a reservation:
// from then on growth to hundreds of MiB neither moves it nor costs memory.
TEST_F(VectorTest, ScratchVectorAddressesStayStableInItsReservation) {
  constexpr size_t kMiB = size_t{1} << 20;
  VectorOptions options;
  options.reserve = 512 * kMiB;
  auto v = MappedVector<uint64_t>::CreateScratch(options);
  ASSERT_TRUE(v.ok()) << v.status();
  while (v->size() * 8 < kMiB) ASSERT_TRUE(v->push_back(v->size()).ok());
  const uint64_t* data = v->data();
  EXPECT_EQ(v->capacity(), 512 * kMiB / 8);
  ASSERT_TRUE(v->reserve(400 * kMiB / 8).ok());
  while (v->size() * 8 < 3 * kMiB) ASSERT_TRUE(v->push_back(v->size()).ok());
  v->data()[v->capacity() - 1] = 1;  // the reservation's last page is ours
  EXPECT_EQ(v->data(), data);
  EXPECT_TRUE(HoldsIndices(*v));
  auto pages = os::Mincore(data, v->capacity() * 8, "v");  // a mapping:
  ASSERT_TRUE(pages.ok()) << pages.status();               // page aligned
  EXPECT_LT(*pages * os::PageSize(), 32 * kMiB);
  // Past the reservation it moves, as a file does.
  ASSERT_TRUE(v->reserve(v->capacity() + 1).ok());
  EXPECT_NE(v->data(), data);
  EXPECT_TRUE(HoldsIndices(*v));

  // The default reserve (64 GiB), and stable from the first element.
  options = VectorOptions();
  options.scratch.mmap_threshold = 0;
  auto w = MappedVector<uint64_t>::CreateScratch(options);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE(w->push_back(0).ok());
  data = w->data();
  EXPECT_EQ(w->capacity(), options.reserve / 8);
  while (w->size() < 1000000) ASSERT_TRUE(w->push_back(w->size()).ok());
  EXPECT_EQ(w->data(), data);
  EXPECT_TRUE(HoldsIndices(*w));
}

TEST_F(VectorTest, ScratchVectorWithoutAddressSpaceReallocatesInstead) {
  VectorOptions options;
  options.scratch.mmap_threshold = 0;
  auto v = MappedVector<uint64_t>::CreateScratch(options);
  ASSERT_TRUE(v.ok()) << v.status();
  os::fault::Inject({os::Op::kMmap, ENOMEM});  // the reservation's mmap
  ASSERT_TRUE(v->push_back(0).ok());
  EXPECT_EQ(v->capacity() * 8, os::PageSize());  // a plain page-sized map
  while (v->size() < 10000) ASSERT_TRUE(v->push_back(v->size()).ok());
  EXPECT_TRUE(HoldsIndices(*v));
  EXPECT_LT(v->capacity(), 40000u);  // grown by doubling, not reserved
}

TEST_F(VectorTest, ResizeAppendEmplaceAndAt) {
  auto v = MappedVector<Rec64>::CreateScratch();
  ASSERT_TRUE(v.ok());
  Rec64 filler{};
  filler.key = 7;
  ASSERT_TRUE(v->resize(3, filler).ok());
  ASSERT_TRUE(v->emplace_back(Rec64{9, {}}).ok());
  ASSERT_TRUE(v->resize(6).ok());
  EXPECT_EQ((*v)[2].key, 7u);
  EXPECT_EQ((*v)[3].key, 9u);
  EXPECT_EQ((*v)[5].key, 0u);
  // Appending the vector to itself across growth (the source moves).
  for (int round = 0; round < 8; ++round) {
    ASSERT_TRUE(v->append(absl::MakeConstSpan(v->data(), v->size())).ok());
  }
  ASSERT_EQ(v->size(), 6u << 8);
  EXPECT_EQ((*v)[6 * 255 + 3].key, 9u);
  ASSERT_TRUE(v->at(5).ok());
  absl::Status s = v->at(v->size()).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
  // push_back of one of its own elements when full.
  while (v->size() < v->capacity()) ASSERT_TRUE(v->push_back(filler).ok());
  ASSERT_TRUE(v->push_back((*v)[3]).ok());
  EXPECT_EQ(v->back().key, 9u);
  EXPECT_GT(v->max_size(), size_t{1} << 50);
  EXPECT_EQ(v->reserve(v->max_size() + 1).code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(VectorTest, FailedSyncKeepsThePreviousCommit) {
  MakeFile(4);
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->push_back(4).ok());
    os::fault::Inject({os::Op::kMsync, EIO});
    absl::Status s = v->Sync();
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_EQ(v->committed_size(), 4u);
    EXPECT_FALSE(v->Sync().ok());  // sticky
  }
  auto r = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 4u);
}

// The flushes a writer makes are the ones the contract needs: the new
// header once (it tells a creation cut short from a damaged file), then
// only in Sync(). Growth, reserve, shrink_to_fit, close and the Open of an
// existing file flush nothing; the new file's directory is synced by the
// first Sync, not by Open.
TEST_F(VectorTest, OnlyCreationAndSyncFlush) {
  // A rule that never fires: counts every operation from here on.
  os::fault::Inject({os::Op::kFsync, 0});
  auto flushes = [] {
    return std::vector<uint64_t>{os::fault::Calls(os::Op::kMsync),
                                 os::fault::Calls(os::Op::kFdatasync),
                                 os::fault::Calls(os::Op::kFsync)};
  };
  using Flushes = std::vector<uint64_t>;
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(flushes(), (Flushes{1, 1, 0})) << "the header, no directory";
    for (uint64_t i = 0; i < (uint64_t{3} << 20) / 8; ++i) {
      ASSERT_TRUE(v->push_back(i).ok());
    }
    ASSERT_TRUE(v->reserve(v->capacity() * 2).ok());
    ASSERT_TRUE(v->shrink_to_fit().ok());
    EXPECT_GT(v->file()->size(), uint64_t{3} << 20);  // grew several times
    EXPECT_EQ(flushes(), (Flushes{1, 1, 0})) << "growth and shrink";
    ASSERT_TRUE(v->Sync().ok());
    // data + header msync, the size's fdatasync, the directory once.
    EXPECT_EQ(flushes(), (Flushes{3, 2, 1}));
    ASSERT_TRUE(v->push_back(7).ok());
    ASSERT_TRUE(v->Sync().ok());
    EXPECT_EQ(os::fault::Calls(os::Op::kFsync), 1u) << "directory once";
  }
  os::fault::Reset();
  os::fault::Inject({os::Op::kFsync, 0});
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_EQ(v->size(), (uint64_t{3} << 20) / 8 + 1);
    for (uint64_t i = 0; i < (uint64_t{1} << 20); ++i) {
      ASSERT_TRUE(v->push_back(i).ok());
    }
    ASSERT_TRUE(v->shrink_to_fit().ok());
  }
  EXPECT_EQ(flushes(), (Flushes{0, 0, 0})) << "reopen, growth, close";
}

// The directory sync moved from Open to the first Sync keeps its error
// path: a failure is the Sync's, names the step, commits nothing, and the
// next Sync tries again.
// A failed directory fsync is sticky, as a failed data sync is: every later
// Sync fails too (reopen to go on).
TEST_F(VectorTest, NewFilesDirectorySyncFailsTheFirstSyncAndStaysFailed) {
  os::fault::Inject({os::Op::kFsync, EIO});
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();  // Open no longer fsyncs
  ASSERT_TRUE(v->push_back(1).ok());
  absl::Status s = v->Sync();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(),
              HasSubstr("MappedVector::Sync(\"" + path_ +
                        "\"): making the new file's name durable"));
  EXPECT_EQ(v->committed_size(), 0u);
  EXPECT_EQ(v->Sync().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(v->committed_size(), 0u);
  EXPECT_EQ(os::fault::Calls(os::Op::kFsync), 1u);
}

// A file whose creator ended before its first Sync: the next writer's first
// Sync makes the name durable (before: only the creating Open's writer did,
// so this Sync returned OK with the name still at a power loss's mercy).
TEST_F(VectorTest, FirstSyncOfAReopenedNeverSyncedFileSyncsTheDirectory) {
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->push_back(1).ok());
  }  // closed without Sync
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->push_back(2).ok());
  os::fault::Inject({os::Op::kFsync, EIO});
  absl::Status s = v->Sync();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_THAT(s.message(), HasSubstr("making the new file's name durable"));
  EXPECT_EQ(v->committed_size(), 0u);
}

// The /proc/self/smaps lines of the mapping that holds `address`.
std::vector<std::string> Smaps(const void* address) {
  std::string smaps = testing::ReadFile("/proc/self/smaps");
  const auto at = reinterpret_cast<uintptr_t>(address);
  std::vector<std::string> lines;
  bool inside = false;
  for (absl::string_view line : absl::StrSplit(smaps, '\n')) {
    unsigned long begin = 0, end = 0;
    char dash = 0;
    // A mapping's first line: "begin-end perms ...".
    if (std::sscanf(std::string(line.substr(0, 40)).c_str(), "%lx%c%lx ",
                    &begin, &dash, &end) == 3 &&
        dash == '-') {
      inside = begin <= at && at < end;
    } else if (inside) {
      lines.emplace_back(line);
    }
  }
  return lines;
}

std::string VmFlags(const void* address) {
  for (const std::string& line : Smaps(address)) {
    if (absl::StartsWith(line, "VmFlags:")) return line;
  }
  return "";
}

// kB of the mapping at `address` mapped as whole huge folios.
uint64_t FilePmdMappedKb(const void* address) {
  for (const std::string& line : Smaps(address)) {
    unsigned long kb = 0;
    if (std::sscanf(line.c_str(), "FilePmdMapped: %lu kB", &kb) == 1) return kb;
  }
  return 0;
}

// Pages a writer grows into ask for huge pages until its first Sync, and
// small ones from then on (VectorOptions::huge_pages): bulk filling faults
// in 2 MiB at a time, later Syncs write back small pages.
TEST_F(VectorTest, GrowthAsksForHugePagesUntilTheFirstSync) {
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->resize((uint64_t{4} << 20) / 8).ok());
  const std::byte* base = v->file()->data();
  EXPECT_THAT(VmFlags(base + (uint64_t{3} << 20)), HasSubstr(" hg"));
  EXPECT_THAT(VmFlags(base), ::testing::Not(HasSubstr(" hg")));
  ASSERT_TRUE(v->Sync().ok());
  EXPECT_THAT(VmFlags(base + (uint64_t{3} << 20)), HasSubstr(" nh"));
  ASSERT_TRUE(v->resize((uint64_t{16} << 20) / 8).ok());
  ASSERT_EQ(v->file()->data(), base);
  EXPECT_THAT(VmFlags(base + (uint64_t{15} << 20)), HasSubstr(" nh"));
  EXPECT_THAT(VmFlags(base + (uint64_t{15} << 20)),
              ::testing::Not(HasSubstr(" hg")));
  // Readers and vectors opened with huge_pages keep their own advice.
  auto r = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_THAT(VmFlags(r->data() + 1000), ::testing::Not(HasSubstr(" hg")));
  r = absl::UnknownError("closed");
  // A writer whose first Sync comes without growth advises nothing.
  v = absl::UnknownError("closed");
  v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->push_back(1).ok());
  ASSERT_TRUE(v->Sync().ok());
  const std::string flags = VmFlags(v->data() + v->size() - 1);
  EXPECT_THAT(flags, ::testing::Not(HasSubstr(" hg")));
  EXPECT_THAT(flags, ::testing::Not(HasSubstr(" nh")));
}

// The first Sync lets go of the huge folios from the one holding the end of
// the elements on: otherwise each later Sync there writes 2 MiB back. Where
// the file system has no large folios there is nothing to let go (skipped).
TEST_F(VectorTest, FirstSyncLetsGoOfTheHugeFoliosAtTheEnd) {
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->resize((uint64_t{16} << 20) / 8).ok());  // faults all in
  const std::byte* base = v->file()->data();
  const uint64_t before = FilePmdMappedKb(base + (uint64_t{8} << 20));
  if (before == 0) {
    GTEST_SKIP() << "no huge folios for files here: " << path_;
  }
  EXPECT_GE(before, 8u * 1024);
  ASSERT_TRUE(v->resize((uint64_t{5} << 20) / 8).ok());  // ends inside 4-6 MiB
  ASSERT_TRUE(v->Sync().ok());
  // Only the folios below the one that holds the end stay whole.
  EXPECT_LE(FilePmdMappedKb(base + (uint64_t{8} << 20)), 4u * 1024);
  for (uint64_t i = 0; i < 100000; ++i) ASSERT_TRUE(v->push_back(i).ok());
  ASSERT_TRUE(v->Sync().ok());
  EXPECT_LE(FilePmdMappedKb(base + (uint64_t{8} << 20)), 4u * 1024);
  // The elements are still there, through the same addresses.
  EXPECT_EQ((*v)[(uint64_t{5} << 20) / 8 - 1], 0u);
  EXPECT_EQ(v->back(), 99999u);
  EXPECT_EQ(v->file()->data(), base);
}

TEST_F(VectorTest, CorruptSlotFallsBackAndBothCorruptIsDataLoss) {
  MakeFile(3);  // commit 2 (slot 0)
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->push_back(3).ok());
    ASSERT_TRUE(v->Sync().ok());  // commit 3 (slot 1)
  }
  Flip(4032 + 8);
  auto r = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 3u);
  r = absl::UnknownError("closed");
  Flip(3968 + 8);
  absl::Status s = OpenStatus();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("both commit slots are invalid"));
}

// Every single-byte change of the header page: detected, or harmless (the
// vector opens with one of its commits and those contents).
TEST_F(VectorTest, EverySingleByteCorruptionOfTheHeaderIsDetectedOrHarmless) {
  MakeFile(4);
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_TRUE(v->push_back(4).ok());
    ASSERT_TRUE(v->Sync().ok());
  }
  const std::string good = testing::ReadFile(path_);
  auto fd = os::Open(path_, O_RDWR);
  ASSERT_TRUE(fd.ok());
  int detected = 0, harmless = 0;
  for (uint64_t i = 0; i < kHeaderSize; ++i) {
    const char bad = good[i] ^ char(0xa5);
    ASSERT_TRUE(os::Pwrite(fd->get(), path_, &bad, 1, i).ok());
    auto r = MappedVector<const uint64_t>::Open(path_);
    if (!r.ok()) {
      ++detected;
      EXPECT_THAT(r.status().code(),
                  ::testing::AnyOf(absl::StatusCode::kDataLoss,
                                   absl::StatusCode::kInvalidArgument,
                                   absl::StatusCode::kFailedPrecondition))
          << i << ": " << r.status();
    } else {
      ++harmless;
      EXPECT_GE(i, 3968u) << "undetected change at byte " << i;
      ASSERT_TRUE(r->size() == 4 || r->size() == 5) << i;
      for (uint64_t k = 0; k < r->size(); ++k) ASSERT_EQ((*r)[k], k);
    }
    ASSERT_TRUE(os::Pwrite(fd->get(), path_, &good[i], 1, i).ok());
  }
  EXPECT_EQ(detected, 3968);
  EXPECT_EQ(harmless, 128);
}

TEST_F(VectorTest, FullDiskIsResourceExhaustedAndTheVectorStaysUsable) {
  absl::StatusOr<int> rc =
      testing::RunWithTinyTmpfs(1 << 20, [](const std::string& dir) {
        auto v = MappedVector<uint64_t>::Open(dir + "/v.vec");
        if (!v.ok()) return 1;
        absl::Status s;
        uint64_t i = 0;
        while ((s = v->push_back(i)).ok()) ++i;
        if (s.code() != absl::StatusCode::kResourceExhausted || i < 1000)
          return 2;
        if (!v->Sync().ok()) return 3;
        const size_t size = v->size();
        v = absl::UnknownError("closed");
        auto r = MappedVector<const uint64_t>::Open(dir + "/v.vec");
        if (!r.ok() || r->size() != size || (*r)[size - 1] != size - 1)
          return 4;
        return 0;
      });
  if (!rc.ok()) GTEST_SKIP() << rc.status();
  EXPECT_EQ(*rc, 0);
}

// A child pushes and Syncs, reporting each synced size through a pipe; the
// parent SIGKILLs it at a random instant and checks that the file reopens
// with at least the last reported size and the right contents.
//
// The promise is "everything up to the last successful Sync() survives", so
// the parent decides what to require from what the child reported, never
// from how long it waited: a child on a loaded machine may not even have
// created the file when the kill comes. Until some Sync has been reported
// (or the file has opened once, which means its creation finished), a file
// that does not open is allowed, with an error that names it; the next
// child's Open starts such an unfinished creation again. Every other round
// waits for the child's first report before the random delay, so kills
// after a Sync are tested however slow the machine is.
TEST_F(VectorTest, SyncedRecordsSurviveSigkillAtRandomInstants) {
  std::mt19937_64 random(20260101);
  uint64_t reported = 0;
  bool promised = false;  // a Sync was reported or the file has opened
  int kills_before_promise = 0;
  for (int round = 0; round < 200; ++round) {
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const uint64_t batch = 1 + random() % 300;
    const bool after_first_sync = round % 2 == 1;
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      auto v = MappedVector<uint64_t>::Open(path_);
      if (!v.ok()) _exit(1);
      for (;;) {
        for (uint64_t k = 0; k < batch; ++k) {
          if (!v->push_back(v->size() * 2654435761u).ok()) _exit(2);
        }
        if (!v->Sync().ok()) _exit(3);
        const uint64_t size = v->size();
        if (write(fds[1], &size, sizeof(size)) != sizeof(size)) _exit(4);
      }
    }
    close(fds[1]);
    uint64_t size;
    if (after_first_sync) {
      // A generous bound: a child that never Syncs fails the test rather
      // than hanging it.
      pollfd p = {fds[0], POLLIN, 0};
      const int ready = poll(&p, 1, 60000);
      if (ready != 1 || read(fds[0], &size, sizeof(size)) != sizeof(size)) {
        kill(pid, SIGKILL);
        waitpid(pid, nullptr, 0);
        close(fds[0]);
        FAIL() << "round " << round << ": the child reported no Sync in 60 s";
      }
      reported = size;
      promised = true;
    }
    usleep(random() % 20000);
    kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited " << WEXITSTATUS(status);
    while (read(fds[0], &size, sizeof(size)) == sizeof(size)) {
      reported = size;
      promised = true;
    }
    close(fds[0]);
    auto r = MappedVector<const uint64_t>::Open(path_);
    if (!r.ok() && !promised) {
      // Killed before its creation finished: no Sync returned, so nothing
      // was promised. The exact code is not part of the contract; naming
      // the file is.
      EXPECT_THAT(r.status().message(), HasSubstr(path_)) << round;
      ++kills_before_promise;
      continue;
    }
    ASSERT_TRUE(r.ok()) << "round " << round << ": " << r.status();
    promised = true;
    ASSERT_GE(r->size(), reported) << "round " << round;
    for (uint64_t k = 0; k < r->size(); ++k) {
      ASSERT_EQ((*r)[k], k * 2654435761u)
          << "round " << round << " index " << k;
    }
    reported = r->size();  // the next child starts from here
  }
  EXPECT_GT(reported, 0u);
  // Only the first child can find no finished file.
  EXPECT_LE(kills_before_promise, 1);
}

// On tmpfs the file's pages are allocated ahead of the writer, on the
// pretouch thread, and the size grows sparse (docs/PERFORMANCE.md, "The
// vector's write path"). What must hold whatever the timing: every element
// lands, nothing is allocated past the end of the file (a task that ran on
// would take tmpfs memory no one gives back), and shrink_to_fit, growth
// after it and a reopen keep every element.
class TmpfsVectorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    struct statfs fs;
    if (::statfs("/dev/shm", &fs) != 0 || fs.f_type != TMPFS_MAGIC) {
      GTEST_SKIP() << "no tmpfs at /dev/shm";
    }
    std::string pattern = "/dev/shm/mapfile-vector-test.XXXXXX";
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/v.vec";
  }
  void TearDown() override {
    if (dir_.empty()) return;
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  // Bytes the file holds (allocated) and its size.
  std::pair<uint64_t, uint64_t> Usage() const {
    struct stat st;
    if (::stat(path_.c_str(), &st) != 0) return {~uint64_t{0}, 0};
    return {uint64_t(st.st_blocks) * 512, uint64_t(st.st_size)};
  }
  std::string dir_, path_;
};

TEST_F(TmpfsVectorTest, PagesAllocatedAheadStayInsideTheFile) {
  constexpr uint64_t kN = 3000000;  // 24 MB: many windows and growth steps
  {
    auto v = MappedVector<uint64_t>::Open(path_);
    ASSERT_TRUE(v.ok()) << v.status();
    for (uint64_t i = 0; i < kN; ++i) {
      ASSERT_TRUE(v->push_back(i * 0x9E3779B97F4A7C15ull).ok()) << i;
      if (i % 500000 == 0) {
        auto [held, size] = Usage();
        EXPECT_LE(held, os::RoundUp(size, os::PageSize())) << i;
        // capacity() counts only allocated pages.
        EXPECT_GE(held, 4096 + v->capacity() * 8) << i;
      }
    }
    ASSERT_TRUE(v->Sync().ok());
    auto [held, size] = Usage();
    EXPECT_GE(held, 4096 + kN * 8);
    EXPECT_LE(held, os::RoundUp(size, os::PageSize()));
  }
  // Closed: no task runs on, so the figures stay.
  const auto closed = Usage();
  ::usleep(20000);
  EXPECT_EQ(Usage(), closed);
  auto r = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), kN);
  for (uint64_t i = 0; i < kN; ++i) {
    ASSERT_EQ((*r)[i], i * 0x9E3779B97F4A7C15ull) << i;
  }
}

TEST_F(TmpfsVectorTest, ShrinkRegrowAndReopenKeepEveryElement) {
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  for (uint64_t i = 0; i < 400000; ++i) ASSERT_TRUE(v->push_back(i).ok());
  ASSERT_TRUE(v->resize(100000).ok());
  ASSERT_EQ(v->size(), 100000u);
  ASSERT_TRUE(v->Sync().ok());
  ASSERT_TRUE(v->shrink_to_fit().ok());
  {
    auto [held, size] = Usage();
    EXPECT_EQ(size, 4096 + 100000 * 8);
    EXPECT_LE(held, os::RoundUp(size, os::PageSize()));
  }
  for (uint64_t i = 100000; i < 700000; ++i) {
    ASSERT_TRUE(v->push_back(i).ok());
  }
  ASSERT_TRUE(v->Sync().ok());
  v = absl::UnknownError("closed");
  // A second writer continues where the first one committed; the file past
  // that point may be sparse.
  auto w = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_GE(w->capacity(), 700000u);
  for (uint64_t i = 700000; i < 1000000; ++i) {
    ASSERT_TRUE(w->push_back(i).ok());
  }
  ASSERT_TRUE(w->Sync().ok());
  w = absl::UnknownError("closed");
  auto r = MappedVector<const uint64_t>::Open(path_);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1000000u);
  for (uint64_t i = 0; i < 1000000; ++i) ASSERT_EQ((*r)[i], i) << i;
}

// On tmpfs a writer leaves the file's size ahead of its allocated pages
// (sparse): always after a full tmpfs, and whenever the background had not
// allocated its window when the vector closed. A later writer that does not
// allocate ahead (VectorOptions::populate) must still not store into that
// tail unallocated: a full tmpfs is ResourceExhausted, never a SIGBUS.
TEST_F(VectorTest, PopulateWriterOfAFileLeftSparseOnAFullTmpfsGetsAStatus) {
  absl::StatusOr<int> rc =
      testing::RunWithTinyTmpfs(1 << 20, [](const std::string& dir) {
        const std::string path = dir + "/v.vec";
        {
          auto v = MappedVector<uint64_t>::Open(path);
          if (!v.ok()) return 1;
          absl::Status s;
          uint64_t i = 0;
          while ((s = v->push_back(i)).ok()) ++i;
          if (s.code() != absl::StatusCode::kResourceExhausted) return 2;
          if (!v->Sync().ok()) return 3;
        }
        // Whatever the tmpfs still has goes to another file.
        {
          const int fd = ::open((dir + "/filler").c_str(),
                                O_WRONLY | O_CREAT | O_TRUNC, 0644);
          if (fd < 0) return 4;
          static const char kPage[4096] = {1};
          while (::write(fd, kPage, sizeof(kPage)) > 0) {
          }
          ::close(fd);
        }
        VectorOptions o;
        o.populate = true;
        auto v = MappedVector<uint64_t>::Open(path, o);
        if (!v.ok()) return 5;
        absl::Status s;
        for (uint64_t i = 0; i < (1 << 20) && s.ok(); ++i) s = v->push_back(i);
        if (s.code() != absl::StatusCode::kResourceExhausted) return 6;
        return 0;
      });
  if (!rc.ok()) GTEST_SKIP() << rc.status();
  EXPECT_EQ(*rc, 0) << "128 + 7 is a SIGBUS";
}

// A forked child continues with a vector its parent opened on tmpfs (as
// with pretouch: PretouchTest.ForkedChildDestroysInheritedPretouchersPromptly).
// The fork may come while the parent's pretouch thread allocates a piece
// ahead of the writer, a piece that no thread in the child will finish: the
// child's growth must not wait for it (it hung there).
TEST_F(TmpfsVectorTest, ForkedChildGrowsAVectorWhoseAllocationWasInFlight) {
  auto v = MappedVector<uint64_t>::Open(path_);
  ASSERT_TRUE(v.ok()) << v.status();
  for (int round = 0; round < 200; ++round) {
    if (round % 10 == 0) {
      // 4 MiB: the background allocates 2 MiB windows (8 pieces). Cut
      // back to that now and then to keep the file small.
      constexpr uint64_t kBase = 1 << 19;
      while (v->size() < kBase) ASSERT_TRUE(v->push_back(v->size()).ok());
      ASSERT_TRUE(v->resize(kBase).ok());
      ASSERT_TRUE(v->shrink_to_fit().ok());
    }
    // Growth posts the allocation of the next window; fork at instants
    // spread over the time the pretouch thread takes to wake up and
    // allocate it.
    const size_t capacity = v->capacity();
    while (v->capacity() == capacity) {
      ASSERT_TRUE(v->push_back(v->size()).ok());
    }
    ::usleep(round % 20 * 40);
    const int code = testing::RunInChild([&] {
      alarm(10);  // a hang is SIGALRM: 128 + 14
      const uint64_t from = v->size();
      for (uint64_t i = 0; i < (1 << 19); ++i) {  // 4 MiB: past any window
        if (!v->push_back(from + i).ok()) return 1;
      }
      return (*v)[from + 1000] == from + 1000 ? 0 : 2;
    });
    ASSERT_EQ(code, 0) << "round " << round;
  }
  for (uint64_t i = 0; i < v->size(); ++i) ASSERT_EQ((*v)[i], i) << i;
}

}  // namespace
}  // namespace mapfile
