// Copyright 2026 The mapfile Authors.

#include "mapfile/mapped_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/os.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace {

static_assert(sizeof(size_t) >= sizeof(uint64_t),
              "MappedFile needs a 64-bit address space");

// Address space that holds nothing: no memory, no swap, faults if touched.
constexpr int kReservedFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

uint64_t Page() { return os::PageSize(); }
// Callers keep n <= MappedFile::kMaxSize, so this cannot overflow.
uint64_t RoundUp(uint64_t n) { return os::RoundUp(n, Page()); }

using os::Annotate;

}  // namespace

uint64_t GrowthPolicy::NextSize(uint64_t current, uint64_t required) const {
  const uint64_t cap =
      std::min(std::max(max_step, min_step), MappedFile::kMaxSize);
  uint64_t step = cap;  // linear once the geometric step would exceed the cap
  if (factor <= 1) {
    step = min_step;
  } else if (current <= cap / (factor - 1)) {
    step = current * (factor - 1);
  }
  step = std::min(std::max(step, min_step), cap);
  return std::min(RoundUp(std::max(required, current + step)),
                  MappedFile::kMaxSize);
}

MappedFile::Reservation::Reservation(Reservation&& other) noexcept
    : base(std::exchange(other.base, nullptr)),
      length(std::exchange(other.length, 0)) {}

MappedFile::Reservation& MappedFile::Reservation::operator=(
    Reservation&& other) noexcept {
  if (this != &other) {
    Reservation old(std::move(*this));  // released on return
    base = std::exchange(other.base, nullptr);
    length = std::exchange(other.length, 0);
  }
  return *this;
}

MappedFile::Reservation::~Reservation() {
  if (base != nullptr) os::Munmap(base, length, "reservation").IgnoreError();
}

MappedFile::Descriptor::Descriptor(Descriptor&& other) noexcept
    : fd(std::exchange(other.fd, -1)) {}

MappedFile::Descriptor& MappedFile::Descriptor::operator=(
    Descriptor&& other) noexcept {
  if (this != &other) {
    Descriptor old(std::move(*this));  // closed on return
    fd = std::exchange(other.fd, -1);
  }
  return *this;
}

MappedFile::Descriptor::~Descriptor() {
  if (fd >= 0) os::Close(fd, "").IgnoreError();
}

absl::StatusOr<MappedFile::Reservation> MappedFile::Reserve(
    uint64_t desired, uint64_t needed, const std::string& path) {
  needed = std::max(RoundUp(needed), Page());
  // Halve on ENOMEM (RLIMIT_AS, vm.max_map_count, a crowded address space)
  // down to what the file needs now.
  bool limited = false;
  for (uint64_t length = RoundUp(std::min(std::max(desired, needed), kMaxSize));
       ; length = std::max(needed, RoundUp(length / 2))) {
    absl::StatusOr<void*> p =
        os::Mmap(nullptr, length, PROT_NONE, kReservedFlags, -1, 0, path);
    if (p.ok()) {
      Reservation reservation(static_cast<std::byte*>(*p), length);
      // Under a limit the most that fits would leave the rest of the process
      // (malloc, other files) nothing: give half of it back.
      if (!limited || length == needed) return reservation;
      limited = false;
      continue;
    }
    limited = true;
    if (length == needed ||
        p.status().code() != absl::StatusCode::kResourceExhausted) {
      return Annotate(p.status(), absl::StrCat("MappedFile(\"", path,
                                               "\"): cannot reserve ", needed,
                                               " bytes of address space"));
    }
  }
}

