// Copyright 2026 The mapfile Authors.
//
// Crash points (whitebox, RocksDB kill points): a scripted workload runs in
// a child that _exits at the nth passage of one named point inside the
// library (mapfile/internal/crash_point.h): after the data msync before the
// commit slot, between the slot write and its msync, after a segment is
// created and before the old one is sealed, mid compression rename, between
// TruncateBefore's unlinks, in recovery between the cut and the re-extension,
// ... Every point must be reached, and every crash must reopen to a valid
// state holding everything committed before it. CI samples up to 40
// passages per point and workload; MAPFILE_LONG=1 crashes at every one.

#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

enum Tag : uint64_t { kPending, kSynced, kAppending, kHits, kPastSync };
constexpr int kCrashed = 77;

// The child's target: crash at passage `nth` of `point` (0: count them).
const char* g_point = "";
uint64_t g_nth = 0;
uint64_t g_hits = 0;

void CrashHere(const internal::CrashSite& site) {
  if (std::strcmp(site.point, g_point) == 0 && ++g_hits == g_nth) {
    ::_exit(kCrashed);
  }
}

// Each workload ends by reporting the passages it saw.
int VectorWorkload(const std::string& path, Channel& channel) {
  auto v = MappedVector<Rec>::Open(path, Pretouched());
  if (!v.ok()) return 2;
  for (uint64_t it = 0; it < 24; ++it) {
    for (uint64_t i = (it * 37) % 300 + 1; i > 0; --i) {
      if (!v->push_back(MakeRec(v->size())).ok()) return 3;
    }
    for (uint64_t i = 0; it % 5 == 4 && i < 50; ++i) v->pop_back();
    channel.Send(kPending, v->size());
    if (!v->Sync().ok()) return 4;
    channel.Send(kSynced, v->size());
    if (it % 7 == 6 && !v->shrink_to_fit().ok()) return 3;
    if (it == 12) {
      v = absl::UnavailableError("closed");  // release the lock, reopen
      v = MappedVector<Rec>::Open(path, Pretouched());
      if (!v.ok()) return 2;
    }
  }
  return 0;
}

LogOptions WorkloadLogOptions(bool compress) {
  // Background work (compressions) in this thread only, at Pretouch(),
  // Seal/Compress and close: every run passes each point as often, in the
  // same order, so that passage n of a point is the same instant.
  LogOptions o = Pretouched(LogOptions(), /*background=*/false);
  o.segment_size = 16 << 10;  // ~380 records
  o.compress_sealed = compress;
  return o;
}

int LogWorkload(const std::string& dir, bool compress, Channel& channel) {
  const LogOptions options = WorkloadLogOptions(compress);
  auto log = AppendLog<Rec>::Open(dir, options);
  if (!log.ok()) return 2;
  std::vector<Rec> batch;
  for (uint64_t it = 0; it < 20; ++it) {
    const uint64_t next = log->next_seq();
    batch.clear();
    for (uint64_t i = (it * 53) % 400 + 1; i > 0; --i) {
      batch.push_back(MakeRec(next + batch.size(), 1));
    }
    channel.Send(kAppending, next + batch.size());
    if (!log->AppendBatch(batch).ok()) return 3;
    if (!log->Sync().ok()) return 4;
    channel.Send(kSynced, next + batch.size());
    if (it % 5 == 4 && !log->Seal().ok()) return 3;
    if (it % 6 == 5 && !log->TruncateBefore(log->next_seq() - 500).ok()) {
      return 3;
    }
    if (it == 10) {
      log = absl::UnavailableError("closed");  // release the lock
      log = AppendLog<Rec>::Open(dir, options);
      if (!log.ok()) return 2;
    }
  }
  return 0;
}

// Retention past the last Sync (TruncateBefore retiring segments no Sync
// made durable, the last named one included, whose successor is then
// named): few Syncs, a short retention, recycling on. Reports each
// TruncateBefore that left the log starting after the last synced record.
int RetainUnsyncedWorkload(const std::string& dir, Channel& channel) {
  const LogOptions options = WorkloadLogOptions(false);
  auto log = AppendLog<Rec>::Open(dir, options);
  if (!log.ok()) return 2;
  std::vector<Rec> batch;
  uint64_t synced = 0;
  for (uint64_t it = 0; it < 24; ++it) {
    const uint64_t next = log->next_seq();
    batch.clear();
    for (uint64_t i = (it * 53) % 400 + 150; i > 0; --i) {
      batch.push_back(MakeRec(next + batch.size(), 1));
    }
    channel.Send(kAppending, next + batch.size());
    if (!log->AppendBatch(batch).ok()) return 3;
    if (it % 5 == 4) {
      if (!log->Sync().ok()) return 4;
      channel.Send(kSynced, synced = next + batch.size());
    }
    if (it % 2 == 1) {
      if (!log->TruncateBefore(log->next_seq() - 100).ok()) return 3;
      if (log->first_seq() > synced) channel.Send(kPastSync, 1);
    }
    if (it == 11) {
      log = absl::UnavailableError("closed");  // release the lock
      log = AppendLog<Rec>::Open(dir, options);
      if (!log.ok()) return 2;
    }
  }
  return 0;
}

