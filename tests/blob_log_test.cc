// Copyright 2026 The mapfile Authors.
//
// BlobLog and BlobReader: variable-length records on the log engine, their
// frames, offset indexes, durability, recovery, retention, compression and
// readers. Every test is named after the failure it rules out.

#include "mapfile/blob_log.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"
#include "tests/testing.h"

namespace mapfile {
namespace {

using ::testing::HasSubstr;
using internal::BlobFrameSize;
using internal::IndexFileName;
using internal::SegmentFileName;

constexpr uint64_t kRecordsOffset = kHeaderSize + 64;  // header, control

// Record `seq` of `size` bytes: every byte depends on both, so a record
// returned for another sequence number or cut short never compares equal.
std::string Payload(uint64_t seq, size_t size) {
  std::string s(size, '\0');
  for (size_t i = 0; i < size; ++i) {
    s[i] = static_cast<char>((seq * 131 + i * 7 + (i >> 8)) & 0xff);
  }
  return s;
}

// The sizes the tests cycle through: 0 B, 1 B, 4 KiB +- 1 and odd ones.
const std::vector<size_t> kSizes = {0, 1, 4095, 4096, 4097, 100, 7, 1000};
size_t SizeOf(uint64_t seq) { return kSizes[seq % kSizes.size()]; }

class BlobLogTest : public ::testing::Test {
 protected:
  BlobLogTest() { options_.segment_size = 64 << 10; }

  absl::StatusOr<BlobLog> Open() const { return BlobLog::Open(path_, options_); }
  std::string Segment(uint64_t first) const {
    return path_ + "/" + SegmentFileName(first);
  }
  std::string Index(uint64_t first) const {
    return path_ + "/" + IndexFileName(first);
  }
  // Appends records [from, to) of SizeOf sizes.
  static void AppendRange(BlobLog& log, uint64_t from, uint64_t to) {
    for (uint64_t i = from; i < to; ++i) {
      absl::StatusOr<uint64_t> seq = log.Append(Payload(i, SizeOf(i)));
      ASSERT_TRUE(seq.ok()) << seq.status();
      ASSERT_EQ(*seq, i);
    }
  }
  template <typename Log>
  static void ExpectRecords(Log& log, uint64_t first, uint64_t next) {
    ASSERT_EQ(log.first_seq(), first);
    ASSERT_EQ(log.next_seq(), next);
    std::string out;
    for (uint64_t i = first; i < next; ++i) {
      absl::Status s = log.Read(i, &out);
      ASSERT_TRUE(s.ok()) << i << ": " << s;
      ASSERT_EQ(out, Payload(i, SizeOf(i))) << i;
    }
  }
  // Segment names in the log directory, sorted.
  std::vector<uint64_t> Segments() const {
    std::vector<uint64_t> firsts;
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      if (auto f = internal::ParseSegmentFileName(e.path().filename().string())) {
        firsts.push_back(*f);
      }
    }
    std::sort(firsts.begin(), firsts.end());
    return firsts;
  }
  // The file offset of record `i`'s frame in a segment of SizeOf records
  // from `first`.
  static uint64_t FrameAt(uint64_t first, uint64_t i) {
    uint64_t at = kRecordsOffset;
    for (uint64_t k = first; k < first + i; ++k) at += BlobFrameSize(SizeOf(k));
    return at;
  }
  static void ExpectPlanned(const absl::StatusOr<RecoveryReport>& plan,
                            const RecoveryReport& done) {
    ASSERT_TRUE(plan.ok()) << plan.status();
    EXPECT_EQ(plan->records_kept, done.records_kept);
    EXPECT_EQ(plan->records_cut, done.records_cut);
    EXPECT_EQ(plan->bytes_cut, done.bytes_cut);
    EXPECT_EQ(plan->segment, done.segment);
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("log");
  LogOptions options_;
};

TEST_F(BlobLogTest, RecordsOfEverySizeSurviveReopen) {
  const std::vector<size_t> sizes = {0, 1, 4095, 4096, 4097, 1 << 20,
                                     (64 << 10) + 1, 3, 0};
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < sizes.size(); ++i) {
      absl::StatusOr<uint64_t> seq = log->Append(Payload(i, sizes[i]));
      ASSERT_TRUE(seq.ok()) << seq.status();
      EXPECT_EQ(*seq, i);
    }
    for (uint64_t i = 0; i < sizes.size(); ++i) {
      absl::StatusOr<std::string> r = log->Read(i);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(*r, Payload(i, sizes[i])) << i;
    }
    ASSERT_TRUE(log->Sync().ok());
  }
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->next_seq(), sizes.size());
  EXPECT_EQ(log->recovery().bytes_cut, 0u);
  for (uint64_t i = 0; i < sizes.size(); ++i) {
    absl::StatusOr<std::string> r = log->Read(i);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, Payload(i, sizes[i])) << i;
  }
  // Records larger than a segment got a segment of their own: 1 MiB (5)
  // and 64 KiB + 1 (6), each alone, then the rest.
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{0, 5, 6, 7}));
}

