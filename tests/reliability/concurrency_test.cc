// Copyright 2026 The mapfile Authors.
//
// Concurrency across processes and threads: two writer processes race for
// one vector file or log directory (exactly one wins, the other gets
// Unavailable, the file stays valid); a reader follows a writer's appends,
// growth, Syncs and segment rolls for 2 s (10 s with MAPFILE_LONG=1) and
// never sees a torn, foreign or out-of-order record. The thread variant is
// the one to run under TSan.

#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

absl::Duration FollowTime() { return absl::Seconds(Scaled(2, 10)); }

LogOptions RollingLog() {
  LogOptions o = Pretouched(LogOptions());
  o.segment_size = 64 << 10;  // a roll every ~2000 records
  return o;
}

// One racer: waits for the start (EOF on `start`), opens, and if it won,
// writes and syncs while holding the file a little. 0: won, 1: Unavailable.
int Racer(bool log, const std::string& path, int start) {
  char c;
  while (::read(start, &c, 1) > 0) {
  }
  auto finish = [](absl::Status s) { return s.ok() ? 0 : 2; };
  if (log) {
    auto l = AppendLog<Rec>::Open(path, RollingLog());
    if (!l.ok()) return absl::IsUnavailable(l.status()) ? 1 : 3;
    ::usleep(20000);
    const uint64_t next = l->next_seq();
    if (!l->Append(MakeRec(next, 1)).ok()) return 2;
    return finish(l->Sync());
  }
  auto v = MappedVector<Rec>::Open(path, Pretouched());
  if (!v.ok()) return absl::IsUnavailable(v.status()) ? 1 : 3;
  ::usleep(20000);
  if (!v->push_back(MakeRec(v->size())).ok()) return 2;
  return finish(v->Sync());
}

void Race(bool log) {
  ShmDir dir;  // a flush stall on a busy disk must not eat the time budget
  const std::string path = dir.File(log ? "log" : "v.vec");
  const int rounds = Scaled(25, 250);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    int start[2];
    ASSERT_EQ(::pipe(start), 0);
    std::vector<pid_t> pids;
    for (int i = 0; i < 2; ++i) {
      std::fflush(nullptr);
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::close(start[1]);
        ::_exit(Racer(log, path, start[0]));
      }
      pids.push_back(pid);
    }
    ::close(start[0]);
    ::close(start[1]);  // go
    int won = 0, lost = 0;
    for (pid_t pid : pids) {
      int status = 0;
      ASSERT_EQ(::waitpid(pid, &status, 0), pid);
      ASSERT_TRUE(WIFEXITED(status));
      won += WEXITSTATUS(status) == 0;
      lost += WEXITSTATUS(status) == 1;
    }
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
  for (uint64_t batch = 1; absl::Now() < until; batch = batch * 3 % 2001 + 1) {
    for (uint64_t i = 0; i < batch; ++i) {
      if (!v->push_back(MakeRec(v->size())).ok()) ::_exit(4);
    }
    if (!v->Sync().ok()) ::_exit(5);
  }
}

// Follows the writer: sizes never go back, every element is whole.
uint64_t FollowVector(const std::string& path, absl::Time until) {
  auto r = MappedVector<const Rec>::Open(path);
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return 0;
  uint64_t seen = 0, refreshes = 0;
  while (absl::Now() < until + absl::Milliseconds(200)) {
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
  for (uint64_t n = 1; absl::Now() < until; n = n * 3 % 701 + 1) {
    batch.clear();
    for (uint64_t i = 0; i < n; ++i) batch.push_back(MakeRec(log->next_seq() + i, 1));
    if (!log->AppendBatch(batch).ok() || !log->Sync().ok()) ::_exit(4);
  }
}

uint64_t FollowLog(const std::string& dir, absl::Time until) {
  // The writer creates the log first thing; on a loaded machine that may
  // take a while, which is not what this test is about.
  absl::StatusOr<LogReader<Rec>> reader = absl::UnavailableError("none yet");
  while (!reader.ok() && absl::Now() < until + absl::Seconds(10)) {
    reader = LogReader<Rec>::Open(dir);
  }
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return 0;
  uint64_t next = 0;
  while (absl::Now() < until + absl::Milliseconds(200)) {
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
  EXPECT_GT(FollowVector(path, until), 0u);
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
  EXPECT_GT(FollowLog(path, until), 4000u);  // at least two rolls
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_EQ(status, 0);
}

// The same in one process, for TSan: separate objects, no locks.
TEST(ConcurrencyTest, ReaderThreadsFollowWriterThreads) {
  ShmDir dir;  // a flush stall on a busy disk must not eat the time budget
  const std::string vec = dir.File("v.vec"), log = dir.File("log");
  ASSERT_TRUE(MappedVector<Rec>::Open(vec).ok());
  const absl::Time until = absl::Now() + absl::Seconds(1);
  std::thread vector_writer([&] { WriteVector(vec, until); });
  std::thread log_writer([&] { WriteLog(log, until); });
  std::thread log_reader([&] { FollowLog(log, until); });
  FollowVector(vec, until);
  vector_writer.join();
  log_writer.join();
  log_reader.join();
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
