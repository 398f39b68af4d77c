// Copyright 2026 The mapfile Authors.
//
// Kill loop (blackbox, RocksDB db_crashtest style): a writer child runs a
// random mix of everything a container does -- batches, growth, shrinking,
// Syncs, segment rolls, compression, retention -- and is SIGKILLed at a
// random instant. The child tells the test, through a pipe, what it is about
// to commit and what it committed; after every kill the file must reopen
// with exactly a committed state (vector) or every synced record and only
// whole records of the right runs (log). The next child continues on the
// same file, so later rounds recover what earlier ones left.
// CI: 500 kills per container; MAPFILE_LONG=1: 10,000.
//
// A compress_sealed run killed at random points (issue "Interrupted work
// resumes"): the killed writers leave sealed segments uncompressed, rewrites
// half done under "<name>.tmp", and no writer in between checks the log;
// one last writer's Open and close must leave every sealed segment
// compressed, no temporary file, and every synced record.

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

enum Tag : uint64_t { kPending, kSynced, kAppending };

struct Round {
  std::string path;
  uint64_t seed;
  uint64_t gen;
  LogOptions log;
  Channel* channel;
  uint64_t sync_one_in = 1;  // log: Sync at one in this many Sync draws
};

constexpr uint64_t kMaxElements = 200000;

int VectorWriter(void* arg) {
  const Round& r = *static_cast<Round*>(arg);
  std::mt19937_64 rng(r.seed);
  auto v = MappedVector<Rec>::Open(r.path, Pretouched());
  if (!v.ok()) return 2;
  std::vector<Rec> batch;
  for (;;) {
    const uint64_t n = 1 + rng() % 400;
    switch (rng() % 6) {
      case 0:
      case 1:
        for (uint64_t i = 0; i < n; ++i) {
          if (!v->push_back(MakeRec(v->size())).ok()) return 3;
        }
        break;
      case 2:
        batch.clear();
        for (uint64_t i = 0; i < 8 * n; ++i) batch.push_back(MakeRec(v->size() + i));
        if (!v->append(batch).ok()) return 3;
        break;
      case 3:
        for (uint64_t i = 0; i < n && !v->empty(); ++i) v->pop_back();
        break;
      case 4: {  // growth by resize, then the values
        // Not over popped committed elements: resize zeroes them first, an
        // in-place write a crash may leave half done (mapped_vector.h).
        const uint64_t old = v->size();
        if (old < v->committed_size()) break;
        if (!v->resize(old + n).ok()) return 3;
        for (uint64_t i = old; i < old + n; ++i) (*v)[i] = MakeRec(i);
        break;
      }
      case 5:
        if (v->size() > kMaxElements) {
          if (!v->resize(rng() % kMaxElements).ok()) return 3;
          if (!r.channel->Send(kPending, v->size()) || !v->Sync().ok()) return 4;
          if (!r.channel->Send(kSynced, v->size())) return 4;
          if (!v->shrink_to_fit().ok()) return 3;
        }
        break;
    }
    if (rng() % 3 == 0) {
      if (!r.channel->Send(kPending, v->size()) || !v->Sync().ok()) return 4;
      if (!r.channel->Send(kSynced, v->size())) return 4;
    }
  }
}

int LogWriter(void* arg) {
  const Round& r = *static_cast<Round*>(arg);
  std::mt19937_64 rng(r.seed);
  auto log = AppendLog<Rec>::Open(r.path, Pretouched(r.log));
  if (!log.ok()) return 2;
  std::vector<Rec> batch;
  for (;;) {
    const uint64_t next = log->next_seq();
    const uint64_t op = rng() % 10;
    if (op < 6) {
      batch.clear();
      for (uint64_t i = 1 + rng() % 300; i > 0; --i) {
        batch.push_back(MakeRec(next + batch.size(), r.gen));
      }
      if (!r.channel->Send(kAppending, next + batch.size())) return 4;
      if (!log->AppendBatch(batch).ok()) return 3;
    } else if (op < 8) {
      if (rng() % r.sync_one_in != 0) continue;
      if (!log->Sync().ok()) return 4;
      if (!r.channel->Send(kSynced, next)) return 4;
    } else if (op == 8) {
      if (!log->Seal().ok()) return 3;
    } else if (next - log->first_seq() > 20000) {
      if (!log->TruncateBefore(next - 5000).ok()) return 3;
    }
  }
}

