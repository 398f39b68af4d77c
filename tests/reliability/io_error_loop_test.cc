// Copyright 2026 The mapfile Authors.
//
// I/O-error loop (SQLite's malloc/IO-error tests): a scripted workload runs
// with the Nth call of one os operation failing (os::fault), for every
// operation and N = 1, 2, 3, ... until the workload completes without
// reaching the fault. Every run must return a Status (no crash, no abort:
// run it under ASan+UBSan, whose LeakSanitizer also checks memory), leak no
// descriptor (/proc/self/fd), keep a failed Sync failing (sticky: the
// kernel may have dropped the pages), and, once the fault is lifted, reopen
// with everything it had synced. CI cycles the errno over {ENOSPC, EIO,
// EINTR, ENOMEM, EFBIG, EAGAIN} as N grows; MAPFILE_LONG=1 tries all six at
// every N.

#include <errno.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/internal/os.h"
#include "mapfile/mapped_vector.h"
#include "mapfile/status_macros.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

constexpr int kErrors[] = {ENOSPC, EIO, EINTR, ENOMEM, EFBIG, EAGAIN};

// What the workload had made durable when it stopped.
struct Progress {
  uint64_t synced = 0;    // vector size / log next_seq at the last good Sync
  uint64_t pending = 0;   // vector: the size being committed
  uint64_t appended = 0;  // log: one past the last record appended
  bool sync_fault = false;  // the injected op is a sync: expect stickiness
};

// A failed Sync must stay failed, and the workload stops at it.
template <typename C>
absl::Status SyncOnce(C& container, Progress& p, uint64_t now) {
  absl::Status s = container.Sync();
  if (!s.ok()) {
    if (p.sync_fault && container.Sync().ok()) {
      return absl::InternalError(absl::StrCat("a failed Sync (", s.ToString(),
                                              ") was not sticky"));
    }
    return s;
  }
  p.synced = now;
  return absl::OkStatus();
}

absl::Status VectorWorkload(const std::string& path, Progress& p) {
  MAPFILE_ASSIGN_OR_RETURN(auto v, MappedVector<Rec>::Open(path));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 3000; ++i) {
      MAPFILE_RETURN_IF_ERROR(v.push_back(MakeRec(v.size())));
    }
    p.pending = v.size();
    MAPFILE_RETURN_IF_ERROR(SyncOnce(v, p, v.size()));
  }
  for (int i = 0; i < 5000; ++i) v.pop_back();
  p.pending = v.size();
  MAPFILE_RETURN_IF_ERROR(SyncOnce(v, p, v.size()));
  MAPFILE_RETURN_IF_ERROR(v.shrink_to_fit());
  MAPFILE_RETURN_IF_ERROR(v.reserve(100000));
  MAPFILE_ASSIGN_OR_RETURN(auto r, MappedVector<const Rec>::Open(path));
  MAPFILE_RETURN_IF_ERROR(r.Refresh());
  if (r.size() != p.synced) return absl::InternalError("reader disagrees");
  return absl::OkStatus();
}

absl::Status VectorCheck(const std::string& path, const Progress& p) {
  return CheckVector(path, {p.synced, p.pending});
}

LogOptions TestLogOptions() {
  LogOptions o;
  o.segment_size = 16 << 10;  // ~380 records
  o.compress_sealed = true;
  return o;
}

// One round of the log workloads: 500 records in one batch, then a Sync.
absl::Status AppendAndSync(AppendLog<Rec>& log, Progress& p) {
  std::vector<Rec> batch;
  const uint64_t next = log.next_seq();
  for (uint64_t i = 0; i < 500; ++i) batch.push_back(MakeRec(next + i, 1));
  p.appended = next + batch.size();
  MAPFILE_RETURN_IF_ERROR(log.AppendBatch(batch).status());
  return SyncOnce(log, p, log.next_seq());
}

absl::Status LogWorkload(const std::string& dir, Progress& p) {
  MAPFILE_ASSIGN_OR_RETURN(auto log, AppendLog<Rec>::Open(dir, TestLogOptions()));
  for (int round = 0; round < 3; ++round) {
    MAPFILE_RETURN_IF_ERROR(AppendAndSync(log, p));
  }
  MAPFILE_RETURN_IF_ERROR(log.Seal());
  MAPFILE_RETURN_IF_ERROR(log.TruncateBefore(400));
  MAPFILE_ASSIGN_OR_RETURN(auto reader, LogReader<Rec>::Open(dir));
  for (uint64_t seq = reader.first_seq(); seq < reader.next_seq(); ++seq) {
    MAPFILE_RETURN_IF_ERROR(reader.Read(seq).status());
  }
  return absl::OkStatus();
}

