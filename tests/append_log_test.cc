// Copyright 2026 The mapfile Authors.
//
// AppendLog<T>: appends, segments, durability and recovery. Every test is
// named after the failure it rules out. LogReader is in log_reader_test.cc.

#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/format.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"
#include "tests/testing.h"

struct Rec {  // 24 bytes: frames of 32, no padding outside the checksum
  uint64_t seq;
  uint64_t a;
  uint64_t b;
  bool operator==(const Rec& o) const {
    return seq == o.seq && a == o.a && b == o.b;
  }
  bool operator!=(const Rec& o) const { return !(*this == o); }
};
MAPFILE_TYPE(Rec, "test.Rec", 1);

// The same declared type in two programs, one with a field changed.
struct TickOld {
  int64_t time;
  double price;
};
struct TickNew {
  int64_t time;
  float price;
  float spread;
};
MAPFILE_TYPE(TickOld, "test.Tick", 1);
MAPFILE_FIELDS(TickOld, time, price);
MAPFILE_TYPE(TickNew, "test.Tick", 1);

// A record larger than the writer's 256 KiB buffer.
struct Big {
  uint64_t seq;
  char bytes[size_t{1} << 20];
};
MAPFILE_TYPE(Big, "test.Big", 1);
MAPFILE_FIELDS(TickNew, time, price, spread);

namespace mapfile {
namespace {

using ::testing::HasSubstr;
using internal::LogLayout;

Rec Make(uint64_t seq) { return {seq, seq * 0x9E3779B97F4A7C15ull, ~seq}; }

const LogLayout kLayout{FingerprintOf<Rec>()};

// A lying segment file, checksums recomputed (only validation stands
// between the lie and the log): `edit` changes its header and its latest
// commit, written back as the next commit.
void Rewrite(const std::string& path,
             const std::function<void(FileHeader&, CommitSlot&)>& edit) {
  std::string bytes = testing::ReadFile(path);
  ASSERT_GE(bytes.size(), kHeaderSize);
  const absl::Span<std::byte> page(reinterpret_cast<std::byte*>(bytes.data()),
                                   kHeaderSize);
  absl::StatusOr<FileHeader> h = DecodeHeader(page, path);
  ASSERT_TRUE(h.ok()) << h.status();
  absl::StatusOr<CommitSlot> c = LatestCommit(*h, bytes.size(), path);
  ASSERT_TRUE(c.ok()) << c.status();
  edit(*h, *c);
  ++c->sequence;
  EncodeHeader(*h, page);
  EncodeSlot(*c, page);
  ASSERT_TRUE(testing::WriteFile(path, bytes));
}

TEST(AppendLogSchemaTest, EverySegmentCarriesTheSchemaAndAMismatchIsRejected) {
  testing::TempDir tmp;
  const std::string dir = tmp.File("ticks");
  LogOptions options;
  options.segment_size = 16 << 10;
  options.compress_sealed = true;
  {
    auto log = AppendLog<TickOld>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int64_t i = 0; i < 2000; ++i) {
      ASSERT_TRUE(log->Append({i, i + 0.5}).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
  }
  int segments = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".seg") continue;
    const std::string bytes = testing::ReadFile(entry.path().string());
    absl::StatusOr<FileHeader> h = DecodeHeader(
        absl::MakeConstSpan(reinterpret_cast<const std::byte*>(bytes.data()),
                            bytes.size()),
        entry.path().string());
    ASSERT_TRUE(h.ok()) << h.status();
    EXPECT_TRUE(h->type.fields == FingerprintOf<TickOld>().fields)
        << entry.path();
    ++segments;
  }
  EXPECT_GT(segments, 2);
  auto reader = LogReader<TickOld>::Open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<TickOld> t = reader->Read(1999);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->price, 1999.5);
  for (const absl::Status& s :
       {AppendLog<TickNew>::Open(dir, options).status(),
        LogReader<TickNew>::Open(dir).status()}) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(s.message(),
                HasSubstr("with field 2 \"price: float64 at offset 8 (8 "
                          "bytes)\"; asked for \"test.Tick\" v1 (16 bytes, "
                          "align 8) with field 2 \"price: float32 at offset 8 "
                          "(4 bytes)\""));
  }
}

class AppendLogTest : public ::testing::Test {
 protected:
  AppendLogTest() { options_.segment_size = 16 << 10; }

  // Commits records [0, split), then [split, end), closes the log and
  // returns its first segment's bytes with one bit of record `damaged`
  // flipped (not written back).
  std::string TwoCommitsThenDamage(uint64_t split, uint64_t end,
                                   uint64_t damaged) {
    {
      auto log = Open();
      EXPECT_TRUE(log.ok()) << log.status();
      if (!log.ok()) return "";
      AppendRange(*log, 0, split);
      EXPECT_TRUE(log->Sync().ok());
      AppendRange(*log, split, end);
      EXPECT_TRUE(log->Sync().ok());
    }
    std::string bytes = testing::ReadFile(Segment(0));
    bytes[kLayout.records_offset() + damaged * kLayout.stride + 3] ^= 0x10;
    return bytes;
  }

  std::string Segment(uint64_t first) const {
    return dir_.File("log/" + internal::SegmentFileName(first));
  }
  absl::StatusOr<AppendLog<Rec>> Open() const {
    return AppendLog<Rec>::Open(path_, options_);
  }
  // What a writer leaves that dies between TruncateBefore's retirement of
  // the last named segment and its naming of the next: 3 segments' worth
  // of records and 5, none synced, retired below 2 segments; only
  // temporaries from there on.
  void LeaveOnlyTemporaries() {
    const uint64_t per = kLayout.Capacity(options_.segment_size);
    std::filesystem::remove_all(path_);
    {
      auto log = Open();
      ASSERT_TRUE(log.ok());
      AppendRange(*log, 0, 3 * per + 5);
      ASSERT_TRUE(log->TruncateBefore(2 * per).ok());
    }
    std::filesystem::rename(Segment(2 * per), Segment(2 * per) + ".tmp");
  }
  // Appends records [from, to) and returns the log's next_seq().
  static void AppendRange(AppendLog<Rec>& log, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) {
      absl::StatusOr<uint64_t> seq = log.Append(Make(i));
      ASSERT_TRUE(seq.ok()) << seq.status();
      ASSERT_EQ(*seq, i);
    }
  }
  // Every record of `log` reads back as Make(seq), by Read and by cursor.
  static void ExpectRecords(AppendLog<Rec>& log, uint64_t first,
                            uint64_t next) {
    ASSERT_EQ(log.first_seq(), first);
    ASSERT_EQ(log.next_seq(), next);
    uint64_t seq = first;
    auto c = log.From(first);
    for (; c.Valid(); c.Next(), ++seq) {
      ASSERT_EQ(c.seq(), seq);
      ASSERT_EQ(c.value(), Make(seq)) << seq;
    }
    EXPECT_TRUE(c.status().ok()) << c.status();
    EXPECT_EQ(seq, next);
    for (uint64_t i = first; i < next; i += 7) {
      absl::StatusOr<Rec> r = log.Read(i);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(*r, Make(i));
    }
  }

  // Open's recovery() equals what PlanRecovery said it would be.
  static void ExpectPlanned(const absl::StatusOr<RecoveryReport>& plan,
                            const RecoveryReport& done) {
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->records_kept, done.records_kept);
    EXPECT_EQ(plan->records_cut, done.records_cut);
    EXPECT_EQ(plan->bytes_cut, done.bytes_cut);
    EXPECT_EQ(plan->segment, done.segment);
  }
  // A log of [0, 105): [0, 100) in a sealed segment, compressed; the
  // uncompressed segment's bytes before compression in *sealed.
  void MakeCompressed(std::string* sealed = nullptr) {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRange(*log, 0, 100);
    ASSERT_TRUE(log->Seal().ok());
    if (sealed != nullptr) *sealed = testing::ReadFile(Segment(0));
    ASSERT_TRUE(log->Compress(0).ok());
    AppendRange(*log, 100, 105);
    ASSERT_TRUE(log->Sync().ok());
  }
  static bool Compressed(const std::string& path) {
    const std::string bytes = testing::ReadFile(path);
    auto h = DecodeHeader(
        absl::MakeConstSpan(reinterpret_cast<const std::byte*>(bytes.data()),
                            bytes.size()),
        path);
    EXPECT_TRUE(h.ok()) << h.status();
    return h.ok() && (h->segment_flags & kSegmentCompressed) != 0;
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("log");
  LogOptions options_;
};

TEST_F(AppendLogTest, RecordsSurviveReopenAcrossManySegments) {
  const uint64_t per_segment = kLayout.Capacity(16 << 10);
  const uint64_t n = 5 * per_segment + 17;
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRange(*log, 0, n / 2);
    std::vector<Rec> batch;
    for (uint64_t i = n / 2; i < n; ++i) batch.push_back(Make(i));
    absl::StatusOr<uint64_t> first = log->AppendBatch(batch);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(*first, n / 2);
    ExpectRecords(*log, 0, n);
    ASSERT_TRUE(log->Sync().ok());
  }
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, n);
  EXPECT_EQ(log->size(), n);
  EXPECT_EQ(log->recovery().records_kept, 0u);
  EXPECT_EQ(log->recovery().bytes_cut, 0u);
  EXPECT_TRUE(std::filesystem::exists(Segment(5 * per_segment)));
  // Iteration from the middle of a segment.
  auto c = log->From(per_segment + 3);
  ASSERT_TRUE(c.Valid());
  EXPECT_EQ(c.value(), Make(per_segment + 3));
}