absl::StatusOr<MappedFile> MappedFile::Open(const std::string& path,
                                            const Options& options) {
  return internal::CatchAllocation(
      "MappedFile::Open", path, [&]() -> absl::StatusOr<MappedFile> {
        const std::string context =
            absl::StrCat("MappedFile::Open(\"", path, "\")");
        const bool writable = options.mode != OpenMode::kReadOnly;
        if (options.initial_size > kMaxSize) {
          return absl::InvalidArgumentError(absl::StrCat(
              context, ": initial_size ", options.initial_size,
              " is larger than the largest file (", kMaxSize, ")"));
        }
        if ((options.permissions & ~mode_t{0777}) != 0) {
          return absl::InvalidArgumentError(
              absl::StrCat(context, ": permissions ", os::OctalMode(options.permissions),
                           " has bits outside 0777"));
        }
        // O_NONBLOCK: opening a FIFO must not wait for a writer; the fstat
        // below then rejects it. It has no effect on regular files.
        int flags = O_NONBLOCK | (writable ? O_RDWR : O_RDONLY);
        if (options.mode == OpenMode::kCreate) flags |= O_CREAT;
        if (options.mode == OpenMode::kCreateNew) flags |= O_CREAT | O_EXCL;
        bool created = false;
        MAPFILE_ASSIGN_OR_RETURN(
            os::Fd fd, os::Open(path, flags, options.permissions, &created,
                                options.sync_directory));

        MappedFile file;
        file.path_ = path;
        file.fd_ = Descriptor(fd.Release());
        file.options_ = options;
        file.writable_ = writable;
        file.created_ = created;
        MAPFILE_ASSIGN_OR_RETURN(struct stat st, os::Fstat(file.fd_, path));
        if (!S_ISREG(st.st_mode)) {
          return absl::InvalidArgumentError(
              absl::StrCat(context, ": is ", os::FileTypeName(st.st_mode),
                           "; only regular files can be mapped"));
        }
        if (static_cast<uint64_t>(st.st_size) > kMaxSize) {
          return absl::InvalidArgumentError(absl::StrCat(
              context, ": size ", st.st_size,
              " is larger than the largest file (", kMaxSize, ")"));
        }
        if (options.lock) {
          MAPFILE_RETURN_IF_ERROR(Annotate(
              os::Flock(file.fd_, path,
                        (writable ? LOCK_EX : LOCK_SH) | LOCK_NB),
              absl::StrCat(context,
                           writable
                               ? ": another writer or a reader holds a lock"
                               : ": a writer holds the lock")));
        }
        file.size_ = static_cast<uint64_t>(st.st_size);
        MAPFILE_ASSIGN_OR_RETURN(
            file.map_,
            Reserve(options.reserve,
                    std::max(file.size_, writable ? options.initial_size : 0),
                    path));
        if (file.size_ > 0) {
          MAPFILE_RETURN_IF_ERROR(
              Annotate(file.MapRange(0, RoundUp(file.size_)), context));
        } else {
          // Nothing to map, but a file system that cannot map at all (/proc,
          // whose files claim size 0) must fail now, not at the first Grow or
          // Refresh.
          MAPFILE_RETURN_IF_ERROR(
              Annotate(os::Mmap(file.map_.base, Page(), PROT_READ,
                                MAP_SHARED | MAP_FIXED, file.fd_, 0, path)
                           .status(),
                       absl::StrCat(context, ": cannot be memory-mapped")));
          MAPFILE_RETURN_IF_ERROR(file.Unmap(0, Page()));
        }
        file.mapped_ = RoundUp(file.size_);
        if (writable && options.initial_size > file.size_) {
          MAPFILE_RETURN_IF_ERROR(file.Extend(options.initial_size));
        }
        return file;
      });
}

absl::Status MappedFile::CheckResize(const char* call, uint64_t size) const {
  if (!writable_) {
    return absl::FailedPreconditionError(
        absl::StrCat("MappedFile::", call, "(\"", path_, "\", ", size,
                     "): the file is open read-only"));
  }
  if (size > kMaxSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("MappedFile::", call, "(\"", path_, "\", ", size,
                     "): larger than the largest file (", kMaxSize, ")"));
  }
  return absl::OkStatus();
}

absl::Status MappedFile::Grow(uint64_t min_size) {
  return internal::CatchAllocation(
      "MappedFile::Grow", path_, [&]() -> absl::Status {
        if (min_size <= size_) return absl::OkStatus();
        MAPFILE_RETURN_IF_ERROR(CheckResize("Grow", min_size));
        uint64_t target = options_.growth.NextSize(size_, min_size);
        // The policy's slack must not move a mapping that the request fits in.
        if (RoundUp(min_size) <= capacity())
          target = std::min(target, capacity());
        return Extend(target);
      });
}