TEST_F(BlobLogTest, BatchesAppendInOrderAndReadReusesTheString) {
  auto log = Open();
  ASSERT_TRUE(log.ok());
  std::vector<std::string> owned;
  for (uint64_t i = 0; i < 300; ++i) owned.push_back(Payload(i, SizeOf(i)));
  std::vector<absl::string_view> views(owned.begin(), owned.end());
  absl::StatusOr<uint64_t> first = log->AppendBatch(views);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 0u);
  ExpectRecords(*log, 0, 300);
  std::string out;
  out.reserve(8192);
  const char* buffer = out.data();
  ASSERT_TRUE(log->Read(3, &out).ok());  // 4096 bytes
  EXPECT_EQ(out.data(), buffer);
  EXPECT_EQ(out, owned[3]);
}

TEST_F(BlobLogTest, RecordAboveTheMaximumIsInvalidArgumentAndNothingAppended) {
  auto log = Open();
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE(log->Append("a").ok());
  // Never read: the size is refused before any byte is touched.
  static const char kByte = 'x';
  const absl::string_view huge(&kByte, internal::kMaxBlobSize + 1);
  absl::StatusOr<uint64_t> one = log->Append(huge);
  EXPECT_EQ(one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(one.status().message()), HasSubstr(path_));
  const std::vector<absl::string_view> batch = {"b", huge};
  EXPECT_EQ(log->AppendBatch(batch).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(log->next_seq(), 1u);
}

TEST_F(BlobLogTest, AppendLogAndBlobLogRefuseEachOthersSegments) {
  { ASSERT_TRUE(Open().ok()); }
  auto typed = AppendLog<uint64_t>::Open(path_);
  EXPECT_EQ(typed.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(typed.status().message()),
              HasSubstr("blob log segment"));
  const std::string other = dir_.File("typed");
  { ASSERT_TRUE(AppendLog<uint64_t>::Open(other).ok()); }
  auto blob = BlobLog::Open(other);
  EXPECT_EQ(blob.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(BlobReader::Open(other).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(BlobLogTest, SecondWriterIsUnavailableAndModesAreHonoured) {
  auto log = Open();
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(Open().status().code(), absl::StatusCode::kUnavailable);
  options_.mode = OpenMode::kReadOnly;
  EXPECT_EQ(BlobLog::Open(dir_.File("x"), options_).status().code(),
            absl::StatusCode::kInvalidArgument);
  options_.mode = OpenMode::kReadWrite;
  EXPECT_EQ(BlobLog::Open(dir_.File("y"), options_).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(BlobLogTest, ReadOutsideTheLogIsOutOfRange) {
  auto log = Open();
  ASSERT_TRUE(log.ok());
  AppendRange(*log, 0, 3);
  EXPECT_EQ(log->Read(3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(log->Read(~uint64_t{0}).status().code(),
            absl::StatusCode::kOutOfRange);
}

// The first records of the segments the writer rolls into after record
// `from` (segments of options_.segment_size, SizeOf records): each starts
// where the next frame would not fit the one before.
std::vector<uint64_t> RollPoints(uint64_t segment_size, size_t rolls) {
  const uint64_t area = segment_size - kRecordsOffset;
  std::vector<uint64_t> firsts;
  uint64_t used = 0;
  for (uint64_t i = 0; firsts.size() < rolls; ++i) {
    const uint64_t frame = BlobFrameSize(SizeOf(i));
    if (used + frame > area) {
      firsts.push_back(i);
      used = 0;
    }
    used += frame;
  }
  return firsts;
}

// Closing without Sync keeps every appended record for the next Open (the
// destructor writes the buffer; nothing is named or committed), also in
// segments rolled into since the last Sync (temporaries adopted by Open).
// A segment that nothing follows (a clean close) is not cut at the next
// Open: no ftruncate and no fdatasync of it (the cut was most of a blob
// log's reopen); one with bytes after its last good frame still is.
TEST_F(BlobLogTest, ReopenAfterACleanCloseCutsNothing) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRange(*log, 0, 20);
    ASSERT_TRUE(log->Sync().ok());
  }
  os::fault::ScopedReset reset;
  os::fault::Inject({os::Op::kFtruncate, 0});  // counts calls, never fails
  os::fault::Inject({os::Op::kFdatasync, 0});
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ExpectRecords(*log, 0, 20);
    EXPECT_EQ(log->recovery().bytes_cut, 0u);
    EXPECT_EQ(os::fault::Calls(os::Op::kFtruncate), 0u);
    EXPECT_EQ(os::fault::Calls(os::Op::kFdatasync), 0u);
    AppendRange(*log, 20, 25);
    ASSERT_TRUE(log->Sync().ok());
  }
  std::string bytes = testing::ReadFile(Segment(0));
  bytes.replace(FrameAt(0, 25) + 100, 4, "junk");  // after the last frame
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  os::fault::Reset();
  os::fault::Inject({os::Op::kFtruncate, 0});
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, 25);
  EXPECT_GT(log->recovery().bytes_cut, 0u);
  EXPECT_GE(os::fault::Calls(os::Op::kFtruncate), 1u);
}

TEST_F(BlobLogTest, UnsyncedIntactRecordsAreKeptAfterClose) {
  const std::vector<uint64_t> rolls = RollPoints(options_.segment_size, 2);
  const uint64_t end = rolls[1] + 15;
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              AppendRange(*log, 0, 10);
              if (!log->Sync().ok()) return 2;
              // Two rolls no Sync finishes, then 15 records in the buffer.
              AppendRange(*log, 10, end);
              return 0;
            }),
            0);
  auto plan = BlobLog::PlanRecovery(path_);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, end);
  EXPECT_EQ(log->recovery().records_kept, end - 10);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  ExpectPlanned(plan, log->recovery());
  // Named, with what they hold committed, at the next Sync.
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{0}));
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{0, rolls[0], rolls[1]}));
}

