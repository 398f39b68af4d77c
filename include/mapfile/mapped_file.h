// Copyright 2026 The mapfile Authors.
//
// mapped_file.h: MappedFile, one file mapped into memory with stable
// addresses, page-aligned growth, a full disk reported as a Status (never
// SIGBUS) and real durability. Every mapfile container sits on it, so its
// guarantees are the library's:
//
//   * Stable addresses. Open reserves `Options::reserve` bytes of address
//     space (PROT_NONE, MAP_NORESERVE: no memory, no swap) and maps the file
//     at its start with MAP_FIXED|MAP_SHARED. Grow extends the file and maps
//     only the new pages inside the reservation, so data() never changes and
//     every pointer into the mapping stays valid. Only growth past
//     capacity() moves the mapping (remap_count() counts such moves); when
//     the reservation cannot be had (small RLIMIT_AS), Open falls back to
//     smaller ones, down to the file's size.
//   * No SIGBUS on a full disk. With `preallocate` (the default), Grow
//     reserves the new blocks before it maps them, so a full disk or quota is
//     ResourceExhausted from Grow; the file and mapping keep their old size
//     and contents, and growth works again once space is freed.
//   * Durability. Sync(kSync) returns only when the range is on stable
//     storage (msync MS_SYNC, plus fdatasync when the size changed). A failed
//     sync is sticky: every later Sync returns the same error, because the
//     kernel may already have dropped the dirty pages.
//   * One writer. A writer holds flock(LOCK_EX); a second writer, in any
//     process, gets Unavailable at once. The lock dies with the process.
//
//   MappedFile::Options options;
//   options.mode = OpenMode::kCreate;
//   MAPFILE_ASSIGN_OR_RETURN(MappedFile file, MappedFile::Open(path, options));
//   MAPFILE_RETURN_IF_ERROR(file.Grow(4096));
//   std::memcpy(file.data(), "hello", 5);
//   MAPFILE_RETURN_IF_ERROR(file.Sync());
//
// Thread safety: const methods may be called concurrently; anything that
// changes the mapping (Grow, Truncate, Refresh, Sync, Advise, moves) needs
// external synchronisation. Reading and writing the mapped bytes is the
// caller's business: a MappedFile does not order memory accesses. Separate
// MappedFile objects (one writer, any readers) on one file may be used from
// separate threads or processes without any lock.
//
// Errors: every failure is an absl::Status whose message starts with the
// call and the file, then the step and the system call with its numbers
// labelled (MappedFile::Grow("/d/x"): extending from 0 to 65536 bytes:
// fallocate("/d/x", mode=0, offset=0, length=65536): No space left on
// device); docs/MAPPED_FILE.md lists the codes. Out of memory is
// ResourceExhausted, never an exception (docs/ERRORS.md).

#ifndef MAPFILE_MAPPED_FILE_H_
#define MAPFILE_MAPPED_FILE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mapfile {

enum class OpenMode {
  kReadOnly,   // existing file, PROT_READ mapping; writing through it faults
  kReadWrite,  // existing file
  kCreate,     // open, or create if missing
  kCreateNew,  // create; AlreadyExists if the file exists
};

enum class SyncMode {
  kSync,   // returns when the data is on stable storage
  kAsync,  // starts writeback and returns: NO durability guarantee
};

enum class Access { kNormal, kSequential, kRandom, kWillNeed, kDontNeed };

// How Grow picks a new size: geometric (x`factor`) while the step is below
// `max_step`, then linear in steps of `max_step`, like libmdbx's growth step;
// never less than `min_step` at a time. Sizes are always rounded up to a
// multiple of the page size. Growth is amortised O(1) for factor >= 2.
struct GrowthPolicy {
  uint64_t min_step = uint64_t{64} << 10;  // 64 KiB
  uint64_t max_step = uint64_t{1} << 30;   // 1 GiB
  uint32_t factor = 2;                     // 1: linear in min_step