// A writer's Open reads past the last commit only as far as the records
// go: with no readahead, which would cache zeros of the allocated space
// after them that the next Open takes for data (SEEK_DATA) and reads,
// caching more (the Open of a synced 10^7-record log grew to 3-16 ms).
// All of the segment is allocated here, as a writer far ahead of its
// records leaves it: the range checked past the commit (25 MiB) is long
// enough to be split, and its second half lies in allocated space too.
TEST_F(AppendLogTest, ReopensLeaveTheAllocatedSpaceAfterTheRecordsUnread) {
  options_.segment_size = 32 << 20;
  constexpr uint64_t kRecords = 200000;  // 6.4 MB of a 32 MiB segment
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<Rec> batch;
    for (uint64_t i = 0; i < kRecords; ++i) batch.push_back(Make(i));
    ASSERT_TRUE(log->AppendBatch(batch).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  {
    const int fd = ::open(Segment(0).c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << Segment(0) << ": " << std::strerror(errno);
    struct stat st;
    ASSERT_EQ(::fstat(fd, &st), 0);
    const int allocated =
        ::fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, st.st_size);
    ::close(fd);
    if (allocated != 0) GTEST_SKIP() << "no fallocate on this file system";
  }
  const uint64_t page = os::PageSize();
  const uint64_t end = os::RoundUp(
      kLayout.records_offset() + kRecords * kLayout.stride, page);
  // Where the file's data (written, or cached) ends, from `end` on.
  auto data_end = [&] {
    const int fd = ::open(Segment(0).c_str(), O_RDONLY);
    if (fd < 0) {
      ADD_FAILURE() << Segment(0) << ": " << std::strerror(errno);
      return ~uint64_t{0};
    }
    uint64_t last = end;
    for (off_t at = static_cast<off_t>(end);;) {
      const off_t data = ::lseek(fd, at, SEEK_DATA);
      if (data < 0) break;
      at = ::lseek(fd, data, SEEK_HOLE);
      last = static_cast<uint64_t>(at);
    }
    ::close(fd);
    return last;
  };
  if (data_end() != end) {
    GTEST_SKIP() << "allocated space reads as data on this file system";
  }
  for (int i = 0; i < 10; ++i) {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_EQ(log->next_seq(), kRecords);
  }
  // At most the first buffer that the check past the commit reads.
  EXPECT_LE(data_end(), os::RoundUp(end + (256 << 10), page));
}

TEST_F(AppendLogTest, SecondWriterIsUnavailableInThisAndOtherProcesses) {
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  auto second = Open();
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()), HasSubstr(path_));
  EXPECT_EQ(testing::RunInChild([&] {
              return Open().status().code() == absl::StatusCode::kUnavailable
                         ? 0
                         : 1;
            }),
            0);
}

TEST_F(AppendLogTest, ModesRefuseWhatTheyPromiseNotToDo) {
  options_.mode = OpenMode::kReadWrite;
  EXPECT_EQ(Open().status().code(), absl::StatusCode::kNotFound);
  options_.mode = OpenMode::kReadOnly;
  EXPECT_EQ(Open().status().code(), absl::StatusCode::kInvalidArgument);
  options_.mode = OpenMode::kCreateNew;
  ASSERT_TRUE(Open().ok());
  EXPECT_EQ(Open().status().code(), absl::StatusCode::kAlreadyExists);
  options_.segment_size = internal::kMaxSegmentSize + 1;
  options_.mode = OpenMode::kCreate;
  EXPECT_EQ(Open().status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(AppendLogTest, WrongRecordTypeIsFailedPrecondition) {
  ASSERT_TRUE(Open().ok());
  auto other = AppendLog<uint64_t>::Open(path_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("test.Rec"));
}

TEST_F(AppendLogTest, ReadOutsideTheLogIsOutOfRange) {
  auto log = Open();
  ASSERT_TRUE(log.ok());
  AppendRange(*log, 0, 3);
  EXPECT_EQ(log->Read(3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*log)[1000].status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(log->From(3).Valid());
  EXPECT_TRUE(log->From(3).status().ok());
}

// Closing without Sync keeps every appended record for the next Open (the
// destructor writes the buffer; nothing is named or committed).
TEST_F(AppendLogTest, UnsyncedIntactRecordsAreKeptAfterClose) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              for (uint64_t i = 0; i < 10; ++i) log->Append(Make(i)).IgnoreError();
              if (!log->Sync().ok()) return 2;
              // Two rolls no Sync finishes, then 15 records in the buffer.
              for (uint64_t i = 10; i < 2 * per + 15; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              return 0;
            }),
            0);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, 2 * per + 15);
  EXPECT_EQ(log->recovery().records_kept, 2 * per + 5);
  EXPECT_EQ(log->recovery().records_cut, 0u);
}

// A frame larger than the write buffer (which holds at least one frame):
// written, synced and read back whole (ASan saw the buffer overrun when it
// held only 256 KiB).
TEST_F(AppendLogTest, RecordsLargerThanTheWriteBufferRoundTrip) {
  auto records = std::make_unique<std::vector<Big>>(3);
  for (size_t i = 0; i < records->size(); ++i) {
    (*records)[i].seq = i;
    std::memset((*records)[i].bytes, 'a' + static_cast<int>(i),
                sizeof(Big::bytes));
  }
  LogOptions options;
  options.segment_size = 4 << 20;  // three records, then a roll
  {
    auto log = AppendLog<Big>::Open(path_, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (const Big& r : *records) ASSERT_TRUE(log->Append(r).ok());
    ASSERT_TRUE(log->Sync().ok());
    for (const Big& r : *records) ASSERT_TRUE(log->Append(r).ok());
  }  // the second three are kept by close
  auto log = AppendLog<Big>::Open(path_, options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->next_seq(), 6u);
  auto got = std::make_unique<Big>();
  for (uint64_t seq = 0; seq < 6; ++seq) {
    absl::StatusOr<Big> r = log->Read(seq);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(std::memcmp(&*r, &(*records)[seq % 3], sizeof(Big)), 0) << seq;
  }
}

// A Sync that failed while naming the segments rolled into since the last
// one (here the second rename) is retried by the next Sync: the segment
// already renamed is not renamed again (before: every later Sync failed
// with rename("", ...) until the log was reopened).
TEST_F(AppendLogTest, SyncThatFailedWhileNamingSegmentsIsRetried) {
  options_.pretouch_in_background = false;
  options_.recycle_segments = 0;
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  AppendRange(*log, 0, 2 * per + 10);  // two rolls: two names due
  {
    os::fault::ScopedReset reset;
    os::fault::Inject({os::Op::kRename, ENOSPC, 2});
    EXPECT_FALSE(log->Sync().ok());
  }
  ASSERT_TRUE(log->Sync().ok());
  AppendRange(*log, 2 * per + 10, 2 * per + 20);
  ASSERT_TRUE(log->Sync().ok());
  log = absl::UnknownError("closed");
  auto reopened = Open();
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  ExpectRecords(*reopened, 0, 2 * per + 20);
  EXPECT_EQ(reopened->recovery().records_cut, 0u);
}

// TruncateBefore moves (or unlinks) a retired segment's file, then syncs the
// directory. When that fsync fails the file has already left its name: the
// log follows the file system (the segment is no longer in it; a kept file
// is reused by the next roll), and the failure is sticky, as a failed Sync
// is: no later Sync or TruncateBefore claims a durability the directory may
// not have. (Before, the segment stayed in the log: reads from first_seq()
// failed on the missing file, every later TruncateBefore failed on it, and
// the next Sync returned OK.)
TEST_F(AppendLogTest, TruncateBeforeWhoseDirectorySyncFailedFollowsTheDisk) {
  options_.pretouch_in_background = false;
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  for (const uint32_t recycle : {2u, 0u}) {
    SCOPED_TRACE(recycle);
    std::filesystem::remove_all(path_);
    options_.recycle_segments = recycle;
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRange(*log, 0, 3 * per + 5);
    ASSERT_TRUE(log->Sync().ok());
    {
      os::fault::ScopedReset reset;
      os::fault::Inject({os::Op::kFsync, EIO, 1});
      const absl::Status s = log->TruncateBefore(per);
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      EXPECT_THAT(std::string(s.message()),
                  HasSubstr("AppendLog::TruncateBefore"));
      EXPECT_THAT(std::string(s.message()), HasSubstr("syncing directory"));
    }
    EXPECT_FALSE(std::filesystem::exists(Segment(0)));
    EXPECT_EQ(std::filesystem::exists(Segment(0) + ".free"), recycle > 0);
    ExpectRecords(*log, per, 3 * per + 5);
    const absl::Status synced = log->Sync();
    EXPECT_FALSE(synced.ok()) << "the failed directory fsync is not sticky";
    EXPECT_THAT(std::string(synced.message()),
                HasSubstr("an earlier directory fsync failed"));
    EXPECT_FALSE(log->TruncateBefore(2 * per).ok());
    EXPECT_TRUE(std::filesystem::exists(Segment(per)));  // refused: kept
    // Appends go on (they claim no durability); the roll at 4 * per reuses
    // the kept file.
    AppendRange(*log, 3 * per + 5, 4 * per + 5);
    EXPECT_FALSE(std::filesystem::exists(Segment(0) + ".free"));
    ExpectRecords(*log, per, 4 * per + 5);
    log = absl::UnknownError("closed");
    auto reopened = Open();  // a new writer: the error was this one's
    ASSERT_TRUE(reopened.ok()) << reopened.status();
    ExpectRecords(*reopened, per, 4 * per + 5);
    EXPECT_TRUE(reopened->Sync().ok());
    EXPECT_TRUE(reopened->TruncateBefore(2 * per).ok());
    EXPECT_EQ(reopened->first_seq(), 2 * per);
  }
}

// Bytes of disk a file takes (st_blocks), and its length.
uint64_t Allocated(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_blocks) * 512 : ~0ull;
}
uint64_t Length(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? uint64_t(st.st_size) : ~0ull;
}

