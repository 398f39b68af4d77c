// Copyright 2026 The mapfile Authors.
//
// os.h: the operating-system layer. This is the only code in mapfile that
// calls open, close, fstat, fchmod, fchown, ftruncate, fallocate,
// fdatasync/fsync, flock, rename, unlink, mkdir, readdir, pread/pwrite,
// memfd_create, mmap, munmap, mremap, msync, madvise, mincore and
// aligned_alloc. Everything above it
// (scratch, region, format, containers) goes through these wrappers, so that
//
//   * every failure is an absl::Status whose message names the call, its
//     arguments (the path first) and strerror(errno), e.g.
//       fallocate("/data/x.vec", mode=0, offset=0, length=1048576): No
//       space left on device
//     (numbers labelled, the path first);
//     with errno mapped to a StatusCode by one table (ErrnoToCode, and
//     docs/ERRORS.md);
//   * EINTR is retried and short reads/writes are completed;
//   * every descriptor is opened O_CLOEXEC, and creating, renaming or
//     unlinking a file fsyncs its parent directory, so the name itself is
//     durable;
//   * tests can inject faults (see `fault` below) into any call.
//
// Porting mapfile to another POSIX system should only touch os.h/os.cc.
//
// Thread safety: every function may be called from any thread. The fault
// registry is internally synchronised.

#ifndef MAPFILE_INTERNAL_OS_H_
#define MAPFILE_INTERNAL_OS_H_

