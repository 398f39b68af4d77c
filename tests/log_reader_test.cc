// Copyright 2026 The mapfile Authors.
//
// LogReader<T>: committed records only, following a live writer (thread or
// process), retention and compression, and WaitFor. The thread test is the
// one to run under TSan.

#include <signal.h>
#include <sys/wait.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <cstdint>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/internal/log_format.h"
#include "tests/testing.h"

namespace mapfile {
namespace {

using ::testing::HasSubstr;

class LogReaderTest : public ::testing::Test {
 protected:
  LogReaderTest() { options_.segment_size = 16 << 10; }
  AppendLog<uint64_t> Writer() {
    auto log = AppendLog<uint64_t>::Open(path_, options_);
    EXPECT_TRUE(log.ok()) << log.status();
    return *std::move(log);
  }
  LogReader<uint64_t> Reader() {
    auto reader = LogReader<uint64_t>::Open(path_);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return *std::move(reader);
  }
  static void AppendRange(AppendLog<uint64_t>& log, uint64_t from,
                          uint64_t to) {
    std::vector<uint64_t> values;
    for (uint64_t i = from; i < to; ++i) values.push_back(i * 3);
    absl::StatusOr<uint64_t> first = log.AppendBatch(values);
    ASSERT_TRUE(first.ok()) << first.status();
    ASSERT_EQ(*first, from);
  }

