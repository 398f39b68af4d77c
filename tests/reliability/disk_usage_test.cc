// Copyright 2026 The mapfile Authors.
//
// Space a log takes on tmpfs (docs/DESIGN.md, "The log's commit
// protocol"): the active segment and the one prepared for the next roll
// are allocated at most to their files' size (there a segment prepared on
// the background is allocated whole), every other segment (Seal(), or
// filled and finished by a Sync) keeps only what it holds, and the close
// gives back what the prepared segment did not use. Allocated bytes are
// st_blocks * 512 of every file in the log directory, measured inside a
// tmpfs of this test's own (an unprivileged mount namespace), which
// allocates and frees pages exactly as asked. CI: 48 MiB of records in
// 4 MiB segments; MAPFILE_LONG=1: 192 MiB.

#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace {

using reliability::MakeRec;
using reliability::Rec;

constexpr uint64_t kTmpfs = uint64_t{256} << 20;
constexpr uint64_t kSegmentSize = uint64_t{4} << 20;
constexpr uint64_t kPage = 4096;

const internal::LogLayout kLayout{FingerprintOf<Rec>()};

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// Child exit codes name the failed check (printed to stderr too).
int Fail(int code, const std::string& what) {
  std::fprintf(stderr, "check %d failed: %s\n", code, what.c_str());
  return code;
}

struct File {
  std::string name;
  uint64_t first = 0;  // first sequence number, from the name
  bool temporary = false;
  uint64_t size = 0;
  uint64_t allocated = 0;
};

// The segment files of `dir` (named and temporary), by first sequence
// number; a retired (.free) or unknown file is an error (none is made here).
bool ListFiles(const std::string& dir, std::vector<File>* files,
               std::string* error) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    File f;
    f.name = e.path().filename().string();
    if (f.name == internal::kLogLockName) continue;
    std::string base = f.name;
    if (absl::EndsWith(base, internal::kTempSuffix)) {
      f.temporary = true;
      base.resize(base.size() - std::string(internal::kTempSuffix).size());
    }
    const std::optional<uint64_t> first = internal::ParseSegmentFileName(base);
    if (!first) {
      *error = absl::StrCat("unexpected file ", f.name);
      return false;
    }
    f.first = *first;
    struct stat st;
    if (::stat(e.path().c_str(), &st) != 0) {
      *error = absl::StrCat("stat ", f.name);
      return false;
    }
    f.size = static_cast<uint64_t>(st.st_size);
    f.allocated = static_cast<uint64_t>(st.st_blocks) * 512;
    files->push_back(f);
  }
  std::sort(files->begin(), files->end(),
            [](const File& a, const File& b) { return a.first < b.first; });
  return !ec;
}

// Checks the log in `dir` holding records [0, next) (all written to its
// files: after a Sync, a Seal or the close): every segment before the
// active one allocates at most what it holds, rounded up to pages; the
// active one (the last that holds a record) and a segment prepared for the
// next roll (no record yet) at most their file; after the close
// (`closed`), a prepared segment only its header page. Prints the totals;
// returns "" or what failed.
std::string CheckAllocation(const std::string& dir, uint64_t next,
                            const char* when, bool closed = false) {
  std::vector<File> files;
  std::string error;
  if (!ListFiles(dir, &files, &error)) return error;
  size_t active = 0;  // the last file holding a record
  for (size_t i = 0; i < files.size(); ++i) {
    if (files[i].first < next) active = i;
  }
  uint64_t held_total = 0, allocated_total = 0, bound_total = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    const File& f = files[i];
    const uint64_t end = i + 1 < files.size() ? files[i + 1].first : next;
    const uint64_t count = f.first < next ? std::min(end, next) - f.first : 0;
    const uint64_t held = kLayout.records_offset() + count * kLayout.stride;
    uint64_t bound;
    const char* role;
    if (i < active) {
      bound = RoundUp(held, kPage);
      role = "sealed";
    } else if (i == active) {
      bound = RoundUp(f.size, kPage);
      role = "active";
    } else {
      bound = closed ? RoundUp(held, kPage) : RoundUp(f.size, kPage);
      role = "prepared";
    }
    held_total += held;
    allocated_total += f.allocated;
    bound_total += bound;
    if (f.allocated > bound) {
      return absl::StrCat(when, ": ", role, " segment ", f.name, " holds ",
                          count, " records (", held, " bytes) in a file of ",
                          f.size, " bytes and allocates ", f.allocated,
                          " bytes, more than ", bound);
    }
  }
  std::fprintf(stderr,
               "%s: %zu files, %llu records, %llu bytes held, %llu "
               "allocated (bound %llu)\n",
               when, files.size(), static_cast<unsigned long long>(next),
               static_cast<unsigned long long>(held_total),
               static_cast<unsigned long long>(allocated_total),
               static_cast<unsigned long long>(bound_total));
  reliability::Report(
      absl::StrCat("disk_usage.", when),
      absl::StrCat(files.size(), " files, ", held_total, " bytes held, ",
                   allocated_total, " allocated (",
                   allocated_total - std::min(allocated_total, held_total),
                   " past what the records hold)"));
  return "";
}

