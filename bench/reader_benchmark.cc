// Copyright 2026 The mapfile Authors.
//
// How fast a LogReader in another process learns of a new record, and what
// waiting costs it while nothing comes:
//   BM_WaitForWakeup  the reader sleeps in LogReader::WaitFor (a futex that
//                     the writer's Sync() wakes)
//   BM_PollWakeup     baseline: the reader checks next_seq() and sleeps
//                     usleep(1000) until the record is there
// Arg tmpfs: 0 = the log in $MAPFILE_BENCH_DIR (default /tmp), 1 = in
// /dev/shm. The label names the directory.
//
//   bazel run -c opt //bench:reader_benchmark
//   build/reader_benchmark --benchmark_format=json
//
// Each iteration: the writer (this process) sleeps 1 ms plus a random
// 0-999 µs, so that the reader is asleep (every WaitFor sample is a real
// futex wake-up) and so that appends land at random phases of the poller's
// 1 ms period (a fixed delay phase-locks with it: the writer's usleep(1000)
// starts as the poller's does, so the append lands just after a look and
// the baseline's p50 reads ~1060 µs instead of ~540 µs); then appends
// record seq and calls Sync(). The reader stamps CLOCK_MONOTONIC (one clock
// for all processes) as its wait returns, reads the record and reports
// through a pipe.
//
// Sync() makes the record and its commit slot durable first (one msync: a
// real flush on a disk, next to nothing on tmpfs) and wakes the reader
// last. So two figures, both in microseconds:
//   p50_us ... max_us          from the Sync() call to the reader's wake:
//                              what a writer sees, flush included. The
//                              manual iteration time.
//   ret_min_us ... ret_max_us  from Sync()'s return to the reader's wake:
//                              flush excluded. Negative when the reader,
//                              running on another core, woke before Sync()
//                              had returned to the writer (the wake is
//                              Sync's last step); kept as measured, not
//                              clamped. ret_neg_pct: the share of those.
// The wake-up latency proper (from the futex wake inside Sync() to the
// reader's return) lies between the two. sync_p50_us ... sync_max_us: the
// Sync() durations, i.e. their difference. On tmpfs the two are close.
// Other counters:
//   idle_cpu_pct   the reader's CPU time (user + system, its
//                  CLOCK_PROCESS_CPUTIME_ID) over a 200 ms window with
//                  nothing appended, in percent of one core. The window
//                  runs from the reader's last report of the timed loop to
//                  its wake for one more record, so it includes one wake's
//                  handling (a few µs: < 0.01 %).
//   not_asleep     samples (count) whose record was already committed when
//                  the reader began waiting (it had not fallen asleep
//                  within the writer's delay: a busy machine). 0 normally.
// Percentiles are nearest-rank below, over the iterations of one run.

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "benchmark/benchmark.h"
#include "mapfile/append_log.h"

namespace mapfile {
namespace {

// A 64 B record, as append_log_benchmark's.
struct Stamp {
  uint64_t seq;
  int64_t appended_ns;  // the writer's clock before Append; echoed back
  char pad[48];
};
static_assert(sizeof(Stamp) == 64);

// What the reader sends per record (below PIPE_BUF: one atomic write).
struct Report {
  uint64_t seq;          // of the record read; kReady for the first report
  int64_t appended_ns;   // read from the record: proves it read the right one
  int64_t woke_ns;       // CLOCK_MONOTONIC when its wait returned
  int64_t cpu_ns;        // its CLOCK_PROCESS_CPUTIME_ID just after
  uint64_t not_asleep;   // 1: the record was there before it waited
};
constexpr uint64_t kReady = ~uint64_t{0};

constexpr absl::Duration kReaderSlice = absl::Seconds(1);
constexpr absl::Duration kReportTimeout = absl::Seconds(10);
constexpr useconds_t kIdleWindowUs = 200000;

int64_t Now(clockid_t clock) {
  timespec ts;
  ::clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}
int64_t NowNs() { return Now(CLOCK_MONOTONIC); }

// How the reader waits for record `seq`: OK once it is committed,
// DeadlineExceeded after about `timeout` (the reader then checks that its
// parent lives and waits again); any other error ends the reader.
using WaitStrategy = absl::Status (*)(LogReader<Stamp>& reader, uint64_t seq,
                                      absl::Duration timeout);

absl::Status WaitForStrategy(LogReader<Stamp>& reader, uint64_t seq,
                             absl::Duration timeout) {
  return reader.WaitFor(seq, timeout);
}

// The baseline: look (next_seq(): two atomic loads while no segment rolls
// over), sleep 1 ms, look again.
absl::Status PollStrategy(LogReader<Stamp>& reader, uint64_t seq,
                          absl::Duration timeout) {
  for (int64_t polls = absl::ToInt64Milliseconds(timeout);; --polls) {
    if (reader.next_seq() > seq) return absl::OkStatus();
    if (polls <= 0) return absl::DeadlineExceededError("poll");
    ::usleep(1000);
  }
}

// The reader process: never returns. Exits on any error (saying why on
// stderr), when its parent dies (PR_SET_PDEATHSIG; and a parent that died
// before prctl is caught by getppid, as is one found gone after a
// timeout), or by the parent's SIGKILL.
[[noreturn]] void ReaderMain(const std::string& path, pid_t parent, int out,
                             WaitStrategy wait) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) {
    ::_exit(0);
  }
  auto fail = [](const std::string& what) {
    fprintf(stderr, "reader_benchmark reader: %s\n", what.c_str());
    ::_exit(1);
  };
  auto send = [&](const Report& report) {
    if (::write(out, &report, sizeof(report)) != sizeof(report)) {
      fail(absl::StrCat("write to the parent: ", std::strerror(errno)));
    }
  };
  absl::StatusOr<LogReader<Stamp>> reader = LogReader<Stamp>::Open(path);
  if (!reader.ok()) fail(reader.status().ToString());
  send(Report{kReady, 0, NowNs(), Now(CLOCK_PROCESS_CPUTIME_ID), 0});
  for (uint64_t seq = 0;; ++seq) {
    const uint64_t not_asleep = reader->next_seq() > seq ? 1 : 0;
    absl::Status status;
    while (absl::IsDeadlineExceeded(status = wait(*reader, seq, kReaderSlice))) {
      if (::getppid() != parent) ::_exit(0);
    }
    const int64_t woke = NowNs();
    if (!status.ok()) fail(status.ToString());
    absl::StatusOr<Stamp> stamp = reader->Read(seq);
    if (!stamp.ok()) fail(stamp.status().ToString());
    send(Report{stamp->seq, stamp->appended_ns, woke,
                Now(CLOCK_PROCESS_CPUTIME_ID), not_asleep});
  }
}