// LogWriter's mix on a BlobLog of MakeBlob records (0 B to 9000 B).
int BlobWriter(void* arg) {
  const Round& r = *static_cast<Round*>(arg);
  std::mt19937_64 rng(r.seed);
  auto log = BlobLog::Open(r.path, r.log);
  if (!log.ok()) return 2;
  std::vector<std::string> owned;
  std::vector<absl::string_view> batch;
  for (;;) {
    const uint64_t next = log->next_seq();
    const uint64_t op = rng() % 10;
    if (op < 6) {
      owned.clear();
      for (uint64_t i = 1 + rng() % 60; i > 0; --i) {
        owned.push_back(MakeBlob(next + owned.size(), r.gen));
      }
      batch.assign(owned.begin(), owned.end());
      if (!r.channel->Send(kAppending, next + batch.size())) return 4;
      if (!log->AppendBatch(batch).ok()) return 3;
    } else if (op < 8) {
      if (!log->Sync().ok()) return 4;
      if (!r.channel->Send(kSynced, next)) return 4;
    } else if (op == 8) {
      if (!log->Seal().ok()) return 3;
    } else if (next - log->first_seq() > 3000) {
      if (!log->TruncateBefore(next - 1000).ok()) return 3;
    }
  }
}

int64_t KillDelay(std::mt19937_64& rng) {
  // One round in eight dies while opening (and recovering); the rest spread
  // over the first 4 ms of work.
  return rng() % 8 == 0 ? static_cast<int64_t>(rng() % 300)
                        : static_cast<int64_t>(rng() % 4000);
}

TEST(KillLoopTest, VectorReopensWithExactlyACommittedSizeAfterEveryKill) {
  ShmDir dir;
  const int rounds = Scaled(500, 10000);
  std::mt19937_64 rng(0x6b696c6c);
  uint64_t synced = 0, kills = 0, max_size = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Channel channel;
    Round r{dir.File("v.vec"), rng(), 0, {}, &channel};
    const int code = RunAndKill(VectorWriter, &r, KillDelay(rng));
    ASSERT_EQ(code, 128 + SIGKILL) << "writer failed before its kill";
    ++kills;
    // Allowed: the last committed size, or the one being committed.
    std::vector<uint64_t> allowed = {synced};
    for (const Channel::Message& m : channel.Drain()) {
      if (m.tag == kPending) allowed = {synced, m.value};
      if (m.tag == kSynced) allowed = {synced = m.value};
    }
    uint64_t size = 0;
    absl::Status s = CheckVector(r.path, allowed, &size);
    ASSERT_TRUE(s.ok()) << s;
    synced = size;
    max_size = std::max(max_size, size);
  }
  Report("kill_loop.vector",
         absl::StrCat(kills, " kills, largest reopened size ", max_size));
}