// A segment takes disk in steps as records arrive: a small log with the
// default 64 MiB segments allocates one step (1 MiB), not the segment.
TEST_F(AppendLogTest, SmallLogAllocatesOneStepNotTheSegment) {
  options_ = LogOptions();
  {
    auto log = AppendLog<uint64_t[2]>::Open(path_, options_);  // 16 B
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < 3000; ++i) {
      const uint64_t r[2] = {i, ~i};
      ASSERT_TRUE(log->AppendBatch(absl::MakeConstSpan(&r, 1)).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(Length(Segment(0)), uint64_t{64} << 20);  // sparse
    EXPECT_LE(Allocated(Segment(0)), uint64_t{1} << 20);
  }
  auto log = AppendLog<uint64_t[2]>::Open(path_, options_);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->next_seq(), 3000u);
  EXPECT_LE(Allocated(Segment(0)), uint64_t{1} << 20);
}

// segment_size is the log's: reopening with other options (as the CLI does,
// with defaults) leaves the active segment's length as recorded, and the
// new options apply to segments created afterwards.
TEST_F(AppendLogTest, ReopenWithAnotherSegmentSizeKeepsTheRecordedOne) {
  const uint64_t small = options_.segment_size;  // 16 KiB
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Sync().ok());
  }
  EXPECT_EQ(Length(Segment(0)), small);
  options_.segment_size = 64 << 10;
  const uint64_t per = kLayout.Capacity(small);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(Length(Segment(0)), small);
    AppendRange(*log, 10, per + 10);  // rolls into a 64 KiB segment
    ASSERT_TRUE(log->Sync().ok());
    ExpectRecords(*log, 0, per + 10);
  }
  EXPECT_EQ(Length(Segment(per)), uint64_t{64} << 10);
  options_ = LogOptions();  // defaults, as `mapfile compress` opens
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(log->Compress(0).ok());
    ASSERT_TRUE(log->Decompress(0).ok());
  }
  EXPECT_EQ(Length(Segment(per)), uint64_t{64} << 10);
  EXPECT_LE(Allocated(Segment(per)), uint64_t{64} << 10);
}

// A segment extended sparse to 1 TiB (by hand, or a hostile file) is cut
// back to its recorded size by the writer's Open, never allocated: the
// free space of the (real) file system does not drop.
TEST_F(AppendLogTest, SparseTerabyteSegmentIsCutBackWithoutTakingTheDisk) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_EQ(::truncate(Segment(0).c_str(), off_t{1} << 40), 0);
  struct statvfs before, after;
  ASSERT_EQ(::statvfs(path_.c_str(), &before), 0);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_EQ(::statvfs(path_.c_str(), &after), 0);
    ExpectRecords(*log, 0, 10);
    AppendRange(*log, 10, 20);
    ASSERT_TRUE(log->Sync().ok());
  }
  const int64_t dropped =
      (int64_t(before.f_bavail) - int64_t(after.f_bavail)) *
      int64_t(before.f_frsize);
  EXPECT_LT(dropped, int64_t{1} << 30);
  EXPECT_EQ(Length(Segment(0)), options_.segment_size);
  EXPECT_LE(Allocated(Segment(0)), uint64_t{1} << 20);
}

// Retention keeps retired files (up to recycle_segments) and a roll reuses
// them. A recycled file still holds its old frames after the new ones; a
// writer killed there (its buffer lost) must not get any of them back as
// records: each fails the checksum of the sequence number it would have.
TEST_F(AppendLogTest, RecycledSegmentKilledMidwayNeverYieldsAStaleFrame) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  // In the second reused file, before its first buffer flush.
  const uint64_t killed_at = 4 * per + per / 2;
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              for (uint64_t i = 0; i < 3 * per; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              if (!log->Sync().ok()) return 2;
              if (!log->TruncateBefore(2 * per).ok()) return 3;  // 2 retired
              for (uint64_t i = 3 * per; i < killed_at; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              ::raise(SIGKILL);
              return 4;
            }),
            128 + SIGKILL);
  // The roll at 4 * per reused a retired file (the one at 3 * per too,
  // unless it was prepared before the retirement).
  EXPECT_FALSE(std::filesystem::exists(Segment(0) + ".free") &&
               std::filesystem::exists(Segment(per) + ".free"));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  // Written: everything before the last roll (at 4 * per); the records of
  // the segment being filled were still in the buffer, and behind them lie
  // the file's old frames (records 0...): none passes as a record here, so
  // they are left in place for the writer to overwrite, and not reported.
  ExpectRecords(*log, 2 * per, 4 * per);
  EXPECT_EQ(log->recovery().bytes_cut, 0u);
  AppendRange(*log, 4 * per, 5 * per + 3);
  ASSERT_TRUE(log->Sync().ok());
  ExpectRecords(*log, 2 * per, 5 * per + 3);
}

// A clean close in a reused file: the next Open keeps every record and
// leaves the file's old frames behind them in place (none can pass here),
// so the writer fills pages the file already has; nothing is reported cut.
TEST_F(AppendLogTest, CleanCloseInAReusedFileKeepsItsOldFramesAndReportsNoCut) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = 4 * per + per / 2;
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 3 * per);
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->TruncateBefore(2 * per).ok());  // 2 retired
    AppendRange(*log, 3 * per, end);  // rolls into both
  }
  // The segment at 4 * per reused one (prepared after the retirement).
  ASSERT_FALSE(std::filesystem::exists(Segment(0) + ".free") &&
               std::filesystem::exists(Segment(per) + ".free"));
  const std::string active = std::filesystem::exists(Segment(4 * per))
                                 ? Segment(4 * per)
                                 : Segment(4 * per) + ".tmp";
  const uint64_t allocated = Allocated(active);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 2 * per, end);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  EXPECT_EQ(log->recovery().bytes_cut, 0u);
  EXPECT_EQ(log->recovery().segment, "");
  EXPECT_EQ(Allocated(active), allocated);  // no page given back
  AppendRange(*log, end, 5 * per + 3);
  ASSERT_TRUE(log->Sync().ok());
  ExpectRecords(*log, 2 * per, 5 * per + 3);
}

// Segments a writer never read (retired right after a reopen) are reused
// as well; a prepared next segment that the log closed before using is
// kept for reuse too.
TEST_F(AppendLogTest, SegmentsRetiredAfterAReopenAndAnUnusedNextOneAreReused) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 3 * per + per / 2 + 1);  // past half: prepares
    ASSERT_TRUE(log->Sync().ok());
    // The background prepares the segment for 4 * per.
    for (int i = 0; i < 500 && !std::filesystem::exists(Segment(4 * per) +
                                                        ".tmp");
         ++i) {
      ::usleep(10000);
    }
    ASSERT_TRUE(std::filesystem::exists(Segment(4 * per) + ".tmp"));
  }
  EXPECT_FALSE(std::filesystem::exists(Segment(4 * per) + ".tmp"));
  EXPECT_TRUE(std::filesystem::exists(Segment(4 * per) + ".free"));
  auto log = Open();
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE(log->TruncateBefore(2 * per).ok());
  EXPECT_TRUE(std::filesystem::exists(Segment(0) + ".free") ||
              std::filesystem::exists(Segment(per) + ".free"));
  EXPECT_FALSE(std::filesystem::exists(Segment(0)));
  EXPECT_FALSE(std::filesystem::exists(Segment(per)));
  AppendRange(*log, 3 * per + per / 2 + 1, 6 * per);
  ASSERT_TRUE(log->Sync().ok());
  ExpectRecords(*log, 2 * per, 6 * per);
  for (const auto& entry :
       std::filesystem::directory_iterator(std::filesystem::path(path_))) {
    EXPECT_FALSE(absl::EndsWith(entry.path().string(), ".free"))
        << entry.path() << ": reused by the rolls at 4, 5 * per";
  }
}

// A reused file is never cut shorter than it was while a reader of the
// segment it was may map it: not when a prepared segment made from it goes
// back unused at close, nor when a later writer seals it after a reopen
// (before, both cut it and the reader's next record was SIGBUS).
TEST_F(AppendLogTest, AReusedFileKeepsItsOldLengthThroughUnprepareAndReopen) {
  options_.segment_size = 64 << 10;
  options_.pretouch_in_background = false;
  const uint64_t per = kLayout.Capacity(64 << 10);
  for (const bool reopen : {false, true}) {
    SCOPED_TRACE(reopen ? "rolled into, reopened, sealed" : "unused at close");
    std::filesystem::remove_all(path_);
    const int code = testing::RunInChild([&] {
      auto log = Open();
      if (!log.ok()) return 1;
      for (uint64_t i = 0; i < 200; ++i) log->Append(Make(i)).IgnoreError();
      if (!log->Seal().ok()) return 2;  // segment 0: 200 records, 10560 B
      for (uint64_t i = 200; i < 210; ++i) log->Append(Make(i)).IgnoreError();
      if (!log->Sync().ok()) return 3;
      auto reader = LogReader<Rec>::Open(path_);
      if (!reader.ok()) return 4;
      auto c = reader->From(197);
      if (!c.Valid() || c.value() != Make(197)) return 5;
      if (!log->TruncateBefore(200).ok()) return 6;  // 0.seg -> 0.seg.free
      if (!reopen) {
        // Past half: the next segment is prepared from the retired file,
        // and the close does not use it.
        for (uint64_t i = 210; i < 200 + per / 2 + 2; ++i) {
          log->Append(Make(i)).IgnoreError();
        }
        log->Pretouch();
        if (!std::filesystem::exists(Segment(200 + per) + ".tmp")) return 7;
        log = absl::UnknownError("closed");
      } else {
        for (uint64_t i = 210; i < 200 + per + 10; ++i) {  // rolls into it
          log->Append(Make(i)).IgnoreError();
        }
        if (std::filesystem::exists(Segment(0) + ".free")) return 8;
        if (!log->Sync().ok()) return 9;
        log = absl::UnknownError("closed");
        log = Open();
        if (!log.ok()) return 10;
        if (!log->Seal().ok()) return 11;
      }
      for (uint64_t seq = 198; seq < 200; ++seq) {
        c.Next();  // SIGBUS if the file was cut
        if (!c.Valid() || c.seq() != seq || c.value() != Make(seq)) return 12;
      }
      return 0;
    });
    EXPECT_EQ(code, 0) << (code == 128 + SIGBUS ? "SIGBUS" : "");
  }
}

