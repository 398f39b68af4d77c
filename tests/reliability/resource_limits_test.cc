// Copyright 2026 The mapfile Authors.
//
// Real resource limits, each in a child process: a full disk (a 2 MiB
// tmpfs in a private mount namespace), RLIMIT_FSIZE (EFBIG, with SIGXFSZ
// ignored), RLIMIT_AS (the 64 GiB reservation falls back to what fits) and
// RLIMIT_NOFILE. Each must give ResourceExhausted (never SIGBUS, SIGXFSZ or
// an abort), keep everything synced, and work again once the limit is gone.
// Exit codes: 0 pass, 10+ the step that failed.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

void SetLimit(int resource, rlim_t value) {
  struct rlimit r = {value, value};
  if (::setrlimit(resource, &r) != 0) std::abort();  // test set-up
}

// Fills `path`'s file system (or limit) with synced vector batches until
// growth fails; that failure must be ResourceExhausted and the file must
// reopen with every synced element. Returns 0 or a failing step.
int FillVector(const std::string& path, uint64_t* synced) {
  auto v = MappedVector<Rec>::Open(path);
  if (!v.ok()) return 10;
  for (;;) {
    absl::Status s;
    for (int i = 0; i < 2000 && s.ok(); ++i) s = v->push_back(MakeRec(v->size()));
    if (s.ok()) s = v->Sync();
    if (!s.ok()) {
      std::fprintf(stderr, "full: %s\n", s.ToString().c_str());
      if (!absl::IsResourceExhausted(s)) return 11;
      break;
    }
    *synced = v->size();
  }
  v = absl::UnavailableError("closed");
  return CheckVector(path, {*synced}).ok() ? 0 : 12;
}

// The same for a log: appends and syncs until a roll finds no room.
int FillLog(const std::string& dir, const LogOptions& options, uint64_t* synced) {
  auto log = AppendLog<Rec>::Open(dir, options);
  if (!log.ok()) return 20;
  std::vector<Rec> batch;
  for (;;) {
    batch.clear();
    for (uint64_t i = 0; i < 1000; ++i) batch.push_back(MakeRec(log->next_seq() + i, 1));
    absl::Status s = log->AppendBatch(batch).status();
    if (s.ok()) s = log->Sync();
    if (!s.ok()) {
      std::fprintf(stderr, "full: %s\n", s.ToString().c_str());
      if (!absl::IsResourceExhausted(s)) return 21;
      break;
    }
    *synced = log->next_seq();
  }
  log = absl::UnavailableError("closed");
  return CheckLog(dir, options, *synced, ~uint64_t{0}, 1).ok() ? 0 : 22;
}

LogOptions SmallSegments() {
  LogOptions o;
  o.segment_size = 256 << 10;
  return o;
}

TEST(ResourceLimitsTest, FullDiskIsResourceExhaustedAndSpaceFreedIsUsedAgain) {
  absl::StatusOr<int> code = testing::RunWithTinyTmpfs(2 << 20, [](const std::string& dir) {
    const std::string filler = dir + "/filler";
    if (!testing::WriteFile(filler, std::string(512 << 10, 'x'))) return 1;
    uint64_t synced = 0;
    if (int rc = FillVector(dir + "/v.vec", &synced)) return rc;
    if (synced == 0) return 2;
    ::unlink(filler.c_str());  // space again: the vector grows on
    uint64_t more = synced;
    auto v = MappedVector<Rec>::Open(dir + "/v.vec");
    if (!v.ok()) return 3;
    for (int i = 0; i < 5000; ++i) {
      if (!v->push_back(MakeRec(v->size())).ok()) return 4;
    }
    if (!v->Sync().ok()) return 5;
    more = v->size();
    v = absl::UnavailableError("closed");
    if (!CheckVector(dir + "/v.vec", {more}).ok()) return 6;
    ::unlink((dir + "/v.vec").c_str());
    uint64_t records = 0;
    return FillLog(dir + "/log", SmallSegments(), &records) ? 7 : records > 0 ? 0 : 8;
  });
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0);
}

