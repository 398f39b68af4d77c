// Copyright 2026 The mapfile Authors.
//
// Out of memory is a Status (docs/ERRORS.md "Out of memory"): this binary
// replaces the global operator new with one that fails (throws
// std::bad_alloc) at the Nth allocation of the calling thread, and sweeps N
// over every allocation that AppendLog::Open, Append (with rolls), Sync,
// LogReader::Open/Read, MappedVector::Open and push_back (with growth)
// make. Each call must return OK or ResourceExhausted naming itself; an
// exception escaping it ends the test (the public functions are noexcept
// inside), and the files must still hold everything synced.
//
// Two modes: the Nth allocation alone fails (the error message can still
// be built), and every allocation from the Nth on fails (it cannot: the
// library falls back to a message built before main). Two more cases fail
// every allocation of the background (pretouch) thread instead: its jobs
// for a log writer, and its allocation ahead of a vector on tmpfs.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace {

// Allocations of the armed thread still to succeed; below zero: unarmed.
thread_local long g_countdown = -1;
thread_local bool g_forever = false;
thread_local long g_failed = 0;
// While set, every allocation fails on threads other than the one that
// marked itself g_test_thread (the library's background thread).
std::atomic<bool> g_fail_background{false};
std::atomic<long> g_background_failed{0};
thread_local bool g_test_thread = false;

void* Allocate(size_t n, size_t alignment, bool nothrow) {
  if (g_fail_background.load(std::memory_order_relaxed) && !g_test_thread) {
    g_background_failed.fetch_add(1, std::memory_order_relaxed);
    if (nothrow) return nullptr;
    throw std::bad_alloc();
  }
  if (g_countdown >= 0) {
    if (g_countdown == 0) {
      ++g_failed;
      if (!g_forever) g_countdown = -1;  // this one fails, later ones work
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    --g_countdown;
  }
  if (n == 0) n = 1;
  void* p = alignment > alignof(std::max_align_t)
                ? std::aligned_alloc(alignment, (n + alignment - 1) /
                                                    alignment * alignment)
                : std::malloc(n);
  if (p == nullptr && !nothrow) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(size_t n) { return Allocate(n, 0, false); }
void* operator new[](size_t n) { return Allocate(n, 0, false); }
void* operator new(size_t n, std::align_val_t a) {
  return Allocate(n, static_cast<size_t>(a), false);
}
void* operator new[](size_t n, std::align_val_t a) {
  return Allocate(n, static_cast<size_t>(a), false);
}
void* operator new(size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, 0, true);
}
void* operator new[](size_t n, const std::nothrow_t&) noexcept {
  return Allocate(n, 0, true);
}
void* operator new(size_t n, std::align_val_t a,
                   const std::nothrow_t&) noexcept {
  return Allocate(n, static_cast<size_t>(a), true);
}
void* operator new[](size_t n, std::align_val_t a,
                     const std::nothrow_t&) noexcept {
  return Allocate(n, static_cast<size_t>(a), true);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace mapfile {
namespace {

using reliability::Intact;
using reliability::MakeRec;
using reliability::Rec;

// Runs `call` with the calling thread's allocation number `n` (0-based)
// failing (and, if `forever`, every later one). Returns its status and
// sets *hit when the fault was reached.
template <typename Call>
absl::Status WithFault(long n, bool forever, bool* hit, Call call) {
  g_failed = 0;
  g_forever = forever;
  g_countdown = n;
  absl::Status status;
  try {
    status = call();
  } catch (...) {
    g_countdown = -1;
    ADD_FAILURE() << "an exception escaped at allocation " << n;
    return absl::InternalError("exception");
  }
  g_countdown = -1;
  *hit = g_failed > 0;
  return status;
}

// OK (the failed allocation was not needed, or was only a hint) or
// ResourceExhausted whose message starts with `call`, or, when even the
// message could not be allocated, the fallback message.
void ExpectOkOrOutOfMemory(const absl::Status& status, absl::string_view call,
                           long n) {
  if (status.ok()) return;
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted)
      << "allocation " << n << ": " << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), call) ||
              absl::StartsWith(status.message(), "mapfile: out of memory"))
      << "allocation " << n << ": " << status;
}

constexpr long kMaxSweep = 20000;  // far above what any call allocates

class OutOfMemoryTest : public ::testing::TestWithParam<bool> {};