// On a full tmpfs, a writer's Open (and PlanRecovery) of a log whose
// active segment is a reused file returns, without reading a hole of the
// file through the mapping (a read fault there needs a page: SIGBUS).
TEST_F(AppendLogTest, OpenOnAFullTmpfsWithAReusedSegmentDoesNotCrash) {
  absl::StatusOr<int> code = testing::RunWithTinyTmpfs(
      4 << 20, [](const std::string& tmp) -> int {
        LogOptions o;
        o.segment_size = 1 << 20;
        o.pretouch_in_background = false;
        const std::string dir = tmp + "/log";
        const uint64_t per = kLayout.Capacity(1 << 20);
        {
          auto log = AppendLog<Rec>::Open(dir, o);
          if (!log.ok()) return 10;
          for (uint64_t i = 0; i < 20000; ++i) {
            log->Append(Make(i)).IgnoreError();
          }
          if (!log->Seal().ok()) return 11;
          for (uint64_t i = 20000; i < 20010; ++i) {
            log->Append(Make(i)).IgnoreError();
          }
          if (!log->Sync().ok()) return 12;
          if (!log->TruncateBefore(20000).ok()) return 13;
          for (uint64_t i = 20010; i < 20000 + per + 10; ++i) {
            if (!log->Append(Make(i)).ok()) return 14;
          }
        }
        {
          FILE* f = fopen((tmp + "/filler").c_str(), "w");
          if (f == nullptr) return 16;
          const std::string chunk(4096, 'x');
          while (fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size() &&
                 fflush(f) == 0) {
          }
          fclose(f);
        }
        if (!AppendLog<Rec>::PlanRecovery(dir).ok()) return 17;
        auto log = AppendLog<Rec>::Open(dir, o);
        if (!log.ok()) return 18;
        for (uint64_t seq = 20000; seq < 20000 + per + 10; seq += 97) {
          absl::StatusOr<Rec> r = log->Read(seq);
          if (!r.ok() || *r != Make(seq)) return 19;
        }
        return 0;
      });
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0) << (*code == 128 + SIGBUS ? "SIGBUS" : "");
}

// A writer belongs to the process that opened it, which holds the log's
// lock. In a forked child its calls that write fail (FailedPrecondition),
// and its destructor neither writes the frames it had buffered (the
// parent's to write; by then the parent may have reused that file for
// other records) nor waits for the parent's background jobs, whose thread
// is not in the child (it waited forever when one was running at the
// fork). The parent goes on as if nothing happened.
TEST_F(AppendLogTest, AForkedChildNeitherUsesNorFlushesItsParentsWriter) {
  options_.compress_sealed = true;  // each Sync queues background jobs
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  uint64_t next = 0;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(round);
    AppendRange(*log, next, next + 3 * per + per / 2);  // rolls
    next += 3 * per + per / 2;
    ASSERT_TRUE(log->Sync().ok());
    const uint64_t buffered = next;  // in the writer's buffer, not the file
    AppendRange(*log, next, next + 1);
    ++next;
    const int code = testing::RunInChild([&] {
      ::alarm(10);
      if (!absl::IsFailedPrecondition(log->Append(Make(next)).status()) ||
          !absl::IsFailedPrecondition(log->Sync()) ||
          !absl::IsFailedPrecondition(log->TruncateBefore(per))) {
        return 1;
      }
      { AppendLog<Rec> closed = *std::move(log); }
      return 0;
    });
    ASSERT_EQ(code, 0) << "128 + 14: the child's close hung";
    const std::string segment = testing::ReadFile(Segment(buffered / per * per));
    const uint64_t at =
        kLayout.records_offset() + buffered % per * kLayout.stride;
    ASSERT_GE(segment.size(), at + kLayout.stride);
    EXPECT_EQ(segment.substr(at, kLayout.stride),
              std::string(kLayout.stride, '\0'))
        << "the child wrote its parent's buffered record " << buffered;
  }
  ExpectRecords(*log, 0, next);
  ASSERT_TRUE(log->Sync().ok());
}

// On tmpfs the segment prepared for the next roll is allocated whole by
// the background (docs/DESIGN.md, "Append"): the appending thread makes no
// fallocate in it, and the close gives back what it never used.
TEST_F(AppendLogTest, OnTmpfsTheWriterAllocatesNothingInAPreparedSegment) {
  absl::StatusOr<int> code = testing::RunWithTinyTmpfs(
      32 << 20, [](const std::string& tmp) -> int {
        constexpr uint64_t kSize = 4 << 20;  // Prepare allocates 1 MiB
        LogOptions o;
        o.segment_size = kSize;
        o.pretouch_in_background = false;  // jobs run in Pretouch()
        const std::string dir = tmp + "/log";
        const uint64_t per = kLayout.Capacity(kSize);
        // Bytes allocated to the segment file for records from `first`
        // (named, temporary or retired).
        auto allocated = [&](uint64_t first) -> uint64_t {
          struct stat st;
          const std::string path =
              absl::StrCat(dir, "/", internal::SegmentFileName(first));
          for (const char* suffix : {"", internal::kTempSuffix, internal::kFreeSuffix}) {
            if (::stat((path + suffix).c_str(), &st) == 0) {
              return static_cast<uint64_t>(st.st_blocks) * 512;
            }
          }
          return 0;
        };
        {
          auto log = AppendLog<Rec>::Open(dir, o);
          if (!log.ok()) return 10;
          // Past half of the first segment: the next one is asked for.
          for (uint64_t i = 0; i < per / 2 + 1000; ++i) {
            if (!log->Append(Make(i)).ok()) return 11;
          }
          log->Pretouch();  // prepares it, then allocates the rest of it
          if (allocated(per) < kSize) return 12;
          // The rest of the first (which the writer made, and allocates).
          for (uint64_t i = per / 2 + 1000; i < per; ++i) {
            if (!log->Append(Make(i)).ok()) return 13;
          }
          os::fault::ScopedReset reset;
          os::fault::Inject({os::Op::kFallocate, 0});  // counts calls
          // Through the roll, up to just before half of the second one.
          for (uint64_t i = per; i < per + per / 2 - 1000; ++i) {
            if (!log->Append(Make(i)).ok()) return 13;
          }
          if (os::fault::Calls(os::Op::kFallocate) != 0) return 14;
          // Past its half: the third is prepared, whole, and not used.
          for (uint64_t i = per + per / 2 - 1000; i < per + per / 2 + 10;
               ++i) {
            if (!log->Append(Make(i)).ok()) return 15;
          }
          log->Pretouch();
          if (allocated(2 * per) < kSize) return 16;
        }
        // The close kept it for reuse, with its header page only.
        if (allocated(2 * per) == 0 || allocated(2 * per) > 64 << 10) {
          return 17;
        }
        auto log = AppendLog<Rec>::Open(dir, o);
        if (!log.ok() || log->next_seq() != per + per / 2 + 10) return 18;
        return 0;
      });
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0);
}

// Retired files in a directory whose segments were removed are not reused
// by the new log there: their old frames carry its first sequence numbers.
TEST_F(AppendLogTest, RetiredFilesWithoutALogAreNotReused) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 3 * per);
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->TruncateBefore(2 * per).ok());  // 0 and per: .free
  }
  ASSERT_TRUE(std::filesystem::exists(Segment(0) + ".free"));
  for (const auto& entry : std::filesystem::directory_iterator(path_)) {
    if (entry.path().extension() == ".seg") std::filesystem::remove(entry);
  }
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  AppendRange(*log, 0, 5);
  EXPECT_FALSE(std::filesystem::exists(Segment(0) + ".free"));
  EXPECT_FALSE(std::filesystem::exists(Segment(per) + ".free"));
  log = absl::UnknownError("closed");
  log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, 5);  // nothing of the old records
}

// Retention does not wait for a Sync: segments holding records no Sync
// made durable are retired too, the last named one included (its successor
// is named in its place), so a log that is never synced still keeps only
// what it is asked to keep.
TEST_F(AppendLogTest, TruncateBeforeRetiresSegmentsNoSyncMadeDurable) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = 3 * per + 5;
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, end);  // rolls at per, 2 * per, 3 * per; no Sync
    EXPECT_FALSE(std::filesystem::exists(Segment(2 * per)));
    ASSERT_TRUE(log->TruncateBefore(2 * per).ok());
    EXPECT_EQ(log->first_seq(), 2 * per);
    EXPECT_TRUE(std::filesystem::exists(Segment(0) + ".free"));
    EXPECT_TRUE(std::filesystem::exists(Segment(per) + ".free"));
    EXPECT_TRUE(std::filesystem::exists(Segment(2 * per)));  // named now
    EXPECT_FALSE(std::filesystem::exists(Segment(2 * per) + ".tmp"));
    ExpectRecords(*log, 2 * per, end);
  }
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 2 * per, end);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  AppendRange(*log, end, end + 3);
  ASSERT_TRUE(log->Sync().ok());
  log = absl::UnknownError("closed");
  log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 2 * per, end + 3);
  EXPECT_EQ(log->recovery().records_kept, 0u);
}