#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace mapfile {
namespace os {

// Every wrapped call, named for fault injection and call counting.
enum class Op : int {
  kOpen,
  kClose,
  kFstat,
  kStat,
  kFtruncate,
  kFallocate,
  kFdatasync,
  kFsync,
  kFlock,
  kRename,
  kUnlink,
  kMkdir,
  kReadDir,
  kPread,
  kPwrite,
  kMemfdCreate,
  kMmap,
  kMunmap,
  kMremap,
  kMsync,
  kMadvise,
  kMincore,
  kAlignedAlloc,
  kFutex,
  kSyncFileRange,
  kFchmod,
  kFchown,
  kFstatvfs,
  kCount,  // not an operation: the number of them
};

// "open", "fallocate", ... as the call is spelled in C.
absl::string_view OpName(Op op);

// ----------------------------------------------------------------------------
// Errors

// The one errno -> StatusCode table (docs/ERRORS.md):
//   ENOENT                                     NotFound
//   EEXIST, ENOTEMPTY                          AlreadyExists
//   EACCES, EPERM, EROFS, ETXTBSY              PermissionDenied
//   ENOSPC, EDQUOT, EFBIG, ENOMEM, EMFILE,
//   ENFILE, EOVERFLOW, EAGAIN                  ResourceExhausted
//   EBUSY                                      FailedPrecondition
// (Unavailable is only Flock's "held elsewhere"; Close is always Unknown.)
//   EINVAL, EISDIR, ENOTDIR, ENAMETOOLONG,
//   ELOOP, ENXIO, ENODEV, EBADF, ESPIPE        InvalidArgument
//   EOPNOTSUPP, ENOSYS                         Unimplemented
//   EIO                                        DataLoss
//   anything else                              Unknown
absl::StatusCode ErrnoToCode(int error_number);

// A Status with code ErrnoToCode(error_number) and message
// "<call>: <strerror(error_number)>".
absl::Status ErrnoStatus(int error_number, absl::string_view call);

// `status` with "<context>: " put in front of its message, code kept; OK
// stays OK. How every layer says which file and call an error came from.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

// The page size of this machine (sysconf(_SC_PAGESIZE)), computed once.
size_t PageSize();

// n rounded up (down) to a multiple of m > 0, e.g. RoundUp(n, PageSize()).
// REQUIRES: n + m - 1 does not overflow.
constexpr uint64_t RoundUp(uint64_t n, uint64_t m) {
  return (n + m - 1) / m * m;
}
constexpr uint64_t RoundDown(uint64_t n, uint64_t m) { return n / m * m; }

// "0644": a mode as chmod spells it, for messages (mapfile builds messages
// with absl::StrCat only: absl::StrFormat ends the process when it cannot
// allocate, docs/ERRORS.md).
std::string OctalMode(mode_t mode);

// `s` in double quotes, as messages name paths: "/data/x.vec".
std::string Quote(absl::string_view s);

// What `mode` says a file is, for messages: "a directory", "a FIFO", ...
// ("not a regular file" for anything else).
const char* FileTypeName(mode_t mode);

// ----------------------------------------------------------------------------
// Files. `path` is used for messages (and, for path-based calls, the call).

// An owned file descriptor: closes on destruction (errors ignored there; call
// Close() to see them). Move-only.
class Fd {
 public:
  Fd() = default;
  Fd(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  Fd(Fd&& other) noexcept;
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();

  int get() const { return fd_; }
  const std::string& path() const { return path_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership: returns the descriptor (the caller closes it) and
  // leaves this Fd invalid.
  int Release() { return std::exchange(fd_, -1); }

  // Closes now and reports close(2)'s error, if any.
  absl::Status Close();

 private:
  int fd_ = -1;
  std::string path_;
};

// open(2) with O_CLOEXEC always added. When `flags` has O_CREAT and the file
// did not exist, it is created and its parent directory fsynced; `*created`
// (if given) says whether that happened. O_CREAT|O_EXCL fails with
// AlreadyExists if the file exists. With sync_parent = false the directory
// is not fsynced (a temporary file whose name a later rename makes durable).
absl::StatusOr<Fd> Open(const std::string& path, int flags,
                        mode_t mode = 0644, bool* created = nullptr,
                        bool sync_parent = true);

// Permissions. A file mapfile creates gets the caller's `permissions`
// (MappedFile::Options, VectorOptions, LogOptions; default 0644) through
// open(2), so the umask filters them as it does for any program. A file
// that replaces another (a rewritten segment, its temporary, a copy of its
// bytes) gets the replaced file's access instead, through KeepAccess, so
// that no rewrite widens (or narrows) who may read it.

// The mode of a directory that holds files created with `permissions`:
// each read bit also grants search (execute), so 0644 -> 0755,
// 0600 -> 0700, 0640 -> 0750. Bits outside 0777 are dropped.
constexpr mode_t DirectoryMode(mode_t permissions) {
  return static_cast<mode_t>((permissions & 0777) |
                             ((permissions & 0444) >> 2));
}

// fchmod(2): sets the file's mode bits to `mode` & 07777; the umask does
// not apply.
absl::Status Fchmod(int fd, absl::string_view path, mode_t mode);

// fchown(2); an id of -1 (static_cast<uid_t>(-1)) is left unchanged.
absl::Status Fchown(int fd, absl::string_view path, uid_t owner, gid_t group);

// Gives the file open at `fd` (just created, nothing written to it yet) the
// access of `original`, the file it is to replace or copy:
//   1. its owner and group, where this process may set them (fchown; a
//      process that is not root keeps its own uid, and may set only a group
//      it belongs to: EPERM there is not an error);
//   2. original.st_mode & 07777 (fchmod: the umask neither narrows nor
//      widens it). When the group could not be kept, the group bits are
//      cleared: the file's group is then one that `original` granted
//      nothing to.
// Create the file with owner-only bits (0600) before calling this, so that
// it is never readable by more than `original` is.
absl::Status KeepAccess(int fd, absl::string_view path,
                        const struct stat& original);

// close(2). Not retried on EINTR (Linux has released the descriptor).
// Never throws, out of memory included (destructors call it); an error is
// Unknown whatever the errno (docs/ERRORS.md: a failed close is no DataLoss).
absl::Status Close(int fd, absl::string_view path);

absl::StatusOr<struct stat> Fstat(int fd, absl::string_view path);
absl::StatusOr<struct stat> Stat(const std::string& path);

// Whether `path` (or, before it exists, its directory) is on tmpfs, whose
// fallocate allocates memory: the log and the vector allocate ahead of
// their writers there (docs/PERFORMANCE.md). False if it cannot tell.
bool OnTmpfs(const std::string& path);

absl::Status Ftruncate(int fd, absl::string_view path, uint64_t size);

// fallocate(fd, mode, offset, length): reserves blocks so that later writes
// through a mapping cannot hit a full disk (SIGBUS). Unimplemented where the
// file system cannot preallocate. `mode` 0 extends the file's size to cover
// the range; FALLOC_FL_KEEP_SIZE leaves it.
absl::Status Fallocate(int fd, absl::string_view path, uint64_t offset,
                       uint64_t length, int mode = 0);

// Free space checked before a large claim (docs/ERRORS.md "Claims are
// checked"): fallocate of more than kLargeClaim bytes must leave at least
// kFreeSpaceReserve bytes free on the file system, or it is refused with
// ResourceExhausted before a block is taken. ext4 allocates a huge
// fallocate piece by piece and gives the space back only when it fails,
// so a 1 TiB request would fill the disk for every other program first.
inline constexpr uint64_t kLargeClaim = uint64_t{64} << 20;
inline constexpr uint64_t kFreeSpaceReserve = uint64_t{64} << 20;

// Bytes available to unprivileged writers on the file system holding `fd`
// (fstatvfs: f_bavail * f_frsize).
absl::StatusOr<uint64_t> FreeSpace(int fd, absl::string_view path);

// OK when `length` <= kLargeClaim, or when FreeSpace minus `length` leaves
// kFreeSpaceReserve; else ResourceExhausted naming the claim, e.g.
//   fallocate("/d/x.seg", mode=0, offset=7360, length=1099511620416):
//   refused: 1099511620416 bytes asked, 2576980377 free (64 MiB must stay
//   free)
// MappedFile::Grow/Truncate call it before every fallocate and every
// zero-filling; the log writer calls it before it preallocates.
absl::Status CheckFreeSpace(int fd, absl::string_view path, uint64_t offset,
                            uint64_t length);

absl::Status Fdatasync(int fd, absl::string_view path);
// sync_file_range(2) of [offset, offset + length) with `flags`
// (SYNC_FILE_RANGE_WAIT_BEFORE | _WRITE | _WAIT_AFTER): writes the range's
// dirty pages (mapped or not) to the device and waits for them, without a
// device cache flush or any metadata: NOT durable on its own. A later
// fdatasync/msync(MS_SYNC) of the same file makes it durable.
absl::Status SyncFileRange(int fd, absl::string_view path, uint64_t offset,
                           uint64_t length, unsigned flags);
absl::Status Fsync(int fd, absl::string_view path);

// Opens the directory read-only and fsyncs it: makes entries created,
// renamed or removed in it durable.
absl::Status FsyncDirectory(const std::string& dir);
// FsyncDirectory of the directory that contains `path`.
absl::Status FsyncParentDirectory(const std::string& path);

// flock(2). `operation` is LOCK_SH/LOCK_EX/LOCK_UN, optionally |LOCK_NB; a
// lock held elsewhere with LOCK_NB is Unavailable.
absl::Status Flock(int fd, absl::string_view path, int operation);

// rename(2), then fsyncs the parent directory of `to` (and of `from` when
// it is another directory) unless sync_directory is false (between
// temporary names, made durable by a later rename).
absl::Status Rename(const std::string& from, const std::string& to,
                    bool sync_directory = true);

// unlink(2), then fsyncs the parent directory unless sync_directory is
// false (the caller syncs it, and needs to know which step failed).
absl::Status Unlink(const std::string& path, bool sync_directory = true);

// mkdir(2), then fsyncs the parent directory. An existing directory is
// AlreadyExists.
absl::Status Mkdir(const std::string& path, mode_t mode = 0755);

// The names in a directory, without "." and "..", in no particular order.
absl::StatusOr<std::vector<std::string>> ReadDir(const std::string& dir);

// pread(2) until `length` bytes are read or end of file; returns the number
// read (less than `length` only at end of file). EINTR and short reads are
// retried.
absl::StatusOr<size_t> Pread(int fd, absl::string_view path, void* buffer,
                             size_t length, uint64_t offset);

// pwrite(2) of all `length` bytes; EINTR and short writes are retried.
absl::Status Pwrite(int fd, absl::string_view path, const void* buffer,
                    size_t length, uint64_t offset);

// memfd_create(2) with MFD_CLOEXEC added.
absl::StatusOr<Fd> MemfdCreate(const std::string& name, unsigned flags = 0);

// ----------------------------------------------------------------------------
// Memory. `what` names the mapping in messages: a path, or "anonymous".

absl::StatusOr<void*> Mmap(void* address, size_t length, int protection,
                           int flags, int fd, uint64_t offset,
                           absl::string_view what);
// Never throws, out of memory included (destructors call it).
absl::Status Munmap(void* address, size_t length, absl::string_view what);
absl::StatusOr<void*> Mremap(void* old_address, size_t old_length,
                             size_t new_length, int flags, void* new_address,
                             absl::string_view what);
absl::Status Msync(void* address, size_t length, int flags,
                   absl::string_view what);
absl::Status Madvise(void* address, size_t length, int advice,
                     absl::string_view what);
// mincore(2): the number of resident pages in [address, address + length).
// `address` must be page aligned.
absl::StatusOr<size_t> Mincore(const void* address, size_t length,
                               absl::string_view what);

// aligned_alloc(3). `alignment` must be a power of two and `size` a multiple
// of it (InvalidArgument otherwise); out of memory is ResourceExhausted.
absl::StatusOr<void*> AlignedAlloc(size_t alignment, size_t size);
// free(3) for memory from AlignedAlloc.
void AlignedFree(void* pointer);

// ----------------------------------------------------------------------------
// Futexes on a 32-bit word, which may live in a MAP_SHARED file mapping (the
// futex is then shared by every process mapping that file; read-only
// mappings may wait).

// FUTEX_WAIT_BITSET: sleeps while *word == expected, until a FutexWake on the
// word or the absolute CLOCK_REALTIME `deadline` (nullptr: none). Returns
// true when woken or *word != expected, false at the deadline. EINTR retries
// with the same deadline.
absl::StatusOr<bool> FutexWait(const uint32_t* word, uint32_t expected,
                               const struct timespec* deadline,
                               absl::string_view what);
// FUTEX_WAKE of every waiter on `word`.
absl::Status FutexWake(uint32_t* word, absl::string_view what);

// ----------------------------------------------------------------------------
// Fault injection: tests make the Nth call of an operation fail.
//
//   os::fault::Inject({os::Op::kFallocate, ENOSPC});        // next call
//   os::fault::Inject({os::Op::kMsync, EIO, /*nth=*/3, os::fault::kForever});
//   os::fault::Inject({os::Op::kPwrite, 0, 1, os::fault::kForever,
//                      /*max_transfer=*/7});                // short writes
//   ...
//   os::fault::Reset();   // or let a ScopedReset do it
//
// When no rule is set the cost in every wrapper is one relaxed atomic load.
// While any rule is set, calls of every operation are counted (Calls()).
namespace fault {

inline constexpr uint64_t kForever = ~uint64_t{0};

struct Rule {
  Op op;
  int error = 0;            // errno to fail with; 0 = never fail
  uint64_t nth = 1;         // first failing call, 1 = the next call of `op`
  uint64_t times = 1;       // how many calls fail from the nth on
  size_t max_transfer = 0;  // kPread/kPwrite: if > 0, every call moves at
                            // most this many bytes (short reads/writes)
};

// Sets the rule for `rule.op`, replacing any earlier one for that op.
void Inject(const Rule& rule);

// Removes every rule and zeroes the call counters.
void Reset();

// Calls of `op` made since its rule was set (or since Reset), counted while
// any rule is set.
uint64_t Calls(Op op);

// Resets on construction and destruction: one per test.
class ScopedReset {
 public:
  ScopedReset() { Reset(); }
  ~ScopedReset() { Reset(); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;
};

}  // namespace fault
}  // namespace os
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_OS_H_