absl::Status MappedFile::Truncate(uint64_t size) {
  return internal::CatchAllocation(
      "MappedFile::Truncate", path_, [&]() -> absl::Status {
        MAPFILE_RETURN_IF_ERROR(CheckResize("Truncate", size));
        if (size >= size_)
          return size == size_ ? absl::OkStatus() : Extend(size);
        const uint64_t old_size = size_;
        MAPFILE_RETURN_IF_ERROR(
            SetMapped(size));  // unmap the tail before cutting it
        absl::Status status = os::Ftruncate(fd_, path_, size);
        if (!status.ok()) {
          SetMapped(old_size).IgnoreError();
          return status;
        }
        size_changed_ = true;
        return absl::OkStatus();
      });
}

// Grows the file to `new_size` (> size_) and maps the new pages; on failure
// the file is cut back and nothing changes.
absl::Status MappedFile::Extend(uint64_t new_size) {
  const uint64_t old_size = size_;
  absl::Status status;
  if (options_.preallocate) {
    // A large claim is checked against the free space first: refused, it
    // takes nothing (os::CheckFreeSpace says why).
    status = os::CheckFreeSpace(fd_, path_, old_size, new_size - old_size);
    if (status.ok()) {
      status = os::Fallocate(fd_, path_, old_size, new_size - old_size);
      if (status.code() == absl::StatusCode::kUnimplemented) {
        status = WriteZeros(old_size, new_size);
      }
    }
  } else {
    status = os::Ftruncate(fd_, path_, new_size);
  }
  if (status.ok()) status = SetMapped(new_size);
  if (!status.ok()) {
    // A failed fallocate may have allocated, and extended, part of the range.
    os::Ftruncate(fd_, path_, old_size).IgnoreError();
    return Annotate(status, absl::StrCat("extending from ", old_size, " to ",
                                         new_size, " bytes"));
  }
  size_changed_ = true;
  return absl::OkStatus();
}

// Preallocation where fallocate is unsupported: real zeros take real blocks.
absl::Status MappedFile::WriteZeros(uint64_t from, uint64_t to) {
  static const char kZeros[64 << 10] = {};
  for (uint64_t at = from; at < to; at += sizeof(kZeros)) {
    MAPFILE_RETURN_IF_ERROR(os::Pwrite(
        fd_, path_, kZeros, std::min<uint64_t>(sizeof(kZeros), to - at), at));
  }
  return absl::OkStatus();
}

absl::Status MappedFile::SetMapped(uint64_t new_size) {
  const uint64_t want = RoundUp(new_size);
  if (want > capacity()) {
    MAPFILE_RETURN_IF_ERROR(Relocate(want));
  } else if (want > mapped_) {
    MAPFILE_RETURN_IF_ERROR(MapRange(mapped_, want));
  } else if (want < mapped_) {
    MAPFILE_RETURN_IF_ERROR(Unmap(want, mapped_));
  }
  mapped_ = want;
  size_ = new_size;
  return absl::OkStatus();
}

absl::Status MappedFile::MapRange(uint64_t from, uint64_t to) {
  std::byte* at = map_.base + from;
  const size_t length = to - from;
  const int flags = MAP_SHARED | MAP_FIXED |
                    (options_.populate && !writable_ ? MAP_POPULATE : 0);
  MAPFILE_RETURN_IF_ERROR(
      os::Mmap(at, length, writable_ ? PROT_READ | PROT_WRITE : PROT_READ,
               flags, fd_, from, path_)
          .status());
  // Hints: a kernel or file system without them changes nothing else.
  if (advice_ != MADV_NORMAL)
    os::Madvise(at, length, advice_, path_).IgnoreError();
  if (options_.huge_pages)
    os::Madvise(at, length, MADV_HUGEPAGE, path_).IgnoreError();
  if (options_.populate && writable_) {
    os::Madvise(at, length, MADV_POPULATE_WRITE, path_).IgnoreError();
  }
  return absl::OkStatus();
}

// Gives [from, to) back to the reservation.
absl::Status MappedFile::Unmap(uint64_t from, uint64_t to) {
  return os::Mmap(map_.base + from, to - from, PROT_NONE,
                  kReservedFlags | MAP_FIXED, -1, 0, path_)
      .status();
}

// Moves the mapping to a new, larger reservation. The old one, and every
// pointer into it, is gone afterwards; the file's bytes are shared, so
// nothing is copied.
absl::Status MappedFile::Relocate(uint64_t needed) {
  MAPFILE_ASSIGN_OR_RETURN(
      Reservation other,
      Reserve(std::max(options_.reserve, 2 * capacity()), needed, path_));
  std::swap(map_, other);
  absl::Status status = MapRange(0, needed);
  if (!status.ok()) {
    std::swap(map_, other);
    return status;
  }
  ++remap_count_;
  return absl::OkStatus();
}