// A killed process loses at most the blob records still in its write
// buffer: every record written before (here, at the last roll) is kept,
// also in segments rolled into since the last Sync.
TEST_F(BlobLogTest, UnsyncedWrittenRecordsAreKeptAfterProcessDeath) {
  const std::vector<uint64_t> rolls = RollPoints(options_.segment_size, 2);
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              AppendRange(*log, 0, 10);
              if (!log->Sync().ok()) return 2;
              AppendRange(*log, 10, rolls[1] + 15);
              ::raise(SIGKILL);
              return 3;
            }),
            128 + SIGKILL);
  auto plan = BlobLog::PlanRecovery(path_);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectPlanned(plan, log->recovery());  // adoption included
  ExpectRecords(*log, 0, rolls[1]);
  EXPECT_EQ(log->recovery().records_kept, rolls[1] - 10);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  // The adopted segment stays a temporary until the next Sync names it
  // and commits its records; the temporary that held only buffered records
  // is gone.
  EXPECT_FALSE(std::filesystem::exists(Segment(rolls[0])));
  EXPECT_TRUE(std::filesystem::exists(Segment(rolls[0]) + ".tmp"));
  EXPECT_FALSE(std::filesystem::exists(Segment(rolls[1]) + ".tmp"));
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_TRUE(std::filesystem::exists(Segment(rolls[0])));
  EXPECT_FALSE(std::filesystem::exists(Segment(rolls[0]) + ".tmp"));
  // And the log goes on from there.
  AppendRange(*log, rolls[1], rolls[1] + 3);
  ASSERT_TRUE(log->Sync().ok());
  ExpectRecords(*log, 0, rolls[1] + 3);
}

// A record larger than the write buffer is written with a pwrite of its
// own as it is appended (after the records buffered before it), so a kill
// keeps it, in its own segment, with everything before it; the records
// buffered after it are what the kill loses.
TEST_F(BlobLogTest, RecordLargerThanTheBufferIsWrittenAtOnceAndSurvivesAKill) {
  const size_t big = (2 << 20) + 5;  // > kWriteBuffer and > a segment
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = Open();
              if (!log.ok()) return 1;
              AppendRange(*log, 0, 3);
              if (!log->Sync().ok()) return 2;
              AppendRange(*log, 3, 5);  // buffered, then written before 5
              if (!log->Append(Payload(5, big)).ok()) return 3;
              AppendRange(*log, 6, 9);  // buffered in the next segment
              ::raise(SIGKILL);
              return 4;
            }),
            128 + SIGKILL);
  auto plan = BlobLog::PlanRecovery(path_);
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectPlanned(plan, log->recovery());
  ASSERT_EQ(log->next_seq(), 6u);
  EXPECT_EQ(log->recovery().records_kept, 3u);
  EXPECT_EQ(log->recovery().records_cut, 0u);
  for (uint64_t i = 0; i < 5; ++i) {
    absl::StatusOr<std::string> r = log->Read(i);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    EXPECT_EQ(*r, Payload(i, SizeOf(i))) << i;
  }
  absl::StatusOr<std::string> r = log->Read(5);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, Payload(5, big));
  // 6 held no written record; 5 is named by the next Sync.
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{0}));
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{0, 5}));
}