// A writer that dies after TruncateBefore retired the last named segment
// and before it named the next one leaves only temporaries: the next Open
// starts the log at the first of them, with every record it holds.
TEST_F(AppendLogTest, OnlyTemporariesLeftByRetentionStartTheLogAtTheFirst) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = 3 * per + 5;
  ASSERT_NO_FATAL_FAILURE(LeaveOnlyTemporaries());
  ASSERT_FALSE(std::filesystem::exists(Segment(3 * per)));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->first_seq(), 2 * per);
  ExpectRecords(*log, 2 * per, end);
  EXPECT_TRUE(std::filesystem::exists(Segment(2 * per)));
  EXPECT_EQ(log->recovery().records_cut, 0u);
  AppendRange(*log, end, end + 3);
  ASSERT_TRUE(log->Sync().ok());
  ExpectRecords(*log, 2 * per, end + 3);
}

// As above, with one more temporary below the successor: what a background
// compression of a retired segment leaves when the writer is killed while
// it writes "<first>.seg.tmp" (WriteRewrite: O_TRUNC, then the header). The
// first temporary is then not the log's next segment, and must not decide
// that the directory holds a new log: the records in the successor were
// appended and flushed (they survive a kill -9), and sequence numbers never
// go back to 0.
TEST_F(AppendLogTest, OnlyTemporariesWithAnEarlierRewriteTemporaryKeepTheLog) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = 3 * per + 5;
  ASSERT_NO_FATAL_FAILURE(LeaveOnlyTemporaries());
  ASSERT_TRUE(testing::WriteFile(Segment(per) + ".tmp", ""));  // killed rewrite
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->next_seq(), end);
  ExpectRecords(*log, 2 * per, end);
}

// TruncateBefore retires the last named segment (unlink or move to .free)
// and names its successor. Were both renames covered by one directory
// fsync, a power loss could keep the successor's name and not the
// retirement: the old segment would be back as a named segment with a
// successor, its commit counting only the records synced before, and its
// records would fail to read (DataLoss) in a log where nothing was damaged.
// So the successor is renamed only after the retirement's fsync: if that
// fsync fails, it is still a temporary, and the next Open starts the log
// there with every record.
TEST_F(AppendLogTest, RetentionNamesTheSuccessorOnlyOnceTheRetirementIsDurable) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = 2 * per + 5;
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Sync().ok());
    AppendRange(*log, 10, end);  // rolls at per, 2 * per; no Sync
    os::fault::ScopedReset reset;
    os::fault::Inject({os::Op::kFsync, EIO});  // the retirement's
    EXPECT_FALSE(log->TruncateBefore(per).ok());
    EXPECT_FALSE(std::filesystem::exists(Segment(0)));
    EXPECT_FALSE(std::filesystem::exists(Segment(per)));
    EXPECT_TRUE(std::filesystem::exists(Segment(per) + ".tmp"));
  }
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->first_seq(), per);
  ExpectRecords(*log, per, end);
}

// A log left as only temporaries, with one call of the Open that names the
// first failing (open, fstat, mmap: ENOMEM, EIO as DataLoss, EINVAL as
// InvalidArgument): an error reading a file says nothing about whether it
// holds the log's records. That Open may fail, but must neither start the
// log at a later temporary nor drop the one it could not read; the next
// Open finds every record.
TEST_F(AppendLogTest, OnlyTemporariesSurviveAFailedOpen) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = 3 * per + 5;
  for (int error : {ENOMEM, EIO, EINVAL}) {
    for (os::Op op : {os::Op::kOpen, os::Op::kFstat, os::Op::kMmap}) {
      for (uint64_t nth = 1;; ++nth) {
        SCOPED_TRACE(absl::StrCat("errno ", error, " op ",
                                  static_cast<int>(op), " call ", nth));
        ASSERT_NO_FATAL_FAILURE(LeaveOnlyTemporaries());
        bool reached;
        {
          os::fault::ScopedReset reset;
          os::fault::Inject({op, error, nth});
          auto failed = Open();
          reached = os::fault::Calls(op) >= nth;
        }
        auto log = Open();
        ASSERT_TRUE(log.ok()) << log.status();
        ASSERT_EQ(log->first_seq(), 2 * per);
        ASSERT_EQ(log->next_seq(), end);
        if (!reached) break;
      }
    }
  }
}

// A log left as only temporaries (retention interrupted between retiring
// the last named segment and naming the next) opened with the wrong record
// type: as with a named segment, FailedPrecondition and nothing touched.
// The temporaries are this log's; a type mismatch is no reason to take
// them for "no log" and start a new one over them.
TEST_F(AppendLogTest, OnlyTemporariesOpenedWithAnotherTypeAreKept) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = 3 * per + 5;
  const std::vector<std::pair<const char*, std::function<absl::Status()>>>
      wrong_opens = {
          {"AppendLog<TickOld>",
           [&] { return AppendLog<TickOld>::Open(path_, options_).status(); }},
          {"BlobLog", [&] { return BlobLog::Open(path_).status(); }},
      };
  for (const auto& [name, wrong_open] : wrong_opens) {
    SCOPED_TRACE(name);
    ASSERT_NO_FATAL_FAILURE(LeaveOnlyTemporaries());
    const absl::Status wrong = wrong_open();
    EXPECT_EQ(wrong.code(), absl::StatusCode::kFailedPrecondition) << wrong;
    auto log = Open();
    if (!log.ok()) {
      ADD_FAILURE() << log.status();
      continue;
    }
    EXPECT_EQ(log->first_seq(), 2 * per);
    EXPECT_EQ(log->next_seq(), end);
  }
}

// Records appended and never synced survive kill -9 (log_store.h: the next
// Open keeps every record written). A read of them that fails while the
// Open checks their frames (pread: EIO) says nothing about the frames: the
// Open must fail, or keep them; it must not cut the segment there. The
// next Open finds every record.
TEST_F(AppendLogTest, AReadErrorWhileRecoveringCutsNoRecord) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = per + per / 2;
  for (uint64_t nth = 1;; ++nth) {
    SCOPED_TRACE(absl::StrCat("pread call ", nth));
    std::filesystem::remove_all(path_);
    {
      auto log = Open();
      ASSERT_TRUE(log.ok());
      AppendRange(*log, 0, 10);
      ASSERT_TRUE(log->Sync().ok());
      AppendRange(*log, 10, end);  // closed, never synced: as kill -9
    }
    bool reached;
    {
      os::fault::ScopedReset reset;
      os::fault::Inject({os::Op::kPread, EIO, nth});
      auto failed = Open();
      reached = os::fault::Calls(os::Op::kPread) >= nth;
    }
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_EQ(log->next_seq(), end);
    if (!reached) break;
  }
}

// A chain of rolls no Sync finished (a named full segment, then a
// temporary holding records), left by kill -9, which keeps every record
// written (log_store.h). An Open whose open, fstat or mmap of the temporary
// fails with EIO or EINVAL must fail, or keep the temporary: the next Open
// finds every record.
TEST_F(AppendLogTest, AdoptKeepsATemporaryItCouldNotRead) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  const uint64_t end = per + 7;
  for (int error : {ENOMEM, EIO, EINVAL}) {
    for (os::Op op : {os::Op::kOpen, os::Op::kFstat, os::Op::kMmap}) {
      for (uint64_t nth = 1;; ++nth) {
        SCOPED_TRACE(absl::StrCat("errno ", error, " op ",
                                  static_cast<int>(op), " call ", nth));
        std::filesystem::remove_all(path_);
        {
          auto log = Open();
          ASSERT_TRUE(log.ok());
          AppendRange(*log, 0, end);  // rolled into per, never synced
        }
        ASSERT_TRUE(std::filesystem::exists(Segment(per) + ".tmp"));
        bool reached;
        {
          os::fault::ScopedReset reset;
          os::fault::Inject({op, error, nth});
          auto failed = Open();
          reached = os::fault::Calls(op) >= nth;
        }
        auto log = Open();
        ASSERT_TRUE(log.ok()) << log.status();
        ASSERT_EQ(log->next_seq(), end);
        if (!reached) break;
      }
    }
  }
}

// With recycle_segments = 0 retired segments are deleted, as before.
TEST_F(AppendLogTest, RecyclingOffDeletesRetiredSegments) {
  options_.recycle_segments = 0;
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  auto log = Open();
  ASSERT_TRUE(log.ok());
  AppendRange(*log, 0, 3 * per);
  ASSERT_TRUE(log->Sync().ok());
  ASSERT_TRUE(log->TruncateBefore(2 * per).ok());
  EXPECT_FALSE(std::filesystem::exists(Segment(0)));
  EXPECT_FALSE(std::filesystem::exists(Segment(0) + ".free"));
  EXPECT_FALSE(std::filesystem::exists(Segment(per) + ".free"));
}

// A reused file is never cut shorter than it was (docs/DESIGN.md,
// "Recycling"), also when the log was reopened with a smaller segment_size:
// a reader still holding a cursor in the retired segment reads its records,
// never past the end of the file (SIGBUS; before, the reuse cut the file to
// the new segment size).
TEST_F(AppendLogTest, ReusedFileLongerThanTheSegmentSizeKeepsItsLengthForReaders) {
  options_.segment_size = 64 << 10;
  options_.pretouch_in_background = false;
  const uint64_t big = kLayout.Capacity(64 << 10);
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              for (uint64_t i = 0; i < 3 * big + 5; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              if (!log->Sync().ok()) return 2;
              auto reader = LogReader<Rec>::Open(path_);
              if (!reader.ok()) return 3;
              auto c = reader->From(big - 3);  // in segment 0, past 16 KiB
              if (!c.Valid() || c.value() != Make(big - 3)) return 4;
              if (!log->TruncateBefore(big).ok()) return 5;  // kept: .free
              log = absl::UnknownError("closed");
              options_.segment_size = 16 << 10;
              log = Open();
              if (!log.ok()) return 6;
              // Rolls at 4 * big into the reused file of segment 0.
              for (uint64_t i = 3 * big + 5; i < 4 * big + 5; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              if (std::filesystem::exists(Segment(0) + ".free")) return 7;
              for (uint64_t seq = big - 2; seq < big; ++seq) {
                c.Next();
                if (!c.Valid() || c.seq() != seq || c.value() != Make(seq)) {
                  return 8;
                }
              }
              return 0;
            }),
            0);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, big, 4 * big + 5);
}

