// Copyright 2026 The mapfile Authors.
//
// An independent fault injector: libfiu (Debian fiu-utils) fails POSIX
// calls and malloc at random inside a workload of vector and log writes
// (fiu_workload.cc), by LD_PRELOAD wrappers that know nothing of mapfile.
// Each run is checked afterwards without faults:
//   * the workload ended normally (no signal, no abort, no exception);
//   * `mapfile verify` calls the vector and the log clean (exit 0);
//   * everything up to the last successful Sync is there and intact
//     (each record knows its position), and both open for writing again.
//
// Fault point groups (libfiu's names), each run at a probability drawn
// from {0.001, 0.01, 0.05, 0.2}; half of the runs compress sealed
// segments. CI runs kCiRuns per group, the long run (MAPFILE_LONG=1)
// kLongRuns. libfiu does not wrap fallocate, flock, fstat, mkdir, statvfs
// or futex: the os fault seam covers those (io_error_loop_test, os_test).
//
// Needs fiu-run (scripts/setup.sh installs it): skipped without it. Not
// run under ASan/TSan (tagged): their runtimes must come first in the
// library list, which LD_PRELOAD breaks.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/fiu_workload.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

constexpr int kCiRuns = 6;
constexpr int kLongRuns = 500;
constexpr int kRounds = 12;

struct Group {
  const char* name;
  std::vector<const char*> points;  // fiu-run enable_random names
};

const std::vector<Group>& Groups() {
  static const auto* groups = new std::vector<Group>{
      {"open/close", {"posix/io/oc/*"}},
      {"read/write/ftruncate", {"posix/io/rw/*"}},
      {"fsync/fdatasync/sync_file_range",
       {"posix/io/sync/*", "linux/io/sync_file_range"}},
      {"rename/unlink/readdir", {"posix/io/dir/*"}},
      {"mmap/munmap/msync/madvise", {"posix/mm/*"}},
      {"malloc/calloc/realloc", {"libc/mm/*"}},
      {"all of the above",
       {"posix/io/oc/*", "posix/io/rw/*", "posix/io/sync/*",
        "linux/io/sync_file_range", "posix/io/dir/*", "posix/mm/*",
        "libc/mm/*"}},
  };
  return *groups;
}

bool HaveFiu() { return std::system("command -v fiu-run >/dev/null 2>&1") == 0; }

// Runs fiu_workload under fiu-run; returns its wait status.
int RunWorkload(const Group& group, double probability, const std::string& dir,
                const std::string& progress, bool compress) {
  std::vector<std::string> args = {"fiu-run", "-x"};
  for (const char* point : group.points) {
    args.push_back("-c");
    args.push_back(absl::StrCat("enable_random name=", point,
                                ",probability=", probability));
  }
  args.push_back(std::getenv("MAPFILE_FIU_WORKLOAD"));
  args.push_back(dir);
  args.push_back(progress);
  args.push_back(absl::StrCat(kRounds));
  args.push_back(compress ? "1" : "0");
  const pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);  // libfiu makes stdio fail too: nothing worth reading
    ::execvp("fiu-run", argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  return status;
}

// A vector file whose creation failed before its header was written:
// empty, or zeros (grown, then both the mapping and the cut back failed).
// MappedVector::Open(kCreate) starts such a creation again.
bool UnfinishedCreation(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  const std::string bytes = testing::ReadFile(path).substr(0, 4096);
  return bytes.find_first_not_of('\0') == std::string::npos;
}

bool HasSegments(const std::string& dir) {
  for (const auto& [name, bytes] : ReadTree(dir)) {
    if (name.size() > 4 && name.substr(name.size() - 4) == ".seg") return true;
  }
  return false;
}