// The active segment keeps the size it was created with (recorded in its
// header) when a later Open asks for another: a blob segment rolls where
// its own frame area ends, and only new segments take the new size.
TEST_F(BlobLogTest, ActiveSegmentKeepsItsRecordedSizeAcrossOpens) {
  const std::vector<uint64_t> rolls = RollPoints(options_.segment_size, 1);
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRange(*log, 0, 5);
    ASSERT_TRUE(log->Sync().ok());
  }
  options_.segment_size = 256 << 10;
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  AppendRange(*log, 5, rolls[0] + 1);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(Segments(), (std::vector<uint64_t>{0, rolls[0]}));
  EXPECT_EQ(std::filesystem::file_size(Segment(rolls[0])), 256u << 10);
  ExpectRecords(*log, 0, rolls[0] + 1);
}

TEST_F(BlobLogTest, TornTailAtEveryFrameOffsetReopensToAValidPrefix) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 4);
    ASSERT_TRUE(log->Sync().ok());
    AppendRange(*log, 4, 8);  // unsynced: frames of 4096 +- 1, 100, 7, 1000
  }
  const std::string pristine = testing::ReadFile(Segment(0));
  const uint64_t synced_end = FrameAt(0, 4);
  const uint64_t end = FrameAt(0, 8);
  // Zero everything from `at` on: as if the process died mid-append.
  for (uint64_t at = synced_end; at <= end; at += 8) {
    std::string bytes = pristine;
    std::fill(bytes.begin() + at, bytes.end(), '\0');
    ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
    uint64_t whole = 4;
    while (whole < 8 && FrameAt(0, whole + 1) <= at) ++whole;
    auto plan = BlobLog::PlanRecovery(path_);
    auto log = Open();
    ASSERT_TRUE(log.ok()) << at << ": " << log.status();
    ExpectRecords(*log, 0, whole);
    EXPECT_EQ(log->recovery().records_kept, whole - 4) << at;
    EXPECT_EQ(log->recovery().bytes_cut > 0, at > FrameAt(0, whole)) << at;
    ExpectPlanned(plan, log->recovery());
  }
}

TEST_F(BlobLogTest, BitFlipInTheTailCutsFromTheDamagedRecordAndReportsIt) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 3);
    ASSERT_TRUE(log->Sync().ok());
    AppendRange(*log, 3, 8);
  }
  std::string bytes = testing::ReadFile(Segment(0));
  bytes[FrameAt(0, 5) + 20] ^= 0x40;  // record 5's payload (4096 bytes)
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  auto plan = BlobLog::PlanRecovery(path_);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->records_kept, 2u);
  EXPECT_EQ(plan->records_cut, 3u);  // 5, 6, 7
  EXPECT_EQ(plan->bytes_cut, FrameAt(0, 8) - FrameAt(0, 5) -
                                 (BlobFrameSize(1000) - 16 - 1000));
  EXPECT_EQ(plan->segment, Segment(0));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectPlanned(plan, log->recovery());
  ExpectRecords(*log, 0, 5);
  // The cut is final: appends continue after record 4.
  AppendRange(*log, 5, 9);
  ASSERT_TRUE(log->Sync().ok());
  ExpectRecords(*log, 0, 9);
}

TEST_F(BlobLogTest, NewestCommitWithABadFrameIsCutAsTorn) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 3);
    ASSERT_TRUE(log->Sync().ok());
    AppendRange(*log, 3, 6);
    ASSERT_TRUE(log->Sync().ok());
  }
  // The disk after a power loss during the second Sync: its slot arrived,
  // record 4's frame did not, and the control block still publishes the
  // first commit (it is published after a Sync returns).
  std::string bytes = testing::ReadFile(Segment(0));
  bytes[FrameAt(0, 4) + 17] ^= 0x01;
  const uint64_t published = 3;
  std::memcpy(&bytes[kHeaderSize + internal::kPublishedAt], &published, 8);
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  auto reader = BlobReader::Open(path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->next_seq(), 3u);  // as the writer's recovery will say
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, 4);  // 3 kept after the commit before, 4 cut
  EXPECT_EQ(log->recovery().records_kept, 1u);
  EXPECT_GE(log->recovery().records_cut, 1u);
}