// Compression of sealed segments runs after the Sync that sealed them, in
// the background; a writer killed before it ran leaves them uncompressed,
// and the next writer's Open finishes the job (by its close at the latest).
TEST_F(AppendLogTest, CompressionKilledBeforeItRanResumesAtTheNextOpen) {
  options_.compress_sealed = true;
  options_.pretouch_in_background = false;  // nothing runs before the kill
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              for (uint64_t i = 0; i < 3 * per + 5; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              if (!log->Sync().ok()) return 2;  // queues 3 compressions
              ::raise(SIGKILL);
              return 3;
            }),
            128 + SIGKILL);
  for (uint64_t k = 0; k < 3; ++k) EXPECT_FALSE(Compressed(Segment(k * per)));
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ExpectRecords(*log, 0, 3 * per + 5);
  }
  for (uint64_t k = 0; k < 3; ++k) {
    EXPECT_TRUE(Compressed(Segment(k * per))) << k;
  }
  EXPECT_FALSE(Compressed(Segment(3 * per)));  // the active one
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, 3 * per + 5);
}

// A killed process loses at most the records still in its write buffer:
// every record written before (here, at the last roll) is kept, also in
// segments rolled into since the last Sync (temporaries adopted by Open).
TEST_F(AppendLogTest, UnsyncedWrittenRecordsAreKeptAfterProcessDeath) {
  const uint64_t per = kLayout.Capacity(options_.segment_size);
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              for (uint64_t i = 0; i < 10; ++i) log->Append(Make(i)).IgnoreError();
              if (!log->Sync().ok()) return 2;
              for (uint64_t i = 10; i < 2 * per + 15; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              ::raise(SIGKILL);
              return 3;
            }),
            128 + SIGKILL);
  const absl::StatusOr<RecoveryReport> plan = AppendLog<Rec>::PlanRecovery(path_);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectPlanned(plan, log->recovery());  // adoption included
  ExpectRecords(*log, 0, 2 * per);
  EXPECT_EQ(log->recovery().records_kept, 2 * per - 10);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  // The adopted segment stays a temporary until the next Sync names it
  // and commits its records; the temporary that held only buffered records
  // is gone.
  EXPECT_FALSE(std::filesystem::exists(Segment(per)));
  EXPECT_TRUE(std::filesystem::exists(Segment(per) + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(Segment(2 * per) + ".tmp"));
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_TRUE(std::filesystem::exists(Segment(per)));
  EXPECT_FALSE(std::filesystem::exists(Segment(per) + ".tmp"));
}

TEST_F(AppendLogTest, TornTailAtEveryByteOffsetReopensToAValidPrefix) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 5);
    ASSERT_TRUE(log->Sync().ok());
    AppendRange(*log, 5, 8);
  }  // no Sync: records 5..7 are the tail
  const std::string original = testing::ReadFile(Segment(0));
  const uint64_t stride = kLayout.stride;
  const uint64_t tail = kLayout.records_offset() + 5 * stride;
  for (uint64_t cut = tail; cut <= tail + 3 * stride; ++cut) {
    SCOPED_TRACE(cut);
    ASSERT_TRUE(testing::WriteFile(Segment(0), original.substr(0, cut)));
    const uint64_t whole = (cut - tail) / stride;
    uint64_t nonzero = 0;  // bytes of the partial frame up to its last non-zero
    for (uint64_t i = tail + whole * stride; i < cut; ++i) {
      if (original[i] != 0) nonzero = i + 1 - (tail + whole * stride);
    }
    {
      const absl::StatusOr<RecoveryReport> plan =
          AppendLog<Rec>::PlanRecovery(path_);
      EXPECT_EQ(testing::ReadFile(Segment(0)), original.substr(0, cut));
      auto log = Open();
      ASSERT_TRUE(log.ok()) << log.status();
      ExpectRecords(*log, 0, 5 + whole);
      const RecoveryReport& r = log->recovery();
      ExpectPlanned(plan, r);
      EXPECT_EQ(r.records_kept, whole);
      EXPECT_EQ(r.bytes_cut, nonzero);
      EXPECT_EQ(r.records_cut, nonzero > 0 ? 1u : 0u);
      EXPECT_EQ(r.segment, nonzero > 0 ? Segment(0) : "");
    }
    // What recovery kept is committed by the next Sync, not by Open: a
    // second Open keeps the same records, and has nothing more to cut.
    auto again = Open();
    ASSERT_TRUE(again.ok()) << again.status();
    ExpectRecords(*again, 0, 5 + whole);
    EXPECT_EQ(again->recovery().records_kept, whole);
    EXPECT_EQ(again->recovery().bytes_cut, 0u);
    ASSERT_TRUE(again->Sync().ok());
    again = absl::UnknownError("closed");
    again = Open();
    ASSERT_TRUE(again.ok()) << again.status();
    ExpectRecords(*again, 0, 5 + whole);
    EXPECT_EQ(again->recovery().records_kept, 0u);
  }
}

TEST_F(AppendLogTest, BitFlipInTheTailCutsFromTheDamagedRecord) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 5);
    ASSERT_TRUE(log->Sync().ok());
    AppendRange(*log, 5, 8);
  }
  const std::string original = testing::ReadFile(Segment(0));
  const uint64_t stride = kLayout.stride;
  const uint64_t tail = kLayout.records_offset() + 5 * stride;
  for (uint64_t at = tail; at < tail + 3 * stride; ++at) {
    SCOPED_TRACE(at);
    std::string damaged = original;
    damaged[at] ^= static_cast<char>(1 << (at % 8));
    ASSERT_TRUE(testing::WriteFile(Segment(0), damaged));
    const absl::StatusOr<RecoveryReport> plan =
        AppendLog<Rec>::PlanRecovery(path_);
    EXPECT_EQ(testing::ReadFile(Segment(0)), damaged);
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ExpectPlanned(plan, log->recovery());
    const uint64_t bad = (at - tail) / stride;
    ExpectRecords(*log, 0, 5 + bad);
    EXPECT_EQ(log->recovery().records_kept, bad);
    EXPECT_EQ(log->recovery().records_cut, 3 - bad);
    EXPECT_GT(log->recovery().bytes_cut, (2 - bad) * stride);
    EXPECT_EQ(log->recovery().segment, Segment(0));
  }
}

// A record of an older commit that fails its checksum is damage, not a
// torn commit: Read and iteration say DataLoss, the records after it stay.
TEST_F(AppendLogTest, DamagedCommittedRecordIsDataLossNeverReturned) {
  std::string bytes = TwoCommitsThenDamage(10, 12, 4);
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->next_seq(), 12u);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  EXPECT_EQ(log->Read(4).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(log->Read(5).ok());
  auto c = log->From(0);
  uint64_t n = 0;
  for (; c.Valid(); c.Next()) ++n;
  EXPECT_EQ(n, 4u);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("record 4"));
}

// Sync flushes frames and slot together, so a newest slot whose frames do
// not all verify is a commit torn by a power loss: recovery falls back to
// the commit before it and keeps the intact frames after that one, as for
// any torn tail. The next commit takes the torn slot's place.
TEST_F(AppendLogTest, NewestCommitWithABadFrameIsCutAsTorn) {
  std::string bytes = TwoCommitsThenDamage(4, 10, 6);
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(log->next_seq(), 6u);  // 0-3 committed, 4-5 intact after it
    EXPECT_EQ(log->recovery().records_kept, 2u);
    EXPECT_EQ(log->recovery().records_cut, 4u);
    EXPECT_EQ(log->Read(6).status().code(), absl::StatusCode::kOutOfRange);
    AppendRange(*log, 6, 8);
    ASSERT_TRUE(log->Sync().ok());
  }
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->next_seq(), 8u);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  for (uint64_t i = 0; i < 8; ++i) EXPECT_TRUE(log->Read(i).ok()) << i;
}

// The disk after a power loss during the second Sync: its slot arrived,
// one of its frames did not, and the control block still publishes the
// first commit (it is published after a Sync returns). A reader that opens
// the log before any writer does sees what the writer's recovery keeps.
TEST_F(AppendLogTest, ReaderDoesNotCountACommitTornByAPowerLoss) {
  std::string bytes = TwoCommitsThenDamage(4, 10, 6);
  const uint64_t published = 4;
  std::memcpy(&bytes[kLayout.data_offset() + internal::kPublishedAt],
              &published, sizeof(published));
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  auto reader = LogReader<Rec>::Open(path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->next_seq(), 4u);
  EXPECT_EQ(reader->Read(4).status().code(), absl::StatusCode::kOutOfRange);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->next_seq(), 6u);  // 4 and 5 are intact frames after it
}

TEST_F(AppendLogTest, RecordMovedToAnotherSequenceNumberFailsItsChecksum) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE(log->Append(Make(7)).ok());
    ASSERT_TRUE(log->Append(Make(7)).ok());  // same payload, seq 1
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->Append(Make(8)).ok());  // a later commit: see above
    ASSERT_TRUE(log->Sync().ok());
  }
  std::string bytes = testing::ReadFile(Segment(0));
  const uint64_t r0 = kLayout.records_offset();
  // Frame 0 copied over frame 1: same payload, checksum seeded with seq 0.
  bytes.replace(r0 + kLayout.stride, kLayout.stride, bytes, r0, kLayout.stride);
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  auto log = Open();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->Read(1).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AppendLogTest, TornSegmentCreationLeavesNoSegmentBehind) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 3);
    ASSERT_TRUE(log->Sync().ok());
  }
  // What a writer killed while creating or compressing a segment leaves.
  ASSERT_TRUE(testing::WriteFile(Segment(3) + ".tmp", std::string(100, 'x')));
  ASSERT_TRUE(AppendLog<Rec>::PlanRecovery(path_).ok());
  EXPECT_TRUE(std::filesystem::exists(Segment(3) + ".tmp"));  // a dry run
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_FALSE(std::filesystem::exists(Segment(3) + ".tmp"));
  ExpectRecords(*log, 0, 3);
}