  // The size Grow(required) picks for a file of `current` bytes: at least
  // `required`, page aligned. REQUIRES: required > current.
  uint64_t NextSize(uint64_t current, uint64_t required) const;
};

// One file-backed shared mapping. Move-only. The destructor unmaps and
// closes (releasing the lock) but does not sync: call Sync() first.
class MappedFile {
 public:
  struct Options {
    OpenMode mode = OpenMode::kReadOnly;
    // Writers: the file is extended (preallocated) to at least this size on
    // open. Ignored for readers.
    uint64_t initial_size = 0;
    // Address space reserved up front; the file can grow to this size
    // without moving. Costs no memory. Rounded up to pages; at least the
    // file's size.
    uint64_t reserve = uint64_t{64} << 30;
    GrowthPolicy growth;
    // Writers: Grow reserves disk blocks (fallocate) before mapping them. On
    // file systems without fallocate (EOPNOTSUPP) the new range is written
    // with zeros instead, which reserves blocks everywhere except on
    // copy-on-write or compressing file systems (btrfs, ZFS), where no
    // preallocation can promise that a later write finds space. Off: the
    // file is extended sparsely (ftruncate) and a full disk is SIGBUS at the
    // first write to a new page, as with every other mmap library.
    bool preallocate = true;
    // Fault every page in when it is mapped (MADV_POPULATE_WRITE for
    // writers, so the first write does not fault either; MAP_POPULATE for
    // readers). A hint: ignored where the kernel lacks it.
    bool populate = false;
    // MADV_HUGEPAGE on the mapping. A hint: file systems with large folios
    // (ext4 from Linux 6.16, XFS, tmpfs mounted huge=advise) then fault in
    // 2 MiB at a time; others ignore it. A sync writes back whole folios.
    bool huge_pages = false;
    // flock: writers take LOCK_EX, readers LOCK_SH, both non-blocking, and
    // Open fails with Unavailable when the other kind is held. A shared lock
    // excludes writers: a reader with a lock sees a file nobody changes while
    // it is open. A reader that follows a live writer (Refresh) must set
    // lock = false.
    bool lock = true;
    // if it creates the file (umask applies): the permission bits a file
    // created by kCreate/kCreateNew gets, filtered by the process's umask as
    // open(2) filters them (0644 under umask 022 is rw-r--r--, under 077
    // rw-------). An existing file keeps its mode. Only the bits in 0777
    // are accepted (InvalidArgument otherwise).
    mode_t permissions = 0644;
    // kCreate/kCreateNew: when Open creates the file it fsyncs the parent
    // directory, so that the name survives a power loss. False leaves that
    // to the caller (MappedVector does it in its first Sync(), the first
    // point that promises durability); created() says whether it is due.
    bool sync_directory = true;
  };

  // Opens (or creates) `path` and maps all of it. Errors: NotFound (missing,
  // kReadOnly/kReadWrite), AlreadyExists (kCreateNew), PermissionDenied,
  // InvalidArgument (not a regular mappable file: directory, FIFO, socket,
  // device, /proc file; sizes that overflow; permissions outside 0777),
  // Unavailable (locked), ResourceExhausted (no address space, no disk
  // space for initial_size).
  // An empty file opens with size() == 0 and a valid data().
  [[nodiscard]] static absl::StatusOr<MappedFile> Open(const std::string& path,
                                                       const Options& options);

  MappedFile(MappedFile&&) = default;
  MappedFile& operator=(MappedFile&&) = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() = default;

  // The first byte of the file; never null (even when size() == 0). Stable
  // until growth past capacity() or a move-assignment.
  std::byte* data() { return map_.base; }
  const std::byte* data() const { return map_.base; }
  // The file's size as this object knows it (a reader learns of a writer's
  // growth through Refresh).
  uint64_t size() const { return size_; }
  // Bytes of address space reserved at data(): the size the file can reach
  // without its mapping moving.
  uint64_t capacity() const { return map_.length; }
  // How many times growth past capacity() moved the mapping.
  uint64_t remap_count() const { return remap_count_; }
  bool writable() const { return writable_; }
  // Whether Open created the file (kCreate/kCreateNew).
  bool created() const { return created_; }
  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

