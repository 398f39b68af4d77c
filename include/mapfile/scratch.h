// Copyright 2026 The mapfile Authors.
//
// scratch.h: memory with no file behind it -- temporary buffers,
// decompression space, the backing of MappedVector<T>::CreateScratch.
//
// C and C++ programs get memory from three systems, each best at something:
//
//   Strategy          obtained with                      released with
//   kHeap             operator new(size, [align_val_t,]  operator delete(p,
//                       nothrow)                           [align_val_t])
//                     (align_val_t above __STDCPP_DEFAULT_NEW_ALIGNMENT__,
//                     as a new-expression does)
//   kAlignedHeap      aligned_alloc(align, size rounded  free
//                       up to a multiple of align)
//   kAnonymousMap     mmap(MAP_PRIVATE|MAP_ANONYMOUS)    munmap
//   kSharedAnonymous  mmap(MAP_SHARED|MAP_ANONYMOUS),    munmap (and close of
//                       or a memfd mapped MAP_SHARED       the memfd)
//
// `Allocate` picks one by a `ScratchPolicy` and returns a `ScratchBlock`, the
// only owner of the memory, which releases it with the call that matches how
// it was obtained. `ScratchResource` offers the same policy to the standard
// containers as a std::pmr::memory_resource.
//
//   MAPFILE_ASSIGN_OR_RETURN(Layout layout, Layout::Array<float>(n));
//   MAPFILE_ASSIGN_OR_RETURN(ScratchBlock block, Allocate(layout));
//   absl::Span<float> values = block.as_span<float>();
//
// Nothing here throws or aborts on bad input or lack of memory: invalid
// layouts are InvalidArgument, memory that cannot be had is ResourceExhausted
// naming the size asked for. (The one exception is
// ScratchResource::do_allocate, which must throw std::bad_alloc because the
// std::pmr contract says so.)
//
// Thread safety: Layout, ScratchPolicy and a const ScratchBlock may be used
// from any number of threads. Allocate may be called concurrently. A
// ScratchResource holds no mutable state: any number of threads may allocate
// from and deallocate to the same one.