// As LogReaderTest.ReaderFollowsRetentionOfItsLiveSegmentBeforeASync: a
// BlobReader whose live segment TruncateBefore retires before a Sync (it is
// never sealed on disk) must still follow the log with next_seq().
TEST_F(BlobLogTest, ReaderFollowsRetentionOfItsLiveSegmentBeforeASync) {
  options_.recycle_segments = 0;
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  AppendRange(*log, 0, 3);
  ASSERT_TRUE(log->Sync().ok());
  auto reader = BlobReader::Open(path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string out;
  ASSERT_TRUE(reader->Read(1, &out).ok());  // maps segment 0: its live one
  const uint64_t target = 2000;
  AppendRange(*log, 3, target);  // many rolls; no Sync
  ASSERT_TRUE(log->TruncateBefore(target - 1).ok());
  ASSERT_GT(log->first_seq(), 3u);  // segment 0 is gone
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(reader->next_seq(), target);
}

TEST_F(BlobLogTest, DamagedCommittedRecordIsDataLossNeverReturned) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 4);
    ASSERT_TRUE(log->Sync().ok());
    AppendRange(*log, 4, 6);
    ASSERT_TRUE(log->Sync().ok());
  }
  std::string bytes = testing::ReadFile(Segment(0));
  bytes[FrameAt(0, 2) + 16 + 4000] ^= 0x01;  // record 2's payload
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->next_seq(), 6u);
  absl::StatusOr<std::string> r = log->Read(2);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("checksum"));
  for (uint64_t i : {0, 1, 3, 4, 5}) {
    absl::StatusOr<std::string> ok = log->Read(i);
    ASSERT_TRUE(ok.ok()) << i << ": " << ok.status();
    EXPECT_EQ(*ok, Payload(i, SizeOf(i)));
  }
}

TEST_F(BlobLogTest, LengthThatLiesInACommittedFrameIsDataLossNotACrash) {
  for (uint32_t lie : {0u, 8u, 4088u, 65536u, 0x40000000u, 0xFFFFFFFFu}) {
    testing::TempDir dir;
    const std::string path = dir.File("log");
    {
      auto log = BlobLog::Open(path, options_);
      ASSERT_TRUE(log.ok());
      AppendRange(*log, 0, 4);
      ASSERT_TRUE(log->Sync().ok());
      AppendRange(*log, 4, 6);
      ASSERT_TRUE(log->Sync().ok());
    }
    const std::string segment = path + "/" + SegmentFileName(0);
    std::string bytes = testing::ReadFile(segment);
    std::memcpy(&bytes[FrameAt(0, 1) + 8], &lie, 4);
    ASSERT_TRUE(testing::WriteFile(segment, bytes));
    // Open may refuse the log (committed records would be lost) or open
    // it; then every record reads back whole or is DataLoss.
    auto log = BlobLog::Open(path, options_);
    if (!log.ok()) {
      EXPECT_EQ(log.status().code(), absl::StatusCode::kDataLoss) << lie;
      continue;
    }
    for (uint64_t i = 0; i < log->next_seq(); ++i) {
      absl::StatusOr<std::string> r = log->Read(i);
      if (r.ok()) {
        EXPECT_EQ(*r, Payload(i, SizeOf(i))) << lie << " " << i;
      } else {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
      }
    }
    EXPECT_FALSE(log->Read(1).ok()) << lie;
  }
}

