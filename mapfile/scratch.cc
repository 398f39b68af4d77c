// Copyright 2026 The mapfile Authors.

#include "mapfile/scratch.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

#include "absl/numeric/bits.h"
#include "absl/status/status.h"
#include "mapfile/internal/os.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr int kReadWrite = PROT_READ | PROT_WRITE;
constexpr absl::string_view kAnonymous = "anonymous";
constexpr char kMemfdName[] = "mapfile-scratch";

bool IsMapping(Strategy s) {
  return s == Strategy::kAnonymousMap || s == Strategy::kSharedAnonymous;
}

// As new-expressions do: the align_val_t overloads only above the alignment
// plain operator new guarantees (~6 ns more per pair in glibc: see
// BM_OperatorNewAligned vs BM_Malloc in bench/scratch_benchmark.cc).
bool DefaultNewAligned(size_t alignment) {
  return alignment <= __STDCPP_DEFAULT_NEW_ALIGNMENT__;
}

// The number of bytes a strategy obtains for a layout: a pure function, so
// that ScratchResource can recompute it at deallocation.
size_t ObtainedLength(const Layout& layout, Strategy strategy,
                      const ScratchPolicy& policy) {
  if (strategy == Strategy::kHeap) return layout.size();
  // Layout's PTRDIFF_MAX bound keeps every os::RoundUp here below SIZE_MAX.
  if (strategy == Strategy::kAlignedHeap) {
    return os::RoundUp(layout.size(), layout.alignment());  // as C11 requires
  }
  // The reservation, capped at PTRDIFF_MAX so that RoundUp cannot wrap.
  const size_t reserve = strategy == Strategy::kAnonymousMap
                             ? std::min<size_t>(policy.reserve, PTRDIFF_MAX)
                             : 0;
  return os::RoundUp(std::max(layout.size(), reserve),
                     policy.huge_pages ? kHugePage : os::PageSize());
}

// Unmaps [p, p + n) if n > 0.
absl::Status Unmap(char* p, size_t n) {
  return n == 0 ? absl::OkStatus() : os::Munmap(p, n, kAnonymous);
}

// mmap of `length` bytes aligned to `alignment`. `granule` is the alignment
// mmap gives by itself (the page, or 2 MiB for MAP_HUGETLB). Above it, maps
// length + alignment - granule bytes and unmaps the unaligned head and the
// tail. With `fd`, the span is only a PROT_NONE reservation and the file is
// mapped MAP_FIXED at the aligned address inside it.
absl::StatusOr<void*> MapAligned(size_t length, size_t alignment,
                                 size_t granule, int flags, int fd) {
  if (alignment <= granule) {
    return os::Mmap(nullptr, length, kReadWrite, flags, fd, 0, kAnonymous);
  }
  const size_t span = length + alignment - granule;
  MAPFILE_ASSIGN_OR_RETURN(
      void* reserved,
      os::Mmap(nullptr, span, fd < 0 ? kReadWrite : PROT_NONE,
               fd < 0 ? flags : MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
               -1, 0, kAnonymous));
  char* base = static_cast<char*>(reserved);
  const uintptr_t address = reinterpret_cast<uintptr_t>(base);
  const size_t head = os::RoundUp(address, alignment) - address;
  char* aligned = base + head;
  absl::Status status;
  if (fd >= 0) {
    status = os::Mmap(aligned, length, kReadWrite, flags | MAP_FIXED, fd, 0,
                      kAnonymous)
                 .status();
  }
  if (status.ok()) status = Unmap(base, head);
  if (!status.ok()) {
    (void)Unmap(base, span);
    return status;
  }
  // Splitting a mapping can fail (vm.max_map_count): then drop what is left,
  // and only that, since the head may already belong to someone else.
  status = Unmap(aligned + length, span - head - length);
  if (!status.ok()) {
    (void)Unmap(aligned, span - head);
    return status;
  }
  return aligned;
}

}  // namespace

absl::string_view ToString(Strategy strategy) {
  switch (strategy) {
    case Strategy::kHeap:
      return "kHeap";
    case Strategy::kAlignedHeap:
      return "kAlignedHeap";
    case Strategy::kAnonymousMap:
      return "kAnonymousMap";
    case Strategy::kSharedAnonymous:
      return "kSharedAnonymous";
  }
  return "unknown";
}