TEST(KillLoopTest, LogKeepsEverySyncedRecordAndOnlyWholeRecordsAfterEveryKill) {
  ShmDir dir;
  const int rounds = Scaled(500, 10000);
  std::mt19937_64 rng(0x6c6f67);
  uint64_t synced = 0, kills = 0, records = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Channel channel;
    Round r{dir.File("log"), rng(), static_cast<uint64_t>(round) + 1, {},
            &channel};
    r.log.segment_size = 64 << 10;  // a roll every ~2000 records
    r.log.compress_sealed = round % 4 == 1;
    // Every other round syncs rarely: several rolls (segments under their
    // temporary names) between two Syncs. Recycling on in two rounds of
    // three.
    r.sync_one_in = round % 2 == 0 ? 1 : 12;
    r.log.recycle_segments = round % 3 == 0 ? 0 : 2;
    const int code = RunAndKill(LogWriter, &r, KillDelay(rng));
    ASSERT_EQ(code, 128 + SIGKILL) << "writer failed before its kill";
    ++kills;
    uint64_t appended = synced;
    bool heard = false;
    for (const Channel::Message& m : channel.Drain()) {
      heard = true;
      if (m.tag == kAppending) appended = std::max(appended, m.value);
      if (m.tag == kSynced) synced = std::max(synced, m.value);
    }
    LogState state;
    absl::Status s = CheckLog(r.path, r.log, synced, std::max(appended, synced),
                              r.gen, &state);
    if (!heard && synced == 0 && absl::IsNotFound(s)) continue;  // not created
    ASSERT_TRUE(s.ok()) << s;
    // What recovery kept stays in the files (a kill loses no page written)
    // until a later writer's Sync commits it: the floor for every later
    // round.
    synced = state.next;
    records = std::max(records, state.next);
  }
  Report("kill_loop.log",
         absl::StrCat(kills, " kills, ", records, " records appended"));
}

TEST(KillLoopTest, BlobLogKeepsEverySyncedRecordAndOnlyWholeRecords) {
  ShmDir dir;
  const int rounds = Scaled(300, 10000);
  std::mt19937_64 rng(0x626c6f62);
  uint64_t synced = 0, kills = 0, records = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Channel channel;
    Round r{dir.File("log"), rng(), static_cast<uint64_t>(round) + 1, {},
            &channel};
    r.log.segment_size = 64 << 10;  // a roll every ~25 records
    r.log.compress_sealed = round % 4 == 1;
    const int code = RunAndKill(BlobWriter, &r, KillDelay(rng));
    ASSERT_EQ(code, 128 + SIGKILL) << "writer failed before its kill";
    ++kills;
    uint64_t appended = synced;
    bool heard = false;
    for (const Channel::Message& m : channel.Drain()) {
      heard = true;
      if (m.tag == kAppending) appended = std::max(appended, m.value);
      if (m.tag == kSynced) synced = std::max(synced, m.value);
    }
    LogState state;
    absl::Status s = CheckBlobLog(r.path, r.log, synced,
                                  std::max(appended, synced), r.gen, &state);
    if (!heard && synced == 0 && absl::IsNotFound(s)) continue;  // not created
    ASSERT_TRUE(s.ok()) << s;
    synced = state.next;
    records = std::max(records, state.next);
  }
  Report("kill_loop.blob_log",
         absl::StrCat(kills, " kills, ", records, " records appended"));
}

// What a compress_sealed log directory holds: its segments (by first
// sequence number) and whether each is compressed, by the segment header's
// flags (read as the CLI's `info` does, without opening the log), and the
// names of every other file but LOCK (temporaries, retired segments).
struct DirState {
  std::vector<std::pair<uint64_t, bool>> segments;  // sorted by first
  std::vector<std::string> others;
  absl::Status error;
};

DirState ReadDirState(const std::string& dir) {
  DirState d;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name == internal::kLogLockName) continue;
    const std::optional<uint64_t> first = internal::ParseSegmentFileName(name);
    if (!first) {
      d.others.push_back(name);
      continue;
    }
    // The header page is enough: DecodeHeader reads the header and slots.
    const std::string bytes =
        testing::ReadFile(e.path().string()).substr(0, kHeaderSize);
    absl::StatusOr<FileHeader> h = DecodeHeader(
        absl::MakeConstSpan(reinterpret_cast<const std::byte*>(bytes.data()),
                            bytes.size()),
        e.path().string());
    if (!h.ok()) {
      d.error = h.status();
      continue;
    }
    d.segments.push_back(
        {*first, (h->segment_flags & kSegmentCompressed) != 0});
  }
  std::sort(d.segments.begin(), d.segments.end());
  return d;
}

