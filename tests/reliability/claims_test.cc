// Copyright 2026 The mapfile Authors.
//
// Claims are checked, never trusted (docs/ERRORS.md): a file that claims a
// huge size (extended sparse, or hostile) must not make a writer take the
// file system's free space. Each case runs in a 256 MiB tmpfs of its own
// (an unprivileged mount namespace), while a thread samples the free space
// every 200 microseconds; the lowest sample may be at most kMaxDrop below
// the free space before the writer opened.
//
// Without os::CheckFreeSpace the 200 MiB cases take 200 MiB (tmpfs grants
// any fallocate that fits; ext4 takes a 1 TiB one piece by piece before it
// fails, as far as the disk goes).

#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
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

namespace mapfile {
namespace {

using reliability::Intact;
using reliability::MakeRec;
using reliability::Rec;

constexpr uint64_t kTmpfs = uint64_t{256} << 20;
constexpr uint64_t kMaxDrop = uint64_t{16} << 20;

uint64_t Free(const std::string& dir) {
  struct statvfs st;
  if (::statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

// Runs `body` while sampling the free space of `dir`; returns the largest
// drop seen below the free space before `body` ran.
template <typename Body>
uint64_t LargestDrop(const std::string& dir, Body body) {
  const uint64_t before = Free(dir);
  std::atomic<bool> done{false};
  std::atomic<uint64_t> lowest{before};
  std::thread sampler([&] {
    while (!done.load()) {
      const uint64_t f = Free(dir);
      if (f < lowest.load()) lowest.store(f);
      ::usleep(200);
    }
  });
  body();
  done.store(true);
  sampler.join();
  const uint64_t f = Free(dir);
  if (f < lowest.load()) lowest.store(f);
  return before - std::min(before, lowest.load());
}

// Refused before anything was allocated: by the free-space check, or, where
// the address space is small (ThreadSanitizer's layout), by the mapping's
// reservation, which comes first and takes no disk either.
bool Refused(const absl::Status& s) {
  return s.code() == absl::StatusCode::kResourceExhausted &&
         (absl::StrContains(s.message(), "refused") ||
          absl::StrContains(s.message(), "bytes of address space"));
}

// Child exit codes name the failed check (printed to stderr too).
int Fail(int code, const std::string& what) {
  std::fprintf(stderr, "check %d failed: %s\n", code, what.c_str());
  return code;
}

int SparseVector(const std::string& dir, uint64_t claimed) {
  const std::string path = dir + "/v.vec";
  {
    auto v = MappedVector<Rec>::Open(path);
    if (!v.ok()) return Fail(1, v.status().ToString());
    for (uint64_t i = 0; i < 1000; ++i) {
      if (!v->push_back(MakeRec(i)).ok()) return Fail(2, "push_back");
    }
    if (!v->Sync().ok()) return Fail(3, "Sync");
  }
  if (::truncate(path.c_str(), static_cast<off_t>(claimed)) != 0) {
    return Fail(4, "truncate");
  }
  absl::Status status;
  const uint64_t drop = LargestDrop(dir, [&] {
    auto v = MappedVector<Rec>::Open(path);
    status = v.status();
    // Growth by more than the free space is refused too.
    if (v.ok())
      status = v->reserve(v->capacity() + (uint64_t{200} << 20) / sizeof(Rec));
  });
  std::fprintf(stderr, "vector claiming %llu bytes: drop %llu bytes: %s\n",
               static_cast<unsigned long long>(claimed),
               static_cast<unsigned long long>(drop),
               status.ToString().c_str());
  if (drop > kMaxDrop)
    return Fail(5, absl::StrCat("free space fell by ", drop));
  if (!Refused(status)) return Fail(6, status.ToString());
  auto v = MappedVector<Rec>::Open(path);  // the data is all there
  if (absl::StrContains(v.status().message(), "bytes of address space")) {
    return 0;  // (ThreadSanitizer's layout cannot map the claim to look)
  }
  if (!v.ok() || v->size() != 1000) return Fail(7, v.status().ToString());
  for (uint64_t i = 0; i < 1000; ++i) {
    if (!Intact((*v)[i], i)) return Fail(8, "record");
  }
  return 0;
}

int SparseSegment(const std::string& dir, uint64_t claimed) {
  const std::string log_dir = dir + "/log";
  LogOptions options;
  options.segment_size = 1 << 20;
  {
    auto log = AppendLog<Rec>::Open(log_dir, options);
    if (!log.ok()) return Fail(11, log.status().ToString());
    for (uint64_t i = 0; i < 1000; ++i) {
      if (!log->Append(MakeRec(i)).ok()) return Fail(12, "Append");
    }
    if (!log->Sync().ok()) return Fail(13, "Sync");
  }
  const std::string segment = log_dir + "/00000000000000000000.seg";
  if (::truncate(segment.c_str(), static_cast<off_t>(claimed)) != 0) {
    return Fail(14, "truncate");
  }
  absl::Status status;
  const uint64_t drop = LargestDrop(dir, [&] {
    status = AppendLog<Rec>::Open(log_dir, options).status();
  });
  std::fprintf(stderr, "segment claiming %llu bytes: drop %llu bytes: %s\n",
               static_cast<unsigned long long>(claimed),
               static_cast<unsigned long long>(drop),
               status.ToString().c_str());
  if (drop > kMaxDrop)
    return Fail(15, absl::StrCat("free space fell by ", drop));
  // Refused (the writer does not trust the claim), or the claim ignored:
  // either way every synced record is still there.
  if (!status.ok() && !Refused(status)) return Fail(16, status.ToString());
  auto reader = LogReader<Rec>::Open(log_dir);
  if (!reader.ok() || reader->next_seq() != 1000) {
    return Fail(17, reader.status().ToString());
  }
  for (uint64_t i = 0; i < 1000; ++i) {
    auto r = reader->Read(i);
    if (!r.ok() || !Intact(*r, i)) return Fail(18, "record");
  }
  return 0;
}

void RunInTmpfs(int (*scenario)(const std::string&, uint64_t),
                uint64_t claimed) {
  absl::StatusOr<int> code = testing::RunWithTinyTmpfs(
      kTmpfs, [&](const std::string& dir) { return scenario(dir, claimed); });
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0);
}

TEST(ClaimsTest, SparseOneTebibyteVectorTakesNoSpace) {
  RunInTmpfs(SparseVector, uint64_t{1} << 40);
}

TEST(ClaimsTest, VectorClaimingMostOfTheFreeSpaceTakesNoSpace) {
  RunInTmpfs(SparseVector, uint64_t{200} << 20);
}

TEST(ClaimsTest, SparseOneTebibyteSegmentTakesNoSpace) {
  RunInTmpfs(SparseSegment, uint64_t{1} << 40);
}

TEST(ClaimsTest, SegmentClaimingMostOfTheFreeSpaceTakesNoSpace) {
  RunInTmpfs(SparseSegment, uint64_t{200} << 20);
}

}  // namespace
}  // namespace mapfile
