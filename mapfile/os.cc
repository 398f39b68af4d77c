// Copyright 2026 The mapfile Authors.

#include "mapfile/internal/os.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <linux/futex.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <utility>

#include "absl/base/optimization.h"
#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"

namespace mapfile {
namespace os {
namespace {

// ---- Fault registry --------------------------------------------------------

struct OpState {
  fault::Rule rule{};
  bool has_rule = false;
  uint64_t calls = 0;  // since the rule was set or Reset
};

std::atomic<bool> g_armed{false};
std::mutex g_fault_mu;
std::array<OpState, static_cast<size_t>(Op::kCount)> g_faults;  // g_fault_mu

// Called at the top of every attempt of a wrapped call. Returns the errno to
// fail with (0: run the call), and lowers *transfer to the injected short
// transfer limit if one applies.
int Check(Op op, size_t* transfer = nullptr) {
  if (ABSL_PREDICT_TRUE(!g_armed.load(std::memory_order_relaxed))) return 0;
  std::lock_guard<std::mutex> lock(g_fault_mu);
  OpState& s = g_faults[static_cast<size_t>(op)];
  const uint64_t n = ++s.calls;
  if (!s.has_rule) return 0;
  const fault::Rule& r = s.rule;
  if (transfer != nullptr && r.max_transfer > 0 && *transfer > r.max_transfer) {
    *transfer = r.max_transfer;
  }
  if (r.error == 0 || n < r.nth) return 0;
  if (r.times != fault::kForever && n - r.nth >= r.times) return 0;
  return r.error;
}

// Runs `call` (which returns -1 and sets errno on failure) with injection
// and EINTR retry; returns its result with errno preserved.
template <typename Call>
auto Retry(Op op, Call call) -> decltype(call()) {
  while (true) {
    if (int injected = Check(op)) {
      errno = injected;
      if (injected == EINTR) continue;
      return -1;
    }
    auto result = call();
    if (result == -1 && errno == EINTR) continue;
    return result;
  }
}

std::string FlockName(int operation) {
  std::string s = (operation & LOCK_EX)   ? "LOCK_EX"
                  : (operation & LOCK_SH) ? "LOCK_SH"
                                          : "LOCK_UN";
  if (operation & LOCK_NB) s += "|LOCK_NB";
  return s;
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

std::string OctalMode(mode_t mode) {
  std::string digits;
  do {
    digits.insert(digits.begin(), static_cast<char>('0' + (mode & 7)));
    mode >>= 3;
  } while (mode != 0);
  return absl::StrCat("0", digits);
}

absl::string_view OpName(Op op) {
  static constexpr std::array<absl::string_view, static_cast<size_t>(Op::kCount)>
      kNames = {"open",     "close",         "fstat",    "stat",
                "ftruncate", "fallocate",    "fdatasync", "fsync",
                "flock",    "rename",        "unlink",   "mkdir",
                "readdir",  "pread",         "pwrite",   "memfd_create",
                "mmap",     "munmap",        "mremap",   "msync",
                "madvise",  "mincore",       "aligned_alloc", "futex",
                "sync_file_range", "fchmod",     "fchown",
                "fstatvfs"};
  size_t i = static_cast<size_t>(op);
  return i < kNames.size() ? kNames[i] : "unknown";
}

absl::StatusCode ErrnoToCode(int error_number) {
  switch (error_number) {
    case 0:
      return absl::StatusCode::kOk;
    case ENOENT:
      return absl::StatusCode::kNotFound;
    case EEXIST:
    case ENOTEMPTY:
      return absl::StatusCode::kAlreadyExists;
    case EACCES:
    case EPERM:
    case EROFS:
    case ETXTBSY:
      return absl::StatusCode::kPermissionDenied;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case ENOMEM:
    case EMFILE:
    case ENFILE:
    case EOVERFLOW:
    case EAGAIN:  // == EWOULDBLOCK; a lock held elsewhere is Flock's
      return absl::StatusCode::kResourceExhausted;
    case EBUSY:  // e.g. msync of locked pages: not a lock on the file
      return absl::StatusCode::kFailedPrecondition;
    case EINVAL:
    case EISDIR:
    case ENOTDIR:
    case ENAMETOOLONG:
    case ELOOP:
    case ENXIO:
    case ENODEV:
    case EBADF:
    case ESPIPE:
      return absl::StatusCode::kInvalidArgument;
    case EOPNOTSUPP:
    case ENOSYS:
      return absl::StatusCode::kUnimplemented;
    case EIO:
      return absl::StatusCode::kDataLoss;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::Status ErrnoStatus(int error_number, absl::string_view call) {
  char buffer[256];
  // GNU strerror_r: returns the message, thread-safe.
  const char* text = strerror_r(error_number, buffer, sizeof(buffer));
  return absl::Status(ErrnoToCode(error_number),
                      absl::StrCat(call, ": ", text));
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(),
                      absl::StrCat(context, ": ", status.message()));
}

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

const char* FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

// ---- Fd --------------------------------------------------------------------

Fd::Fd(Fd&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    Close().IgnoreError();
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

Fd::~Fd() { Close().IgnoreError(); }

absl::Status Fd::Close() {
  if (fd_ < 0) return absl::OkStatus();
  return os::Close(std::exchange(fd_, -1), path_);
}

// ---- Files -----------------------------------------------------------------

absl::StatusOr<Fd> Open(const std::string& path, int flags, mode_t mode,
                        bool* created, bool sync_parent) {
  if (created != nullptr) *created = false;
  flags |= O_CLOEXEC;
  // Allocated before there is a descriptor to leak if it throws.
  std::string owned_path = path;
  auto call = [&](int f) {
    return Retry(Op::kOpen, [&] { return ::open(path.c_str(), f, mode); });
  };
  auto error = [&](int f) {
    return ErrnoStatus(errno,
                       absl::StrCat("open(", Quote(path), ", ",
                                    (f & O_ACCMODE) == O_RDONLY   ? "O_RDONLY"
                                    : (f & O_ACCMODE) == O_WRONLY ? "O_WRONLY"
                                                                  : "O_RDWR",
                                    (f & O_EXCL)    ? "|O_CREAT|O_EXCL"
                                    : (f & O_CREAT) ? "|O_CREAT"
                                                    : "",
                                    ")"));
  };
  int fd = -1;
  bool made = false;
  if ((flags & O_CREAT) && !(flags & O_EXCL)) {
    // Tell "opened" from "created" so that only a creation pays for the
    // directory fsync: try the existing file first, then create exclusively.
    while (fd < 0) {
      fd = call(flags & ~O_CREAT);
      if (fd >= 0 || errno != ENOENT) break;
      fd = call(flags | O_EXCL);
      if (fd >= 0) {
        made = true;
      } else if (errno != EEXIST) {
        break;  // EEXIST: another process created it meanwhile; open it
      }
    }
    if (fd < 0) return error(flags);
  } else {
    fd = call(flags);
    if (fd < 0) return error(flags);
    made = (flags & O_CREAT) != 0;
  }
  Fd owned(fd, std::move(owned_path));
  if (made && sync_parent) {
    absl::Status synced = FsyncParentDirectory(path);
    if (!synced.ok()) {  // name the file the caller asked for, too
      return absl::Status(synced.code(),
                          absl::StrCat("open(", Quote(path),
                                       "): created, but syncing its directory "
                                       "failed: ",
                                       synced.message()));
    }
  }
  if (created != nullptr) *created = made;
  return owned;
}

absl::Status Close(int fd, absl::string_view path) {
  int injected = Check(Op::kClose);
  int rc = ::close(fd);  // always release the descriptor
  if (injected != 0) {
    errno = injected;
    rc = -1;
  }
  if (rc == 0 || (rc == -1 && errno == EINTR)) return absl::OkStatus();
  // Not DataLoss even for EIO: mapfile syncs what it needs before it
  // closes, so a failed close loses nothing that a Sync reported as durable.
  const int err = errno;
  try {  // destructors close: out of memory here must not throw
    const absl::Status status =
        ErrnoStatus(err, absl::StrCat("close(", Quote(path), ")"));
    return absl::Status(absl::StatusCode::kUnknown, status.message());
  } catch (...) {
    return absl::Status(absl::StatusCode::kUnknown, "");
  }
}

absl::StatusOr<struct stat> Fstat(int fd, absl::string_view path) {
  struct stat st;
  if (Retry(Op::kFstat, [&] { return ::fstat(fd, &st); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fstat(", Quote(path), ")"));
  }
  return st;
}

absl::Status Fchmod(int fd, absl::string_view path, mode_t mode) {
  mode &= 07777;
  if (Retry(Op::kFchmod, [&] { return ::fchmod(fd, mode); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fchmod(", Quote(path), ", mode=",
                                           OctalMode(mode), ")"));
  }
  return absl::OkStatus();
}

namespace {

// fchown(2), returning errno (0 on success) so that callers can tell EPERM.
int FchownErrno(int fd, uid_t owner, gid_t group) {
  return Retry(Op::kFchown, [&] { return ::fchown(fd, owner, group); }) == 0
             ? 0
             : errno;
}

absl::Status FchownStatus(int error, absl::string_view path, uid_t owner,
                          gid_t group) {
  if (error == 0) return absl::OkStatus();
  // As the call is written: -1 for "unchanged".
  return ErrnoStatus(error, absl::StrCat("fchown(", Quote(path), ", owner=",
                                         static_cast<int>(owner), ", group=",
                                         static_cast<int>(group), ")"));
}

}  // namespace

absl::Status Fchown(int fd, absl::string_view path, uid_t owner, gid_t group) {
  return FchownStatus(FchownErrno(fd, owner, group), path, owner, group);
}

absl::Status KeepAccess(int fd, absl::string_view path,
                        const struct stat& original) {
  absl::StatusOr<struct stat> stat = Fstat(fd, path);
  if (!stat.ok()) return stat.status();
  const struct stat& now = *stat;
  constexpr uid_t kSameOwner = static_cast<uid_t>(-1);
  constexpr gid_t kSameGroup = static_cast<gid_t>(-1);
  const uid_t owner =
      now.st_uid == original.st_uid ? kSameOwner : original.st_uid;
  const gid_t group =
      now.st_gid == original.st_gid ? kSameGroup : original.st_gid;
  bool group_kept = true;
  // Owner and group first: fchown by a process that is not root clears the
  // set-user-ID and set-group-ID bits, which fchmod then restores.
  if (owner != kSameOwner || group != kSameGroup) {
    uid_t tried = owner;
    int error = FchownErrno(fd, owner, group);
    if (error == EPERM && owner != kSameOwner && group != kSameGroup) {
      tried = kSameOwner;  // the group alone
      error = FchownErrno(fd, tried, group);
    }
    if (error == EPERM) {
      group_kept = group == kSameGroup;
    } else {
      absl::Status status = FchownStatus(error, path, tried, group);
      if (!status.ok()) return status;
    }
  }
  mode_t mode = original.st_mode & 07777;
  if (!group_kept) mode &= ~static_cast<mode_t>(S_ISGID | 0070);
  return Fchmod(fd, path, mode);
}

absl::StatusOr<struct stat> Stat(const std::string& path) {
  struct stat st;
  if (Retry(Op::kStat, [&] { return ::stat(path.c_str(), &st); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("stat(", Quote(path), ")"));
  }
  return st;
}

bool OnTmpfs(const std::string& path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) == 0) return fs.f_type == TMPFS_MAGIC;
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "."
                          : slash == 0               ? "/"
                                                     : path.substr(0, slash);
  return ::statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

absl::Status Ftruncate(int fd, absl::string_view path, uint64_t size) {
  if (size > static_cast<uint64_t>(INT64_MAX)) {
    return ErrnoStatus(
        EFBIG, absl::StrCat("ftruncate(", Quote(path), ", length=", size, ")"));
  }
  if (Retry(Op::kFtruncate,
            [&] { return ::ftruncate(fd, static_cast<off_t>(size)); }) != 0) {
    return ErrnoStatus(
        errno, absl::StrCat("ftruncate(", Quote(path), ", length=", size, ")"));
  }
  return absl::OkStatus();
}

absl::Status Fallocate(int fd, absl::string_view path, uint64_t offset,
                       uint64_t length, int mode) {
  auto call = [&] {
    return absl::StrCat("fallocate(", Quote(path), ", mode=",
                        mode == FALLOC_FL_KEEP_SIZE ? std::string("KEEP_SIZE")
                                                    : absl::StrCat(mode),
                        ", offset=", offset, ", length=", length, ")");
  };
  if (offset > static_cast<uint64_t>(INT64_MAX) ||
      length > static_cast<uint64_t>(INT64_MAX) - offset) {
    return ErrnoStatus(EFBIG, call());
  }
  if (Retry(Op::kFallocate, [&] {
        return ::fallocate(fd, mode, static_cast<off_t>(offset),
                           static_cast<off_t>(length));
      }) != 0) {
    return ErrnoStatus(errno, call());
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> FreeSpace(int fd, absl::string_view path) {
  struct statvfs st;
  if (Retry(Op::kFstatvfs, [&] { return ::fstatvfs(fd, &st); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fstatvfs(", Quote(path), ")"));
  }
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

absl::Status CheckFreeSpace(int fd, absl::string_view path, uint64_t offset,
                            uint64_t length) {
  if (length <= kLargeClaim) return absl::OkStatus();
  auto claim = [&] {
    return absl::StrCat("fallocate(", Quote(path), ", mode=0, offset=", offset,
                        ", length=", length, ")");
  };
  absl::StatusOr<uint64_t> free = FreeSpace(fd, path);
  if (!free.ok()) return Annotate(free.status(), claim());
  if (*free < kFreeSpaceReserve || length > *free - kFreeSpaceReserve) {
    return absl::ResourceExhaustedError(absl::StrCat(
        claim(), ": refused: ", length, " bytes asked, ", *free,
        " free on the file system (", kFreeSpaceReserve >> 20,
        " MiB must stay free)"));
  }
  return absl::OkStatus();
}

absl::Status Fdatasync(int fd, absl::string_view path) {
  if (Retry(Op::kFdatasync, [&] { return ::fdatasync(fd); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fdatasync(", Quote(path), ")"));
  }
  return absl::OkStatus();
}

absl::Status SyncFileRange(int fd, absl::string_view path, uint64_t offset,
                           uint64_t length, unsigned flags) {
  if (Retry(Op::kSyncFileRange, [&] {
        return ::sync_file_range(fd, static_cast<off64_t>(offset),
                                 static_cast<off64_t>(length), flags);
      }) != 0) {
    return ErrnoStatus(
        errno, absl::StrCat("sync_file_range(", Quote(path),
                            ", offset=", offset, ", length=", length, ")"));
  }
  return absl::OkStatus();
}

absl::Status Fsync(int fd, absl::string_view path) {
  if (Retry(Op::kFsync, [&] { return ::fsync(fd); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("fsync(", Quote(path), ")"));
  }
  return absl::OkStatus();
}

absl::Status FsyncDirectory(const std::string& dir) {
  const std::string step = absl::StrCat("syncing directory ", Quote(dir));
  absl::StatusOr<Fd> fd = Open(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return Annotate(fd.status(), step);
  absl::Status synced = Fsync(fd->get(), dir);
  absl::Status closed = fd->Close();
  return Annotate(synced.ok() ? closed : synced, step);
}

absl::Status FsyncParentDirectory(const std::string& path) {
  return FsyncDirectory(DirectoryOf(path));
}

absl::Status Flock(int fd, absl::string_view path, int operation) {
  if (Retry(Op::kFlock, [&] { return ::flock(fd, operation); }) != 0) {
    int err = errno;
    std::string call =
        absl::StrCat("flock(", Quote(path), ", ", FlockName(operation), ")");
    absl::Status status = ErrnoStatus(err, call);
    if (err == EWOULDBLOCK) {
      return absl::UnavailableError(
          absl::StrCat(status.message(), " (another process holds the lock)"));
    }
    return status;
  }
  return absl::OkStatus();
}

absl::Status Rename(const std::string& from, const std::string& to,
                    bool sync_directory) {
  if (Retry(Op::kRename, [&] { return ::rename(from.c_str(), to.c_str()); }) !=
      0) {
    return ErrnoStatus(
        errno, absl::StrCat("rename(", Quote(from), ", ", Quote(to), ")"));
  }
  if (!sync_directory) return absl::OkStatus();
  const std::string from_dir = DirectoryOf(from), to_dir = DirectoryOf(to);
  absl::Status status = FsyncDirectory(to_dir);
  if (status.ok() && from_dir != to_dir) status = FsyncDirectory(from_dir);
  return status;
}

absl::Status Unlink(const std::string& path, bool sync_directory) {
  if (Retry(Op::kUnlink, [&] { return ::unlink(path.c_str()); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("unlink(", Quote(path), ")"));
  }
  if (!sync_directory) return absl::OkStatus();
  return FsyncParentDirectory(path);
}

absl::Status Mkdir(const std::string& path, mode_t mode) {
  if (Retry(Op::kMkdir, [&] { return ::mkdir(path.c_str(), mode); }) != 0) {
    return ErrnoStatus(errno, absl::StrCat("mkdir(", Quote(path),
                                           ", mode=", OctalMode(mode), ")"));
  }
  return FsyncParentDirectory(path);
}

absl::StatusOr<std::vector<std::string>> ReadDir(const std::string& dir) {
  DIR* d = nullptr;
  while (d == nullptr) {  // EINTR is retried, as in every other wrapper
    if (int injected = Check(Op::kReadDir)) {
      errno = injected;
    } else {
      d = ::opendir(dir.c_str());
    }
    if (d == nullptr && errno != EINTR) break;
  }
  if (d == nullptr) {
    return ErrnoStatus(errno, absl::StrCat("opendir(", Quote(dir), ")"));
  }
  // Closed however this returns: out of memory while collecting the names
  // throws past here (out_of_memory_test found the leaked descriptor).
  const std::unique_ptr<DIR, int (*)(DIR*)> closer(d, &::closedir);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    struct dirent* entry = ::readdir(d);
    if (entry == nullptr) {
      if (int err = errno; err != 0) {
        return ErrnoStatus(err, absl::StrCat("readdir(", Quote(dir), ")"));
      }
      return names;
    }
    absl::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
}

absl::StatusOr<size_t> Pread(int fd, absl::string_view path, void* buffer,
                             size_t length, uint64_t offset) {
  size_t done = 0;
  while (done < length) {
    size_t chunk = length - done;
    ssize_t n;
    if (int injected = Check(Op::kPread, &chunk)) {
      errno = injected;
      n = -1;
    } else {
      n = ::pread(fd, static_cast<char*>(buffer) + done, chunk,
                  static_cast<off_t>(offset + done));
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, absl::StrCat("pread(", Quote(path), ", length=",
                                             length, ", offset=", offset, ")"));
    }
    if (n == 0) break;  // end of file
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::Status Pwrite(int fd, absl::string_view path, const void* buffer,
                    size_t length, uint64_t offset) {
  size_t done = 0;
  while (done < length) {
    size_t chunk = length - done;
    ssize_t n;
    if (int injected = Check(Op::kPwrite, &chunk)) {
      errno = injected;
      n = -1;
    } else {
      n = ::pwrite(fd, static_cast<const char*>(buffer) + done, chunk,
                   static_cast<off_t>(offset + done));
    }
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      // pwrite returning 0 for a non-empty buffer makes no progress: treat it
      // as the device refusing the write rather than spinning.
      return ErrnoStatus(n == 0 ? EIO : errno,
                         absl::StrCat("pwrite(", Quote(path), ", length=",
                                      length, ", offset=", offset, ")"));
    }
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Fd> MemfdCreate(const std::string& name, unsigned flags) {
  std::string owned_name = absl::StrCat("memfd:", name);  // before the fd
  int fd = Retry(Op::kMemfdCreate, [&] {
    return ::memfd_create(name.c_str(), flags | MFD_CLOEXEC);
  });
  if (fd < 0) {
    return ErrnoStatus(errno, absl::StrCat("memfd_create(", Quote(name), ")"));
  }
  return Fd(fd, std::move(owned_name));
}

// ---- Memory ----------------------------------------------------------------

absl::StatusOr<void*> Mmap(void* address, size_t length, int protection,
                           int flags, int fd, uint64_t offset,
                           absl::string_view what) {
  void* p = MAP_FAILED;
  if (int injected = Check(Op::kMmap)) {
    errno = injected;
  } else {
    p = ::mmap(address, length, protection, flags, fd,
               static_cast<off_t>(offset));
  }
  if (p == MAP_FAILED) {
    return ErrnoStatus(errno, absl::StrCat("mmap(", Quote(what), ", length=",
                                           length, ", offset=", offset, ")"));
  }
  return p;
}

absl::Status Munmap(void* address, size_t length, absl::string_view what) {
  if (Retry(Op::kMunmap, [&] { return ::munmap(address, length); }) != 0) {
    const int err = errno;
    try {  // destructors unmap: out of memory here must not throw
      return ErrnoStatus(
          err, absl::StrCat("munmap(", Quote(what), ", length=", length, ")"));
    } catch (...) {
      return absl::Status(ErrnoToCode(err), "");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<void*> Mremap(void* old_address, size_t old_length,
                             size_t new_length, int flags, void* new_address,
                             absl::string_view what) {
  void* p = MAP_FAILED;
  if (int injected = Check(Op::kMremap)) {
    errno = injected;
  } else {
    p = ::mremap(old_address, old_length, new_length, flags, new_address);
  }
  if (p == MAP_FAILED) {
    return ErrnoStatus(
        errno, absl::StrCat("mremap(", Quote(what), ", old_length=", old_length,
                            ", new_length=", new_length, ")"));
  }
  return p;
}

absl::Status Msync(void* address, size_t length, int flags,
                   absl::string_view what) {
  if (Retry(Op::kMsync, [&] { return ::msync(address, length, flags); }) != 0) {
    return ErrnoStatus(
        errno, absl::StrCat("msync(", Quote(what), ", length=", length, ", ",
                            (flags & MS_SYNC) ? "MS_SYNC" : "MS_ASYNC", ")"));
  }
  return absl::OkStatus();
}

absl::Status Madvise(void* address, size_t length, int advice,
                     absl::string_view what) {
  if (Retry(Op::kMadvise, [&] { return ::madvise(address, length, advice); }) !=
      0) {
    return ErrnoStatus(errno, absl::StrCat("madvise(", Quote(what), ", length=",
                                           length, ", advice=", advice, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> Mincore(const void* address, size_t length,
                               absl::string_view what) {
  const size_t page = PageSize();
  const size_t pages = length / page + (length % page != 0);
  std::vector<unsigned char> vec(pages);
  if (Retry(Op::kMincore, [&] {
        return ::mincore(const_cast<void*>(address), length, vec.data());
      }) != 0) {
    return ErrnoStatus(
        errno, absl::StrCat("mincore(", Quote(what), ", length=", length, ")"));
  }
  size_t resident = 0;
  for (unsigned char v : vec) resident += v & 1;
  return resident;
}

absl::StatusOr<void*> AlignedAlloc(size_t alignment, size_t size) {
  auto call = [&] {
    return absl::StrCat("aligned_alloc(alignment=", alignment, ", size=", size,
                        ")");
  };
  if (!absl::has_single_bit(alignment) || size == 0 || size % alignment != 0) {
    return ErrnoStatus(EINVAL, call());
  }
  if (int injected = Check(Op::kAlignedAlloc))
    return ErrnoStatus(injected, call());
  errno = 0;
  void* p = std::aligned_alloc(alignment, size);
  if (p == nullptr) return ErrnoStatus(errno != 0 ? errno : ENOMEM, call());
  return p;
}

void AlignedFree(void* pointer) { std::free(pointer); }

absl::StatusOr<bool> FutexWait(const uint32_t* word, uint32_t expected,
                               const struct timespec* deadline,
                               absl::string_view what) {
  const long r = Retry(Op::kFutex, [&] {
    return ::syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME,
                     expected, deadline, nullptr, FUTEX_BITSET_MATCH_ANY);
  });
  if (r == 0 || errno == EAGAIN) return true;
  if (errno == ETIMEDOUT) return false;
  return ErrnoStatus(
      errno, absl::StrCat("futex(", Quote(what),
                          ", FUTEX_WAIT_BITSET, expected=", expected, ")"));
}

absl::Status FutexWake(uint32_t* word, absl::string_view what) {
  if (Retry(Op::kFutex, [&] {
        return ::syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, nullptr, nullptr,
                         0);
      }) < 0) {
    return ErrnoStatus(errno,
                       absl::StrCat("futex(", Quote(what), ", FUTEX_WAKE)"));
  }
  return absl::OkStatus();
}

// ---- Fault injection -------------------------------------------------------

namespace fault {

void Inject(const Rule& rule) {
  std::lock_guard<std::mutex> lock(g_fault_mu);
  OpState& s = g_faults[static_cast<size_t>(rule.op)];
  s.rule = rule;
  s.has_rule = true;
  s.calls = 0;
  g_armed.store(true, std::memory_order_relaxed);
}

void Reset() {
  std::lock_guard<std::mutex> lock(g_fault_mu);
  g_faults = {};
  g_armed.store(false, std::memory_order_relaxed);
}

uint64_t Calls(Op op) {
  std::lock_guard<std::mutex> lock(g_fault_mu);
  return g_faults[static_cast<size_t>(op)].calls;
}

}  // namespace fault
}  // namespace os
}  // namespace mapfile