absl::Status MappedFile::Refresh() {
  return internal::CatchAllocation(
      "MappedFile::Refresh", path_, [&]() -> absl::Status {
        MAPFILE_ASSIGN_OR_RETURN(struct stat st, os::Fstat(fd_, path_));
        if (static_cast<uint64_t>(st.st_size) > kMaxSize) {
          return absl::InvalidArgumentError(
              absl::StrCat("MappedFile::Refresh(\"", path_, "\"): size ",
                           st.st_size, " is larger than the largest file"));
        }
        return Annotate(SetMapped(static_cast<uint64_t>(st.st_size)),
                        absl::StrCat("MappedFile::Refresh(\"", path_, "\")"));
      });
}

absl::Status MappedFile::Sync(uint64_t offset, uint64_t length, SyncMode mode) {
  return internal::CatchAllocation(
      "MappedFile::Sync", path_, [&]() -> absl::Status {
        if (!sticky_.ok()) return sticky_;
        if (offset > size_ || length > size_ - offset) {
          return absl::InvalidArgumentError(absl::StrCat(
              "MappedFile::Sync(\"", path_, "\", ", offset, ", ", length,
              "): past the end of the file (", size_, " bytes)"));
        }
        const uint64_t begin = os::RoundDown(offset, Page());
        const uint64_t end = RoundUp(offset + length);
        if (end > begin) {
          absl::Status status =
              os::Msync(map_.base + begin, end - begin,
                        mode == SyncMode::kSync ? MS_SYNC : MS_ASYNC, path_);
          if (!status.ok()) return SyncFailed(status);
          if (mode == SyncMode::kSync) {
            MAPFILE_CRASH_POINT("file.synced", &path_, begin, end - begin);
          }
        }
        if (mode == SyncMode::kSync && size_changed_) {
          absl::Status status = os::Fdatasync(fd_, path_);
          if (!status.ok()) return SyncFailed(status);
          size_changed_ = false;
          MAPFILE_CRASH_POINT("file.datasynced", &path_, 0, size_);
        }
        return absl::OkStatus();
      });
}

absl::Status MappedFile::Sync() { return Sync(0, size_, SyncMode::kSync); }

// Linux reports a writeback error once per descriptor and may drop the dirty
// pages with it; a later sync would succeed with the data gone. So the first
// failure is kept and returned by every later Sync.
absl::Status MappedFile::SyncFailed(const absl::Status& status) {
  sticky_ =
      Annotate(status, absl::StrCat("MappedFile::Sync(\"", path_,
                                    "\"): failed, and every later Sync fails "
                                    "too (unsynced writes may be lost)"));
  return sticky_;
}

absl::Status MappedFile::Advise(Access access) {
  return internal::CatchAllocation(
      "MappedFile::Advise", path_, [&]() -> absl::Status {
        static constexpr int kAdvice[] = {MADV_NORMAL, MADV_SEQUENTIAL,
                                          MADV_RANDOM, MADV_WILLNEED,
                                          MADV_DONTNEED};
        const auto index = static_cast<size_t>(access);
        if (index >= sizeof(kAdvice) / sizeof(kAdvice[0])) {
          return absl::InvalidArgumentError(
              absl::StrCat("MappedFile::Advise(\"", path_, "\", ", index,
                           "): no such Access"));
        }
        if (mapped_ > 0) {
          MAPFILE_RETURN_IF_ERROR(
              os::Madvise(map_.base, mapped_, kAdvice[index], path_));
        }
        if (access <= Access::kRandom) advice_ = kAdvice[index];
        return absl::OkStatus();
      });
}

absl::StatusOr<double> MappedFile::Residency() const {
  return internal::CatchAllocation(
      "MappedFile::Residency", path_, [&]() -> absl::StatusOr<double> {
        if (mapped_ == 0) return 1.0;
        MAPFILE_ASSIGN_OR_RETURN(size_t resident,
                                 os::Mincore(map_.base, mapped_, path_));
        return static_cast<double>(resident) /
               static_cast<double>(mapped_ / Page());
      });
}

}  // namespace mapfile
