// Copyright 2026 The mapfile Authors.

#include "mapfile/internal/pretouch.h"

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <new>
#include <utility>
#include <vector>

#include "mapfile/internal/os.h"

namespace mapfile {
namespace internal {

std::atomic<uint64_t> g_fork_generation{0};

namespace {

// Populated per step: small, so that Stop() waits little and several
// containers take turns.
constexpr size_t kChunk = 64 << 10;

std::atomic<bool> g_supported{true};

uint64_t ForkGeneration() {
  static const bool once = [] {
    pthread_atfork(nullptr, nullptr, [] {
      g_fork_generation.fetch_add(1, std::memory_order_relaxed);
    });
    return true;
  }();
  (void)once;
  return g_fork_generation.load(std::memory_order_relaxed);
}

}  // namespace

bool PretouchSupported() {
  return g_supported.load(std::memory_order_relaxed);
}

// std::mutex rather than absl::Mutex: ThreadSanitizer sees pthread locks
// even where Abseil is a system library built without it.
struct Pretoucher::State {
  std::mutex mu;
  std::condition_variable idle;  // populating or tasks_running went down
  // All guarded by mu.
  std::byte* next = nullptr;  // pending pages [next, end)
  std::byte* end = nullptr;
  std::function<void()> task;
  int populating = 0;  // chunks being populated
  // Tasks being run: the pretouch thread may run one while FinishTasks()
  // runs the next one inline, so a count, not a flag.
  int tasks_running = 0;
  bool queued = false;  // on the thread's queue
  bool closed = false;

  bool HasWork() const {
    return !closed && (task || (next < end && PretouchSupported()));
  }
  // Does one task or one chunk; false if there was nothing to do. When
  // `worker` (the pretouch thread) finds nothing, the state leaves its queue.
  bool Step(bool worker);
};

namespace {

// The process's pretouch thread: started by the first background
// Pretoucher, never stopped (it sleeps while no container has work).
class Worker {
 public:
  static Worker& Get() {
    static const bool once = [] {
      // A forked child has no pretouch thread: it starts its own (the
      // parent's may have held the lock at the fork, so it is abandoned).
      ForkGeneration();  // registered first: runs first in the child
      pthread_atfork(nullptr, nullptr, [] { current = new Worker(); });
      current = new Worker();
      return true;
    }();
    (void)once;
    return *current;
  }
  // False if the thread cannot be started (RLIMIT_NPROC, no memory): the
  // state is not queued, and a later Enqueue tries again. Meanwhile the
  // work is done only by Run() and FinishTasks() (tasks run inline there).
  // pthread_create, not std::thread, which would throw.
  bool Enqueue(std::shared_ptr<Pretoucher::State> state) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!started_) {
      pthread_t thread;
      if (pthread_create(&thread, nullptr, &Worker::Start, this) != 0) {
        return false;
      }
      pthread_detach(thread);
      started_ = true;
    }
    queue_.push_back(std::move(state));
    ready_.notify_one();
    return true;
  }

 private:
  static void* Start(void* worker) {
    static_cast<Worker*>(worker)->Loop();
    return nullptr;
  }
  [[noreturn]] void Loop() {
    while (true) {
      std::shared_ptr<Pretoucher::State> state;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return !queue_.empty(); });
        state = std::move(queue_.front());
        queue_.pop_front();
      }
      if (state->Step(true)) {  // more may follow: take turns
        std::lock_guard<std::mutex> lock(mu_);
        try {
          queue_.push_back(std::move(state));
        } catch (const std::bad_alloc&) {
          // Out of memory: this state gets no more background turns (it
          // stays marked queued); its owner's Run() and FinishTasks() still
          // do the work inline. An exception here would end the process.
        }
      }
    }
  }

  static inline Worker* current = nullptr;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::shared_ptr<Pretoucher::State>> queue_;  // guarded by mu_
  bool started_ = false;                                  // guarded by mu_
};

}  // namespace

bool Pretoucher::State::Step(bool worker) {
  std::unique_lock<std::mutex> lock(mu);
  if (!HasWork()) {
    if (worker) queued = false;
    return false;
  }
  if (task) {
    std::function<void()> run = std::move(task);
    task = nullptr;
    ++tasks_running;
    lock.unlock();
    try {
      run();
    } catch (...) {
      // Out of memory inside a task (the only exception mapfile code can
      // throw): the task did not finish, and its owner redoes the work
      // (AppendLog prepares the next segment itself at the roll). On the
      // pretouch thread an exception would end the process.
    }
    lock.lock();
    --tasks_running;
    idle.notify_all();
    return true;
  }
  std::byte* const from = next;
  std::byte* const to = std::min(end, from + kChunk);
  next = to;
  ++populating;
  lock.unlock();
  // Changes no byte: the writer may be storing into these pages right now.
  try {  // the error message allocates; on the pretouch thread a throw ends
         // the process
    const absl::Status status = os::Madvise(
        from, static_cast<size_t>(to - from), MADV_POPULATE_WRITE, "pretouch");
    if (status.code() == absl::StatusCode::kInvalidArgument) {
      g_supported.store(false, std::memory_order_relaxed);  // kernel < 5.14
    }
  } catch (const std::bad_alloc&) {
  }
  // Other errors (a range past the file's end, no memory) skip the chunk:
  // the writer faults there as it would without pretouch.
  lock.lock();
  --populating;
  idle.notify_all();
  return true;
}

Pretoucher::Pretoucher(uint64_t window, bool background)
    : window_(window),
      background_(background),
      generation_(ForkGeneration()),
      state_(std::make_shared<State>()) {}

Pretoucher::~Pretoucher() {
  if (Inherited()) {
    // Abandoned, never destroyed: its lock may be held and its condition
    // variable waited on by threads that do not exist here (destroying it
    // could block). Kept reachable, so not reported as a leak.
    static auto* const abandoned = new std::vector<std::shared_ptr<State>>();
    abandoned->push_back(std::move(state_));
    return;
  }
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.closed = true;
  s.task = nullptr;
  s.next = s.end = nullptr;
  s.idle.wait(lock, [&] { return s.populating == 0 && s.tasks_running == 0; });
}

void Pretoucher::Touch(std::byte* begin, std::byte* end) {
  const uintptr_t page = os::PageSize();
  begin = reinterpret_cast<std::byte*>(reinterpret_cast<uintptr_t>(begin) /
                                       page * page);
  if (Inherited()) return;
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->next = begin;
  state_->end = end;
  Schedule();
}

void Pretoucher::Post(std::function<void()> task) {
  if (Inherited()) return;
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->task = std::move(task);
  Schedule();
}

void Pretoucher::Schedule() {
  if (background_ && !state_->queued && state_->HasWork()) {
    state_->queued = Worker::Get().Enqueue(state_);
  }
}

void Pretoucher::Run() {
  if (Inherited()) return;
  while (state_->Step(false)) {
  }
}

void Pretoucher::FinishTasks() {
  if (Inherited()) return;
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.task) {
    lock.unlock();
    s.Step(false);  // runs the task first (or finds another thread took it)
    lock.lock();
  }
  s.idle.wait(lock, [&] { return s.tasks_running == 0; });
}

void Pretoucher::Stop() {
  if (Inherited()) return;
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.next = s.end = nullptr;
  s.idle.wait(lock, [&] { return s.populating == 0; });
}

}  // namespace internal
}  // namespace mapfile