  testing::TempDir dir_;
  std::string path_ = dir_.File("log");
  LogOptions options_;
};

TEST_F(LogReaderTest, MissingLogIsNotFoundAndWrongTypeIsFailedPrecondition) {
  EXPECT_EQ(LogReader<uint64_t>::Open(path_).status().code(),
            absl::StatusCode::kNotFound);
  auto writer = Writer();
  auto other = LogReader<double>::Open(path_);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(other.status().message()), HasSubstr("float64"));
}

// The process's mappings: lines of /proc/self/maps.
size_t Mappings() {
  std::ifstream maps("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

// A reader that reads through a log of many segments keeps only the most
// recently read ones mapped: each mapping is an entry of the process's map
// table (vm.max_map_count), and a reader following a long log of small
// segments ran out of them (mmap: ENOMEM). Those it unmapped are mapped
// again when read again.
TEST_F(LogReaderTest, ReadingThroughManySegmentsKeepsFewMapped) {
  const internal::LogLayout layout(FingerprintOf<uint64_t>());
  const uint64_t per = layout.Capacity(options_.segment_size);
  const uint64_t n = 600 * per;
  {
    auto log = Writer();
    AppendRange(log, 0, n);
    ASSERT_TRUE(log.Sync().ok());
  }
  auto reader = Reader();
  ASSERT_EQ(reader.next_seq(), n);
  const size_t before = Mappings();
  for (uint64_t i = 0; i < n; i += per / 3) {
    absl::StatusOr<uint64_t> r = reader.Read(i);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    ASSERT_EQ(*r, i * 3);
  }
  if (!testing::kThreadSanitizer) {  // (which maps shadow memory of its own)
    EXPECT_LT(Mappings(), before + 300) << "600 segments read";
  }
  for (uint64_t i = 0; i < n; i += 7 * per + 1) {  // read again: remapped
    absl::StatusOr<uint64_t> r = reader.Read(i);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    ASSERT_EQ(*r, i * 3);
  }
}

// The same for a writer that fills many segments, syncing as it goes: it
// keeps only a bounded number of the sealed ones mapped (with 64 KiB
// segments and no retention, 65530 segments, 4 GiB, filled the map table),
// and reads the others through a new mapping. A segment a cursor holds
// stays mapped: retention reuses a retired file only when none does.
TEST_F(LogReaderTest, WritingThroughManySegmentsKeepsFewMapped) {
  const internal::LogLayout layout(FingerprintOf<uint64_t>());
  const uint64_t per = layout.Capacity(options_.segment_size);
  auto log = Writer();
  AppendRange(log, 0, per);
  ASSERT_TRUE(log.Sync().ok());
  auto cursor = log.From(0);  // holds the first segment's mapping
  ASSERT_TRUE(cursor.Valid()) << cursor.status();
  const size_t before = Mappings();
  for (uint64_t s = 1; s < 600; ++s) {
    AppendRange(log, s * per, (s + 1) * per);
    ASSERT_TRUE(log.Sync().ok());
  }
  if (!testing::kThreadSanitizer) {  // (which maps shadow memory of its own)
    EXPECT_LT(Mappings(), before + 300) << "600 segments written";
  }
  for (uint64_t i = 0; i < 600 * per; i += 7 * per + 1) {  // remapped
    absl::StatusOr<uint64_t> r = log.Read(i);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    ASSERT_EQ(*r, i * 3);
  }
  for (uint64_t i = 0; i < per; ++i, cursor.Next()) {
    ASSERT_TRUE(cursor.Valid()) << i << ": " << cursor.status();
    ASSERT_EQ(cursor.value(), i * 3);
  }
}

// A writer's Open checks a long unsynced tail (8 MiB of frames or more) in
// two halves, on two threads (log_recovery.cc, FindFrame): a bad frame in
// either half ends the log there, and a reader sees what the reopened
// writer's Sync commits. (Here, so that TSan runs it.)
TEST_F(LogReaderTest, ReopenFindsTheFirstBadFrameOfALongTailInEitherHalf) {
  // Room for 786k frames: the halves of the check are [0, 393k) and
  // [393k, 786k).
  options_.segment_size = 12 << 20;
  const uint64_t n = 700000;
  const internal::LogLayout layout(FingerprintOf<uint64_t>());
  for (const uint64_t bad : {n / 4, 3 * n / 4}) {
    SCOPED_TRACE(bad);
    testing::TempDir dir;
    path_ = dir.File("log");
    { auto writer = Writer(); AppendRange(writer, 0, n); }  // no Sync
    const std::string segment = path_ + "/00000000000000000000.seg";
    std::string bytes = testing::ReadFile(segment);
    ASSERT_GT(bytes.size(), layout.records_offset() + n * layout.stride);
    bytes[layout.records_offset() + bad * layout.stride + 1] ^= 0x40;
    ASSERT_TRUE(testing::WriteFile(segment, bytes));
    auto writer = Writer();
    EXPECT_EQ(writer.next_seq(), bad);
    EXPECT_EQ(writer.recovery().records_kept, bad);
    EXPECT_GT(writer.recovery().records_cut, 0u);
    auto reader = Reader();
    EXPECT_EQ(reader.next_seq(), 0u);
    ASSERT_TRUE(writer.Sync().ok());
    EXPECT_EQ(reader.next_seq(), bad);
    EXPECT_EQ(*reader.Read(bad - 1), 3 * (bad - 1));
  }
}

TEST_F(LogReaderTest, UnsyncedRecordsAreInvisibleToReaders) {
  auto writer = Writer();
  auto reader = Reader();
  AppendRange(writer, 0, 10);
  EXPECT_EQ(reader.next_seq(), 0u);
  EXPECT_EQ(reader.Read(0).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE(reader.From(0).Valid());
  ASSERT_TRUE(writer.Sync().ok());
  EXPECT_EQ(reader.next_seq(), 10u);
  EXPECT_EQ(*reader.Read(9), 27u);
  AppendRange(writer, 10, 12);
  uint64_t n = 0;
  for (auto c = reader.From(0); c.Valid(); c.Next()) EXPECT_EQ(c.value(), 3 * n++);
  EXPECT_EQ(n, 10u);
}

TEST_F(LogReaderTest, ReaderFollowsRollsRetentionAndCompression) {
  options_.compress_sealed = true;
  auto writer = Writer();
  AppendRange(writer, 0, 10);
  ASSERT_TRUE(writer.Sync().ok());
  auto reader = Reader();
  EXPECT_EQ(*reader.Read(5), 15u);  // maps segment 0 before it is sealed
  AppendRange(writer, 10, 5000);    // many rolls, compressed segments
  ASSERT_TRUE(writer.Sync().ok());
  EXPECT_EQ(reader.next_seq(), 5000u);
  for (uint64_t i = 0; i < 5000; i += 101) EXPECT_EQ(*reader.Read(i), 3 * i);
  ASSERT_TRUE(writer.TruncateBefore(3000).ok());
  EXPECT_GT(reader.first_seq(), 2000u);
  EXPECT_LE(reader.first_seq(), 3000u);
  EXPECT_EQ(reader.Read(1500).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*reader.Read(4999), 3 * 4999u);
  // Nothing committed after the reader's last look: it stays at 5000.
  AppendRange(writer, 5000, 5001);
  EXPECT_EQ(reader.next_seq(), 5000u);
}

TEST_F(LogReaderTest, WaitForReturnsDeadlineExceededWithoutACommit) {
  auto writer = Writer();
  auto reader = Reader();
  AppendRange(writer, 0, 3);  // not synced
  const absl::Time start = absl::Now();
  absl::Status s = reader.WaitFor(0, absl::Milliseconds(150));
  EXPECT_EQ(s.code(), absl::StatusCode::kDeadlineExceeded) << s;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(150));
  EXPECT_THAT(std::string(s.message()), HasSubstr(path_));
  ASSERT_TRUE(writer.Sync().ok());
  EXPECT_TRUE(reader.WaitFor(2, absl::ZeroDuration()).ok());
}

// ReaderOptions::cache_bytes bounds the decompressed segments a reader
// keeps: a cursor pins its segment's copy, so a segment read again after
// another one gets a new copy only if the cache let the first one go.
TEST_F(LogReaderTest, CacheBytesDecidesWhetherASegmentIsDecompressedAgain) {
  options_.compress_sealed = true;
  {
    auto writer = Writer();
    AppendRange(writer, 0, 5000);  // rolls: sealed segments
    ASSERT_TRUE(writer.Sync().ok());
  }  // close finishes their compression (queued by the Sync)
  const uint64_t in_second = 2500;  // neither the first nor the last segment
  auto reread_moves = [&](uint64_t cache_bytes) {
    ReaderOptions o;
    o.cache_bytes = cache_bytes;
    auto reader = LogReader<uint64_t>::Open(path_, o);
    EXPECT_TRUE(reader.ok()) << reader.status();
    auto pinned = reader->From(0);
    EXPECT_TRUE(pinned.Valid()) << pinned.status();
    const uint64_t* first_copy = &pinned.value();
    auto other = reader->From(in_second);  // another compressed segment
    EXPECT_TRUE(other.Valid()) << other.status();
    EXPECT_EQ(other.value(), 3 * in_second);
    auto again = reader->From(0);
    EXPECT_TRUE(again.Valid()) << again.status();
    EXPECT_EQ(again.value(), 0u);
    return &again.value() != first_copy;
  };
  EXPECT_FALSE(reread_moves(uint64_t{256} << 20));  // both segments cached
  EXPECT_TRUE(reread_moves(1));  // only the segment being read is kept
}

TEST_F(LogReaderTest, ReaderOpenedBeforeTheWriterWaitsForTheLogToAppear) {
  ReaderOptions o;
  o.wait_for_log = absl::Seconds(30);
  absl::StatusOr<LogReader<uint64_t>> reader = absl::UnknownError("not run");
  absl::Time opened;
  std::thread thread([&] {
    reader = LogReader<uint64_t>::Open(path_, o);
    opened = absl::Now();
  });
  absl::SleepFor(absl::Milliseconds(100));
  const absl::Time created = absl::Now();
  auto writer = Writer();
  AppendRange(writer, 0, 3);
  ASSERT_TRUE(writer.Sync().ok());
  thread.join();
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_GE(opened, created);
  EXPECT_TRUE(reader->WaitFor(2, absl::Seconds(10)).ok());
  EXPECT_EQ(*reader->Read(2), 6u);
}

TEST_F(LogReaderTest, WaitForLogEndsInNotFoundWhenNoWriterCreatesTheLog) {
  ReaderOptions o;
  o.wait_for_log = absl::Milliseconds(80);
  const absl::Time start = absl::Now();
  auto reader = LogReader<uint64_t>::Open(path_, o);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(80));
  EXPECT_THAT(std::string(reader.status().message()), HasSubstr("waited 80ms"));
  // Another kind of error is not waited on.
  auto writer = Writer();
  AppendRange(writer, 0, 1);
  ASSERT_TRUE(writer.Sync().ok());
  ReaderOptions wait;
  wait.wait_for_log = absl::Seconds(30);
  const absl::Time again = absl::Now();
  auto other = LogReader<double>::Open(path_, wait);
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_LT(absl::Now() - again, absl::Seconds(5));
}

// Writer and reader threads, each with its own object: the TSan test.
TEST_F(LogReaderTest, ReaderThreadSeesEveryRecordOfAWriterThreadOnce) {
  constexpr uint64_t kRecords = 100000;
  { auto created = Writer(); }
  auto reader = Reader();
  std::atomic<bool> writer_ok{true};
  std::thread writer_thread([&] {
    auto writer = Writer();
    for (uint64_t i = 0; i < kRecords; i += 500) {
      std::vector<uint64_t> batch;
      for (uint64_t j = i; j < i + 500; ++j) batch.push_back(j * 3);
      if (!writer.AppendBatch(batch).ok() || !writer.Sync().ok()) {
        writer_ok = false;
        return;
      }
    }
  });
  uint64_t seq = 0;
  while (seq < kRecords) {
    absl::Status s = reader.WaitFor(seq, absl::Seconds(30));
    ASSERT_TRUE(s.ok()) << s;
    auto c = reader.From(seq);
    for (; c.Valid(); c.Next(), ++seq) ASSERT_EQ(c.value(), 3 * seq);
    ASSERT_TRUE(c.status().ok()) << c.status();
  }
  writer_thread.join();
  EXPECT_TRUE(writer_ok);
  EXPECT_EQ(seq, kRecords);
}

// A writer process appends 10^6 records; this process reads them as they
// are committed: all of them, in order, exactly once.
TEST_F(LogReaderTest, ReaderInAnotherProcessSeesAMillionRecordsInOrder) {
  constexpr uint64_t kRecords = 1000000;
  options_.segment_size = 1 << 20;
  { auto created = Writer(); }
  auto reader = Reader();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto log = AppendLog<uint64_t>::Open(path_, options_);
    if (!log.ok()) ::_exit(1);
    std::vector<uint64_t> batch(1000);
    for (uint64_t i = 0; i < kRecords; i += batch.size()) {
      for (uint64_t j = 0; j < batch.size(); ++j) batch[j] = (i + j) * 3;
      if (!log->AppendBatch(batch).ok() || !log->Sync().ok()) ::_exit(2);
    }
    ::_exit(0);
  }
  uint64_t seq = 0;
  while (seq < kRecords) {
    absl::Status s = reader.WaitFor(seq, absl::Seconds(60));
    if (!s.ok()) break;
    auto c = reader.From(seq);
    for (; c.Valid(); c.Next(), ++seq) {
      if (c.value() != 3 * seq) break;
    }
    if (!c.status().ok() || (c.Valid() && c.value() != 3 * seq)) break;
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(seq, kRecords);
  EXPECT_EQ(reader.next_seq(), kRecords);
}

// The futex wakes a reader in another process: it must not sleep out its
// timeout (a lost wake-up) when the commit comes.
TEST_F(LogReaderTest, WaitForInAnotherProcessWakesAtTheCommit) {
  auto writer = Writer();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto reader = LogReader<uint64_t>::Open(path_);
    if (!reader.ok()) ::_exit(1);
    const absl::Time start = absl::Now();
    if (!reader->WaitFor(0, absl::Seconds(20)).ok()) ::_exit(2);
    ::_exit(absl::Now() - start < absl::Seconds(10) ? 0 : 3);
  }
  ::usleep(50000);
  AppendRange(writer, 0, 1);
  ASSERT_TRUE(writer.Sync().ok());
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST_F(LogReaderTest, ReaderSurvivesAWriterKilledAndRestarted) {
  { auto created = Writer(); }
  auto reader = Reader();
  EXPECT_EQ(testing::RunInChild([&] {
              auto log = AppendLog<uint64_t>::Open(path_, options_);
              if (!log.ok()) return 1;
              AppendRange(*log, 0, 700);
              if (!log->Sync().ok()) return 2;
              // The roll at 764 writes 700..763 but commits nothing;
              // 764..799 are still in the write buffer at the kill.
              AppendRange(*log, 700, 800);
              ::raise(SIGKILL);
              return 3;
            }),
            128 + SIGKILL);
  EXPECT_EQ(reader.next_seq(), 700u);  // only synced records are published
  auto writer = Writer();
  EXPECT_EQ(writer.next_seq(), 764u);  // written unsynced records are kept
  // Not durable yet: published at the writer's next Sync.
  EXPECT_EQ(reader.next_seq(), 700u);
  ASSERT_TRUE(writer.Sync().ok());
  EXPECT_EQ(reader.next_seq(), 764u);
  AppendRange(writer, 764, 900);
  ASSERT_TRUE(writer.Sync().ok());
  ASSERT_TRUE(reader.WaitFor(899, absl::Seconds(5)).ok());
  for (uint64_t i = 0; i < 900; i += 7) EXPECT_EQ(*reader.Read(i), 3 * i);
}

// TruncateBefore now retires segments no Sync made durable, the reader's
// live segment (the last named one) included. That segment is never sealed
// on disk, so a reader that follows it with next_seq() (Refresh without a
// rescan) must still find the log's new segments.
TEST_F(LogReaderTest, ReaderFollowsRetentionOfItsLiveSegmentBeforeASync) {
  options_.recycle_segments = 0;  // the retired file is deleted
  auto writer = Writer();
  AppendRange(writer, 0, 10);
  ASSERT_TRUE(writer.Sync().ok());
  auto reader = Reader();
  EXPECT_EQ(*reader.Read(5), 15u);  // maps segment 0: its live segment
  AppendRange(writer, 10, 5000);    // rolls; no Sync
  ASSERT_TRUE(writer.TruncateBefore(4000).ok());  // segment 0 goes
  ASSERT_TRUE(writer.Sync().ok());
  EXPECT_EQ(reader.next_seq(), 5000u);
  auto c = reader.From(4990);
  EXPECT_TRUE(c.Valid()) << c.status();
}

// The same with recycling: the reader's retired live segment is reused
// for a later segment, and while that one is the writer's active segment
// the reader takes its control block for its own live segment's: next_seq()
// falls below first_seq() and a cursor meets records that "fail their
// checksum" in a healthy log.
TEST_F(LogReaderTest, ReaderOfARecycledLiveSegmentNeverSeesForeignRecords) {
  options_.recycle_segments = 1;  // only segment 0's file is kept
  auto writer = Writer();
  AppendRange(writer, 0, 10);
  ASSERT_TRUE(writer.Sync().ok());
  struct stat st;
  const std::string first_file = path_ + "/" + [&] {
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      if (absl::EndsWith(e.path().string(), ".seg")) return e.path().filename().string();
    }
    return std::string();
  }();
  ASSERT_EQ(::stat(first_file.c_str(), &st), 0) << first_file;
  const ino_t reused = st.st_ino;
  auto reader = Reader();
  EXPECT_EQ(*reader.Read(5), 15u);  // maps segment 0: its live segment
  AppendRange(writer, 10, 5000);    // rolls; no Sync
  ASSERT_TRUE(writer.TruncateBefore(4000).ok());  // segment 0 goes (.free)
  // Append until segment 0's old file is the writer's active segment.
  bool active = false;
  for (uint64_t next = 5000; next < 20000 && !active; next += 50) {
    AppendRange(writer, next, next + 50);
    std::string newest;
    ino_t ino = 0;
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      const std::string name = e.path().filename().string();
      if (!absl::StrContains(name, ".seg") || absl::EndsWith(name, ".free")) {
        continue;
      }
      if (name.substr(0, name.find('.')) >
              newest.substr(0, newest.find('.')) &&
          ::stat(e.path().c_str(), &st) == 0) {
        newest = name;
        ino = st.st_ino;
      }
    }
    // (Not the next segment, prepared ahead: one holding records.)
    active = ino == reused &&
             std::stoull(newest.substr(0, newest.find('.'))) < next + 40;
  }
  ASSERT_TRUE(active) << "segment 0's file was never reused";
  ASSERT_TRUE(writer.Sync().ok());
  const uint64_t next = reader.next_seq();
  EXPECT_EQ(next, writer.next_seq());
  EXPECT_GE(next, 5000u);
  auto c = reader.From(next > 20 ? next - 20 : 0);
  uint64_t n = 0;
  for (; c.Valid(); c.Next()) ++n;
  EXPECT_TRUE(c.status().ok()) << c.status();
  EXPECT_EQ(n, 20u);
}

}  // namespace
}  // namespace mapfile