TEST(KillLoopTest, CompressSealedRunResumesEveryCompressionAfterRandomKills) {
  ShmDir dir;
  const int rounds = Scaled(300, 5000);
  std::mt19937_64 rng(0x7a737464);
  LogOptions options;
  options.segment_size = 64 << 10;  // a roll every ~2000 records
  options.compress_sealed = true;   // retired segments deleted, none reused
  uint64_t synced = 0, appended = 0, kills = 0;
  uint64_t left_uncompressed = 0, left_temporary = 0;
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    Channel channel;
    Round r{dir.File("log"), rng(), static_cast<uint64_t>(round) + 1, options,
            &channel};
    // Frequent Syncs: each seals the segments filled since the last one and
    // queues their compression, which the kill then interrupts anywhere
    // (before it ran, while it writes "<name>.tmp", before the rename).
    r.sync_one_in = 1 + round % 3;
    // Up to 12 ms: long enough for several compressions to run.
    const int64_t delay = rng() % 8 == 0 ? static_cast<int64_t>(rng() % 300)
                                         : static_cast<int64_t>(rng() % 12000);
    const int code = RunAndKill(LogWriter, &r, delay);
    ASSERT_EQ(code, 128 + SIGKILL) << "writer failed before its kill";
    ++kills;
    for (const Channel::Message& m : channel.Drain()) {
      if (m.tag == kAppending) appended = std::max(appended, m.value);
      if (m.tag == kSynced) synced = std::max(synced, m.value);
    }
    // What the kill left for the next writer to finish (nothing is checked
    // or repaired between the rounds: the next killed writer opens it).
    const DirState d = ReadDirState(r.path);
    for (size_t i = 0; i + 1 < d.segments.size(); ++i) {
      left_uncompressed += d.segments[i].second ? 0 : 1;
    }
    for (const std::string& name : d.others) {
      left_temporary += absl::EndsWith(name, internal::kTempSuffix) ? 1 : 0;
    }
  }
  // The work to resume was there: otherwise this test proves nothing.
  EXPECT_GT(left_uncompressed, 0u);

  // One last writer, background on (the default), synced and closed: its
  // Sync names the rolls its Open adopted and queues their compression, and
  // a close finishes the compressions Open and Sync queued (log_options.h,
  // DESIGN.md).
  {
    auto log = AppendLog<Rec>::Open(dir.File("log"), options);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_GT(log->next_seq(), 0u);
    ASSERT_TRUE(log->Sync().ok());
  }
  const DirState d = ReadDirState(dir.File("log"));
  ASSERT_TRUE(d.error.ok()) << d.error;
  ASSERT_GE(d.segments.size(), 2u);
  for (size_t i = 0; i + 1 < d.segments.size(); ++i) {
    EXPECT_TRUE(d.segments[i].second)
        << "sealed segment " << d.segments[i].first << " left uncompressed";
  }
  EXPECT_FALSE(d.segments.back().second) << "the active segment compressed";
  // No temporary (rolls adopted, rewrites finished or removed) and no
  // retired file (compress_sealed deletes retired segments).
  EXPECT_TRUE(d.others.empty())
      << "left in the log: " << absl::StrJoin(d.others, ", ");

  LogState state;
  absl::Status s =
      CheckLog(dir.File("log"), options, synced, std::max(appended, synced),
               static_cast<uint64_t>(rounds), &state);
  ASSERT_TRUE(s.ok()) << s;
  Report("kill_loop.compress_sealed",
         absl::StrCat(kills, " kills, ", left_uncompressed,
                      " sealed segments found uncompressed and ",
                      left_temporary, " temporaries after a kill, ", state.next,
                      " records, ", d.segments.size(),
                      " segments at the end, all sealed ones compressed"));
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