TEST_F(BlobLogTest, SealTruncateBeforeAndCompressionKeepEveryRecord) {
  uint64_t next = 0;
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());
    ASSERT_TRUE(log->Seal().ok());  // empty active segment: nothing to do
    EXPECT_TRUE(std::filesystem::exists(Index(0)));
    AppendRange(*log, 10, 100);  // full segments roll
    next = log->next_seq();
    ExpectRecords(*log, 0, next);
    ASSERT_TRUE(log->Compress(0).ok());
    ASSERT_TRUE(log->Compress(10).ok());
    EXPECT_EQ(log->Compress(next - 1).code(),
              absl::StatusCode::kFailedPrecondition);
    ExpectRecords(*log, 0, next);
    ASSERT_TRUE(log->Sync().ok());
  }
  EXPECT_LT(std::filesystem::file_size(Segment(0)), FrameAt(0, 10));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  ExpectRecords(*log, 0, next);
  ASSERT_TRUE(log->Decompress(0).ok());
  ExpectRecords(*log, 0, next);
  const std::vector<uint64_t> segments = Segments();
  ASSERT_GE(segments.size(), 3u);
  ASSERT_TRUE(log->TruncateBefore(segments[2]).ok());
  EXPECT_EQ(log->first_seq(), segments[2]);
  EXPECT_FALSE(std::filesystem::exists(Segment(0)));
  EXPECT_FALSE(std::filesystem::exists(Index(0)));
  EXPECT_FALSE(std::filesystem::exists(Index(segments[1])));
  EXPECT_EQ(log->Read(0).status().code(), absl::StatusCode::kOutOfRange);
  ExpectRecords(*log, segments[2], next);
}

TEST_F(BlobLogTest, IndexFileTakesItsSegmentsPermissions) {
  options_.permissions = 0640;
  {
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());
  }
  struct stat segment, index;
  ASSERT_EQ(::stat(Segment(0).c_str(), &segment), 0);
  ASSERT_EQ(::stat(Index(0).c_str(), &index), 0);
  EXPECT_EQ(index.st_mode & 0777, segment.st_mode & 0777);
  EXPECT_EQ(index.st_mode & 0007, 0u);  // 0640: not readable by others
}

TEST_F(BlobLogTest, CompressSealedGivesTransparentReadsToWriterAndReader) {
  options_.compress_sealed = true;
  auto log = Open();
  ASSERT_TRUE(log.ok());
  AppendRange(*log, 0, 120);
  ASSERT_TRUE(log->Append(Payload(120, 200 << 10)).ok());  // own segment
  ASSERT_TRUE(log->Seal().ok());
  std::string out;
  ASSERT_TRUE(log->Read(120, &out).ok());
  EXPECT_EQ(out, Payload(120, 200 << 10));
  for (uint64_t i = 0; i < 120; ++i) {
    ASSERT_TRUE(log->Read(i, &out).ok()) << i;
    ASSERT_EQ(out, Payload(i, SizeOf(i))) << i;
  }
  ReaderOptions ro;
  ro.cache_bytes = 1;  // every segment decompressed again, one at a time
  auto reader = BlobReader::Open(path_, ro);
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_EQ(reader->next_seq(), 121u);
  for (uint64_t i = 0; i < 120; ++i) {
    ASSERT_TRUE(reader->Read(i, &out).ok()) << i;
    ASSERT_EQ(out, Payload(i, SizeOf(i))) << i;
  }
  ASSERT_TRUE(reader->Read(120, &out).ok());
  EXPECT_EQ(out, Payload(120, 200 << 10));
}

TEST_F(BlobLogTest, CorruptedCompressedSegmentIsDataLoss) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());
    ASSERT_TRUE(log->Compress(0).ok());
  }
  std::string bytes = testing::ReadFile(Segment(0));
  bytes[kHeaderSize + (bytes.size() - kHeaderSize) / 2] ^= 0x20;
  ASSERT_TRUE(testing::WriteFile(Segment(0), bytes));
  auto log = Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->Read(3).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(log->Decompress(3).code(), absl::StatusCode::kDataLoss);
}

TEST_F(BlobLogTest, CompressedSegmentClaimingAHugeImageIsDataLoss) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 10);
    ASSERT_TRUE(log->Seal().ok());
    ASSERT_TRUE(log->Compress(0).ok());
  }
  const std::string path = Segment(0);
  std::string bytes = testing::ReadFile(path);
  const absl::Span<std::byte> page(reinterpret_cast<std::byte*>(bytes.data()),
                                   kHeaderSize);
  absl::StatusOr<FileHeader> h = DecodeHeader(page, path);
  ASSERT_TRUE(h.ok());
  for (uint64_t claim : {internal::kMaxSegmentSize, uint64_t{40} << 30,
                         ~uint64_t{0}, uint64_t{8}}) {
    h->uncompressed_length = claim;
    EncodeHeader(*h, page);
    ASSERT_TRUE(testing::WriteFile(path, bytes));
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    absl::StatusOr<std::string> r = log->Read(1);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << claim;
  }
}