TEST_F(AppendLogTest, OpenDeletesNoTemporaryFileButItsOwn) {
  ASSERT_TRUE(Open().ok());
  const std::vector<std::string> foreign = {
      "notes.tmp", "00000000000000000003.tmp", "x.seg.tmp", ".tmp"};
  for (const std::string& name : foreign) {
    ASSERT_TRUE(testing::WriteFile(dir_.File("log/" + name), "mine"));
  }
  ASSERT_TRUE(Open().ok());
  for (const std::string& name : foreign) {
    EXPECT_TRUE(std::filesystem::exists(dir_.File("log/" + name))) << name;
  }
}

TEST_F(AppendLogTest, SealTruncateBeforeAndCompressionKeepEveryRecord) {
  options_.compress_sealed = true;
  const uint64_t per_segment = kLayout.Capacity(16 << 10);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());  // [0, 10) sealed, compressed
    ASSERT_TRUE(log->Seal().ok());  // an empty active segment: nothing to do
    AppendRange(*log, 10, 10 + 3 * per_segment);  // full segments roll
    ExpectRecords(*log, 0, 10 + 3 * per_segment);
    ASSERT_TRUE(log->Sync().ok());
  }
  const std::string sealed = testing::ReadFile(Segment(0));
  EXPECT_LT(sealed.size(), kLayout.records_offset() + 10 * kLayout.stride);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, 10 + 3 * per_segment);
  EXPECT_EQ(log->Compress(log->next_seq() - 1).code(),
            absl::StatusCode::kFailedPrecondition);
  // Retention drops whole segments only, and never the active one.
  ASSERT_TRUE(log->TruncateBefore(12).ok());
  EXPECT_EQ(log->first_seq(), 10u);
  EXPECT_FALSE(std::filesystem::exists(Segment(0)));
  ASSERT_TRUE(log->TruncateBefore(~uint64_t{0}).ok());
  // The last segment is full but still active (it rolls at the next append).
  EXPECT_EQ(log->first_seq(), 10 + 2 * per_segment);
  EXPECT_EQ(log->Read(11).status().code(), absl::StatusCode::kOutOfRange);
  ExpectRecords(*log, 10 + 2 * per_segment, 10 + 3 * per_segment);
}

TEST_F(AppendLogTest, CursorKeepsItsSegmentAcrossRetentionAndCompression) {
  const uint64_t per_segment = kLayout.Capacity(16 << 10);
  auto log = Open();
  ASSERT_TRUE(log.ok());
  AppendRange(*log, 0, per_segment + 5);
  auto c = log->From(2);
  ASSERT_TRUE(c.Valid());
  const Rec* before = &c.value();
  ASSERT_TRUE(log->Compress(0).ok());
  ASSERT_TRUE(log->TruncateBefore(per_segment).ok());
  EXPECT_EQ(*before, Make(2));  // still mapped: the cursor pins it
  c.Next();
  ASSERT_TRUE(c.Valid());
  EXPECT_EQ(c.value(), Make(3));
}

TEST_F(AppendLogTest, CorruptedCompressedSegmentIsDataLoss) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 100);
    ASSERT_TRUE(log->Seal().ok());
    ASSERT_TRUE(log->Compress(0).ok());
  }
  const std::string good = testing::ReadFile(Segment(0));
  // Every byte of the zstd frame, 13 positions apart.
  for (size_t at = kLayout.data_offset(); at < good.size(); at += 13) {
    SCOPED_TRACE(at);
    std::string bad = good;
    bad[at] ^= 0x04;
    ASSERT_TRUE(testing::WriteFile(Segment(0), bad));
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    absl::StatusOr<Rec> r = log->Read(50);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
  ASSERT_TRUE(testing::WriteFile(Segment(0), good));
  auto log = Open();
  ASSERT_TRUE(log.ok());
  ExpectRecords(*log, 0, 100);
}

TEST_F(AppendLogTest, DecompressRestoresTheSealedSegmentAndReadsStayEqual) {
  std::string sealed;
  MakeCompressed(&sealed);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    auto reader = LogReader<Rec>::Open(path_);
    ASSERT_TRUE(reader.ok()) << reader.status();
    ASSERT_TRUE(reader->Read(40).ok());  // the reader holds a decompressed copy
    auto c = log->From(3);               // and so does this cursor
    ASSERT_TRUE(c.Valid());
    ASSERT_TRUE(Compressed(Segment(0)));
    ASSERT_TRUE(log->Decompress(0).ok());
    EXPECT_FALSE(Compressed(Segment(0)));
    const std::string now = testing::ReadFile(Segment(0));
    ASSERT_EQ(now.size(), sealed.size());
    // Records and control block as sealed; only the header page differs.
    EXPECT_TRUE(now.compare(kLayout.data_offset(), std::string::npos, sealed,
                            kLayout.data_offset(), std::string::npos) == 0);
    EXPECT_EQ(c.value(), Make(3));
    c.Next();
    ASSERT_TRUE(c.Valid());
    EXPECT_EQ(c.value(), Make(4));
    ExpectRecords(*log, 0, 105);
    for (uint64_t i = 0; i < 105; ++i) {
      absl::StatusOr<Rec> r = reader->Read(i);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(*r, Make(i));
    }
    EXPECT_TRUE(log->Decompress(50).ok());  // not compressed: nothing to do
    EXPECT_EQ(testing::ReadFile(Segment(0)), now);
    EXPECT_EQ(log->Decompress(104).code(),
              absl::StatusCode::kFailedPrecondition);
  }
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, 105);
  ASSERT_TRUE(log->Compress(0).ok());  // and back
  EXPECT_TRUE(Compressed(Segment(0)));
  ExpectRecords(*log, 0, 105);
}

TEST_F(AppendLogTest, DecompressOfACorruptedCompressedSegmentIsDataLoss) {
  MakeCompressed();
  const std::string good = testing::ReadFile(Segment(0));
  for (size_t at = kLayout.data_offset(); at < good.size(); at += 29) {
    SCOPED_TRACE(at);
    std::string bad = good;
    bad[at] ^= 0x04;
    ASSERT_TRUE(testing::WriteFile(Segment(0), bad));
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    const absl::Status s = log->Decompress(0);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_EQ(testing::ReadFile(Segment(0)), bad);  // untouched
    EXPECT_FALSE(std::filesystem::exists(Segment(0) + ".tmp"));
  }
}

TEST_F(AppendLogTest, FailedStepOfDecompressLeavesAReadableLog) {
  struct Case {
    os::Op op;
    uint64_t nth;
    bool renamed;  // the failure comes after the rename
  };
  const Case kCases[] = {
      {os::Op::kOpen, 1, false},       // the temporary
      {os::Op::kFsync, 1, false},      // the directory, after creating it
      {os::Op::kPwrite, 1, false},     // the header
      {os::Op::kPwrite, 2, false},     // the records
      {os::Op::kFdatasync, 1, false},  // the temporary
      {os::Op::kRename, 1, false},
      {os::Op::kFsync, 2, true},  // the directory, after the rename
  };
  for (const Case& k : kCases) {
    SCOPED_TRACE(absl::StrCat(os::OpName(k.op), " #", k.nth));
    std::filesystem::remove_all(path_);
    MakeCompressed();
    {
      auto log = Open();
      ASSERT_TRUE(log.ok()) << log.status();
      ASSERT_TRUE(log->Read(50).ok());  // loaded: the faults hit Decompress
      {
        os::fault::ScopedReset reset;
        os::fault::Inject({k.op, EIO, k.nth});
        const absl::Status s = log->Decompress(0);
        EXPECT_EQ(s.code(), os::ErrnoToCode(EIO)) << s;
        EXPECT_EQ(std::string(s.message()).rfind(
                      "AppendLog::Decompress(\"" + path_ + "\", 0): ", 0),
                  0u)
            << s;
      }
      EXPECT_FALSE(std::filesystem::exists(Segment(0) + ".tmp"));
      EXPECT_EQ(Compressed(Segment(0)), !k.renamed);
      ExpectRecords(*log, 0, 105);  // this object reads on
    }
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ExpectRecords(*log, 0, 105);
    ASSERT_TRUE(log->Decompress(0).ok());
    EXPECT_FALSE(Compressed(Segment(0)));
    ExpectRecords(*log, 0, 105);
  }
}

const char* crash_at = nullptr;
void ExitAtCrashPoint(const internal::CrashSite& site) {
  if (std::strcmp(site.point, crash_at) == 0) ::_exit(42);
}

TEST_F(AppendLogTest, DecompressKilledBetweenStepsLeavesAReadableLog) {
  for (const char* point : {"log.compress.written", "log.renamed"}) {
    SCOPED_TRACE(point);
    std::filesystem::remove_all(path_);
    MakeCompressed();
    ASSERT_EQ(testing::RunInChild([&] {
                auto log = Open();
                if (!log.ok()) return 1;
                crash_at = point;
                internal::crash_hook.store(&ExitAtCrashPoint);
                log->Decompress(0).IgnoreError();
                return 2;  // not reached: the hook exits
              }),
              42);
    const bool renamed = std::strcmp(point, "log.renamed") == 0;
    EXPECT_EQ(std::filesystem::exists(Segment(0) + ".tmp"), !renamed);
    EXPECT_EQ(Compressed(Segment(0)), !renamed);
    auto log = Open();  // removes the temporary
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_FALSE(std::filesystem::exists(Segment(0) + ".tmp"));
    ExpectRecords(*log, 0, 105);
  }
}

