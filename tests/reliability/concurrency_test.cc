// Copyright 2026 The mapfile Authors.
//
// Concurrency across processes and threads: two writer processes race for
// one vector file or log directory (exactly one wins, the other gets
// Unavailable, the file stays valid; the winner holds it until the loser has
// tried); a reader follows a writer's appends, growth, Syncs and segment
// rolls for 2 s (10 s with MAPFILE_LONG=1) and never sees a torn, foreign or
// out-of-order record. The thread variant is
// the one to run under TSan.

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

absl::Duration FollowTime() { return absl::Seconds(Scaled(2, 10)); }

// What a follow test must see however slowly a loaded machine runs it: the
// writer keeps writing past FollowTime() until it has written this much,
// and the reader keeps following until it has seen it (within
// kFollowGrace, a bound that fails the test rather than hanging it).
constexpr uint64_t kMinVectorElements = 1000;
constexpr uint64_t kMinLogRecords = 4001;  // at least two rolls
constexpr uint64_t kMinBlobRecords = 301;  // at least five rolls
constexpr absl::Duration kFollowGrace = absl::Seconds(60);

LogOptions RollingLog() {
  LogOptions o = Pretouched(LogOptions());
  o.segment_size = 64 << 10;  // a roll every ~2000 records
  return o;
}

// How long a racer or the test waits for the other side before it gives up
// and fails: far beyond any scheduling delay, short of bazel's timeout.
constexpr int kHandshakeMs = 60000;

// Waits for EOF on `fd` (every write end closed). False after kHandshakeMs.
bool AwaitEof(int fd) {
  const absl::Time deadline = absl::Now() + absl::Milliseconds(kHandshakeMs);
  for (;;) {
    const int64_t left = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (left <= 0) return false;
    pollfd p = {fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left));
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) continue;
    char c;
    const ssize_t n = ::read(fd, &c, 1);
    if (n == 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

// The pipes of one race. Each racer writes a byte to `tried` once its Open
// has returned; the test closes `release` when both bytes arrived. The
// winner holds the file until then, so the loser always tries while the
// lock is held, however the two are scheduled: "exactly one wins" does not
// depend on how long anything takes.
struct RacePipes {
  int start[2];
  int tried[2];
  int release[2];
};

// One racer: waits for the start (EOF on `start`), opens, reports that it
// tried, and if it won, writes and syncs, then holds the file until the
// test releases it. 0: won, 1: Unavailable, 4: never released.
int Racer(bool log, const std::string& path, const RacePipes& pipes) {
  if (!AwaitEof(pipes.start[0])) return 5;
  auto tried = [&] { return ::write(pipes.tried[1], "x", 1) == 1; };
  auto finish = [&](absl::Status s) {
    if (!s.ok()) return 2;
    return AwaitEof(pipes.release[0]) ? 0 : 4;
  };
  if (log) {
    auto l = AppendLog<Rec>::Open(path, RollingLog());
    if (!tried()) return 6;
    if (!l.ok()) return absl::IsUnavailable(l.status()) ? 1 : 3;
    const uint64_t next = l->next_seq();
    if (!l->Append(MakeRec(next, 1)).ok()) return 2;
    return finish(l->Sync());
  }
  auto v = MappedVector<Rec>::Open(path, Pretouched());
  if (!tried()) return 6;
  if (!v.ok()) return absl::IsUnavailable(v.status()) ? 1 : 3;
  if (!v->push_back(MakeRec(v->size())).ok()) return 2;
  return finish(v->Sync());
}

void Race(bool log) {
  ShmDir dir;  // a flush stall on a busy disk must not eat the time budget
  const std::string path = dir.File(log ? "log" : "v.vec");
  const int rounds = Scaled(25, 250);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    RacePipes pipes;
    ASSERT_EQ(::pipe(pipes.start), 0);
    ASSERT_EQ(::pipe(pipes.tried), 0);
    ASSERT_EQ(::pipe(pipes.release), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < 2; ++i) {
      std::fflush(nullptr);
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::close(pipes.start[1]);
        ::close(pipes.tried[0]);
        ::close(pipes.release[1]);
        ::_exit(Racer(log, path, pipes));
      }
      pids.push_back(pid);
    }
    ::close(pipes.start[0]);
    ::close(pipes.tried[1]);
    ::close(pipes.release[0]);
    ::close(pipes.start[1]);  // go
    // Both tried (or died: EOF). A racer that never reports fails the
    // round after kHandshakeMs instead of hanging it.
    int tried = 0;
    const absl::Time deadline =
        absl::Now() + absl::Milliseconds(kHandshakeMs);
    while (tried < 2 && absl::Now() < deadline) {
      pollfd p = {pipes.tried[0], POLLIN, 0};
      const int ready = ::poll(
          &p, 1,
          static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now())));
      if (ready <= 0) continue;
      char c;
      const ssize_t n = ::read(pipes.tried[0], &c, 1);
      if (n == 0) break;
      tried += n == 1;
    }
    ::close(pipes.tried[0]);
    ::close(pipes.release[1]);  // the winner may let go
    int won = 0, lost = 0;
    for (pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status));
      won += WEXITSTATUS(status) == 0;
      lost += WEXITSTATUS(status) == 1;
    }
    ASSERT_EQ(tried, 2);
    ASSERT_EQ(won, 1);
    ASSERT_EQ(lost, 1);
    const uint64_t n = round + 1;  // one record per round, from the winner
    absl::Status s = log ? CheckLog(path, RollingLog(), n, n, 1)
                         : CheckVector(path, {n});
    ASSERT_TRUE(s.ok()) << s;
  }
  Report(log ? "concurrency.race.log" : "concurrency.race.vector",
         absl::StrCat(rounds, " races, one winner each"));
}

