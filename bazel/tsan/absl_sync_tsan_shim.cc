// ThreadSanitizer shim for a *system* (uninstrumented) Abseil.
//
// Debian's libabsl_synchronization.so is not built with -fsanitize=thread, so
// TSan cannot see that absl::Mutex / CondVar / Notification order memory
// accesses (they use futexes and atomics inside the uninstrumented library),
// and reports false data races on data guarded by an absl::Mutex.
//
// Under TSan this file interposes the public entry points (the executable's
// definitions win over the shared library's), forwards to the library's
// implementation via dlsym(RTLD_NEXT), and tells TSan about the
// happens-before edges with __tsan_acquire/__tsan_release (Condition
// predicates included).
// Without TSan this file compiles to nothing.
//
// Linked into @com_google_absl//absl/synchronization (alwayslink).

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MAPFILE_ABSL_TSAN_SHIM 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MAPFILE_ABSL_TSAN_SHIM 1
#endif

#ifdef MAPFILE_ABSL_TSAN_SHIM

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);

namespace {

#define SHIM_STR2(x) #x
#define SHIM_STR(x) SHIM_STR2(x)

// "_ZN4absl<len><inline ns>" + rest, e.g. _ZN4absl7debian35Mutex4LockEv.
template <typename Fn>
Fn Next(const char* prefix, const char* rest) {
  std::string sym = prefix;
#ifdef ABSL_OPTION_INLINE_NAMESPACE_NAME
  const char* ns = SHIM_STR(ABSL_OPTION_INLINE_NAMESPACE_NAME);
  sym += "4absl" + std::to_string(std::strlen(ns)) + ns;
#else
  sym += "4absl";
#endif
  sym += rest;
  void* p = dlsym(RTLD_NEXT, sym.c_str());
  if (p == nullptr) {
    std::fprintf(stderr, "absl tsan shim: symbol %s not found\n", sym.c_str());
    std::abort();
  }
  return reinterpret_cast<Fn>(p);
}

#define NEXT(type, prefix, rest)                  \
  static const auto next = Next<type>(prefix, rest)

inline void Acq(const void* p) { __tsan_acquire(const_cast<void*>(p)); }
inline void Rel(const void* p) { __tsan_release(const_cast<void*>(p)); }

using M = absl::Mutex;
using C = absl::Condition;

// absl evaluates a Condition while it holds the mutex, possibly on another
// (e.g. the unlocking) thread: wrap it so the evaluation is ordered too.
struct CondCtx {
  const C* c;
  M* mu;
};
bool EvalOrdered(CondCtx* x) {
  Acq(x->mu);
  bool r = x->c->Eval();
  Rel(x->mu);
  return r;
}
#define WRAP_COND(c)          \
  CondCtx ctx_{&(c), this};   \
  const C wc_(&EvalOrdered, &ctx_)

}  // namespace