// `mapfile verify PATH`'s exit code (0 without MAPFILE_CLI: a CMake build
// without the tools checks the records only).
int Verify(const std::string& path) {
  if (std::getenv("MAPFILE_CLI") == nullptr) return 0;
  const std::string line = absl::StrCat(std::getenv("MAPFILE_CLI"),
                                        " verify '", path, "' >/dev/null 2>&1");
  const int status = std::system(line.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

struct Tally {
  int runs = 0, setup_faults = 0, runs_with_errors = 0;
  int unfinished_creates = 0;  // a vector file left by a failed create
  uint64_t errors = 0, records_checked = 0;
};

TEST(FiuTest, RandomPosixAndMallocFaultsLoseNothingSynced) {
  if (!HaveFiu()) GTEST_SKIP() << "fiu-run not installed (scripts/setup.sh)";
  ASSERT_NE(std::getenv("MAPFILE_FIU_WORKLOAD"), nullptr);
  const int runs = Scaled(kCiRuns, kLongRuns);
  const double kProbabilities[] = {0.001, 0.01, 0.05, 0.2};
  std::mt19937 random(20261201);
  std::map<std::string, Tally> tallies;
  for (const Group& group : Groups()) {
    Tally& t = tallies[group.name];
    for (int run = 0; run < runs; ++run) {
      const double p = kProbabilities[random() % 4];
      const bool compress = run % 2 == 1;
      SCOPED_TRACE(absl::StrCat(group.name, " at ", p, ", run ", run,
                                compress ? ", compressed" : ""));
      ShmDir dir;
      const std::string progress_path = dir.File("progress");
      const FiuProgress fresh;
      ASSERT_TRUE(testing::WriteFile(
          progress_path,
          std::string(reinterpret_cast<const char*>(&fresh), sizeof(fresh))));
      const std::string work = dir.File("work");
      ASSERT_EQ(::mkdir(work.c_str(), 0755), 0);
      const int status = RunWorkload(group, p, work, progress_path, compress);
      ++t.runs;
      FiuProgress progress;
      const std::string bytes = testing::ReadFile(progress_path);
      ASSERT_EQ(bytes.size(), sizeof(progress));
      std::memcpy(&progress, bytes.data(), sizeof(progress));
      if (progress.stage == FiuProgress::kNotStarted ||
          (WIFEXITED(status) && WEXITSTATUS(status) == 3)) {
        ++t.setup_faults;  // a fault before the workload began (in a
        continue;          // library's static initialisation, or main's)
      }
      ASSERT_TRUE(WIFEXITED(status))
          << "the workload died of signal " << WTERMSIG(status)
          << " at stage " << progress.stage;
      ASSERT_EQ(WEXITSTATUS(status), 0) << "4: an exception left mapfile";
      ASSERT_EQ(progress.stage, 2u);
      t.errors += progress.errors;
      t.runs_with_errors += progress.errors > 0;

      const std::string vector_path = work + "/v.vec";
      const std::string log_dir = work + "/log";
      if (UnfinishedCreation(vector_path)) {
        // Created, and the header never written: not a mapfile file yet
        // (verify says so, exit 2); the next Open(kCreate) finishes it.
        ASSERT_EQ(progress.vector_synced, 0u);
        ++t.unfinished_creates;
        auto v = MappedVector<Rec>::Open(vector_path);
        ASSERT_TRUE(v.ok()) << v.status();
        ASSERT_EQ(v->size(), 0u);
      } else if (::access(vector_path.c_str(), F_OK) == 0) {
        EXPECT_EQ(Verify(vector_path), 0) << "mapfile verify " << vector_path;
        auto v = MappedVector<Rec>::Open(vector_path);
        ASSERT_TRUE(v.ok()) << v.status();
        ASSERT_GE(v->size(), progress.vector_synced);
        for (size_t i = 0; i < v->size(); ++i) {
          ASSERT_TRUE(Intact((*v)[i], i)) << "vector element " << i;
        }
        t.records_checked += v->size();
      } else {
        ASSERT_EQ(progress.vector_synced, 0u);
      }
      if (!HasSegments(log_dir)) {  // the first segment was never made
        ASSERT_EQ(progress.log_synced, 0u);
        continue;
      }
      EXPECT_EQ(Verify(log_dir), 0) << "mapfile verify " << log_dir;
      LogOptions o;
      o.mode = OpenMode::kReadWrite;
      auto log = AppendLog<Rec>::Open(log_dir, o);
      ASSERT_TRUE(log.ok()) << log.status();
      ASSERT_EQ(log->first_seq(), 0u);
      ASSERT_GE(log->next_seq(), progress.log_synced);
      auto c = log->From(0);
      for (; c.Valid(); c.Next()) {
        ASSERT_TRUE(Intact(c.value(), c.seq())) << "log record " << c.seq();
        ++t.records_checked;
      }
      ASSERT_TRUE(c.status().ok()) << c.status();
    }
  }
  for (const auto& [name, t] : tallies) {
    Report(absl::StrCat("fiu ", name),
           absl::StrCat(t.runs, " runs (", t.setup_faults,
                        " failed before the workload began), ",
                        t.runs_with_errors, " with mapfile errors (", t.errors,
                        " failed calls), ", t.unfinished_creates,
                        " vector files left unfinished by a failed create, ",
                        t.records_checked,
                        " records checked, nothing synced lost"));
  }
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
