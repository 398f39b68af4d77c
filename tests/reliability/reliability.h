// Copyright 2026 The mapfile Authors.
//
// reliability.h: what the reliability suite's scenarios (docs/RELIABILITY.md)
// share: the record they write, iteration counts for CI and for the long
// run, figures printed for the documentation, crash hooks, pipes from
// writer children, and whole-directory file images.

#ifndef MAPFILE_TESTS_RELIABILITY_RELIABILITY_H_
#define MAPFILE_TESTS_RELIABILITY_RELIABILITY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/mapped_vector.h"

namespace mapfile {
namespace reliability {

// A record that knows where it belongs: `seq` is its index (vector) or
// sequence number (log), `gen` the writer run that wrote it, `check` ties
// the two together, so a torn, shifted or foreign record is caught.
struct Rec {
  uint64_t seq;
  uint64_t gen;
  uint64_t check;
};
Rec MakeRec(uint64_t seq, uint64_t gen = 0);
// `r` is a whole record written for position `seq`.
bool Intact(const Rec& r, uint64_t seq);

// Recovery checks, shared by every scenario. Each opens as the next writer
// would (recovering), so they also prove the file can be written again.
//
// The vector at `path` holds a size in `allowed` (any size if empty) and
// every element i is Intact(.., i). `size` (if given) receives the size.
absl::Status CheckVector(const std::string& path,
                         const std::vector<uint64_t>& allowed,
                         uint64_t* size = nullptr);

struct LogState {
  uint64_t first = 0;
  uint64_t next = 0;
};
// The log in `dir` holds records [first, next) with min_next <= next <=
// max_next, each Intact, written by runs (gen) that never decrease along the
// log and are at most max_gen: no record of an older run after a newer
// one's (a cut tail coming back). Reads every record from `from` on.
absl::Status CheckLog(const std::string& dir, const LogOptions& options,
                      uint64_t min_next, uint64_t max_next, uint64_t max_gen,
                      LogState* state = nullptr, uint64_t from = 0);

// The blob log's record `seq` of writer run `gen`: a length chosen by `seq`
// among 0 B, 1 B, 15 B, 16 B, 100 B, 4 KiB +- 1 and 9000 B (more than two
// pages), and bytes that depend on `seq` and, from 16 bytes on, name `seq`
// and `gen` (shorter records cannot: they are checked by length and bytes).
std::string MakeBlob(uint64_t seq, uint64_t gen = 0);
// `r` is a whole record written for position `seq`; *gen receives its run
// (0 when the record is too short to say).
bool BlobIntact(const std::string& r, uint64_t seq, uint64_t* gen);
// CheckLog for a BlobLog of MakeBlob records.
absl::Status CheckBlobLog(const std::string& dir, const LogOptions& options,
                          uint64_t min_next, uint64_t max_next,
                          uint64_t max_gen, LogState* state = nullptr,
                          uint64_t from = 0);

// The suite's pretouch run (the *_pretouch tests): with
// MAPFILE_RELIABILITY_PRETOUCH=<bytes> every writer the scenarios open has
// pretouch on with that window, so each guarantee is also checked with
// pages populated and segments prepared ahead of the writer. Unset: off.
uint64_t PretouchWindow();
// `o` with PretouchWindow() (and `background`: the shared pretouch thread,
// or only the writer's own Pretouch() calls).
VectorOptions Pretouched(VectorOptions o = {}, bool background = true);
LogOptions Pretouched(LogOptions o, bool background = true);

// MAPFILE_LONG=1 (bazel test --config=long, tests/reliability/long_run)
// selects the documented long run.
bool LongMode();
// `ci` normally, `long_run` in the long run.
int Scaled(int ci, int long_run);

// Prints "RELIABILITY <scenario>: <figures>" on stdout; the long run's log
// is where docs/RELIABILITY.md's numbers come from.
void Report(const std::string& scenario, const std::string& figures);

// Entries in /proc/self/fd.
int OpenFds();

// A fresh directory for scenarios that kill processes: on tmpfs
// (/dev/shm) where there is one, because a process crash loses nothing a
// real disk would keep (the page cache survives), and fsync there is free,
// which keeps hundreds of kill rounds within CI's budget. Elsewhere, as
// testing::TempDir. Removed on destruction.
class ShmDir {
 public:
  ShmDir();
  ~ShmDir();
  ShmDir(const ShmDir&) = delete;
  ShmDir& operator=(const ShmDir&) = delete;
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Installs `hook` for crash points while alive (null: none).
class ScopedCrashHook {
 public:
  explicit ScopedCrashHook(internal::CrashHook hook);
  ~ScopedCrashHook();
  ScopedCrashHook(const ScopedCrashHook&) = delete;
  ScopedCrashHook& operator=(const ScopedCrashHook&) = delete;

 private:
  internal::CrashHook old_;
};

// A pipe from a writer child to the test: (tag, value) messages. The child
// writes; the parent drains after the child died.
class Channel {
 public:
  Channel();
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;
  struct Message {
    uint64_t tag;
    uint64_t value;
  };
  // Child side. Returns false if the pipe is gone.
  bool Send(uint64_t tag, uint64_t value);
  // Parent side, after fork: closes the write end, returns everything sent.
  std::vector<Message> Drain();

 private:
  int fds_[2];
};

// Forks; the child runs `body` and _exits with its result. The parent
// SIGKILLs it after `delay_us` microseconds (if it is still running) and
// returns its wait status decoded as testing::RunInChild does.
int RunAndKill(int (*body)(void*), void* arg, int64_t delay_us);

// The regular files directly in `dir`: name -> contents.
std::map<std::string, std::string> ReadTree(const std::string& dir);
// Makes `dir` hold exactly `files` (creating it if needed).
void WriteTree(const std::string& dir,
               const std::map<std::string, std::string>& files);

}  // namespace reliability
}  // namespace mapfile

MAPFILE_TYPE(mapfile::reliability::Rec, "reliability.Rec", 1);
MAPFILE_FIELDS(mapfile::reliability::Rec, seq, gen, check);

#endif  // MAPFILE_TESTS_RELIABILITY_RELIABILITY_H_
