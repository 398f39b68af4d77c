// Copyright 2026 The mapfile Authors.
//
// Every message names its call (docs/ERRORS.md): one row per public entry
// point, each made to fail by the os fault seam (mapfile/internal/os.h) or
// by a bad argument. The message must start with the public function and
// its path, then name the step, then the system call with its numbers
// labelled; the code must be the one docs/ERRORS.md gives the cause.

#include <errno.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/internal/os.h"
#include "mapfile/mapped_file.h"
#include "mapfile/mapped_vector.h"
#include "mapfile/scratch.h"
#include "tests/testing.h"

namespace mapfile {
namespace {

using os::Op;
using ::testing::HasSubstr;
using ::testing::StartsWith;
namespace fault = os::fault;

struct Row {
  std::string name;
  // Makes the call fail (`dir` is a fresh directory); returns its status.
  std::function<absl::Status(const std::string& dir)> call;
  absl::StatusCode code;
  std::string prefix;                  // after replacing DIR with the dir
  std::vector<std::string> contains;   // likewise
};

std::string Expand(std::string s, const std::string& dir) {
  size_t at;
  while ((at = s.find("DIR")) != std::string::npos) s.replace(at, 3, dir);
  return s;
}

MappedFile::Options Writable(uint64_t initial_size = 4096) {
  MappedFile::Options o;
  o.mode = OpenMode::kCreate;
  o.initial_size = initial_size;
  return o;
}

// A log in DIR/log with `n` synced records, 16 KiB segments.
LogOptions SmallSegments() {
  LogOptions o;
  o.segment_size = 16 << 10;
  return o;
}
absl::StatusOr<AppendLog<uint64_t>> LogWith(
    const std::string& dir, int n, const LogOptions& options = SmallSegments()) {
  auto log = AppendLog<uint64_t>::Open(dir + "/log", options);
  if (!log.ok()) return log.status();
  for (int i = 0; i < n; ++i) {
    if (auto s = log->Append(static_cast<uint64_t>(i)); !s.ok()) {
      return s.status();
    }
  }
  if (absl::Status s = log->Sync(); !s.ok()) return s;
  return log;
}

std::vector<Row> Rows() {
  return {
      {"MappedFile::Open",
       [](const std::string& dir) {
         fault::Inject({Op::kMmap, EACCES, 2});  // after the reservation
         std::string p = dir + "/f";
         return MappedFile::Open(p, Writable()).status();
       },
       absl::StatusCode::kPermissionDenied,
       "MappedFile::Open(\"DIR/f\"): ",
       {"mmap(\"DIR/f\", length=4096, offset=0): Permission denied"}},
      {"MappedFile::Grow",
       [](const std::string& dir) {
         auto f = MappedFile::Open(dir + "/f", Writable());
         if (!f.ok()) return f.status();
         fault::Inject({Op::kFallocate, ENOSPC});
         return f->Grow(8192);
       },
       absl::StatusCode::kResourceExhausted,
       "MappedFile::Grow(\"DIR/f\"): extending from 4096 to ",
       {"fallocate(\"DIR/f\", mode=0, offset=4096, length=",
        "No space left on device"}},
      {"MappedFile::Truncate",
       [](const std::string& dir) {
         auto f = MappedFile::Open(dir + "/f", Writable(8192));
         if (!f.ok()) return f.status();
         fault::Inject({Op::kFtruncate, EIO});
         return f->Truncate(4096);
       },
       absl::StatusCode::kDataLoss, "MappedFile::Truncate(\"DIR/f\"): ",
       {"ftruncate(\"DIR/f\", length=4096): Input/output error"}},
      {"MappedFile::Sync (EIO)",
       [](const std::string& dir) {
         auto f = MappedFile::Open(dir + "/f", Writable());
         if (!f.ok()) return f.status();
         fault::Inject({Op::kMsync, EIO});
         return f->Sync();
       },
       absl::StatusCode::kDataLoss, "MappedFile::Sync(\"DIR/f\"): ",
       {"msync(\"DIR/f\", length=4096, MS_SYNC): Input/output error"}},
      {"MappedFile::Sync (EBUSY is not a lock)",
       [](const std::string& dir) {
         auto f = MappedFile::Open(dir + "/f", Writable());
         if (!f.ok()) return f.status();
         fault::Inject({Op::kMsync, EBUSY});
         return f->Sync();
       },
       absl::StatusCode::kFailedPrecondition, "MappedFile::Sync(\"DIR/f\"): ",
       {"msync(\"DIR/f\", length=4096, MS_SYNC): Device or resource busy"}},
      {"MappedFile::Refresh",
       [](const std::string& dir) {
         auto f = MappedFile::Open(dir + "/f", Writable());
         if (!f.ok()) return f.status();
         fault::Inject({Op::kFstat, EIO});
         return f->Refresh();
       },
       absl::StatusCode::kDataLoss, "MappedFile::Refresh(\"DIR/f\"): ",
       {"fstat(\"DIR/f\"): Input/output error"}},
      {"MappedFile::Advise",
       [](const std::string& dir) {
         auto f = MappedFile::Open(dir + "/f", Writable());
         if (!f.ok()) return f.status();
         fault::Inject({Op::kMadvise, EINVAL});
         return f->Advise(Access::kRandom);
       },
       absl::StatusCode::kInvalidArgument, "MappedFile::Advise(\"DIR/f\"): ",
       {"madvise(\"DIR/f\", length=4096, advice="}},
      {"MappedFile::Residency",
       [](const std::string& dir) {
         auto f = MappedFile::Open(dir + "/f", Writable());
         if (!f.ok()) return f.status();
         fault::Inject({Op::kMincore, ENOMEM});
         return f->Residency().status();
       },
       absl::StatusCode::kResourceExhausted,
       "MappedFile::Residency(\"DIR/f\"): ",
       {"mincore(\"DIR/f\", length=4096)"}},
      {"MappedVector::Open",
       [](const std::string& dir) {
         fault::Inject({Op::kOpen, EACCES});
         return MappedVector<uint64_t>::Open(dir + "/v.vec").status();
       },
       absl::StatusCode::kPermissionDenied,
       "MappedVector::Open(\"DIR/v.vec\"): ",
       {"MappedFile::Open(\"DIR/v.vec\"): open(\"DIR/v.vec\", O_RDWR|O_CREAT)",
        "Permission denied"}},
      {"MappedVector::push_back",
       [](const std::string& dir) {
         auto v = MappedVector<uint64_t>::Open(dir + "/v.vec");
         if (!v.ok()) return v.status();
         fault::Inject({Op::kFallocate, ENOSPC});
         for (uint64_t i = 0;; ++i) {
           if (absl::Status s = v->push_back(i); !s.ok()) return s;
         }
       },
       absl::StatusCode::kResourceExhausted,
       "MappedVector::push_back(\"DIR/v.vec\"): ",
       // The step is the growth ("MappedFile::Grow(...): extending from")
       // or, on tmpfs, where pages are allocated ahead of the elements,
       // "allocating bytes A to B of the file" (mode=KEEP_SIZE).
       {"fallocate(\"DIR/v.vec\", mode=", ", offset=",
        "No space left on device"}},
      {"MappedVector::reserve",
       [](const std::string& dir) {
         auto v = MappedVector<uint64_t>::Open(dir + "/v.vec");
         if (!v.ok()) return v.status();
         fault::Inject({Op::kFallocate, ENOSPC});
         return v->reserve(1 << 20);
       },
       absl::StatusCode::kResourceExhausted,
       "MappedVector::reserve(\"DIR/v.vec\"): ",
       {"fallocate(\"DIR/v.vec\""}},
      {"MappedVector::Sync",
       [](const std::string& dir) {
         auto v = MappedVector<uint64_t>::Open(dir + "/v.vec");
         if (!v.ok()) return v.status();
         if (absl::Status s = v->push_back(1); !s.ok()) return s;
         fault::Inject({Op::kMsync, EIO});
         return v->Sync();
       },
       absl::StatusCode::kDataLoss, "MappedVector::Sync(\"DIR/v.vec\"): ",
       {"msync(\"DIR/v.vec\", length=", "Input/output error"}},
      {"AppendLog::Open (creating the first segment)",
       [](const std::string& dir) {
         fault::Inject({Op::kRename, EIO});
         return AppendLog<uint64_t>::Open(dir + "/log").status();
       },
       absl::StatusCode::kDataLoss, "AppendLog::Open(\"DIR/log\"): ",
       {"creating segment \"DIR/log/00000000000000000000.seg\": rename("}},
      {"AppendLog::Open (a directory fsync)",
       [](const std::string& dir) {
         fault::Inject({Op::kFsync, EIO});
         return AppendLog<uint64_t>::Open(dir + "/log").status();
       },
       absl::StatusCode::kDataLoss, "AppendLog::Open(\"DIR/log\"): ",
       {"syncing directory \"DIR\": fsync(\"DIR\"): Input/output error"}},
      {"AppendLog::Open (a failed close is not DataLoss)",
       [](const std::string& dir) {
         fault::Inject({Op::kClose, EIO});
         return AppendLog<uint64_t>::Open(dir + "/log").status();
       },
       absl::StatusCode::kUnknown, "AppendLog::Open(\"DIR/log\"): ",
       {"syncing directory \"DIR\": close(\"DIR\"): Input/output error"}},
      {"AppendLog::Append (a roll)",
       [](const std::string& dir) {
         auto log = LogWith(dir, 0);
         if (!log.ok()) return log.status();
         fault::Inject({Op::kFallocate, ENOSPC, 1, fault::kForever});
         for (uint64_t i = 0; i < 100000; ++i) {  // a roll comes at ~680
           if (auto s = log->Append(i); !s.ok()) return s.status();
         }
         return absl::OkStatus();
       },
       absl::StatusCode::kResourceExhausted, "AppendLog::Append(\"DIR/log\"): ",
       // A segment's file is sized sparse and its first allocation step
       // taken with fallocate when it is prepared ("creating segment"); on
       // tmpfs the writer allocates a buffer ahead itself first
       // ("allocating space in segment": docs/DESIGN.md).
       {"segment \"DIR/log/", ".seg\": fallocate(\"DIR/log/",
        "mode=0, offset=", "No space left on device"}},
      {"AppendLog::Sync",
       [](const std::string& dir) {
         auto log = LogWith(dir, 3);
         if (!log.ok()) return log.status();
         if (auto s = log->Append(7); !s.ok()) return s.status();
         fault::Inject({Op::kMsync, EIO});
         return log->Sync();
       },
       absl::StatusCode::kDataLoss, "AppendLog::Sync(\"DIR/log\"): ",
       {"msync(\"DIR/log/00000000000000000000.seg", "MS_SYNC"}},
      {"AppendLog::Read",
       [](const std::string& dir) {
         auto log = LogWith(dir, 3);
         if (!log.ok()) return log.status();
         return log->Read(5).status();
       },
       absl::StatusCode::kOutOfRange, "AppendLog::Read(\"DIR/log\", 5): ",
       {"outside the log's [0, 3)"}},
      {"AppendLog::Compress (no such record)",
       [](const std::string& dir) {
         auto log = LogWith(dir, 3);
         if (!log.ok()) return log.status();
         return log->Compress(99);
       },
       absl::StatusCode::kOutOfRange, "AppendLog::Compress(\"DIR/log\", 99): ",
       {"no record 99 in the log's [0, 3)"}},
      {"AppendLog::Decompress (no such record)",
       [](const std::string& dir) {
         auto log = LogWith(dir, 3);
         if (!log.ok()) return log.status();
         return log->Decompress(99);
       },
       absl::StatusCode::kOutOfRange,
       "AppendLog::Decompress(\"DIR/log\", 99): ",
       {"no record 99"}},
      {"AppendLog::Seal",
       [](const std::string& dir) {
         auto log = LogWith(dir, 3);
         if (!log.ok()) return log.status();
         fault::Inject({Op::kRename, EIO});
         return log->Seal();
       },
       absl::StatusCode::kDataLoss, "AppendLog::Seal(\"DIR/log\"): ",
       {"rename("}},
      {"AppendLog::TruncateBefore",
       [](const std::string& dir) {
         // Several segments, all synced; retired files deleted, not kept
         // for reuse (recycling renames them instead).
         LogOptions o = SmallSegments();
         o.recycle_segments = 0;
         auto log = LogWith(dir, 3000, o);
         if (!log.ok()) return log.status();
         fault::Inject({Op::kUnlink, EIO});
         return log->TruncateBefore(2500);
       },
       absl::StatusCode::kDataLoss, "AppendLog::TruncateBefore(\"DIR/log\"): ",
       {"unlink(\"DIR/log/00000000000000000000.seg\"): Input/output error"}},
      {"LogReader::Open",
       [](const std::string& dir) {
         if (auto log = LogWith(dir, 3); !log.ok()) return log.status();
         fault::Inject({Op::kReadDir, EBADF});
         return LogReader<uint64_t>::Open(dir + "/log").status();
       },
       absl::StatusCode::kInvalidArgument, "LogReader::Open(\"DIR/log\"): ",
       {"opendir(\"DIR/log\"): Bad file descriptor"}},
      {"LogReader::Read",
       [](const std::string& dir) {
         if (auto log = LogWith(dir, 3); !log.ok()) return log.status();
         auto reader = LogReader<uint64_t>::Open(dir + "/log");
         if (!reader.ok()) return reader.status();
         return reader->Read(5).status();
       },
       absl::StatusCode::kOutOfRange, "LogReader::Read(\"DIR/log\", 5): ",
       {"outside the log's [0, 3)"}},
      {"Layout::Create",
       [](const std::string&) { return Layout::Create(0, 8).status(); },
       absl::StatusCode::kInvalidArgument, "Layout::Create(size 0",
       {"size must be > 0"}},
      {"Allocate",
       [](const std::string&) {
         fault::Inject({Op::kMmap, ENOMEM});
         auto layout = Layout::Create(size_t{4} << 20, 64);
         if (!layout.ok()) return layout.status();
         return Allocate(*layout).status();
       },
       absl::StatusCode::kResourceExhausted, "Allocate(size 4194304",
       {"mmap(\"anonymous\", length="}},
  };
}

TEST(ErrorMessagesTest, EveryPublicEntryPointNamesItselfTheStepAndTheCall) {
  for (const Row& row : Rows()) {
    SCOPED_TRACE(row.name);
    testing::TempDir tmp;
    fault::ScopedReset reset;
    const absl::Status s = row.call(tmp.path());
    fault::Reset();
    EXPECT_EQ(s.code(), row.code) << s;
    EXPECT_THAT(std::string(s.message()),
                StartsWith(Expand(row.prefix, tmp.path())));
    for (const std::string& part : row.contains) {
      EXPECT_THAT(std::string(s.message()),
                  HasSubstr(Expand(part, tmp.path())));
    }
  }
}

}  // namespace
}  // namespace mapfile