TEST(ConcurrencyTest, TwoVectorWritersRaceAndExactlyOneWins) { Race(false); }
TEST(ConcurrencyTest, TwoLogWritersRaceAndExactlyOneWins) { Race(true); }

// Appends in batches, Syncing each, until `until`.
void WriteVector(const std::string& path, absl::Time until) {
  auto v = MappedVector<Rec>::Open(path, Pretouched());
  if (!v.ok()) ::_exit(3);
  for (uint64_t batch = 1;
       absl::Now() < until || v->size() < kMinVectorElements;
       batch = batch * 3 % 2001 + 1) {
    for (uint64_t i = 0; i < batch; ++i) {
      if (!v->push_back(MakeRec(v->size())).ok()) ::_exit(4);
    }
    if (!v->Sync().ok()) ::_exit(5);
  }
}

// Follows the writer: sizes never go back, every element is whole. Stops
// 200 ms after `until` once it has seen kMinVectorElements.
uint64_t FollowVector(const std::string& path, absl::Time until) {
  auto r = MappedVector<const Rec>::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return 0;
  uint64_t seen = 0, refreshes = 0;
  while ((absl::Now() < until + absl::Milliseconds(200) ||
          seen < kMinVectorElements) &&
         absl::Now() < until + kFollowGrace) {
    absl::Status s = r->Refresh();
    EXPECT_TRUE(s.ok()) << s;
    if (!s.ok()) break;
    ++refreshes;
    EXPECT_GE(r->size(), seen);
    for (uint64_t i = seen; i < r->size(); ++i) {
      if (!Intact((*r)[i], i)) {
        ADD_FAILURE() << "element " << i << " is torn";
        return seen;
      }
    }
    seen = r->size();
  }
  Report("concurrency.follow.vector",
         absl::StrCat(seen, " elements followed in ", refreshes, " refreshes"));
  return seen;
}

void WriteLog(const std::string& dir, absl::Time until) {
  auto log = AppendLog<Rec>::Open(dir, RollingLog());
  if (!log.ok()) ::_exit(3);
  std::vector<Rec> batch;
  for (uint64_t n = 1; absl::Now() < until || log->next_seq() < kMinLogRecords;
       n = n * 3 % 701 + 1) {
    batch.clear();
    for (uint64_t i = 0; i < n; ++i) {
      batch.push_back(MakeRec(log->next_seq() + i, 1));
    }
    if (!log->AppendBatch(batch).ok() || !log->Sync().ok()) ::_exit(4);
  }
}

