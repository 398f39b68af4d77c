// Copyright 2026 The mapfile Authors.
//
// testing.h: helpers shared by mapfile's tests: temporary directories, child
// processes, and a real tiny file system (tmpfs in a private mount namespace)
// for disk-full tests.

#ifndef MAPFILE_TESTS_TESTING_H_
#define MAPFILE_TESTS_TESTING_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"

#if defined(__SANITIZE_ADDRESS__)
#define MAPFILE_TESTING_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAPFILE_TESTING_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define MAPFILE_TESTING_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define MAPFILE_TESTING_TSAN 1
#endif
#endif

namespace mapfile {
namespace testing {

// Whether the test runs under AddressSanitizer or ThreadSanitizer (gcc
// defines __SANITIZE_*__, clang has __has_feature), whose shadow memory
// changes what a test can expect of address space and mappings.
#ifdef MAPFILE_TESTING_ASAN
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#ifdef MAPFILE_TESTING_TSAN
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// A fresh directory under $TEST_TMPDIR (or /tmp), removed with everything in
// it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name
  std::string File(const std::string& name) const;

 private:
  std::string path_;
};

// Writes `contents` to `path` (truncating). Returns false on any error.
bool WriteFile(const std::string& path, const std::string& contents);
// The whole file, or "" if it cannot be read.
std::string ReadFile(const std::string& path);

// Runs `body` in a forked child and returns its exit code (0..255), or
// 128 + signal number if a signal killed it. `body`'s return value is the
// child's exit code; the child never returns into the test framework.
int RunInChild(const std::function<int()>& body);

// Runs `body` in a forked child that has a private mount namespace (made with
// unshare(CLONE_NEWNS), or CLONE_NEWUSER|CLONE_NEWNS when not root) with a
// tmpfs of `bytes` mounted at a fresh directory, passed to `body`. Returns the
// child's exit code as RunInChild does, or Unavailable if this machine does
// not allow such namespaces (the caller should skip).
// Moves this whole test process into a private mount namespace (as
// RunWithTinyTmpfs) with a tmpfs of `bytes` mounted at a fresh directory,
// and points $TEST_TMPDIR there: every TempDir made afterwards, and every
// child process, lives in the tmpfs. For tests that craft huge or hostile
// files. REQUIRES: the process has one thread (call it from a global test
// environment's SetUp). Unavailable if the machine does not allow it.
absl::Status MoveTempDirsToTinyTmpfs(uint64_t bytes);

absl::StatusOr<int> RunWithTinyTmpfs(
    uint64_t bytes, const std::function<int(const std::string& dir)>& body);

}  // namespace testing
}  // namespace mapfile

#endif  // MAPFILE_TESTS_TESTING_H_