int ManySegments(const std::string& dir) {
  const std::string log_dir = dir + "/log";
  const uint64_t mib = uint64_t{1} << 20;
  const uint64_t total = static_cast<uint64_t>(reliability::Scaled(48, 192)) *
                         mib / kLayout.stride;
  const uint64_t per = kLayout.Capacity(kSegmentSize);
  LogOptions options;
  options.segment_size = kSegmentSize;
  std::vector<Rec> batch;
  {
    auto log = AppendLog<Rec>::Open(log_dir, options);
    if (!log.ok()) return Fail(1, log.status().ToString());
    // Batches of 5000 records (160 KB), a Sync every 37 batches: Syncs fall
    // anywhere in a segment, several rolls apart; a Seal() in the middle
    // cuts a segment short.
    for (uint64_t next = 0, n = 0; next < total; ++n) {
      batch.clear();
      for (uint64_t i = 0; i < 5000 && next + i < total; ++i) {
        batch.push_back(MakeRec(next + i));
      }
      if (!log->AppendBatch(batch).ok()) return Fail(2, "AppendBatch");
      next += batch.size();
      if (n % 37 == 36 || next == total) {
        if (!log->Sync().ok()) return Fail(3, "Sync");
        const std::string e = CheckAllocation(log_dir, next, "sync");
        if (!e.empty()) return Fail(4, e);
      }
      if (n == total / 5000 / 2) {
        if (next % per == 0) return Fail(5, "Seal() at a segment's end");
        if (!log->Seal().ok()) return Fail(6, "Seal");
        const std::string e = CheckAllocation(log_dir, next, "seal");
        if (!e.empty()) return Fail(7, e);
      }
    }
    // Records after the last Sync, some in a segment rolled into since.
    for (uint64_t i = 0; i < per + per / 3; ++i) {
      if (!log->Append(MakeRec(total + i)).ok()) return Fail(8, "Append");
    }
  }
  // Closed without a Sync: the buffer written, the rolled segment still
  // temporary, the background finished.
  const uint64_t next = total + per + per / 3;
  std::string e = CheckAllocation(log_dir, next, "close", /*closed=*/true);
  if (!e.empty()) return Fail(9, e);
  // The next writer adopts the temporary and commits it (a Sync): the
  // segment it finished keeps only what it holds.
  auto log = AppendLog<Rec>::Open(log_dir, options);
  if (!log.ok()) return Fail(10, log.status().ToString());
  if (log->next_seq() != next) return Fail(11, "records after reopening");
  e = CheckAllocation(log_dir, next, "reopen");
  if (!e.empty()) return Fail(12, e);
  return 0;
}

TEST(DiskUsageTest, ManySegmentLogAllocatesOnlyWhatItHoldsBeforeItsActiveSegment) {
  absl::StatusOr<int> code = testing::RunWithTinyTmpfs(kTmpfs, ManySegments);
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace mapfile