// A forked reader process and the read end of its pipe. The destructor
// SIGKILLs and reaps it.
class ReaderProcess {
 public:
  ReaderProcess(const std::string& path, WaitStrategy wait) {
    int fds[2];
    if (::pipe(fds) != 0) {
      error_ = absl::StrCat("pipe: ", std::strerror(errno));
      return;
    }
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(fds[0]);
      ReaderMain(path, parent, fds[1], wait);
    }
    ::close(fds[1]);  // so that a dead reader reads as end of file
    fd_ = fds[0];
    if (pid_ < 0) error_ = absl::StrCat("fork: ", std::strerror(errno));
  }
  ReaderProcess(const ReaderProcess&) = delete;
  ReaderProcess& operator=(const ReaderProcess&) = delete;
  ~ReaderProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) ::close(fd_);
  }

  // Empty if the process started.
  const std::string& error() const { return error_; }

  // The reader's next report; an error if it exited or said nothing for
  // `timeout`.
  absl::StatusOr<Report> Next(absl::Duration timeout) {
    pollfd p{fd_, POLLIN, 0};
    int ready;
    do {
      ready = ::poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(timeout)));
    } while (ready < 0 && errno == EINTR);
    if (ready < 0) return absl::InternalError(absl::StrCat("poll: ", std::strerror(errno)));
    if (ready == 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          "reader process silent for ", absl::FormatDuration(timeout)));
    }
    Report report;
    ssize_t n;
    do {
      n = ::read(fd_, &report, sizeof(report));
    } while (n < 0 && errno == EINTR);
    if (n == sizeof(report)) return report;
    int status = 0;
    if (n == 0 && ::waitpid(pid_, &status, 0) == pid_) {
      pid_ = -1;
      return absl::InternalError(
          WIFEXITED(status)
              ? absl::StrCat("reader process exited with status ",
                             WEXITSTATUS(status), " (its stderr says why)")
              : absl::StrCat("reader process killed by signal ",
                             WTERMSIG(status)));
    }
    return absl::InternalError(absl::StrCat("read from the reader: ", n));
  }

 private:
  pid_t pid_ = -1;
  int fd_ = -1;
  std::string error_;
};

