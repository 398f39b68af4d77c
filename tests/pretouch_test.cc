// Copyright 2026 The mapfile Authors.
//
// Pretouching (VectorOptions::pretouch, LogOptions::pretouch): the pages
// ahead of the writer get populated, no byte changes, and growth, rolls,
// moves and destruction while the pretouch thread works are race-free (run
// under --config=tsan). Crash recovery with pretouch on is in
// append_log_test.cc (CrashLoopWithPretouchKeepsEverySyncedRecord).

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/pretouch.h"
#include "mapfile/mapped_vector.h"
#include "tests/testing.h"

namespace mapfile {
namespace {

struct Rec {
  uint64_t seq;
  uint64_t values[7];
};

Rec Make(uint64_t i) {
  Rec r{i, {}};
  for (uint64_t& v : r.values) v = i * 0x9E3779B97F4A7C15ull + (&v - r.values);
  return r;
}

std::set<std::string> Names(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

// Fills a vector of `n` records with the given pretouch settings, syncs it
// and returns the file's bytes.
std::string FillVector(const std::string& path, size_t n, uint64_t pretouch,
                       bool background) {
  VectorOptions o;
  o.pretouch = pretouch;
  o.pretouch_in_background = background;
  auto v = MappedVector<Rec>::Open(path, o);
  EXPECT_TRUE(v.ok()) << v.status();
  if (!v.ok()) return "";
  for (size_t i = 0; i < n; ++i) {
    if (i % 1000 == 0) v->Pretouch();  // a no-op unless cooperative
    EXPECT_TRUE(v->push_back(Make(i)).ok());
  }
  EXPECT_TRUE(v->append({Make(n), Make(n + 1)}).ok());
  EXPECT_TRUE(v->Sync().ok());
  return testing::ReadFile(path);
}

TEST(PretouchTest, VectorFileIsTheSameWithAndWithoutPretouch) {
  testing::TempDir dir;
  const size_t n = 100000;  // 6.4 MB: many growth steps and windows
  const std::string off = FillVector(dir.File("off"), n, 0, true);
  ASSERT_EQ(off.size() % 4096, 0u);
  EXPECT_EQ(FillVector(dir.File("bg"), n, 256 << 10, true), off);
  EXPECT_EQ(FillVector(dir.File("coop"), n, 100 << 10, false), off);
  auto v = MappedVector<const Rec>::Open(dir.File("bg"));
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->size(), n + 2);
  for (size_t i = 0; i < n + 2; i += 997) EXPECT_EQ((*v)[i].values[3], Make(i).values[3]);
}

// Cooperative mode: nothing happens until Pretouch(), which populates the
// window after the last element (page cache residency, mincore).
TEST(PretouchTest, CooperativePretouchPopulatesTheWindowAhead) {
  testing::TempDir dir;
  VectorOptions o;
  o.pretouch = 1 << 20;
  o.pretouch_in_background = false;
  auto v = MappedVector<Rec>::Open(dir.File("v"), o);
  ASSERT_TRUE(v.ok());
  ASSERT_TRUE(v->reserve((8 << 20) / sizeof(Rec)).ok());
  ASSERT_TRUE(v->push_back(Make(0)).ok());
  const double before = v->file()->Residency().value_or(1);
  v->Pretouch();
  if (!internal::PretouchSupported()) GTEST_SKIP() << "no MADV_POPULATE_WRITE";
  const double after = v->file()->Residency().value_or(0);
  EXPECT_LT(before, 0.05);
  EXPECT_GT(after, before + 0.1);  // 1 MiB of ~8 MiB
  EXPECT_EQ((*v)[0].values[5], Make(0).values[5]);
}

// Appends n records (many segments and rolls), syncing every `sync_every`.
void FillLog(const std::string& dir, uint64_t n, uint64_t sync_every,
             uint64_t pretouch) {
  LogOptions o;
  o.segment_size = 64 << 10;
  o.pretouch = pretouch;
  auto log = AppendLog<Rec>::Open(dir, o);
  ASSERT_TRUE(log.ok()) << log.status();
  for (uint64_t i = 0; i < n; ++i) {
    absl::StatusOr<uint64_t> seq = log->Append(Make(i));
    ASSERT_TRUE(seq.ok()) << seq.status();
    ASSERT_EQ(*seq, i);
    if (i % sync_every == sync_every - 1) {
      ASSERT_TRUE(log->Sync().ok());
    }
  }
  ASSERT_TRUE(log->Sync().ok());
}

TEST(PretouchTest, LogIsTheSameWithAndWithoutPretouch) {
  testing::TempDir dir;
  const uint64_t n = 20000;  // ~24 segments
  // Syncs rarer than rolls: rolls to prepared segments pile up unfinished.
  for (uint64_t sync_every : {uint64_t{97}, uint64_t{5000}}) {
    SCOPED_TRACE(sync_every);
    const std::string off = dir.File("off" + std::to_string(sync_every));
    const std::string on = dir.File("on" + std::to_string(sync_every));
    FillLog(off, n, sync_every, 0);
    FillLog(on, n, sync_every, 16 << 10);
    EXPECT_EQ(Names(on), Names(off));  // no temporary left behind
    for (const std::string& name : Names(off)) {
      if (name == "LOCK") continue;
      // The same records, commits and control blocks, byte for byte.
      EXPECT_EQ(testing::ReadFile(on + "/" + name),
                testing::ReadFile(off + "/" + name))
          << name;
    }
    auto log = AppendLog<Rec>::Open(on, LogOptions{});
    ASSERT_TRUE(log.ok());
    ASSERT_EQ(log->next_seq(), n);
    uint64_t seq = 0;
    for (auto c = log->From(0); c.Valid(); c.Next(), ++seq) {
      ASSERT_EQ(c.value().values[6], Make(seq).values[6]);
    }
    EXPECT_EQ(seq, n);
  }
}

// A roll to a prepared segment switches files at once (reads see every
// record); the next Sync names the new segment, after the old one is
// committed, and no temporary is left. Also with a window larger than a
// segment (it once skipped the half-segment mark and never prepared).
TEST(PretouchTest, RollToAPreparedSegmentIsNamedByTheNextSync) {
  for (uint64_t window : {uint64_t{8} << 10, uint64_t{64} << 10}) {
    SCOPED_TRACE(window);
    testing::TempDir dir;
    LogOptions o;
    o.segment_size = 16 << 10;
    o.pretouch = window;
    o.pretouch_in_background = false;  // preparation only in Pretouch()
    const std::string path = dir.File("log");
    const uint64_t per = internal::LogLayout(FingerprintOf<Rec>()).Capacity(
        o.segment_size);
    const std::string second = internal::SegmentFileName(per);
    auto log = AppendLog<Rec>::Open(path, o);
    ASSERT_TRUE(log.ok());
    uint64_t i = 0;
    for (; i < per - 1; ++i) ASSERT_TRUE(log->Append(Make(i)).ok());
    log->Pretouch();  // creates the second segment as a temporary
    EXPECT_EQ(Names(path).count(second + ".tmp"), 1u);
    for (; i < per + 10; ++i) ASSERT_TRUE(log->Append(Make(i)).ok());  // rolls
    EXPECT_EQ(Names(path).count(second), 0u);
    EXPECT_EQ(log->Read(per + 9).value_or(Rec{}).seq, per + 9);
    ASSERT_TRUE(log->Sync().ok());
    EXPECT_EQ(Names(path), (std::set<std::string>{
                               "LOCK", internal::SegmentFileName(0), second}));
    auto reader = LogReader<Rec>::Open(path);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(reader->next_seq(), per + 10);
  }
}

// Growth past the reservation (the mapping moves), shrinking, rolls, Seal,
// retention and destruction, while the pretouch thread and a second thread
// (cooperative Pretouch) work on the same containers. Meant for TSan/ASan.
TEST(PretouchTest, ConcurrentGrowthRollsAndCloseAreRaceFree) {
  testing::TempDir dir;
  for (int round = 0; round < 4; ++round) {
    VectorOptions vo;
    vo.pretouch = 64 << 10;
    vo.reserve = 256 << 10;  // outgrown: every doubling past it moves
    auto v = MappedVector<Rec>::Open(dir.File("v" + std::to_string(round)), vo);
    ASSERT_TRUE(v.ok());
    LogOptions lo;
    lo.segment_size = 16 << 10;
    lo.pretouch = 8 << 10;
    auto log = AppendLog<Rec>::Open(dir.File("l" + std::to_string(round)), lo);
    ASSERT_TRUE(log.ok());
    std::atomic<bool> done{false};
    std::thread helper([&] {
      while (!done.load()) {
        v->Pretouch();
        log->Pretouch();
      }
    });
    for (uint64_t i = 0; i < 20000; ++i) {
      ASSERT_TRUE(v->push_back(Make(i)).ok());
      ASSERT_TRUE(log->Append(Make(i)).ok());
      if (i % 500 == 499) {
        ASSERT_TRUE(log->Sync().ok());
      }
      if (i == 15000) {
        ASSERT_TRUE(log->Seal().ok());
        ASSERT_TRUE(log->TruncateBefore(5000).ok());
        ASSERT_TRUE(v->resize(1000).ok());
        ASSERT_TRUE(v->Sync().ok());
        ASSERT_TRUE(v->shrink_to_fit().ok());
      }
    }
    EXPECT_GT(v->file()->remap_count(), 0u);
    EXPECT_EQ((*v)[999].seq, 999u);
    EXPECT_EQ((*v)[1500].seq, 15501u);
    EXPECT_EQ(log->Read(19999).value_or(Rec{}).seq, 19999u);
    done = true;
    helper.join();
  }  // destroyed with pretouch work possibly in flight
}

// Regression: while the pretouch thread ran one task, FinishTasks() ran the
// next one inline and, with one "running" flag for both, returned when its
// own ended: a log writer's close then freed the state the first task (its
// background jobs) was still using. FinishTasks() and the destructor wait
// for every running task.
TEST(PretouchTest, FinishTasksWaitsForTheTaskTheThreadIsRunning) {
  internal::Pretoucher pretouch(0, /*background=*/true);
  std::atomic<bool> started{false}, release{false}, finished{false};
  pretouch.Post([&] {
    started = true;
    while (!release.load()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  while (!started.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  bool second_ran = false;
  pretouch.Post([&] { second_ran = true; });
  std::thread closer([&] {
    pretouch.FinishTasks();  // runs the second task here
    finished = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(finished.load()) << "returned while the first task ran";
  release = true;
  closer.join();
  EXPECT_TRUE(finished.load());
  EXPECT_TRUE(second_ran);
}

// Regression: a forked child inherited a Pretoucher whose task was running
// on the parent's pretouch thread (task_running stayed true in the child,
// where that thread does not exist), so destroying it there waited forever.
// Inherited pretouchers are disabled in the child.
TEST(PretouchTest, ForkedChildDestroysInheritedPretouchersPromptly) {
  testing::TempDir dir;
  VectorOptions o;
  o.pretouch = 64 << 10;
  auto v = MappedVector<Rec>::Open(dir.File("v"), o);
  ASSERT_TRUE(v.ok()) << v.status();
  for (uint64_t i = 0; i < 5000; ++i) ASSERT_TRUE(v->push_back(Make(i)).ok());
  auto busy = std::make_unique<internal::Pretoucher>(4096, true);
  std::atomic<bool> running{false}, release{false};
  busy->Post([&] {
    running = true;
    while (!release) std::this_thread::yield();
  });
  while (!running) std::this_thread::yield();
  const int code = testing::RunInChild([&] {
    alarm(10);  // a hang is SIGALRM: 128 + 14
    busy->Run();
    busy->FinishTasks();
    busy.reset();
    if (!v->push_back(Make(5000)).ok()) return 1;
    v = absl::UnavailableError("closed");  // destroys the vector
    return 0;
  });
  release = true;
  EXPECT_EQ(code, 0);
  busy.reset();  // the parent's work is unaffected
  EXPECT_EQ((*v)[4999].seq, 4999u);
}

}  // namespace
}  // namespace mapfile