TEST_P(OutOfMemoryTest, AppendLogOpenAppendSyncReturnStatus) {
  const bool forever = GetParam();
  const int fds = reliability::OpenFds();  // none may leak past a failure
  testing::TempDir tmp;
  LogOptions options;
  options.segment_size = 16 << 10;  // an append every few dozen rolls
  long faults = 0;
  for (long n = 0; n < kMaxSweep; ++n) {
    const std::string dir = tmp.File(absl::StrCat("log", n));
    // Writer, created under the fault: Open, 200 appends (several rolls),
    // Sync; the first failure ends the run.
    bool hit = false;
    uint64_t synced = 0;
    absl::Status status = WithFault(n, forever, &hit, [&]() -> absl::Status {
      auto log = AppendLog<Rec>::Open(dir, options);
      if (!log.ok()) {
        ExpectOkOrOutOfMemory(log.status(), "AppendLog::Open", n);
        return log.status();
      }
      for (uint64_t i = 0; i < 200; ++i) {
        auto seq = log->Append(MakeRec(i));
        if (!seq.ok()) {
          ExpectOkOrOutOfMemory(seq.status(), "AppendLog::Append", n);
          return seq.status();
        }
        if (i % 50 == 49) {
          absl::Status s = log->Sync();
          if (!s.ok()) {
            ExpectOkOrOutOfMemory(s, "AppendLog::Sync", n);
            return s;
          }
          synced = i + 1;
        }
      }
      return absl::OkStatus();
    });
    if (!hit) {
      EXPECT_TRUE(status.ok()) << status;
      break;  // n passed every allocation the workload makes
    }
    ++faults;
    // Without faults: everything synced is there and intact.
    auto log = AppendLog<Rec>::Open(dir, options);
    if (!log.ok() && log.status().code() == absl::StatusCode::kNotFound) {
      EXPECT_EQ(synced, 0u);
      continue;
    }
    ASSERT_TRUE(log.ok()) << "after allocation " << n << ": " << log.status();
    ASSERT_GE(log->next_seq(), synced) << "allocation " << n;
    for (uint64_t i = 0; i < log->next_seq(); ++i) {
      auto r = log->Read(i);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(Intact(*r, i)) << "record " << i << ", allocation " << n;
    }
  }
  EXPECT_GT(faults, 10);
  EXPECT_EQ(reliability::OpenFds(), fds);
  reliability::Report(
      forever ? "out_of_memory log (every later allocation fails)"
              : "out_of_memory log (one allocation fails)",
      absl::StrCat(faults, " allocation points of Open/Append/Sync"));
}