TEST(ResourceLimitsTest, FileSizeLimitIsResourceExhaustedNotSigxfsz) {
  testing::TempDir dir;
  EXPECT_EQ(testing::RunInChild([&] {
              ::signal(SIGXFSZ, SIG_IGN);
              SetLimit(RLIMIT_FSIZE, 1 << 20);
              uint64_t synced = 0;
              if (int rc = FillVector(dir.File("v.vec"), &synced)) return rc;
              // A log whose segments are larger than the limit cannot start.
              LogOptions o;
              o.segment_size = 4 << 20;
              auto log = AppendLog<Rec>::Open(dir.File("log"), o);
              if (log.ok() || !absl::IsResourceExhausted(log.status())) return 2;
              return synced > 0 ? 0 : 1;
            }),
            0);
}

TEST(ResourceLimitsTest, SmallAddressSpaceLimitShrinksTheReservation) {
  if (testing::kAddressSanitizer || testing::kThreadSanitizer) {
    GTEST_SKIP() << "sanitizers reserve terabytes of shadow memory";
  }
  testing::TempDir dir;
  EXPECT_EQ(testing::RunInChild([&] {
              long pages = 0;
              if (FILE* f = std::fopen("/proc/self/statm", "r")) {
                if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
                std::fclose(f);
              }
              // Room for the test's own needs and a few hundred MiB of
              // mappings: far below the default 64 GiB reservations.
              SetLimit(RLIMIT_AS, static_cast<rlim_t>(pages) * ::getpagesize() +
                                      (uint64_t{512} << 20));
              auto v = MappedVector<Rec>::Open(dir.File("v.vec"));
              if (!v.ok()) return 10;
              if (v->file()->capacity() >= uint64_t{64} << 30) return 11;
              for (int i = 0; i < 1000000; ++i) {
                if (!v->push_back(MakeRec(v->size())).ok()) return 12;
              }
              if (!v->Sync().ok()) return 13;
              auto scratch = MappedVector<Rec>::CreateScratch();
              if (!scratch.ok()) return 14;
              if (absl::Status s = scratch->resize(1000000); !s.ok()) {
                std::fprintf(stderr, "scratch: %s\n", s.ToString().c_str());
                return 15;
              }
              // Growth past what the limit allows: a Status, not a crash.
              if (v->reserve(uint64_t{8} << 30 >> 5).ok()) return 16;
              LogOptions o;  // default 64 MiB segments
              auto log = AppendLog<Rec>::Open(dir.File("log"), o);
              if (!log.ok() || !log->Append(MakeRec(0, 1)).ok() ||
                  !log->Sync().ok()) {
                return 17;
              }
              return 0;
            }),
            0);
}

TEST(ResourceLimitsTest, DescriptorLimitIsResourceExhausted) {
  testing::TempDir dir;
  {  // A log of many segments, written before the limit.
    LogOptions o;
    o.segment_size = 16 << 10;
    auto log = AppendLog<Rec>::Open(dir.File("log"), o);
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < 20000; ++i) {
      ASSERT_TRUE(log->Append(MakeRec(i, 1)).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
  }
  EXPECT_EQ(testing::RunInChild([&] {
              SetLimit(RLIMIT_NOFILE, OpenFds() + 6);
              std::vector<MappedVector<Rec>> open;
              absl::Status s;
              for (int i = 0; i < 100 && s.ok(); ++i) {
                auto v = MappedVector<Rec>::Open(dir.File(absl::StrCat(i, ".vec")));
                s = v.status();
                if (v.ok()) open.push_back(*std::move(v));
              }
              if (!absl::IsResourceExhausted(s) || open.empty()) return 10;
              open.clear();
              // Reading a log of ~50 segments with few descriptors left:
              // every record, or a Status; never a crash.
              SetLimit(RLIMIT_NOFILE, OpenFds() + 3);
              auto reader = LogReader<Rec>::Open(dir.File("log"));
              if (!reader.ok()) return absl::IsResourceExhausted(reader.status()) ? 0 : 11;
              for (uint64_t seq = 0; seq < 20000; ++seq) {
                absl::StatusOr<Rec> r = reader->Read(seq);
                if (!r.ok() && !absl::IsResourceExhausted(r.status())) return 12;
                if (r.ok() && !Intact(*r, seq)) return 13;
              }
              return 0;
            }),
            0);
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