  // Makes size() >= min_size, growing by Options::growth and mapping the new
  // pages (zero-filled) behind the old ones. No-op if already large enough.
  // Errors: ResourceExhausted (disk full, quota, no address space: the file
  // and mapping are unchanged), FailedPrecondition (read-only),
  // InvalidArgument (larger than kMaxSize).
  [[nodiscard]] absl::Status Grow(uint64_t min_size);

  // Writes back [offset, offset + length), widened to whole pages. kSync
  // also fdatasyncs when the size changed since the last successful sync.
  // REQUIRES: offset + length <= size() (InvalidArgument otherwise).
  // After a failure (DataLoss for EIO, ...) every later Sync returns it.
  [[nodiscard]] absl::Status Sync(uint64_t offset, uint64_t length,
                                  SyncMode mode = SyncMode::kSync);
  // Sync(0, size(), kSync): everything, durably.
  [[nodiscard]] absl::Status Sync();

  // Re-reads the file's size and maps what another process added (or
  // unmaps what it cut), keeping data() unless the file outgrew capacity().
  [[nodiscard]] absl::Status Refresh();

  // Sets the file's size exactly: a shrink unmaps the tail first (pointers
  // into it become invalid), a growth is preallocated as Grow's is.
  [[nodiscard]] absl::Status Truncate(uint64_t size);

  // madvise over the whole mapping. kNormal/kSequential/kRandom also apply
  // to pages mapped by later growth.
  [[nodiscard]] absl::Status Advise(Access access);

  // The fraction of the file's pages resident in memory (mincore), in
  // [0, 1]; 1 for an empty file.
  [[nodiscard]] absl::StatusOr<double> Residency() const;

  // The largest file size MappedFile accepts.
  static constexpr uint64_t kMaxSize = uint64_t{1} << 62;

 private:
  // A PROT_NONE reservation of address space, unmapped on destruction.
  struct Reservation {
    std::byte* base = nullptr;
    uint64_t length = 0;
    Reservation() = default;
    Reservation(std::byte* b, uint64_t l) : base(b), length(l) {}
    Reservation(Reservation&& other) noexcept;
    Reservation& operator=(Reservation&& other) noexcept;
    ~Reservation();
  };
  // The descriptor, closed on destruction.
  struct Descriptor {
    int fd = -1;
    Descriptor() = default;
    explicit Descriptor(int f) : fd(f) {}
    Descriptor(Descriptor&& other) noexcept;
    Descriptor& operator=(Descriptor&& other) noexcept;
    ~Descriptor();
    operator int() const { return fd; }
  };

  MappedFile() = default;
  static absl::StatusOr<Reservation> Reserve(uint64_t desired, uint64_t needed,
                                             const std::string& path);
  absl::Status CheckResize(const char* call, uint64_t size) const;
  absl::Status Extend(uint64_t new_size);
  absl::Status WriteZeros(uint64_t from, uint64_t to);
  absl::Status SetMapped(uint64_t new_size);
  absl::Status MapRange(uint64_t from, uint64_t to);
  absl::Status Unmap(uint64_t from, uint64_t to);
  absl::Status Relocate(uint64_t needed);
  absl::Status SyncFailed(const absl::Status& status);

  std::string path_;
  Descriptor fd_;
  Reservation map_;      // destroyed (unmapped) before fd_ is closed
  uint64_t size_ = 0;    // file size as last set or seen
  uint64_t mapped_ = 0;  // bytes mapped at map_.base: size_ rounded to pages
  uint64_t remap_count_ = 0;
  Options options_;
  bool writable_ = false;
  bool size_changed_ = false;  // since the last successful kSync
  bool created_ = false;
  int advice_ = 0;             // MADV_NORMAL
  absl::Status sticky_;        // first sync failure
};

}  // namespace mapfile

#endif  // MAPFILE_MAPPED_FILE_H_