#ifndef MAPFILE_SCRATCH_H_
#define MAPFILE_SCRATCH_H_

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace mapfile {

enum class Strategy { kHeap, kAlignedHeap, kAnonymousMap, kSharedAnonymous };

// "kHeap", "kAlignedHeap", ...
absl::string_view ToString(Strategy strategy);

// The size and alignment of a block. Always valid: size > 0, alignment a
// power of two, and size rounded up to a multiple of alignment is at most
// PTRDIFF_MAX (so no rounding a strategy does can overflow).
class Layout {
 public:
  // InvalidArgument when size is 0, alignment is not a power of two, or the
  // rounded size would pass PTRDIFF_MAX. Alignments up to 2^62 are accepted.
  [[nodiscard]] static absl::StatusOr<Layout> Create(size_t size,
                                                     size_t alignment);

  // One T.
  template <typename T>
  static Layout Of() {
    return Layout(sizeof(T), alignof(T));
  }

  // n contiguous T; InvalidArgument if n is 0 or n * sizeof(T) overflows.
  template <typename T>
  [[nodiscard]] static absl::StatusOr<Layout> Array(size_t n) {
    if (n > PTRDIFF_MAX / sizeof(T)) return ArrayOverflow(n, sizeof(T));
    return Create(n * sizeof(T), alignof(T));
  }

  size_t size() const { return size_; }
  size_t alignment() const { return alignment_; }

 private:
  friend class ScratchBlock;
  Layout() = default;  // size 0: only an empty ScratchBlock has it
  Layout(size_t size, size_t alignment) : size_(size), alignment_(alignment) {}
  static absl::Status ArrayOverflow(size_t n, size_t element_size);

  size_t size_ = 0;
  size_t alignment_ = 1;
};

// How Allocate chooses, first rule that applies wins:
//   1. `force`, if set;
//   2. `shared` or `memfd`                     -> kSharedAnonymous;
//   3. size >= mmap_threshold                  -> kAnonymousMap;
//   4. alignment > overaligned_threshold       -> kAlignedHeap;
//   5. otherwise                               -> kHeap.
// Big blocks go to mmap because they come zeroed, are returned to the system
// on release (no heap fragmentation) and can use huge pages; over-aligned
// small blocks go to aligned_alloc; everything else to the fastest path,
// operator new.
struct ScratchPolicy {
  size_t mmap_threshold = size_t{1} << 20;
  size_t overaligned_threshold = alignof(std::max_align_t);
  std::optional<Strategy> force;  // overrides the choice
  // Zero-fill whatever the strategy (mmap memory is zero already, at no
  // cost; heap memory is memset).
  bool zero = false;
  // Mapping strategies only (ignored on the heap): the length is rounded up
  // to 2 MiB and the block 2 MiB aligned; MAP_HUGETLB|MAP_HUGE_2MB is tried
  // first (needs reserved huge pages, vm.nr_hugepages), else the mapping is
  // madvise(MADV_HUGEPAGE)d (memfd blocks: madvise only).
  // ScratchBlock::huge_pages() reports which.
  bool huge_pages = false;
  bool shared = false;  // kSharedAnonymous: seen by children after fork()
  // kSharedAnonymous backed by a memfd: ScratchBlock::fd() can be passed to
  // another process (SCM_RIGHTS, /proc/<pid>/fd) and mapped there.
  bool memfd = false;
  // kAnonymousMap only (other strategies ignore it): map at least this many
  // bytes (rounded up to pages), MAP_NORESERVE, so that a block can grow in
  // place up to ScratchBlock::capacity() -- addresses stable, no copy. Only
  // the pages touched cost memory (and, MAP_NORESERVE, no swap is set
  // aside: touching more than the machine has is the OOM killer's business,
  // as with any overcommitted memory). Address space that cannot be had
  // (RLIMIT_AS, vm.overcommit_memory=2) is ResourceExhausted. With
  // huge_pages, only transparent huge pages are tried: a MAP_HUGETLB
  // mapping without a reservation would SIGBUS when the pool runs dry.
  size_t reserve = 0;
};

// The strategy Allocate uses for `layout` under `policy` (rules above). A
// pure function of its arguments: ScratchResource relies on that.
Strategy ChooseStrategy(const Layout& layout, const ScratchPolicy& policy);

// What a mapping with ScratchPolicy::huge_pages got.
enum class HugePages {
  kNone,         // not asked for, not a mapping, or madvise refused
  kHugeTlb,      // MAP_HUGETLB: reserved 2 MiB pages
  kTransparent,  // madvise(MADV_HUGEPAGE): the kernel may use huge pages
};
absl::string_view ToString(HugePages huge_pages);

// The owner of one block from Allocate. Move-only; a moved-from or default
// constructed block owns nothing (data() == nullptr, size() == 0). The
// destructor releases the memory with the call matching strategy().
class ScratchBlock {
 public:
  ScratchBlock() = default;
  ScratchBlock(ScratchBlock&& other) noexcept;
  ScratchBlock& operator=(ScratchBlock&& other) noexcept;
  ScratchBlock(const ScratchBlock&) = delete;
  ScratchBlock& operator=(const ScratchBlock&) = delete;
  ~ScratchBlock();

  // Aligned to layout().alignment(); capacity() >= size() bytes are
  // writable.
  void* data() const { return data_; }
  size_t size() const { return layout_.size(); }
  // The bytes obtained: size() rounded up as the strategy rounds it
  // (alignment, page, 2 MiB), or the ScratchPolicy::reserve of a mapping.
  size_t capacity() const { return length_; }
  const Layout& layout() const { return layout_; }
  Strategy strategy() const { return strategy_; }
  HugePages huge_pages() const { return huge_pages_; }
  // The memfd behind a ScratchPolicy::memfd block (owned by the block,
  // closed with it), else -1.
  int fd() const { return fd_; }

  // The block as size() / sizeof(T) objects of T.
  // REQUIRES: alignof(T) <= layout().alignment(); T implicit-lifetime (e.g.
  // trivially copyable) or constructed in place by the caller.
  template <typename T>
  absl::Span<T> as_span() const {
    return absl::Span<T>(static_cast<T*>(data_), size() / sizeof(T));
  }

 private:
  friend absl::StatusOr<ScratchBlock> Allocate(const Layout&,
                                               const ScratchPolicy&);
  friend class ScratchResource;
  // An empty block that will hold `layout` by ChooseStrategy(layout, policy).
  ScratchBlock(const Layout& layout, const ScratchPolicy& policy);
  absl::Status Obtain(const ScratchPolicy& policy);  // fills data_ (and fd_)
  absl::Status Map(const ScratchPolicy& policy);     // Obtain for mappings

  void* data_ = nullptr;
  size_t length_ = 0;  // what was obtained: rounded, page or 2 MiB multiple
  Layout layout_;
  Strategy strategy_ = Strategy::kHeap;
  HugePages huge_pages_ = HugePages::kNone;
  int fd_ = -1;
};

// A block of layout.size() bytes aligned to layout.alignment(), obtained with
// ChooseStrategy(layout, policy). Out of memory (or address space) is
// ResourceExhausted naming the size; never a throw, an abort or an unaligned
// pointer.
[[nodiscard]] absl::StatusOr<ScratchBlock> Allocate(
    const Layout& layout, const ScratchPolicy& policy = {});

// A std::pmr::memory_resource that allocates as Allocate does, for
// std::pmr::vector, std::pmr::string, std::pmr::unordered_map, ...
//
// Bookkeeping: none is stored. do_deallocate(p, bytes, alignment) receives
// what do_allocate was given, and the strategy and the length obtained are
// pure functions of (bytes, alignment, policy) -- ChooseStrategy, page and
// 2 MiB rounding -- so each block is released with the right call without a
// side table. Memfd blocks close their fd right after mapping (the mapping
// keeps the memory alive). Resources compare equal only to themselves.
//
// do_allocate throws std::bad_alloc when Allocate fails: only because the
// std::pmr contract requires it (a memory_resource has no other way to say
// "no memory"); everything else in mapfile returns a Status.
class ScratchResource : public std::pmr::memory_resource {
 public:
  explicit ScratchResource(ScratchPolicy policy = {});
  const ScratchPolicy& policy() const { return policy_; }

 private:
  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void* p, size_t bytes, size_t alignment) override;
  bool do_is_equal(const std::pmr::memory_resource& other) const
      noexcept override;

  ScratchPolicy policy_;
};

}  // namespace mapfile

#endif  // MAPFILE_SCRATCH_H_