absl::Status LogCheck(const std::string& dir, const Progress& p) {
  absl::Status s = CheckLog(dir, TestLogOptions(), p.synced,
                            std::max(p.synced, p.appended), 1);
  // A fault while creating the first segment leaves no log.
  return absl::IsNotFound(s) && p.appended == 0 ? absl::OkStatus() : s;
}

// Retention with recycling (no compression): TruncateBefore moves retired
// segments to *.seg.free and rolls reuse them. A TruncateBefore that failed
// leaves a log whose records all read from first_seq() (the log follows
// the directory: a file moved or unlinked before a failed directory fsync
// is out of the log), and a failed directory fsync keeps Sync failing.
LogOptions RetentionLogOptions() {
  LogOptions o;
  o.segment_size = 16 << 10;  // ~380 records
  o.recycle_segments = 2;
  return o;
}

// After TruncateBefore failed with `t`: every record is still readable from
// first_seq(), and a failed sync keeps Sync failing. Returns `t`, or what
// broke that promise.
absl::Status FailedTruncate(AppendLog<Rec>& log, const absl::Status& t,
                            const Progress& p) {
  auto c = log.From(log.first_seq());
  uint64_t seq = log.first_seq();
  for (; c.Valid(); c.Next(), ++seq) {
    if (!Intact(c.value(), seq)) break;
  }
  if (!c.status().ok() || seq != log.next_seq()) {
    return absl::InternalError(absl::StrCat(
        "after a failed TruncateBefore (", t.ToString(), "), reading from ",
        "first_seq() stopped at ", seq, " of ", log.next_seq(), ": ",
        c.status().ToString()));
  }
  if (p.sync_fault && log.Sync().ok()) {
    return absl::InternalError(absl::StrCat(
        "a failed TruncateBefore (", t.ToString(), ") was not sticky"));
  }
  return t;
}

absl::Status RetentionWorkload(const std::string& dir, Progress& p) {
  MAPFILE_ASSIGN_OR_RETURN(auto log,
                           AppendLog<Rec>::Open(dir, RetentionLogOptions()));
  for (int round = 0; round < 4; ++round) {
    MAPFILE_RETURN_IF_ERROR(AppendAndSync(log, p));
    const absl::Status t = log.TruncateBefore(log.next_seq() - 400);
    if (t.ok()) continue;
    return FailedTruncate(log, t, p);
  }
  return absl::OkStatus();
}

absl::Status RetentionCheck(const std::string& dir, const Progress& p) {
  absl::Status s = CheckLog(dir, RetentionLogOptions(), p.synced,
                            std::max(p.synced, p.appended), 1);
  return absl::IsNotFound(s) && p.appended == 0 ? absl::OkStatus() : s;
}

// Retention past the last Sync: rounds of 500 records without a Sync,
// each followed by a TruncateBefore that keeps 100, so that it retires the
// last named segment and names its successor (rename, directory fsync), or
// fails at either. As above: a failed TruncateBefore leaves every record
// readable from first_seq(), and a failed sync (msync, fdatasync, fsync)
// keeps Sync failing; a final Sync commits what is left.
absl::Status RetentionPastSyncWorkload(const std::string& dir, Progress& p) {
  MAPFILE_ASSIGN_OR_RETURN(auto log,
                           AppendLog<Rec>::Open(dir, RetentionLogOptions()));
  MAPFILE_RETURN_IF_ERROR(AppendAndSync(log, p));
  for (int round = 0; round < 3; ++round) {
    std::vector<Rec> batch;
    const uint64_t next = log.next_seq();
    for (uint64_t i = 0; i < 500; ++i) batch.push_back(MakeRec(next + i, 1));
    p.appended = next + batch.size();
    MAPFILE_RETURN_IF_ERROR(log.AppendBatch(batch).status());
    const absl::Status t = log.TruncateBefore(log.next_seq() - 100);
    if (t.ok()) continue;
    return FailedTruncate(log, t, p);
  }
  return SyncOnce(log, p, log.next_seq());
}

// LogWorkload on a BlobLog of MakeBlob records (0 B to 9000 B): rolls,
// sealing with its index write, compression, retention and a reader.
absl::Status BlobWorkload(const std::string& dir, Progress& p) {
  MAPFILE_ASSIGN_OR_RETURN(auto log, BlobLog::Open(dir, TestLogOptions()));
  std::vector<std::string> owned;
  for (int round = 0; round < 3; ++round) {
    owned.clear();
    const uint64_t next = log.next_seq();
    for (uint64_t i = 0; i < 25; ++i) owned.push_back(MakeBlob(next + i, 1));
    const std::vector<absl::string_view> batch(owned.begin(), owned.end());
    p.appended = next + batch.size();
    MAPFILE_RETURN_IF_ERROR(log.AppendBatch(batch).status());
    MAPFILE_RETURN_IF_ERROR(SyncOnce(log, p, log.next_seq()));
  }
  MAPFILE_RETURN_IF_ERROR(log.Seal());
  MAPFILE_RETURN_IF_ERROR(log.TruncateBefore(20));
  MAPFILE_ASSIGN_OR_RETURN(auto reader, BlobReader::Open(dir));
  std::string r;
  for (uint64_t seq = reader.first_seq(); seq < reader.next_seq(); ++seq) {
    MAPFILE_RETURN_IF_ERROR(reader.Read(seq, &r));
  }
  return absl::OkStatus();
}