TEST_P(OutOfMemoryTest, LogReaderOpenReadReturnStatus) {
  const bool forever = GetParam();
  const int fds = reliability::OpenFds();  // none may leak past a failure
  testing::TempDir tmp;
  LogOptions options;
  options.segment_size = 16 << 10;
  {
    auto log = AppendLog<Rec>::Open(tmp.path(), options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < 300; ++i) ASSERT_TRUE(log->Append(MakeRec(i)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  long faults = 0;
  for (long n = 0; n < kMaxSweep; ++n) {
    bool hit = false;
    absl::Status status = WithFault(n, forever, &hit, [&]() -> absl::Status {
      auto reader = LogReader<Rec>::Open(tmp.path());
      if (!reader.ok()) {
        ExpectOkOrOutOfMemory(reader.status(), "LogReader::Open", n);
        return reader.status();
      }
      for (uint64_t i = 0; i < reader->next_seq(); i += 37) {
        auto r = reader->Read(i);
        if (!r.ok()) {
          ExpectOkOrOutOfMemory(r.status(), "LogReader::Read", n);
          return r.status();
        }
        if (!Intact(*r, i)) return absl::DataLossError("record not intact");
      }
      return absl::OkStatus();
    });
    EXPECT_NE(status.code(), absl::StatusCode::kDataLoss) << status;
    if (!hit) break;
    ++faults;
  }
  EXPECT_GT(faults, 5);
  EXPECT_EQ(reliability::OpenFds(), fds);
  reliability::Report(
      forever ? "out_of_memory reader (every later allocation fails)"
              : "out_of_memory reader (one allocation fails)",
      absl::StrCat(faults, " allocation points of LogReader Open/Read"));
}

TEST_P(OutOfMemoryTest, MappedVectorOpenPushBackSyncReturnStatus) {
  const bool forever = GetParam();
  const int fds = reliability::OpenFds();  // none may leak past a failure
  testing::TempDir tmp;
  long faults = 0;
  for (long n = 0; n < kMaxSweep; ++n) {
    const std::string path = tmp.File(absl::StrCat("v", n, ".vec"));
    bool hit = false;
    size_t synced = 0;
    absl::Status status = WithFault(n, forever, &hit, [&]() -> absl::Status {
      auto v = MappedVector<Rec>::Open(path);
      if (!v.ok()) {
        ExpectOkOrOutOfMemory(v.status(), "MappedVector::Open", n);
        return v.status();
      }
      for (uint64_t i = 0; i < 3000; ++i) {  // grows the file several times
        absl::Status s = v->push_back(MakeRec(i));
        if (!s.ok()) {
          ExpectOkOrOutOfMemory(s, "MappedVector::push_back", n);
          return s;
        }
        if (i % 1000 == 999) {
          s = v->Sync();
          if (!s.ok()) {
            ExpectOkOrOutOfMemory(s, "MappedVector::Sync", n);
            return s;
          }
          synced = i + 1;
        }
      }
      return absl::OkStatus();
    });
    if (!hit) {
      EXPECT_TRUE(status.ok()) << status;
      break;
    }
    ++faults;
    auto v = MappedVector<Rec>::Open(path);
    ASSERT_TRUE(v.ok()) << "after allocation " << n << ": " << v.status();
    ASSERT_GE(v->size(), synced);
    for (size_t i = 0; i < v->size(); ++i) ASSERT_TRUE(Intact((*v)[i], i));
  }
  EXPECT_GT(faults, 3);
  EXPECT_EQ(reliability::OpenFds(), fds);
  reliability::Report(
      forever ? "out_of_memory vector (every later allocation fails)"
              : "out_of_memory vector (one allocation fails)",
      absl::StrCat(faults, " allocation points of Open/push_back/Sync"));
}

// The log writer's background jobs (the next segment's preparation, disk
// allocation steps, compressions of sealed segments) run on the pretouch
// thread. There, out of memory drops the job: the writer prepares and
// allocates for itself and reports what fails, and a compression waits for
// the next Open. Every allocation on any thread but this test's fails
// here: the writer's calls all succeed, nothing waits forever for a job
// that died (the test's timeout), and every record is intact.
TEST(OutOfMemoryBackgroundTest, DroppedBackgroundJobsAreRedoneByTheWriter) {
  testing::TempDir tmp;
  LogOptions options;
  options.segment_size = 16 << 10;  // a roll every few hundred records
  options.compress_sealed = true;
  options.pretouch_in_background = true;
  g_test_thread = true;
  uint64_t failed_before = g_background_failed.load();
  {
    auto log = AppendLog<Rec>::Open(tmp.path(), options);
    ASSERT_TRUE(log.ok()) << log.status();
    g_fail_background.store(true);
    for (uint64_t i = 0; i < 3000; ++i) {
      auto seq = log->Append(MakeRec(i));
      ASSERT_TRUE(seq.ok()) << "record " << i << ": " << seq.status();
      if (i % 500 == 499) {
        const absl::Status s = log->Sync();
        ASSERT_TRUE(s.ok()) << s;
      }
      if (i == 499) {
        // The Sync queued compressions: the background thread takes one
        // (and fails) before the writer goes on. Else, on tmpfs, the
        // writer could reach the close, which runs every queued job
        // itself, before the thread first woke (6 runs of 10 did).
        for (int ms = 0;
             g_background_failed.load() == failed_before && ms < 10000; ++ms) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      }
    }
    const absl::Status s = log->Sync();
    ASSERT_TRUE(s.ok()) << s;
  }  // the close waits for the jobs: none may be left running
  g_fail_background.store(false);
  EXPECT_GT(g_background_failed.load(), failed_before)
      << "no background allocation was made to fail";
  auto log = AppendLog<Rec>::Open(tmp.path(), options);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->next_seq(), 3000u);
  for (uint64_t i = 0; i < log->next_seq(); ++i) {
    auto r = log->Read(i);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(Intact(*r, i)) << "record " << i;
  }
  g_test_thread = false;
}

// The same for a vector on tmpfs, whose pages the pretouch thread allocates
// ahead of the writer (docs/PERFORMANCE.md, "The vector's write path"),
// here on a small tmpfs that fills up: the background's piece fails, and
// recording that must not fail too (out of memory; it did, and the piece
// stayed claimed with no thread to allocate it). Once space is freed, the
// writer, which needs the bytes past it, must grow again, not wait for it
// forever (128 + SIGALRM) or fail.
TEST(OutOfMemoryBackgroundTest, VectorOnAFullTmpfsGrowsAgainAfterFailedJobs) {
  absl::StatusOr<int> code = testing::RunWithTinyTmpfs(
      4 << 20, [](const std::string& dir) {
        ::alarm(10);
        g_test_thread = true;
        // Freed below, for the growth after the tmpfs was full.
        const std::string spare = dir + "/spare";
        {
          const int fd = ::open(spare.c_str(), O_WRONLY | O_CREAT, 0644);
          if (fd < 0) return 10;
          static const char kPage[4096] = {1};
          for (int i = 0; i < 256; ++i) {
            if (::write(fd, kPage, sizeof(kPage)) != sizeof(kPage)) return 11;
          }
          ::close(fd);
        }
        auto v = MappedVector<uint64_t>::Open(dir + "/v.vec");
        if (!v.ok()) return 1;
        g_fail_background.store(true);
        absl::Status s;
        uint64_t n = 0;
        while ((s = v->push_back(n)).ok()) ++n;
        if (s.code() != absl::StatusCode::kResourceExhausted) return 2;
        if (::unlink(spare.c_str()) != 0) return 12;
        for (uint64_t i = 0; i < (512 << 10) / sizeof(uint64_t); ++i, ++n) {
          if (!v->push_back(n).ok()) return 4;
        }
        g_fail_background.store(false);
        for (uint64_t i = 0; i < n; ++i) {
          if ((*v)[i] != i) return 5;
        }
        return 0;
      });
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0) << "128 + 14 is a hang (SIGALRM)";
}

INSTANTIATE_TEST_SUITE_P(Modes, OutOfMemoryTest, ::testing::Bool(),
                         [](const auto& info) {
                           return info.param ? "EveryLaterAllocationFails"
                                             : "OneAllocationFails";
                         });

}  // namespace
}  // namespace mapfile
