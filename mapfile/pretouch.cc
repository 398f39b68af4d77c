// Copyright 2026 The mapfile Authors.

#include "mapfile/internal/pretouch.h"

#include <pthread.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>

#include "mapfile/internal/os.h"

namespace mapfile {
namespace internal {
namespace {

// Populated per step: small, so that Stop() waits little and several
// containers take turns.
constexpr size_t kChunk = 64 << 10;

std::atomic<bool> g_supported{true};

}  // namespace

bool PretouchSupported() {
  return g_supported.load(std::memory_order_relaxed);
}

// std::mutex rather than absl::Mutex: ThreadSanitizer sees pthread locks
// even where Abseil is a system library built without it.
struct Pretoucher::State {
  std::mutex mu;
  std::condition_variable idle;  // populating or task_running went down
  // All guarded by mu.
  std::byte* next = nullptr;  // pending pages [next, end)
  std::byte* end = nullptr;
  std::function<void()> task;
  int populating = 0;  // chunks being populated
  bool task_running = false;
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
      pthread_atfork(nullptr, nullptr, [] { current = new Worker(); });
      current = new Worker();
      return true;
    }();
    (void)once;
    return *current;
  }
  void Enqueue(std::shared_ptr<Pretoucher::State> state) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(state));
    ready_.notify_one();
    if (!started_) {
      started_ = true;
      std::thread([this] { Loop(); }).detach();
    }
  }

 private:
  void Loop() {
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
        queue_.push_back(std::move(state));
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
    task_running = true;
    lock.unlock();
    run();
    lock.lock();
    task_running = false;
    idle.notify_all();
    return true;
  }
  std::byte* const from = next;
  std::byte* const to = std::min(end, from + kChunk);
  next = to;
  ++populating;
  lock.unlock();
  // Changes no byte: the writer may be storing into these pages right now.
  const absl::Status status = os::Madvise(from, static_cast<size_t>(to - from),
                                          MADV_POPULATE_WRITE, "pretouch");
  if (status.code() == absl::StatusCode::kInvalidArgument) {
    g_supported.store(false, std::memory_order_relaxed);  // kernel < 5.14
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
      state_(std::make_shared<State>()) {}

Pretoucher::~Pretoucher() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.closed = true;
  s.task = nullptr;
  s.next = s.end = nullptr;
  s.idle.wait(lock, [&] { return s.populating == 0 && !s.task_running; });
}

void Pretoucher::Touch(std::byte* begin, std::byte* end) {
  const uintptr_t page = os::PageSize();
  begin = reinterpret_cast<std::byte*>(reinterpret_cast<uintptr_t>(begin) /
                                       page * page);
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->next = begin;
  state_->end = end;
  Schedule();
}

void Pretoucher::Post(std::function<void()> task) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->task = std::move(task);
  Schedule();
}

void Pretoucher::Schedule() {
  if (background_ && !state_->queued && state_->HasWork()) {
    state_->queued = true;
    Worker::Get().Enqueue(state_);
  }
}

void Pretoucher::Run() {
  while (state_->Step(false)) {
  }
}

void Pretoucher::FinishTasks() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (s.task) {
    lock.unlock();
    s.Step(false);  // runs the task first (or finds another thread took it)
    lock.lock();
  }
  s.idle.wait(lock, [&] { return !s.task_running; });
}

void Pretoucher::Stop() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.next = s.end = nullptr;
  s.idle.wait(lock, [&] { return s.populating == 0; });
}

}  // namespace internal
}  // namespace mapfile