uint64_t FollowLog(const std::string& dir, absl::Time until) {
  // The writer creates the log first thing; on a loaded machine that may
  // take a while, which is not what this test is about.
  absl::StatusOr<LogReader<Rec>> reader = absl::UnavailableError("none yet");
  while (!reader.ok() && absl::Now() < until + kFollowGrace) {
    reader = LogReader<Rec>::Open(dir);
    // Leave the CPU to the writer meanwhile.
    if (!reader.ok()) absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return 0;
  uint64_t next = 0;
  while ((absl::Now() < until + absl::Milliseconds(200) ||
          next < kMinLogRecords) &&
         absl::Now() < until + kFollowGrace) {
    if (!reader->WaitFor(next, absl::Milliseconds(100)).ok()) continue;
    for (const uint64_t end = reader->next_seq(); next < end; ++next) {
      absl::StatusOr<Rec> r = reader->Read(next);
      if (!r.ok() || !Intact(*r, next)) {
        ADD_FAILURE() << "record " << next << ": "
                      << (r.ok() ? "torn" : r.status().ToString());
        return next;
      }
    }
  }
  Report("concurrency.follow.log", absl::StrCat(next, " records followed"));
  return next;
}

// WriteLog on a BlobLog of MakeBlob records (0 B to 9000 B): a roll every
// ~40 records, and now and then a record larger than a segment.
void WriteBlobLog(const std::string& dir, absl::Time until) {
  auto log = BlobLog::Open(dir, RollingLog());
  if (!log.ok()) ::_exit(3);
  std::vector<std::string> owned;
  for (uint64_t n = 1;
       absl::Now() < until || log->next_seq() < kMinBlobRecords;
       n = n * 3 % 71 + 1) {
    owned.clear();
    for (uint64_t i = 0; i < n; ++i) {
      owned.push_back(MakeBlob(log->next_seq() + i, 1));
    }
    if (n == 70) owned.back().append(100 << 10, 'x');  // tagged below
    const std::vector<absl::string_view> batch(owned.begin(), owned.end());
    if (!log->AppendBatch(batch).ok() || !log->Sync().ok()) ::_exit(4);
  }
}

// A record of WriteBlobLog's: MakeBlob's, possibly followed by 100 KiB of
// 'x' (a record larger than a segment).
bool FollowedBlobIntact(std::string r, uint64_t seq) {
  uint64_t gen = 0;
  if (r.size() > (100 << 10) &&
      r.find_first_not_of('x', r.size() - (100 << 10)) == std::string::npos) {
    r.resize(r.size() - (100 << 10));
  }
  return BlobIntact(r, seq, &gen);
}

uint64_t FollowBlobLog(const std::string& dir, absl::Time until) {
  ReaderOptions options;
  options.wait_for_log = until + kFollowGrace - absl::Now();
  absl::StatusOr<BlobReader> reader = BlobReader::Open(dir, options);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return 0;
  uint64_t next = 0;
  std::string r;
  while ((absl::Now() < until + absl::Milliseconds(200) ||
          next < kMinBlobRecords) &&
         absl::Now() < until + kFollowGrace) {
    if (!reader->WaitFor(next, absl::Milliseconds(100)).ok()) continue;
    for (const uint64_t end = reader->next_seq(); next < end; ++next) {
      absl::Status s = reader->Read(next, &r);
      if (!s.ok() || !FollowedBlobIntact(r, next)) {
        ADD_FAILURE() << "blob record " << next << ": "
                      << (s.ok() ? "torn" : s.ToString());
        return next;
      }
    }
  }
  Report("concurrency.follow.blob_log",
         absl::StrCat(next, " records followed"));
  return next;
}

TEST(ConcurrencyTest, ReaderProcessFollowsAVectorWriterProcess) {
  ShmDir dir;  // a flush stall on a busy disk must not eat the time budget
  const std::string path = dir.File("v.vec");
  ASSERT_TRUE(MappedVector<Rec>::Open(path).ok());
  const absl::Time until = absl::Now() + FollowTime();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    WriteVector(path, until);
    ::_exit(0);
  }
  EXPECT_GE(FollowVector(path, until), kMinVectorElements);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
}

TEST(ConcurrencyTest, ReaderProcessFollowsALogWriterProcessAcrossRolls) {
  ShmDir dir;  // a flush stall on a busy disk must not eat the time budget
  const std::string path = dir.File("log");
  const absl::Time until = absl::Now() + FollowTime();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    WriteLog(path, until);
    ::_exit(0);
  }
  EXPECT_GE(FollowLog(path, until), kMinLogRecords);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
}

TEST(ConcurrencyTest, ReaderProcessFollowsABlobLogWriterProcessAcrossRolls) {
  ShmDir dir;  // a flush stall on a busy disk must not eat the time budget
  const std::string path = dir.File("blobs");
  const absl::Time until = absl::Now() + FollowTime();
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    WriteBlobLog(path, until);
    ::_exit(0);
  }
  EXPECT_GE(FollowBlobLog(path, until), kMinBlobRecords);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
}

// The same in one process, for TSan: separate objects, no locks.
TEST(ConcurrencyTest, ReaderThreadsFollowWriterThreads) {
  ShmDir dir;  // a flush stall on a busy disk must not eat the time budget
  const std::string vec = dir.File("v.vec"), log = dir.File("log");
  const std::string blobs = dir.File("blobs");
  ASSERT_TRUE(MappedVector<Rec>::Open(vec).ok());
  const absl::Time until = absl::Now() + absl::Seconds(1);
  std::thread vector_writer([&] { WriteVector(vec, until); });
  std::thread log_writer([&] { WriteLog(log, until); });
  std::thread log_reader([&] { FollowLog(log, until); });
  std::thread blob_writer([&] { WriteBlobLog(blobs, until); });
  std::thread blob_reader(
      [&] { EXPECT_GE(FollowBlobLog(blobs, until), kMinBlobRecords); });
  FollowVector(vec, until);
  vector_writer.join();
  log_writer.join();
  log_reader.join();
  blob_writer.join();
  blob_reader.join();
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