TEST_F(BlobLogTest, MissingOrDamagedIndexIsRebuiltFromTheFrames) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 40);
    ASSERT_TRUE(log->Seal().ok());
    AppendRange(*log, 40, 42);
    ASSERT_TRUE(log->Sync().ok());
  }
  const std::string good = testing::ReadFile(Index(0));
  ASSERT_EQ(good.size(), internal::kIndexFileOverhead + 8 * Segments()[1]);
  std::string flipped = good;
  flipped[100] ^= 1;
  std::string huge_count = good;  // a count of 2^60, checksum recomputed
  huge_count[16 + 7] = 0x10;
  const std::vector<std::string> damaged = {"", "MFBLOBIX", flipped,
                                            good.substr(0, good.size() - 8),
                                            huge_count, good + "x"};
  for (const std::string& bytes : damaged) {
    ASSERT_TRUE(testing::WriteFile(Index(0), bytes));
    {
      auto reader = BlobReader::Open(path_);  // rebuilds, writes nothing
      ASSERT_TRUE(reader.ok());
      ExpectRecords(*reader, 0, 42);
      EXPECT_EQ(testing::ReadFile(Index(0)), bytes);
    }
    auto log = Open();  // rebuilds and writes it back
    ASSERT_TRUE(log.ok()) << log.status();
    ExpectRecords(*log, 0, 42);
    EXPECT_EQ(testing::ReadFile(Index(0)), good);
  }
  std::filesystem::remove(Index(0));
  auto reader = BlobReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  ExpectRecords(*reader, 0, 42);
}

TEST_F(BlobLogTest, IndexThatLiesWithAValidChecksumGivesDataLossNotOtherBytes) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 12);
    ASSERT_TRUE(log->Seal().ok());
  }
  std::string index = testing::ReadFile(Index(0));
  // Frame 4 "starts" 16 bytes later, frame 6 8 bytes later: plausible
  // offsets (aligned, increasing by at least a frame header), so the file
  // passes its own checks; the frames they land on must not.
  for (const auto& [i, shift] : {std::pair<int, uint64_t>{4, 16}, {6, 8}}) {
    uint64_t start;
    std::memcpy(&start, &index[32 + 8 * i], 8);
    start += shift;
    std::memcpy(&index[32 + 8 * i], &start, 8);
  }
  const uint64_t body = index.size() - 8;
  const uint64_t sum = Checksum(index.data(), body);
  std::memcpy(&index[body], &sum, 8);
  ASSERT_TRUE(testing::WriteFile(Index(0), index));
  auto reader = BlobReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  int lost = 0;
  for (uint64_t i = 0; i < 12; ++i) {
    absl::StatusOr<std::string> r = reader->Read(i);
    if (r.ok()) {
      EXPECT_EQ(*r, Payload(i, SizeOf(i))) << i;
    } else {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << i;
      ++lost;
    }
  }
  EXPECT_EQ(lost, 4);  // 3, 4, 5, 6: each frame's span is wrong
}

TEST_F(BlobLogTest, SegmentOffsetsPastTheEndAreDataLoss) {
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 6);
    ASSERT_TRUE(log->Sync().ok());
  }
  // A commit whose length runs past the file (DataLoss), then one that
  // counts more records than its length holds (a newest commit whose
  // frames do not verify: cut as torn, the commit before stands).
  const std::string path = Segment(0);
  const std::string original = testing::ReadFile(path);
  for (int lie = 0; lie < 2; ++lie) {
    std::string bytes = original;
    const absl::Span<std::byte> page(
        reinterpret_cast<std::byte*>(bytes.data()), kHeaderSize);
    absl::StatusOr<FileHeader> h = DecodeHeader(page, path);
    ASSERT_TRUE(h.ok());
    absl::StatusOr<CommitSlot> c = LatestCommit(*h, bytes.size(), path);
    ASSERT_TRUE(c.ok());
    ++c->sequence;
    if (lie == 0) {
      c->length = bytes.size();
    } else {
      c->count += 1000;
    }
    EncodeSlot(*c, page);
    ASSERT_TRUE(testing::WriteFile(path, bytes));
    auto reader = BlobReader::Open(path_);
    if (lie == 0) {
      EXPECT_EQ(reader.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_EQ(Open().status().code(), absl::StatusCode::kDataLoss);
      continue;
    }
    ASSERT_TRUE(reader.ok()) << reader.status();
    ExpectRecords(*reader, 0, 6);
    auto log = Open();
    ASSERT_TRUE(log.ok()) << log.status();
    ExpectRecords(*log, 0, 6);
  }
}