absl::string_view ToString(HugePages huge_pages) {
  switch (huge_pages) {
    case HugePages::kNone:
      return "kNone";
    case HugePages::kHugeTlb:
      return "kHugeTlb";
    case HugePages::kTransparent:
      return "kTransparent";
  }
  return "unknown";
}

// ---- Layout ----------------------------------------------------------------

absl::StatusOr<Layout> Layout::Create(size_t size, size_t alignment) {
  const char* problem = nullptr;
  constexpr size_t kMax = PTRDIFF_MAX;
  if (size == 0) {
    problem = "size must be > 0";
  } else if (!absl::has_single_bit(alignment)) {
    problem = "alignment must be a power of two";
  } else if (alignment > kMax || size > kMax - (alignment - 1)) {
    problem = "size rounded up to the alignment exceeds PTRDIFF_MAX";
  }
  if (problem != nullptr) {
    return internal::CatchAllocation("Layout::Create", "", [&] {
      return absl::InvalidArgumentError(
          absl::StrCat("Layout::Create(size ", size, ", alignment ", alignment,
                       "): ", problem));
    });
  }
  return Layout(size, alignment);
}

absl::Status Layout::ArrayOverflow(size_t n, size_t element_size) {
  return internal::CatchAllocation("Layout::Array", "", [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("Layout::Array(", n, " elements of ", element_size,
                     " bytes): size exceeds PTRDIFF_MAX"));
  });
}

// ---- Policy ----------------------------------------------------------------

Strategy ChooseStrategy(const Layout& layout, const ScratchPolicy& policy) {
  if (policy.force.has_value()) return *policy.force;
  if (policy.shared || policy.memfd) return Strategy::kSharedAnonymous;
  if (layout.size() >= policy.mmap_threshold) return Strategy::kAnonymousMap;
  if (layout.alignment() > policy.overaligned_threshold) {
    return Strategy::kAlignedHeap;
  }
  return Strategy::kHeap;
}

// ---- ScratchBlock ----------------------------------------------------------

ScratchBlock::ScratchBlock(const Layout& layout, const ScratchPolicy& policy)
    : layout_(layout), strategy_(ChooseStrategy(layout, policy)) {
  length_ = ObtainedLength(layout_, strategy_, policy);
}

