// Copyright 2026 The mapfile Authors.
//
// pretouch.h: keeps the pages just ahead of a container's writer populated
// and writable, off the writer's thread, so that its stores do not page
// fault (VectorOptions::pretouch, LogOptions::pretouch; docs/PERFORMANCE.md).
//
// A Pretoucher belongs to one container. The writer says which range of its
// mapping comes next (Touch) and may post one-off tasks (Post: the log
// prepares its next segment); the work runs on one background thread shared
// by every Pretoucher of the process (when `background`), and in Run(),
// which any thread may call (the containers' cooperative Pretouch()).
//
// Pages are populated with MADV_POPULATE_WRITE (Linux 5.14+), which faults
// them in writable without changing a byte, so it can never overwrite what
// the writer stores. MAP_POPULATE or a read touch would leave shared pages
// read-only (the writer still faults); writing to them would race with the
// writer. So where the kernel lacks MADV_POPULATE_WRITE (EINVAL), populating
// is switched off for the process: the writer then faults as without
// pretouch, and nothing else changes.
//
// Lifetime: a range passed to Touch must stay mapped until Stop() (or the
// destructor) returns; the container calls Stop() before it unmaps, cuts
// or moves its mapping. Tasks may use the container until the destructor,
// which waits for a running task and drops queued ones.
//
// Thread safety: every method may be called from any thread.
//
// fork(): in the child, a Pretoucher made before the fork does nothing (its
// thread is gone and its lock may be held forever): every method, and the
// destructor, returns at once; queued tasks are dropped (a task is a hint:
// the container does the work itself when FinishTasks() leaves none done).
// Pretouchers made in the child work.

#ifndef MAPFILE_INTERNAL_PRETOUCH_H_
#define MAPFILE_INTERNAL_PRETOUCH_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace mapfile {
namespace internal {

// Bumped in a forked child (pthread_atfork, registered by the first
// Pretoucher). One made before the fork is disabled there: the thread that
// would finish its work (or that held its lock) does not exist in the
// child, so its waits would never end.
extern std::atomic<uint64_t> g_fork_generation;

class Pretoucher {
 public:
  // `window`: bytes kept populated ahead of the writer (containers use it;
  // the Pretoucher only stores it). `background`: work is done on the
  // process's pretouch thread; otherwise only in Run().
  Pretoucher(uint64_t window, bool background);
  ~Pretoucher();
  Pretoucher(const Pretoucher&) = delete;
  Pretoucher& operator=(const Pretoucher&) = delete;

  uint64_t window() const { return window_; }
  bool background() const { return background_; }
  // Made before a fork, and this is the child: it does nothing here (see
  // fork() above); its owner may replace it with a new one.
  // (Inline: a log writer asks on every Append.)
  bool Inherited() const {
    return generation_ != g_fork_generation.load(std::memory_order_relaxed);
  }

  // Populates the pages of [begin, end), replacing any range not yet done.
  void Touch(std::byte* begin, std::byte* end);
  // Runs `task` once, before any range.
  void Post(std::function<void()> task);
  // Does all pending work in the calling thread.
  void Run();
  // Runs a queued task in the calling thread, and waits for one running
  // elsewhere: afterwards no task is pending or running.
  void FinishTasks();
  // Drops pending ranges and waits for one being populated: afterwards no
  // range passed before is touched.
  void Stop();

  struct State;  // shared with the pretouch thread

 private:
  void Schedule();  // REQUIRES: state_->mu held
  const uint64_t window_;
  const bool background_;
  const uint64_t generation_;  // of forks, when made
  std::shared_ptr<State> state_;
};

// Whether MADV_POPULATE_WRITE works here (false after the first EINVAL).
bool PretouchSupported();

}  // namespace internal
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_PRETOUCH_H_