// Whether a segment is full is decided by the size its header recorded,
// not by its file's length: a reused file keeps its old length, which may
// be longer (the log was reopened with a smaller segment_size). A writer
// killed inside Sync after naming such a segment, before naming the
// temporaries that continue it, loses none of their records at the next
// Open, and PlanRecovery (`mapfile recover`) says the same.
TEST_F(AppendLogTest, SyncKilledAfterNamingALongReusedSegmentAdoptsTheRest) {
  options_.segment_size = 64 << 10;
  options_.pretouch_in_background = false;
  const uint64_t big = kLayout.Capacity(64 << 10);
  const uint64_t small = kLayout.Capacity(16 << 10);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRange(*log, 0, 3 * big + 5);
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->TruncateBefore(2 * big).ok());  // two .free files
  }
  options_.segment_size = 16 << 10;
  const uint64_t end = 4 * big + 2 * small + 5;
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              // Rolls at 4 * big and 4 * big + small into the reused files.
              for (uint64_t i = 3 * big + 5; i < end; ++i) {
                log->Append(Make(i)).IgnoreError();
              }
              crash_at = "log.renamed";  // the first name of this Sync
              internal::crash_hook.store(&ExitAtCrashPoint);
              log->Sync().IgnoreError();
              return 2;  // not reached: the hook exits
            }),
            42);
  ASSERT_TRUE(std::filesystem::exists(Segment(4 * big)));
  EXPECT_GT(Length(Segment(4 * big)), uint64_t{16} << 10);  // its old length
  ASSERT_TRUE(std::filesystem::exists(Segment(4 * big + small) + ".tmp"));
  const absl::StatusOr<RecoveryReport> plan = AppendLog<Rec>::PlanRecovery(path_);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectPlanned(plan, log->recovery());
  ExpectRecords(*log, 2 * big, end);
}

TEST_F(AppendLogTest, MissingSegmentIsDataLossNotAGap) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());
    AppendRange(*log, 10, 12);
    ASSERT_TRUE(log->Seal().ok());
    AppendRange(*log, 12, 13);
    ASSERT_TRUE(log->Sync().ok());
  }
  // A lost middle segment: the first one holds fewer records than its
  // successor's name implies.
  std::filesystem::remove(Segment(10));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->Read(3).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AppendLogTest, CompressedSegmentWhoseCountWrapsIsDataLoss) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());
    ASSERT_TRUE(log->Compress(0).ok());
  }
  ASSERT_TRUE(std::filesystem::remove(Segment(10)));  // 0 is the only one
  // 2^59 + 10 frames of 32 bytes wrap to the 10 frames that the image holds
  // (and that pass their checksums): reading on would run off the image.
  ASSERT_EQ(kLayout.stride, 32u);
  Rewrite(Segment(0), [](FileHeader&, CommitSlot& c) {
    c.count += uint64_t{1} << 59;
  });
  auto reader = LogReader<Rec>::Open(path_);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss)
      << reader.status();
  auto log = Open();
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss) << log.status();
  EXPECT_THAT(std::string(log.status().message()), HasSubstr(Segment(0)));
}

TEST_F(AppendLogTest, SegmentEndingPastTheLargestSequenceNumberIsDataLoss) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());
  }
  ASSERT_TRUE(std::filesystem::remove(Segment(10)));
  // The largest name that parses; 10 records on, the successor would be 2.
  const uint64_t first = ~uint64_t{0} - 7;
  ASSERT_EQ(internal::ParseSegmentFileName(internal::SegmentFileName(first)),
            first);
  Rewrite(Segment(0), [&](FileHeader& h, CommitSlot&) {
    h.first_sequence = first;
  });
  std::filesystem::rename(Segment(0), Segment(first));
  auto log = Open();
  EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss) << log.status();
  EXPECT_FALSE(std::filesystem::exists(Segment(2)));
}

struct Huge {  // above the format's largest record
  char bytes[(size_t{1} << 24) + 1];
};

TEST_F(AppendLogTest, UnstorableRecordTypeErrorNamesTheLogAndTheCall) {
  absl::StatusOr<AppendLog<Huge>> log = AppendLog<Huge>::Open(path_);
  EXPECT_EQ(log.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(log.status().message()),
              HasSubstr("AppendLog::Open(\"" + path_ + "\")"));
}

TEST_F(AppendLogTest, AutomaticSyncEveryNRecordsCommits) {
  options_.sync_every_records = 4;
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              for (uint64_t i = 0; i < 10; ++i) log->Append(Make(i)).IgnoreError();
              return 0;
            }),
            0);
  auto log = Open();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log->recovery().records_kept, 2u);  // 8 were committed
  ExpectRecords(*log, 0, 10);
}

// A child appends and syncs, reporting every synced sequence number through
// a pipe; it is SIGKILLed at a random instant. Every reopen must hold every
// reported record, equal to what was written, without gaps.
void CrashLoop(LogOptions options, int rounds) {
  const char* env = std::getenv("MAPFILE_CRASH_ROUNDS");
  if (env != nullptr) rounds = std::atoi(env);
  testing::TempDir dir;
  const std::string path = dir.File("log");
  auto Open = [&] { return AppendLog<Rec>::Open(path, options); };
  std::mt19937_64 rng(20260101);
  uint64_t verified = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(round);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const uint64_t seed = rng();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      std::mt19937_64 child_rng(seed);
      auto log = Open();
      if (!log.ok()) ::_exit(2);
      for (uint64_t next = log->next_seq();;) {
        const uint64_t batch = 1 + child_rng() % 200;
        for (uint64_t i = 0; i < batch; ++i, ++next) {
          if (!log->Append(Make(next)).ok()) ::_exit(3);
        }
        if (!log->Sync().ok()) ::_exit(4);
        const uint64_t last = next - 1;
        if (::write(fds[1], &last, sizeof(last)) != sizeof(last)) ::_exit(5);
      }
    }
    ::close(fds[1]);
    ::usleep(static_cast<useconds_t>(rng() % 4000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << status;
    std::optional<uint64_t> reported;
    uint64_t last;
    while (::read(fds[0], &last, sizeof(last)) == sizeof(last)) reported = last;
    ::close(fds[0]);
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    if (reported) {
      ASSERT_GT(log->next_seq(), *reported);
    }
    ASSERT_GE(log->next_seq(), verified);
    // New records every round, all of them every 25 rounds.
    const uint64_t from = round % 25 == 0 ? 0 : verified;
    uint64_t seq = from;
    for (auto c = log->From(from); c.Valid(); c.Next(), ++seq) {
      ASSERT_EQ(c.value(), Make(seq));
    }
    ASSERT_EQ(seq, log->next_seq());
    verified = seq;
  }
  EXPECT_GT(verified, 0u);
}

TEST_F(AppendLogTest, CrashLoopKeepsEverySyncedRecord) {
  options_.segment_size = 64 << 10;
  CrashLoop(options_, 200);
}

// The same with prepared segments: rolls finished by the next Sync.
TEST_F(AppendLogTest, CrashLoopWithPretouchKeepsEverySyncedRecord) {
  options_.segment_size = 16 << 10;
  options_.pretouch = 8 << 10;
  CrashLoop(options_, 100);
}

// A real tiny file system: the roll that finds no space fails cleanly, and
// the log reopens with everything synced.
TEST_F(AppendLogTest, DiskFullDuringRollIsResourceExhaustedAndLosesNothing) {
  absl::StatusOr<int> code = testing::RunWithTinyTmpfs(
      512 << 10, [](const std::string& tmp) -> int {
        LogOptions o;
        o.segment_size = 64 << 10;
        std::optional<AppendLog<Rec>> log;
        {
          auto opened = AppendLog<Rec>::Open(tmp + "/log", o);
          if (!opened.ok()) return 10;
          log.emplace(*std::move(opened));
        }
        uint64_t synced = 0;
        absl::Status failure;
        for (uint64_t i = 0; i < 1000000; ++i) {
          absl::StatusOr<uint64_t> seq = log->Append(Make(i));
          if (!seq.ok()) {
            failure = seq.status();
            break;
          }
          if (i % 100 == 99) {
            if (!log->Sync().ok()) return 11;
            synced = i + 1;
          }
        }
        if (failure.code() != absl::StatusCode::kResourceExhausted) return 12;
        if (std::string(failure.message()).find("creating segment") ==
            std::string::npos) {
          return 13;
        }
        // Still usable for what fits, and consistent.
        if (log->Read(synced - 1).value_or(Rec{}) != Make(synced - 1)) return 14;
        if (!log->Sync().ok()) return 15;
        const uint64_t next = log->next_seq();
        log.reset();
        auto reopened = AppendLog<Rec>::Open(tmp + "/log", o);
        if (!reopened.ok() || reopened->next_seq() != next) return 16;
        for (uint64_t i = 0; i < next; ++i) {
          if (reopened->Read(i).value_or(Rec{}) != Make(i)) return 17;
        }
        return 0;
      });
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0);
}

TEST_F(AppendLogTest, FailedSyncIsReportedAndTheCommitStands) {
  auto log = Open();
  ASSERT_TRUE(log.ok());
  AppendRange(*log, 0, 5);
  ASSERT_TRUE(log->Sync().ok());
  AppendRange(*log, 5, 9);
  os::fault::ScopedReset reset;
  os::fault::Inject({os::Op::kMsync, EIO});
  absl::Status s = log->Sync();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(s.message()), HasSubstr("msync"));
  EXPECT_FALSE(log->Sync().ok());  // sticky
}

}  // namespace
}  // namespace mapfile
