// Copyright 2026 The mapfile Authors.

#include "tests/testing.h"

#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace mapfile {
namespace testing {
namespace {

// Exit code of a child that could not set up its namespace.
constexpr int kNoNamespace = 125;

bool WriteProcFile(const char* path, const std::string& text) {
  int fd = ::open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) ==
            static_cast<ssize_t>(text.size());
  ::close(fd);
  return ok;
}

// A private mount namespace for this process: as root directly, otherwise
// inside a new user namespace that maps our ids to root.
bool EnterPrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) != 0) {
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0) return false;
    WriteProcFile("/proc/self/setgroups", "deny");
    if (!WriteProcFile("/proc/self/uid_map", absl::StrCat("0 ", uid, " 1")) ||
        !WriteProcFile("/proc/self/gid_map", absl::StrCat("0 ", gid, " 1"))) {
      return false;
    }
  }
  // Keep our mounts from propagating back to the parent namespace.
  return ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0;
}

}  // namespace

TempDir::TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string pattern =
      absl::StrCat(base != nullptr && *base ? base : "/tmp", "/mapfile.XXXXXX");
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();  // test set-up, not library code
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(const std::string& name) const {
  return absl::StrCat(path_, "/", name);
}

bool WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return static_cast<bool>(out);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

int RunInChild(const std::function<int()>& body) {
  std::fflush(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(body());
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

absl::Status MoveTempDirsToTinyTmpfs(uint64_t bytes) {
  // The tmpfs hides it; never removed (kept reachable, for LeakSanitizer).
  static TempDir* mount_point = nullptr;
  mount_point = new TempDir();
  if (!EnterPrivateMountNamespace() ||
      ::mount("tmpfs", mount_point->path().c_str(), "tmpfs", 0,
              absl::StrCat("size=", bytes).c_str()) != 0) {
    return absl::UnavailableError(
        "this machine does not allow a private mount namespace with tmpfs "
        "(unshare/mount refused)");
  }
  ::setenv("TEST_TMPDIR", mount_point->path().c_str(), 1);
  return absl::OkStatus();
}

absl::StatusOr<int> RunWithTinyTmpfs(
    uint64_t bytes, const std::function<int(const std::string& dir)>& body) {
  TempDir mount_point;
  int code = RunInChild([&] {
    if (!EnterPrivateMountNamespace()) return kNoNamespace;
    std::string options = absl::StrCat("size=", bytes);
    if (::mount("tmpfs", mount_point.path().c_str(), "tmpfs", 0,
                options.c_str()) != 0) {
      return kNoNamespace;
    }
    return body(mount_point.path());
  });
  if (code == kNoNamespace) {
    return absl::UnavailableError(
        "this machine does not allow a private mount namespace with tmpfs "
        "(unshare/mount refused)");
  }
  return code;
}

}  // namespace testing
}  // namespace mapfile