namespace absl {
ABSL_NAMESPACE_BEGIN

void Mutex::Lock() {
  NEXT(void (*)(M*), "_ZN", "5Mutex4LockEv");
  next(this);
  Acq(this);
}
void Mutex::ReaderLock() {
  NEXT(void (*)(M*), "_ZN", "5Mutex10ReaderLockEv");
  next(this);
  Acq(this);
}
bool Mutex::TryLock() {
  NEXT(bool (*)(M*), "_ZN", "5Mutex7TryLockEv");
  bool ok = next(this);
  if (ok) Acq(this);
  return ok;
}
bool Mutex::ReaderTryLock() {
  NEXT(bool (*)(M*), "_ZN", "5Mutex13ReaderTryLockEv");
  bool ok = next(this);
  if (ok) Acq(this);
  return ok;
}
void Mutex::Unlock() {
  NEXT(void (*)(M*), "_ZN", "5Mutex6UnlockEv");
  Rel(this);
  next(this);
}
void Mutex::ReaderUnlock() {
  NEXT(void (*)(M*), "_ZN", "5Mutex12ReaderUnlockEv");
  Rel(this);
  next(this);
}
void Mutex::LockWhen(const Condition& c) {
  WRAP_COND(c);
  NEXT(void (*)(M*, const C&), "_ZN", "5Mutex8LockWhenERKNS0_9ConditionE");
  next(this, wc_);
  Acq(this);
}
void Mutex::ReaderLockWhen(const Condition& c) {
  WRAP_COND(c);
  NEXT(void (*)(M*, const C&), "_ZN", "5Mutex14ReaderLockWhenERKNS0_9ConditionE");
  next(this, wc_);
  Acq(this);
}
bool Mutex::LockWhenWithTimeout(const Condition& c, Duration d) {
  WRAP_COND(c);
  NEXT(bool (*)(M*, const C&, Duration), "_ZN",
       "5Mutex19LockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  bool r = next(this, wc_, d);
  Acq(this);
  return r;
}
bool Mutex::ReaderLockWhenWithTimeout(const Condition& c, Duration d) {
  WRAP_COND(c);
  NEXT(bool (*)(M*, const C&, Duration), "_ZN",
       "5Mutex25ReaderLockWhenWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  bool r = next(this, wc_, d);
  Acq(this);
  return r;
}
bool Mutex::LockWhenWithDeadline(const Condition& c, Time t) {
  WRAP_COND(c);
  NEXT(bool (*)(M*, const C&, Time), "_ZN",
       "5Mutex20LockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  bool r = next(this, wc_, t);
  Acq(this);
  return r;
}
bool Mutex::ReaderLockWhenWithDeadline(const Condition& c, Time t) {
  WRAP_COND(c);
  NEXT(bool (*)(M*, const C&, Time), "_ZN",
       "5Mutex26ReaderLockWhenWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  bool r = next(this, wc_, t);
  Acq(this);
  return r;
}
void Mutex::Await(const Condition& c) {
  WRAP_COND(c);
  NEXT(void (*)(M*, const C&), "_ZN", "5Mutex5AwaitERKNS0_9ConditionE");
  Rel(this);
  next(this, wc_);
  Acq(this);
}
bool Mutex::AwaitWithTimeout(const Condition& c, Duration d) {
  WRAP_COND(c);
  NEXT(bool (*)(M*, const C&, Duration), "_ZN",
       "5Mutex16AwaitWithTimeoutERKNS0_9ConditionENS0_8DurationE");
  Rel(this);
  bool r = next(this, wc_, d);
  Acq(this);
  return r;
}
bool Mutex::AwaitWithDeadline(const Condition& c, Time t) {
  WRAP_COND(c);
  NEXT(bool (*)(M*, const C&, Time), "_ZN",
       "5Mutex17AwaitWithDeadlineERKNS0_9ConditionENS0_4TimeE");
  Rel(this);
  bool r = next(this, wc_, t);
  Acq(this);
  return r;
}

void CondVar::Wait(Mutex* mu) {
  NEXT(void (*)(CondVar*, M*), "_ZN", "7CondVar4WaitEPNS0_5MutexE");
  Rel(mu);
  next(this, mu);
  Acq(mu);
}
bool CondVar::WaitWithTimeout(Mutex* mu, Duration d) {
  NEXT(bool (*)(CondVar*, M*, Duration), "_ZN",
       "7CondVar15WaitWithTimeoutEPNS0_5MutexENS0_8DurationE");
  Rel(mu);
  bool r = next(this, mu, d);
  Acq(mu);
  return r;
}
bool CondVar::WaitWithDeadline(Mutex* mu, Time t) {
  NEXT(bool (*)(CondVar*, M*, Time), "_ZN",
       "7CondVar16WaitWithDeadlineEPNS0_5MutexENS0_4TimeE");
  Rel(mu);
  bool r = next(this, mu, t);
  Acq(mu);
  return r;
}

// Notification: {Mutex mutex_; std::atomic<bool> notified_yet_;}. Releasing
// on &notified_yet_ also pairs with the (instrumented, inline) acquire load in
// HasBeenNotified().
static const void* NotifiedFlag(const Notification* n) {
  return reinterpret_cast<const char*>(n) + sizeof(Mutex);
}
void Notification::Notify() {
  NEXT(void (*)(Notification*), "_ZN", "12Notification6NotifyEv");
  Rel(NotifiedFlag(this));
  next(this);
}
void Notification::WaitForNotification() const {
  NEXT(void (*)(const Notification*), "_ZNK",
       "12Notification19WaitForNotificationEv");
  next(this);
  Acq(NotifiedFlag(this));
}
bool Notification::WaitForNotificationWithTimeout(Duration d) const {
  NEXT(bool (*)(const Notification*, Duration), "_ZNK",
       "12Notification30WaitForNotificationWithTimeoutENS0_8DurationE");
  bool r = next(this, d);
  if (r) Acq(NotifiedFlag(this));
  return r;
}
bool Notification::WaitForNotificationWithDeadline(Time t) const {
  NEXT(bool (*)(const Notification*, Time), "_ZNK",
       "12Notification31WaitForNotificationWithDeadlineENS0_4TimeE");
  bool r = next(this, t);
  if (r) Acq(NotifiedFlag(this));
  return r;
}

ABSL_NAMESPACE_END
}  // namespace absl

#endif  // MAPFILE_ABSL_TSAN_SHIM