// Writes a few bytes after the newest segment's data, as a writer killed
// in the middle of a frame leaves them, so that the next Open cuts them
// (log.recover.cut): a clean close leaves nothing to cut. False if it
// could not.
bool TearNewestSegment(const std::string& dir) {
  std::string newest;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if ((absl::EndsWith(name, ".seg") || absl::EndsWith(name, ".seg.tmp")) &&
        name > newest) {
      newest = name;
    }
  }
  const int fd = ::open((dir + "/" + newest).c_str(), O_WRONLY);
  if (fd < 0) return false;
  const off_t end = ::lseek(fd, 0, SEEK_HOLE);  // where its data ends
  const bool torn = end > 0 && ::pwrite(fd, "torn", 4, end) == 4;
  ::close(fd);
  return torn;
}

// LogWorkload on a BlobLog of MakeBlob records, compress_sealed on (so
// that sealing writes the index and then compresses); its reopen finds a
// torn frame after the last one.
int BlobWorkload(const std::string& dir, Channel& channel) {
  const LogOptions options = WorkloadLogOptions(true);
  auto log = BlobLog::Open(dir, options);
  if (!log.ok()) return 2;
  std::vector<std::string> owned;
  for (uint64_t it = 0; it < 20; ++it) {
    const uint64_t next = log->next_seq();
    owned.clear();
    for (uint64_t i = (it * 53) % 40 + 1; i > 0; --i) {
      owned.push_back(MakeBlob(next + owned.size(), 1));
    }
    const std::vector<absl::string_view> batch(owned.begin(), owned.end());
    channel.Send(kAppending, next + batch.size());
    if (!log->AppendBatch(batch).ok()) return 3;
    if (!log->Sync().ok()) return 4;
    channel.Send(kSynced, next + batch.size());
    if (it % 5 == 4 && !log->Seal().ok()) return 3;
    if (it % 6 == 5 && !log->TruncateBefore(log->next_seq() - 50).ok()) {
      return 3;
    }
    if (it == 10) {
      log = absl::UnavailableError("closed");  // release the lock
      if (!TearNewestSegment(dir)) return 5;
      log = BlobLog::Open(dir, options);
      if (!log.ok()) return 2;
    }
  }
  return 0;
}

enum class Workload { kVector, kLog, kCompressedLog, kBlobLog, kRetainUnsynced };

struct Run {
  Workload workload;
  std::string path;
  Channel* channel;
};

int RunWorkload(void* arg) {
  Run& run = *static_cast<Run*>(arg);
  ScopedCrashHook hook(CrashHere);
  const int code =
      run.workload == Workload::kVector    ? VectorWorkload(run.path, *run.channel)
      : run.workload == Workload::kBlobLog ? BlobWorkload(run.path, *run.channel)
      : run.workload == Workload::kRetainUnsynced
          ? RetainUnsyncedWorkload(run.path, *run.channel)
                                           : LogWorkload(
                                                 run.path,
                                                 run.workload ==
                                                     Workload::kCompressedLog,
                                                 *run.channel);
  run.channel->Send(kHits, g_hits);
  return code;
}

// Runs the workload in a child crashing at passage `nth` of `point`;
// returns its exit code and the channel's messages.
int Crash(Workload workload, const std::string& path, const char* point,
          uint64_t nth, std::vector<Channel::Message>* messages) {
  Channel channel;
  Run run{workload, path, &channel};
  g_point = point;
  g_nth = nth;
  g_hits = 0;
  const int code = testing::RunInChild([&] { return RunWorkload(&run); });
  *messages = channel.Drain();
  return code;
}

absl::Status CheckAfterCrash(Workload workload, const std::string& path,
                             const std::vector<Channel::Message>& messages) {
  uint64_t synced = 0, appended = 0;
  std::vector<uint64_t> allowed = {0};
  for (const Channel::Message& m : messages) {
    if (m.tag == kPending) allowed = {synced, m.value};
    if (m.tag == kSynced) allowed = {synced = m.value};
    if (m.tag == kAppending) appended = m.value;
  }
  if (workload == Workload::kVector) return CheckVector(path, allowed);
  absl::Status s =
      workload == Workload::kBlobLog
          ? CheckBlobLog(path, WorkloadLogOptions(true), synced,
                         std::max(appended, synced), 1)
          : CheckLog(path,
                     WorkloadLogOptions(workload == Workload::kCompressedLog),
                     synced, std::max(appended, synced), 1);
  // Dying before the first segment exists leaves no log.
  if (absl::IsNotFound(s) && messages.empty()) return absl::OkStatus();
  return s;
}