ScratchBlock::ScratchBlock(ScratchBlock&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      length_(std::exchange(other.length_, 0)),
      layout_(std::exchange(other.layout_, Layout())),
      strategy_(other.strategy_),
      huge_pages_(std::exchange(other.huge_pages_, HugePages::kNone)),
      fd_(std::exchange(other.fd_, -1)) {}

ScratchBlock& ScratchBlock::operator=(ScratchBlock&& other) noexcept {
  if (this != &other) {  // no base, no const members: rebuilding is sound
    this->~ScratchBlock();
    new (this) ScratchBlock(std::move(other));
  }
  return *this;
}

ScratchBlock::~ScratchBlock() {
  if (data_ != nullptr) {
    switch (strategy_) {
      case Strategy::kHeap:
        if (DefaultNewAligned(layout_.alignment())) {
          ::operator delete(data_);
        } else {
          // Unsized: sized delete needs -fsized-deallocation under clang.
          ::operator delete(data_, std::align_val_t{layout_.alignment()});
        }
        break;
      case Strategy::kAlignedHeap:
        os::AlignedFree(data_);
        break;
      case Strategy::kAnonymousMap:
      case Strategy::kSharedAnonymous:
        // Cannot fail: a whole mapping of ours, nothing to split.
        (void)os::Munmap(data_, length_, kAnonymous);
        break;
    }
  }
  if (fd_ >= 0) (void)os::Close(fd_, kMemfdName);
}

absl::Status ScratchBlock::Obtain(const ScratchPolicy& policy) {
  const size_t alignment = layout_.alignment();
  if (IsMapping(strategy_)) return Map(policy);  // mmap memory is zero already
  if (strategy_ == Strategy::kHeap) {
    data_ = DefaultNewAligned(alignment)
                ? ::operator new(length_, std::nothrow)
                : ::operator new(length_, std::align_val_t{alignment},
                                 std::nothrow);
    if (data_ == nullptr) {
      return absl::ResourceExhaustedError("operator new: out of memory");
    }
  } else {
    MAPFILE_ASSIGN_OR_RETURN(data_, os::AlignedAlloc(alignment, length_));
  }
  if (policy.zero) std::memset(data_, 0, layout_.size());
  return absl::OkStatus();
}

absl::Status ScratchBlock::Map(const ScratchPolicy& policy) {
  const size_t alignment = layout_.alignment();
  const bool reserving =
      strategy_ == Strategy::kAnonymousMap && policy.reserve > layout_.size();
  int flags = MAP_ANONYMOUS | (reserving ? MAP_NORESERVE : 0) |
              (strategy_ == Strategy::kAnonymousMap ? MAP_PRIVATE : MAP_SHARED);
  if (strategy_ == Strategy::kSharedAnonymous && policy.memfd) {
    MAPFILE_ASSIGN_OR_RETURN(os::Fd fd, os::MemfdCreate(kMemfdName));
    fd_ = fd.Release();  // closed by the destructor from here on
    MAPFILE_RETURN_IF_ERROR(os::Ftruncate(fd_, kMemfdName, length_));
    flags = MAP_SHARED;
  } else if (policy.huge_pages && !reserving) {
    absl::StatusOr<void*> huge =
        MapAligned(length_, alignment, kHugePage,
                   flags | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1);
    if (huge.ok()) {
      data_ = *huge;
      huge_pages_ = HugePages::kHugeTlb;
      return absl::OkStatus();
    }
  }
  MAPFILE_ASSIGN_OR_RETURN(
      data_, MapAligned(length_,
                        std::max(alignment, policy.huge_pages ? kHugePage : 1),
                        os::PageSize(), flags, fd_));
  // Transparent huge pages are a hint: refusal (THP off) is not an error.
  if (policy.huge_pages &&
      os::Madvise(data_, length_, MADV_HUGEPAGE, kAnonymous).ok()) {
    huge_pages_ = HugePages::kTransparent;
  }
  return absl::OkStatus();
}

absl::StatusOr<ScratchBlock> Allocate(const Layout& layout,
                                      const ScratchPolicy& policy) {
  return internal::CatchAllocation(
      "Allocate", "", [&]() -> absl::StatusOr<ScratchBlock> {
        if (layout.size() == 0) {  // the layout of an empty block
          return absl::InvalidArgumentError("Allocate: empty layout (size 0)");
        }
        ScratchBlock block(layout, policy);
        absl::Status status = block.Obtain(policy);
        if (!status.ok()) {
          return absl::Status(
              status.code(),
              absl::StrCat("Allocate(size ", layout.size(), ", alignment ",
                           layout.alignment(), ", ", ToString(block.strategy()),
                           ", capacity ", block.capacity(),
                           "): ", status.message()));
        }
        return block;
      });
}

// ---- ScratchResource -------------------------------------------------------

ScratchResource::ScratchResource(ScratchPolicy policy)
    : policy_(std::move(policy)) {}

// pmr may ask for 0 bytes; a Layout needs at least one. Both calls below map
// (bytes, alignment) to the layout the same way.
static absl::StatusOr<Layout> PmrLayout(size_t bytes, size_t alignment) {
  return Layout::Create(std::max<size_t>(bytes, 1), alignment);
}

void* ScratchResource::do_allocate(size_t bytes, size_t alignment) {
  absl::StatusOr<Layout> layout = PmrLayout(bytes, alignment);
  if (!layout.ok()) throw std::bad_alloc();  // required by std::pmr
  absl::StatusOr<ScratchBlock> block = Allocate(*layout, policy_);
  if (!block.ok()) throw std::bad_alloc();  // required by std::pmr
  if (block->fd_ >= 0) {  // nobody could reach it; the mapping stays
    (void)os::Close(std::exchange(block->fd_, -1), kMemfdName);
  }
  return std::exchange(block->data_, nullptr);
}

void ScratchResource::do_deallocate(void* p, size_t bytes, size_t alignment) {
  absl::StatusOr<Layout> layout = PmrLayout(bytes, alignment);
  if (!layout.ok() || p == nullptr) return;  // never came from do_allocate
  ScratchBlock block(*layout, policy_);  // same strategy, same length
  block.data_ = p;                       // released by its destructor
}

bool ScratchResource::do_is_equal(
    const std::pmr::memory_resource& other) const noexcept {
  return this == &other;
}

}  // namespace mapfile