// A fresh directory under `base`, removed afterwards.
class TempDir {
 public:
  explicit TempDir(const std::string& base) {
    std::string pattern = base + "/readerbench.XXXXXX";
    if (::mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sets counters <prefix>p50_us ... <prefix>max_us (and <prefix>min_us if
// `with_min`) from `ns`, in microseconds; nearest rank below.
void SetPercentiles(benchmark::State& state, const std::string& prefix,
                    std::vector<int64_t> ns, bool with_min) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto at = [&](double q) {
    return static_cast<double>(ns[static_cast<size_t>(q * (ns.size() - 1))]) /
           1e3;
  };
  if (with_min) state.counters[prefix + "min_us"] = at(0);
  state.counters[prefix + "p50_us"] = at(0.5);
  state.counters[prefix + "p90_us"] = at(0.9);
  state.counters[prefix + "p99_us"] = at(0.99);
  state.counters[prefix + "p999_us"] = at(0.999);
  state.counters[prefix + "max_us"] = at(1);
}

// The harness both benchmarks share; `wait` is the reader's strategy.
void WakeupBenchmark(benchmark::State& state, WaitStrategy wait) {
  const char* env = std::getenv("MAPFILE_BENCH_DIR");
  const std::string base =
      state.range(0) == 1 ? "/dev/shm" : (env != nullptr ? env : "/tmp");
  state.SetLabel(base);
  TempDir dir(base);
  if (dir.path().empty()) {
    return state.SkipWithError(
        absl::StrCat("mkdtemp in ", base, ": ", std::strerror(errno)).c_str());
  }
  const std::string path = dir.path() + "/log";
  absl::StatusOr<AppendLog<Stamp>> log = AppendLog<Stamp>::Open(path);
  if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
  ReaderProcess reader(path, wait);
  if (!reader.error().empty()) return state.SkipWithError(reader.error().c_str());
  absl::StatusOr<Report> last = reader.Next(kReportTimeout);  // ready
  if (!last.ok()) return state.SkipWithError(last.status().ToString().c_str());

  std::vector<int64_t> from_call, from_return, sync;
  from_call.reserve(state.max_iterations);
  from_return.reserve(state.max_iterations);
  sync.reserve(state.max_iterations);
  uint64_t not_asleep = 0;
  std::mt19937 rng(1);
  std::uniform_int_distribution<useconds_t> jitter(0, 999);
  Stamp stamp{};
  // Appends and syncs record stamp.seq; its report, with the Sync() call and
  // return times, or why not.
  auto deliver = [&](int64_t& call, int64_t& ret) -> absl::StatusOr<Report> {
    stamp.appended_ns = NowNs();
    absl::Status status = log->Append(stamp).status();
    call = NowNs();
    if (status.ok()) status = log->Sync();
    ret = NowNs();
    if (!status.ok()) return status;
    absl::StatusOr<Report> r = reader.Next(kReportTimeout);
    if (!r.ok()) return r.status();
    if (r->seq != stamp.seq || r->appended_ns != stamp.appended_ns) {
      return absl::InternalError(absl::StrCat("reader reported record ", r->seq,
                                              ", expected ", stamp.seq));
    }
    if (r->woke_ns < call) {
      return absl::InternalError(
          absl::StrCat("reader saw record ", stamp.seq, " before Sync()"));
    }
    ++stamp.seq;
    return r;
  };
  bool ok = true;
  for (auto _ : state) {
    ::usleep(1000 + jitter(rng));
    int64_t call, ret;
    absl::StatusOr<Report> r = deliver(call, ret);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      ok = false;
      break;
    }
    from_call.push_back(r->woke_ns - call);
    from_return.push_back(r->woke_ns - ret);  // may be < 0: see the top
    sync.push_back(ret - call);
    not_asleep += r->not_asleep;
    state.SetIterationTime(static_cast<double>(r->woke_ns - call) * 1e-9);
    last = r;
  }
  if (!ok) return;

  // Idle: nothing for 200 ms, then one more record to learn the reader's
  // CPU time (untimed).
  ::usleep(kIdleWindowUs);
  int64_t call, ret;
  absl::StatusOr<Report> idle = deliver(call, ret);
  if (!idle.ok()) return state.SkipWithError(idle.status().ToString().c_str());
  state.counters["idle_cpu_pct"] =
      100.0 * static_cast<double>(idle->cpu_ns - last->cpu_ns) /
      static_cast<double>(idle->woke_ns - last->woke_ns);

  SetPercentiles(state, "", from_call, /*with_min=*/false);
  const double negative = static_cast<double>(std::count_if(
      from_return.begin(), from_return.end(), [](int64_t v) { return v < 0; }));
  SetPercentiles(state, "ret_", std::move(from_return), /*with_min=*/true);
  state.counters["ret_neg_pct"] =
      from_call.empty() ? 0 : 100.0 * negative / static_cast<double>(from_call.size());
  SetPercentiles(state, "sync_", std::move(sync), /*with_min=*/false);
  state.counters["not_asleep"] = static_cast<double>(not_asleep);
}

void BM_WaitForWakeup(benchmark::State& state) {
  WakeupBenchmark(state, WaitForStrategy);
}

void BM_PollWakeup(benchmark::State& state) {
  WakeupBenchmark(state, PollStrategy);
}

// 1000 samples a run (p999 is then the second largest): an iteration
// costs ~1.5 ms of writer delay plus the latency, and the four cases must
// stay under ~10 s together for bench/smoke, which runs them in full.
constexpr int kIterations = 1000;

BENCHMARK(BM_WaitForWakeup)->ArgName("tmpfs")->Arg(0)->Arg(1)
    ->UseManualTime()->Iterations(kIterations)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PollWakeup)->ArgName("tmpfs")->Arg(0)->Arg(1)
    ->UseManualTime()->Iterations(kIterations)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace mapfile