absl::Status BlobCheck(const std::string& dir, const Progress& p) {
  absl::Status s = CheckBlobLog(dir, TestLogOptions(), p.synced,
                                std::max(p.synced, p.appended), 1);
  return absl::IsNotFound(s) && p.appended == 0 ? absl::OkStatus() : s;
}

// Calls that Linux can interrupt (EINTR), which os.h retries. Memory calls
// (mmap, msync, ...) never return EINTR; injected there it is just an error.
bool Interruptible(os::Op op) {
  using os::Op;
  for (Op o : {Op::kOpen, Op::kFtruncate, Op::kFallocate, Op::kFdatasync,
               Op::kFsync, Op::kFlock, Op::kReadDir, Op::kPread, Op::kPwrite,
               Op::kFutex}) {
    if (op == o) return true;
  }
  return false;
}

struct Figures {
  uint64_t runs = 0, faults = 0, failed = 0;
};

void ErrorLoop(const std::string& scenario,
               const std::function<absl::Status(const std::string&, Progress&)>&
                   workload,
               const std::function<absl::Status(const std::string&,
                                                const Progress&)>& check) {
  Figures f;
  const int per_n = Scaled(1, 6);
  for (int op = 0; op < static_cast<int>(os::Op::kCount); ++op) {
    const os::Op o = static_cast<os::Op>(op);
    bool reached = true;
    for (uint64_t nth = 1; reached; ++nth) {
      for (int e = 0; e < per_n; ++e) {
        const int error = kErrors[(nth + op + e) % 6];
        SCOPED_TRACE(absl::StrCat(os::OpName(o), " call ", nth, " fails with ",
                                  error));
        ShmDir dir;
        const std::string path = dir.File("x");
        const int fds = OpenFds();
        Progress p;
        p.sync_fault = o == os::Op::kMsync || o == os::Op::kFdatasync ||
                       o == os::Op::kFsync;
        os::fault::ScopedReset reset;
        os::fault::Inject({o, error, nth, 1});
        absl::Status s = workload(path, p);
        reached = os::fault::Calls(o) >= nth;
        os::fault::Reset();
        ++f.runs;
        f.faults += reached;
        f.failed += !s.ok();
        ASSERT_EQ(OpenFds(), fds) << "descriptor leak; workload said " << s;
        ASSERT_NE(s.code(), absl::StatusCode::kInternal) << s;
        if (!reached) {
          ASSERT_TRUE(s.ok()) << s;  // nothing failed, nothing may fail
          break;
        }
        if (error == EINTR && Interruptible(o)) {
          ASSERT_TRUE(s.ok()) << "EINTR is retried: " << s;
        }
        if (!s.ok()) {
          ASSERT_NE(s.message().find(path), absl::string_view::npos)
              << "the message does not name the file: " << s;
        }
        // A failed munmap leaves its mapping, which holds the open file
        // description and so its flock until the process exits: the file
        // cannot be reopened for writing here (docs/RELIABILITY.md).
        if (o == os::Op::kMunmap) continue;
        absl::Status after = check(path, p);
        ASSERT_TRUE(after.ok()) << "after " << s << ": " << after;
      }
    }
  }
  Report(scenario, absl::StrCat(f.runs, " runs, ", f.faults,
                                " injected faults, ", f.failed,
                                " returned an error Status"));
}

TEST(IoErrorLoopTest, VectorReturnsStatusLeaksNothingAndKeepsSyncedData) {
  ErrorLoop("io_error_loop.vector", VectorWorkload, VectorCheck);
}

TEST(IoErrorLoopTest, LogReturnsStatusLeaksNothingAndKeepsSyncedData) {
  ErrorLoop("io_error_loop.log", LogWorkload, LogCheck);
}

TEST(IoErrorLoopTest, LogRetentionFollowsTheDirectoryAndStaysFailed) {
  ErrorLoop("io_error_loop.log_retention", RetentionWorkload, RetentionCheck);
}

TEST(IoErrorLoopTest, LogRetentionPastTheLastSyncFollowsTheDirectory) {
  ErrorLoop("io_error_loop.log_retention_past_sync", RetentionPastSyncWorkload,
            RetentionCheck);
}

TEST(IoErrorLoopTest, BlobLogReturnsStatusLeaksNothingAndKeepsSyncedData) {
  ErrorLoop("io_error_loop.blob_log", BlobWorkload, BlobCheck);
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