TEST_F(BlobLogTest, AutomaticSyncEveryNBytesCommits) {
  options_.sync_every_bytes = 10000;
  auto log = Open();
  ASSERT_TRUE(log.ok());
  auto reader = BlobReader::Open(path_);
  ASSERT_TRUE(reader.ok());
  ASSERT_TRUE(log->Append(std::string(6000, 'a')).ok());
  EXPECT_EQ(reader->next_seq(), 0u);
  ASSERT_TRUE(log->Append(std::string(6000, 'b')).ok());
  EXPECT_EQ(reader->next_seq(), 2u);
}

TEST_F(BlobLogTest, ReaderSeesOnlyCommittedRecordsAndWaitsForTheLog) {
  EXPECT_EQ(BlobReader::Open(path_).status().code(),
            absl::StatusCode::kNotFound);
  std::thread creator([&] {
    absl::SleepFor(absl::Milliseconds(50));
    auto log = Open();
    ASSERT_TRUE(log.ok());
    AppendRange(*log, 0, 5);
    ASSERT_TRUE(log->Sync().ok());
  });
  ReaderOptions ro;
  ro.wait_for_log = absl::Seconds(30);
  auto reader = BlobReader::Open(path_, ro);
  creator.join();
  ASSERT_TRUE(reader.ok()) << reader.status();
  ASSERT_TRUE(reader->WaitFor(4, absl::Seconds(30)).ok());
  ExpectRecords(*reader, 0, 5);
  auto log = Open();
  ASSERT_TRUE(log.ok());
  AppendRange(*log, 5, 8);
  EXPECT_EQ(reader->next_seq(), 5u);
  EXPECT_EQ(reader->Read(5).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(reader->WaitFor(5, absl::Milliseconds(20)).code(),
            absl::StatusCode::kDeadlineExceeded);
  ASSERT_TRUE(log->Sync().ok());
  ExpectRecords(*reader, 0, 8);
}

TEST_F(BlobLogTest, ReaderThreadSeesEveryRecordOfAWriterThreadOnce) {
  constexpr uint64_t kRecords = 3000;
  auto log = Open();
  ASSERT_TRUE(log.ok());
  std::thread writer([&] {
    for (uint64_t i = 0; i < kRecords; ++i) {
      // Now and then a record larger than a segment, which grows one.
      const size_t size = i % 997 == 500 ? (100 << 10) : SizeOf(i);
      ASSERT_TRUE(log->Append(Payload(i, size)).ok());
      if (i % 7 == 0) {
        ASSERT_TRUE(log->Sync().ok());
      }
    }
    ASSERT_TRUE(log->Sync().ok());
  });
  auto reader = BlobReader::Open(path_);
  ASSERT_TRUE(reader.ok()) << reader.status();
  std::string out;
  for (uint64_t i = 0; i < kRecords; ++i) {
    ASSERT_TRUE(reader->WaitFor(i, absl::Seconds(60)).ok()) << i;
    ASSERT_TRUE(reader->Read(i, &out).ok()) << i;
    const size_t size = i % 997 == 500 ? (100 << 10) : SizeOf(i);
    ASSERT_EQ(out, Payload(i, size)) << i;
  }
  writer.join();
}

TEST_F(BlobLogTest, ReaderInAnotherProcessFollowsAWriterAcrossSegments) {
  constexpr uint64_t kRecords = 2000;
  // The reader starts first and waits for the log to appear.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ReaderOptions ro;
    ro.wait_for_log = absl::Seconds(30);
    auto reader = BlobReader::Open(path_, ro);
    if (!reader.ok()) ::_exit(1);
    std::string out;
    for (uint64_t i = 0; i < kRecords; ++i) {
      if (!reader->WaitFor(i, absl::Seconds(60)).ok()) ::_exit(2);
      if (!reader->Read(i, &out).ok()) ::_exit(3);
      if (out != Payload(i, SizeOf(i))) ::_exit(4);
    }
    ::_exit(0);
  }
  {
    auto log = Open();
    ASSERT_TRUE(log.ok());
    for (uint64_t i = 0; i < kRecords; ++i) {
      ASSERT_TRUE(log->Append(Payload(i, SizeOf(i))).ok());
      if (i % 50 == 0) {
        ASSERT_TRUE(log->Sync().ok());
      }
    }
    ASSERT_TRUE(log->Sync().ok());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_GT(Segments().size(), 10u);
}

}  // namespace
}  // namespace mapfile