TEST(CrashPointsTest, EveryPointIsReachedAndEveryCrashThereReopensValid) {
  const char* const kPoints[] = {
      "file.synced",           "file.datasynced",
      "vector.commit.data_synced", "vector.commit.slot_written",
      "log.sync.slot_written",
      "log.segment.created",   "log.roll.sealed",
      "log.compress.written",  "log.renamed",
      "log.truncate.unlinked", "log.recover.cut",
  };
  const uint64_t samples = Scaled(40, 1000000);
  uint64_t crashes = 0;
  for (const char* point : kPoints) {
    uint64_t reached = 0;
    for (Workload w : {Workload::kVector, Workload::kLog,
                       Workload::kCompressedLog, Workload::kBlobLog}) {
      SCOPED_TRACE(absl::StrCat(point, ", workload ", static_cast<int>(w)));
      ShmDir dir;
      std::vector<Channel::Message> messages;
      ASSERT_EQ(Crash(w, dir.File("x"), point, 0, &messages), 0);
      ASSERT_FALSE(messages.empty());
      const uint64_t hits = messages.back().value;
      reached += hits;
      // Passages 1, 1 + step, ... and the last.
      const uint64_t step = hits <= samples ? 1 : (hits + samples - 1) / samples;
      for (uint64_t nth = 1; nth <= hits;
           nth = nth == hits ? hits + 1 : std::min(nth + step, hits)) {
        SCOPED_TRACE(absl::StrCat("passage ", nth, " of ", hits));
        ShmDir crash_dir;
        const std::string path = crash_dir.File("x");
        ASSERT_EQ(Crash(w, path, point, nth, &messages), kCrashed);
        ++crashes;
        absl::Status s = CheckAfterCrash(w, path, messages);
        ASSERT_TRUE(s.ok()) << s;
      }
    }
    EXPECT_GT(reached, 0u) << point << " is never reached";
  }
  Report("crash_points",
         absl::StrCat(sizeof(kPoints) / sizeof(kPoints[0]), " points, ",
                      crashes, " crashes"));
}

// The workload above at the points of retention, rolls and Sync: between
// TruncateBefore's retirement of the last named segment and the naming of
// its successor (log.moved, log.unlinked), at that naming (log.renamed),
// after it (log.truncate.unlinked), ... Every crash reopens valid, with at
// least every synced record's successors (next_seq() never goes back).
TEST(CrashPointsTest, RetentionPastTheLastSyncReopensValidAtEveryPoint) {
  const char* const kPoints[] = {
      "log.moving",          "log.moved",        "log.unlinked",
      "log.renamed",         "log.truncate.unlinked",
      "log.segment.created", "log.sync.slot_written", "file.synced",
  };
  const uint64_t samples = Scaled(40, 1000000);
  uint64_t crashes = 0;
  {
    ShmDir dir;
    std::vector<Channel::Message> messages;
    ASSERT_EQ(Crash(Workload::kRetainUnsynced, dir.File("x"), "", 0,
                    &messages),
              0);
    uint64_t past_sync = 0;
    for (const Channel::Message& m : messages) past_sync += m.tag == kPastSync;
    ASSERT_GT(past_sync, 0u) << "no TruncateBefore went past the last Sync";
  }
  for (const char* point : kPoints) {
    SCOPED_TRACE(point);
    ShmDir dir;
    std::vector<Channel::Message> messages;
    ASSERT_EQ(Crash(Workload::kRetainUnsynced, dir.File("x"), point, 0,
                    &messages),
              0);
    const uint64_t hits = messages.back().value;
    EXPECT_GT(hits, 0u) << point << " is never reached";
    const uint64_t step = hits <= samples ? 1 : (hits + samples - 1) / samples;
    for (uint64_t nth = 1; nth <= hits;
         nth = nth == hits ? hits + 1 : std::min(nth + step, hits)) {
      SCOPED_TRACE(absl::StrCat("passage ", nth, " of ", hits));
      ShmDir crash_dir;
      const std::string path = crash_dir.File("x");
      ASSERT_EQ(Crash(Workload::kRetainUnsynced, path, point, nth, &messages),
                kCrashed);
      ++crashes;
      absl::Status s =
          CheckAfterCrash(Workload::kRetainUnsynced, path, messages);
      ASSERT_TRUE(s.ok()) << s;
    }
  }
  Report("crash_points.retain_unsynced",
         absl::StrCat(sizeof(kPoints) / sizeof(kPoints[0]), " points, ",
                      crashes, " crashes"));
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
