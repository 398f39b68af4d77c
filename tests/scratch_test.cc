// Copyright 2026 The mapfile Authors.
//
// Tests of scratch memory: Layout validation, the policy's choice at every
// threshold edge, each strategy's alignment, writability and matching
// release (run under ASan/LSan, which flag a mismatched or missing free),
// out of memory as a Status (also under a real RLIMIT_AS), shared and memfd
// blocks across processes and mappings, and std::pmr containers on
// ScratchResource.

#include "mapfile/scratch.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>
#include <memory_resource>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/internal/os.h"
#include "tests/testing.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAPFILE_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define MAPFILE_TEST_ASAN 1
#endif

#ifdef MAPFILE_TEST_ASAN
// glibc's allocator returns nullptr for a request it cannot meet, which is
// what Allocate turns into ResourceExhausted. ASan by default reports such a
// request and aborts instead; make it behave like the real allocator.
extern "C" const char* __asan_default_options() {
  return "allocator_may_return_null=1";
}
#endif

namespace mapfile {
namespace {

using ::testing::HasSubstr;

constexpr size_t kKiB = size_t{1} << 10;
constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kMaxAlign = alignof(std::max_align_t);

Layout MakeLayout(size_t size, size_t alignment) {
  absl::StatusOr<Layout> layout = Layout::Create(size, alignment);
  EXPECT_TRUE(layout.ok()) << layout.status();
  return layout.ok() ? *layout : Layout::Of<char>();
}

ScratchPolicy Forced(Strategy strategy) {
  ScratchPolicy policy;
  policy.force = strategy;
  return policy;
}

bool IsAligned(const void* p, size_t alignment) {
  return reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

bool AllBytesAre(const void* p, size_t n, unsigned char value) {
  const auto* bytes = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != value) return false;
  }
  return true;
}

// True if no page of [p, p + n) is mapped (mincore fails with ENOMEM).
bool Unmapped(const void* p, size_t n) {
  const uintptr_t page = os::PageSize();
  const uintptr_t start = reinterpret_cast<uintptr_t>(p) / page * page;
  return !os::Mincore(reinterpret_cast<const void*>(start), n, "test").ok();
}

// ---------------------------------------------------------------- Layout

TEST(LayoutTest, AcceptsEveryPowerOfTwoAlignmentPastOneGiB) {
  for (int shift = 0; shift <= 62; ++shift) {
    absl::StatusOr<Layout> layout = Layout::Create(1, size_t{1} << shift);
    ASSERT_TRUE(layout.ok()) << shift << ": " << layout.status();
    EXPECT_EQ(layout->size(), 1u);
    EXPECT_EQ(layout->alignment(), size_t{1} << shift);
  }
}

TEST(LayoutTest, ZeroSizeIsInvalidArgument) {
  absl::Status s = Layout::Create(0, 8).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("size must be > 0"));
}

TEST(LayoutTest, NonPowerOfTwoAlignmentIsInvalidArgument) {
  for (size_t alignment : {size_t{0}, size_t{3}, size_t{24}, size_t{4095},
                           SIZE_MAX}) {
    absl::Status s = Layout::Create(64, alignment).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << alignment;
    EXPECT_THAT(s.message(), HasSubstr("power of two"));
  }
}

TEST(LayoutTest, SizeThatOverflowsWhenRoundedIsInvalidArgument) {
  const size_t max = PTRDIFF_MAX;
  const std::pair<size_t, size_t> cases[] = {
      {SIZE_MAX, 1},       {SIZE_MAX - 5, 64}, {max + 1, 1},
      {max, 2},            {max - 10, 4096},   {1, size_t{1} << 63},
      {size_t{1} << 62 | 1, size_t{1} << 62},
  };
  for (const auto& [size, alignment] : cases) {
    absl::Status s = Layout::Create(size, alignment).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument)
        << size << " " << alignment;
  }
  EXPECT_TRUE(Layout::Create(max, 1).ok());
  EXPECT_TRUE(Layout::Create(size_t{1} << 62, size_t{1} << 62).ok());
}

TEST(LayoutTest, OfAndArrayFollowSizeofAndAlignof) {
  struct alignas(32) Wide {
    char bytes[96];
  };
  EXPECT_EQ(Layout::Of<Wide>().size(), sizeof(Wide));
  EXPECT_EQ(Layout::Of<Wide>().alignment(), 32u);
  absl::StatusOr<Layout> array = Layout::Array<double>(10);
  ASSERT_TRUE(array.ok());
  EXPECT_EQ(array->size(), 80u);
  EXPECT_EQ(array->alignment(), alignof(double));
}

TEST(LayoutTest, ArrayOverflowAndEmptyArrayAreInvalidArgument) {
  EXPECT_EQ(Layout::Array<uint64_t>(SIZE_MAX / 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Layout::Array<uint32_t>(PTRDIFF_MAX / 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Layout::Array<int>(0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- Policy

TEST(PolicyTest, DefaultPolicyPicksByThresholdAtEachEdge) {
  const ScratchPolicy policy;
  struct Case {
    size_t size, alignment;
    Strategy expected;
  };
  const Case cases[] = {
      {1, 1, Strategy::kHeap},
      {kMiB - 1, kMaxAlign, Strategy::kHeap},
      {kMiB, 1, Strategy::kAnonymousMap},
      {kMiB, 4096, Strategy::kAnonymousMap},
      {64, kMaxAlign * 2, Strategy::kAlignedHeap},
      {kMiB - 1, 2 * kMiB, Strategy::kAlignedHeap},
      {kMiB, 2 * kMiB, Strategy::kAnonymousMap},
  };
  for (const Case& c : cases) {
    const Layout layout = MakeLayout(c.size, c.alignment);
    EXPECT_EQ(ChooseStrategy(layout, policy), c.expected)
        << c.size << " " << c.alignment;
    // And Allocate really uses it.
    absl::StatusOr<ScratchBlock> block = Allocate(layout, policy);
    ASSERT_TRUE(block.ok()) << block.status();
    EXPECT_EQ(block->strategy(), c.expected) << c.size << " " << c.alignment;
  }
}

TEST(PolicyTest, EveryThresholdIsAnOption) {
  ScratchPolicy policy;
  policy.mmap_threshold = 4096;
  policy.overaligned_threshold = 8;
  EXPECT_EQ(ChooseStrategy(MakeLayout(4095, 8), policy), Strategy::kHeap);
  EXPECT_EQ(ChooseStrategy(MakeLayout(4095, 16), policy),
            Strategy::kAlignedHeap);
  EXPECT_EQ(ChooseStrategy(MakeLayout(4096, 8), policy),
            Strategy::kAnonymousMap);
}

TEST(PolicyTest, SharedAndMemfdPickSharedAnonymousAndForceWins) {
  const Layout small = MakeLayout(64, 8);
  ScratchPolicy policy;
  policy.shared = true;
  EXPECT_EQ(ChooseStrategy(small, policy), Strategy::kSharedAnonymous);
  policy.shared = false;
  policy.memfd = true;
  EXPECT_EQ(ChooseStrategy(small, policy), Strategy::kSharedAnonymous);
  policy.force = Strategy::kAlignedHeap;
  EXPECT_EQ(ChooseStrategy(small, policy), Strategy::kAlignedHeap);
  EXPECT_EQ(ChooseStrategy(MakeLayout(64 * kMiB, 8), Forced(Strategy::kHeap)),
            Strategy::kHeap);
}

// ------------------------------------------------------- Every strategy

template <Strategy S>
struct Is {
  static constexpr Strategy kStrategy = S;
};

template <typename T>
class StrategyTest : public ::testing::Test {
 protected:
  static constexpr Strategy kStrategy = T::kStrategy;
  static constexpr bool kMapping = kStrategy == Strategy::kAnonymousMap ||
                                   kStrategy == Strategy::kSharedAnonymous;
  os::fault::ScopedReset reset_;
};

using Strategies =
    ::testing::Types<Is<Strategy::kHeap>, Is<Strategy::kAlignedHeap>,
                     Is<Strategy::kAnonymousMap>,
                     Is<Strategy::kSharedAnonymous>>;
struct StrategyName {
  template <typename T>
  static std::string GetName(int) {
    return std::string(ToString(T::kStrategy));
  }
};
TYPED_TEST_SUITE(StrategyTest, Strategies, StrategyName);

constexpr size_t kAlignments[] = {1, 8, 16, 32, 64, 4096, 2 * kMiB};
constexpr size_t kSizes[] = {1, 100, 3 * 4096 + 5, 3 * kMiB + 1};

TYPED_TEST(StrategyTest, PointerIsAlignedAndWholeSizeIsWritable) {
  for (size_t alignment : kAlignments) {
    for (size_t size : kSizes) {
      SCOPED_TRACE(absl::StrCat("size ", size, " alignment ", alignment));
      absl::StatusOr<ScratchBlock> block =
          Allocate(MakeLayout(size, alignment), Forced(this->kStrategy));
      ASSERT_TRUE(block.ok()) << block.status();
      EXPECT_EQ(block->strategy(), this->kStrategy);
      EXPECT_EQ(block->size(), size);
      EXPECT_EQ(block->layout().alignment(), alignment);
      EXPECT_TRUE(IsAligned(block->data(), alignment)) << block->data();
      absl::Span<unsigned char> bytes = block->as_span<unsigned char>();
      ASSERT_EQ(bytes.size(), size);
      if (this->kMapping) {
        EXPECT_TRUE(AllBytesAre(bytes.data(), size, 0)) << "mmap is zeroed";
      }
      std::memset(bytes.data(), 0x5A, size);
      EXPECT_TRUE(AllBytesAre(bytes.data(), size, 0x5A));
    }
  }
}

TYPED_TEST(StrategyTest, ReleaseUsesTheMatchingCall) {
  // A rule that never fails makes the seam count every call.
  os::fault::Inject({os::Op::kMunmap, 0});
  for (size_t alignment : kAlignments) {
    SCOPED_TRACE(alignment);
    const uint64_t aligned_allocs = os::fault::Calls(os::Op::kAlignedAlloc);
    auto block = std::make_unique<absl::StatusOr<ScratchBlock>>(
        Allocate(MakeLayout(5000, alignment), Forced(this->kStrategy)));
    ASSERT_TRUE((*block).ok()) << (*block).status();
    void* data = (*block)->data();
    EXPECT_EQ(os::fault::Calls(os::Op::kAlignedAlloc) - aligned_allocs,
              this->kStrategy == Strategy::kAlignedHeap ? 1u : 0u);
    const uint64_t munmaps = os::fault::Calls(os::Op::kMunmap);
    block.reset();
    // operator delete vs free is checked by ASan (alloc-dealloc-mismatch,
    // new-delete-type-mismatch on size and alignment); leaks by LSan.
    EXPECT_EQ(os::fault::Calls(os::Op::kMunmap) - munmaps,
              this->kMapping ? 1u : 0u);
    if (this->kMapping) {
      EXPECT_TRUE(Unmapped(data, 5000));
    }
  }
}

TYPED_TEST(StrategyTest, MovedFromBlockOwnsNothing) {
  os::fault::Inject({os::Op::kMunmap, 0});
  const Layout layout = MakeLayout(4096, 64);
  absl::StatusOr<ScratchBlock> a = Allocate(layout, Forced(this->kStrategy));
  absl::StatusOr<ScratchBlock> b = Allocate(layout, Forced(this->kStrategy));
  ASSERT_TRUE(a.ok() && b.ok());
  void* first = a->data();
  void* second = b->data();
  ScratchBlock moved(std::move(*a));
  EXPECT_EQ(a->data(), nullptr);
  EXPECT_EQ(a->size(), 0u);
  EXPECT_EQ(moved.data(), first);
  moved = std::move(*b);  // releases `first`, takes `second`
  EXPECT_EQ(moved.data(), second);
  EXPECT_EQ(b->data(), nullptr);
  const uint64_t expected_munmaps = this->kMapping ? 1 : 0;
  EXPECT_EQ(os::fault::Calls(os::Op::kMunmap), expected_munmaps);
  { ScratchBlock sink(std::move(moved)); }
  *a = ScratchBlock();  // destroying empty blocks releases nothing more
  EXPECT_EQ(os::fault::Calls(os::Op::kMunmap), 2 * expected_munmaps);
}

TYPED_TEST(StrategyTest, ZeroOptionZeroFillsReusedMemory) {
  ScratchPolicy policy = Forced(this->kStrategy);
  const Layout layout = MakeLayout(3000, 64);
  {
    absl::StatusOr<ScratchBlock> dirty = Allocate(layout, policy);
    ASSERT_TRUE(dirty.ok());
    std::memset(dirty->data(), 0xAB, layout.size());
  }
  policy.zero = true;
  absl::StatusOr<ScratchBlock> block = Allocate(layout, policy);
  ASSERT_TRUE(block.ok());
  EXPECT_TRUE(AllBytesAre(block->data(), layout.size(), 0));
}

TYPED_TEST(StrategyTest, AbsurdSizeIsResourceExhaustedNamingTheSize) {
  const size_t size = size_t{1} << 62;  // valid Layout, no machine has it
  absl::StatusOr<ScratchBlock> block =
      Allocate(MakeLayout(size, 64), Forced(this->kStrategy));
  ASSERT_FALSE(block.ok());
  EXPECT_EQ(block.status().code(), absl::StatusCode::kResourceExhausted)
      << block.status();
  EXPECT_THAT(block.status().message(),
              HasSubstr(absl::StrCat("Allocate(size ", size)));
  EXPECT_THAT(block.status().message(), HasSubstr(ToString(this->kStrategy)));
}

// Every system call a strategy makes can be refused; each refusal is a
// ResourceExhausted Status (the heap's operator new is covered by the
// RLIMIT_AS test below, it has no seam).
TEST(OutOfMemoryTest, RefusedSystemCallIsResourceExhausted) {
  ScratchPolicy memfd;
  memfd.memfd = true;
  const struct {
    ScratchPolicy policy;
    size_t alignment;
    os::Op op;
    int error;
  } cases[] = {
      {Forced(Strategy::kAlignedHeap), 64, os::Op::kAlignedAlloc, ENOMEM},
      {Forced(Strategy::kAnonymousMap), 64, os::Op::kMmap, ENOMEM},
      {Forced(Strategy::kAnonymousMap), 2 * kMiB, os::Op::kMunmap, ENOMEM},
      {Forced(Strategy::kSharedAnonymous), 64, os::Op::kMmap, ENOMEM},
      {memfd, 64, os::Op::kMemfdCreate, EMFILE},
      {memfd, 64, os::Op::kFtruncate, ENOSPC},
      {memfd, 2 * kMiB, os::Op::kMmap, ENOMEM},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(os::OpName(c.op));
    os::fault::ScopedReset reset;
    os::fault::Inject({c.op, c.error});
    absl::StatusOr<ScratchBlock> block =
        Allocate(MakeLayout(4096, c.alignment), c.policy);
    EXPECT_EQ(block.status().code(), absl::StatusCode::kResourceExhausted)
        << block.status();
    EXPECT_THAT(block.status().message(), HasSubstr("Allocate(size 4096"));
    EXPECT_THAT(block.status().message(), HasSubstr(os::OpName(c.op)));
  }
}

// A child under an address-space limit just above what it uses now: every
// strategy must answer a 512 MiB request with ResourceExhausted, and small
// requests must still work.
TEST(OutOfMemoryTest, UnderSmallRlimitAsAllocateIsResourceExhausted) {
  int code = mapfile::testing::RunInChild([] {
    std::ifstream status("/proc/self/status");
    size_t vm_kib = 0;
    for (std::string key; status >> key;) {
      if (key == "VmSize:" && status >> vm_kib) break;
    }
    if (vm_kib == 0) return 10;
    const rlim_t limit = vm_kib * kKiB + 64 * kMiB;
    const struct rlimit rl = {limit, limit};
    if (::setrlimit(RLIMIT_AS, &rl) != 0) return 11;
    const Layout big = MakeLayout(512 * kMiB, 64);
    int step = 20;
    for (Strategy s : {Strategy::kHeap, Strategy::kAlignedHeap,
                       Strategy::kAnonymousMap, Strategy::kSharedAnonymous}) {
      absl::StatusOr<ScratchBlock> block = Allocate(big, Forced(s));
      if (block.ok() ||
          block.status().code() != absl::StatusCode::kResourceExhausted ||
          !absl::StrContains(block.status().message(), "536870912")) {
        return step;
      }
      if (!Allocate(MakeLayout(4096, 64), Forced(s)).ok()) return step + 1;
      step += 2;
    }
    return 0;
  });
  EXPECT_EQ(code, 0);
}

// ------------------------------------------------------------ Huge pages

class HugePagesTest : public ::testing::Test {
 protected:
  HugePagesTest() { policy_.huge_pages = true; }
  os::fault::ScopedReset reset_;
  ScratchPolicy policy_ = Forced(Strategy::kAnonymousMap);
  const Layout layout_ = MakeLayout(3 * kMiB, 64);
};

TEST_F(HugePagesTest, BlockIsTwoMiBAlignedAndReportsWhatItGot) {
  absl::StatusOr<ScratchBlock> block = Allocate(layout_, policy_);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_TRUE(IsAligned(block->data(), 2 * kMiB));
  std::memset(block->data(), 1, block->size());
  std::cout << "huge pages: " << ToString(block->huge_pages()) << "\n";
  policy_.huge_pages = false;
  absl::StatusOr<ScratchBlock> plain = Allocate(layout_, policy_);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->huge_pages(), HugePages::kNone);
}

TEST_F(HugePagesTest, RefusedHugeTlbFallsBackToMadvise) {
  os::fault::Inject({os::Op::kMmap, ENOMEM});  // the MAP_HUGETLB attempt
  os::fault::Inject({os::Op::kMadvise, 0});    // count madvise calls
  absl::StatusOr<ScratchBlock> block = Allocate(layout_, policy_);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(os::fault::Calls(os::Op::kMmap), 2u);
  EXPECT_EQ(os::fault::Calls(os::Op::kMadvise), 1u);
  EXPECT_EQ(block->huge_pages(), HugePages::kTransparent);
  EXPECT_TRUE(IsAligned(block->data(), 2 * kMiB));
}

TEST_F(HugePagesTest, RefusedMadviseIsReportedNotAnError) {
  os::fault::Inject({os::Op::kMmap, ENOMEM});
  os::fault::Inject({os::Op::kMadvise, EINVAL});  // kernel without THP
  absl::StatusOr<ScratchBlock> block = Allocate(layout_, policy_);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(block->huge_pages(), HugePages::kNone);
}

// ---------------------------------------------------------- Reservations

ScratchPolicy Reserving(size_t reserve) {
  ScratchPolicy policy;
  policy.reserve = reserve;
  return policy;
}

// A 1 MiB block with a 512 MiB reserve: all of it writable at data(), only
// the pages touched resident, all of it unmapped on release.
TEST(ReserveTest, BlockCanGrowInPlaceToItsReserveUsingOnlyWhatItTouches) {
  void* data = nullptr;
  {
    absl::StatusOr<ScratchBlock> block =
        Allocate(MakeLayout(kMiB, 64), Reserving(512 * kMiB));
    ASSERT_TRUE(block.ok()) << block.status();
    EXPECT_EQ(block->strategy(), Strategy::kAnonymousMap);
    EXPECT_EQ(block->size(), kMiB);
    EXPECT_EQ(block->capacity(), 512 * kMiB);
    data = block->data();
    auto* bytes = static_cast<unsigned char*>(data);
    for (size_t at = 0; at < block->capacity(); at += 64 * kMiB) bytes[at] = 7;
    bytes[block->capacity() - 1] = 9;
    EXPECT_EQ(bytes[block->capacity() - 1], 9);
    EXPECT_EQ(bytes[64 * kMiB], 7);
    absl::StatusOr<size_t> pages = os::Mincore(data, block->capacity(), "t");
    ASSERT_TRUE(pages.ok()) << pages.status();
    // 9 pages touched; with transparent huge pages, 9 x 2 MiB at most.
    EXPECT_LE(*pages * os::PageSize(), 18 * kMiB);
  }
  EXPECT_TRUE(Unmapped(data, 512 * kMiB));
}

TEST(ReserveTest, OnlyAnonymousMapsReserveAndReserveRoundsToPages) {
  const size_t page = os::PageSize();
  ScratchPolicy shared = Reserving(64 * kMiB);
  shared.shared = true;
  const struct {
    size_t size, alignment;
    ScratchPolicy policy;
    Strategy strategy;
    size_t capacity;
  } cases[] = {
      {100, 8, Reserving(64 * kMiB), Strategy::kHeap, 100},
      {100, 64, Reserving(64 * kMiB), Strategy::kAlignedHeap, 128},
      {100, 64, shared, Strategy::kSharedAnonymous, page},
      {kMiB, 8, Reserving(0), Strategy::kAnonymousMap, kMiB},
      {kMiB + 1, 8, Reserving(kMiB), Strategy::kAnonymousMap, kMiB + page},
      {kMiB, 8, Reserving(kMiB + 1), Strategy::kAnonymousMap, kMiB + page},
      {kMiB, 2 * kMiB, Reserving(5 * kMiB), Strategy::kAnonymousMap, 5 * kMiB},
  };
  for (const auto& c : cases) {
    absl::StatusOr<ScratchBlock> block =
        Allocate(MakeLayout(c.size, c.alignment), c.policy);
    ASSERT_TRUE(block.ok()) << block.status();
    EXPECT_EQ(block->strategy(), c.strategy) << c.size;
    EXPECT_EQ(block->capacity(), c.capacity) << c.size;
    EXPECT_TRUE(IsAligned(block->data(), c.alignment));
    std::memset(block->data(), 1, block->capacity());
  }
}

TEST(ReserveTest, HugePagesWithReserveAreOnlyTransparent) {
  os::fault::ScopedReset reset;
  os::fault::Inject({os::Op::kMunmap, 0});  // count mmap calls
  ScratchPolicy policy = Reserving(64 * kMiB + 1);
  policy.huge_pages = true;
  absl::StatusOr<ScratchBlock> block = Allocate(MakeLayout(kMiB, 64), policy);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_NE(block->huge_pages(), HugePages::kHugeTlb);
  EXPECT_EQ(block->capacity(), 66 * kMiB);
  EXPECT_TRUE(IsAligned(block->data(), 2 * kMiB));
  // No MAP_HUGETLB attempt (the 2 MiB alignment trims are munmaps).
  EXPECT_EQ(os::fault::Calls(os::Op::kMmap), 1u);
}

TEST(ReserveTest, AbsurdReserveIsResourceExhaustedNamingIt) {
  for (size_t reserve : {size_t{1} << 62, SIZE_MAX}) {
    absl::StatusOr<ScratchBlock> block =
        Allocate(MakeLayout(kMiB, 8), Reserving(reserve));
    EXPECT_EQ(block.status().code(), absl::StatusCode::kResourceExhausted)
        << block.status();
    EXPECT_THAT(block.status().message(), HasSubstr("kAnonymousMap, capacity "));
  }
}

// ---------------------------------------------------- Shared and memfd

TEST(SharedTest, ForkedChildWriteIsSeenByParent) {
  ScratchPolicy policy;
  policy.shared = true;
  absl::StatusOr<ScratchBlock> block = Allocate(MakeLayout(kMiB, 64), policy);
  ASSERT_TRUE(block.ok()) << block.status();
  ASSERT_EQ(block->strategy(), Strategy::kSharedAnonymous);
  auto bytes = block->as_span<unsigned char>();
  ASSERT_EQ(mapfile::testing::RunInChild([&] {
              std::memset(bytes.data(), 0x77, bytes.size());
              return 0;
            }),
            0);
  EXPECT_TRUE(AllBytesAre(bytes.data(), bytes.size(), 0x77));
}

TEST(SharedTest, ForkedChildWriteToPrivateMapIsNotSeen) {
  absl::StatusOr<ScratchBlock> block =
      Allocate(MakeLayout(kMiB, 64), Forced(Strategy::kAnonymousMap));
  ASSERT_TRUE(block.ok());
  auto bytes = block->as_span<unsigned char>();
  ASSERT_EQ(mapfile::testing::RunInChild([&] {
              std::memset(bytes.data(), 0x77, bytes.size());
              return 0;
            }),
            0);
  EXPECT_TRUE(AllBytesAre(bytes.data(), bytes.size(), 0));
}

TEST(SharedTest, MemfdBlockMappedAgainThroughItsFdShowsTheSameBytes) {
  ScratchPolicy policy;
  policy.memfd = true;
  for (size_t alignment : {size_t{64}, 2 * kMiB}) {  // direct and over-mapped
    SCOPED_TRACE(alignment);
    const Layout layout = MakeLayout(kMiB + 3, alignment);
    absl::StatusOr<ScratchBlock> block = Allocate(layout, policy);
    ASSERT_TRUE(block.ok()) << block.status();
    ASSERT_GE(block->fd(), 0);
    EXPECT_TRUE(IsAligned(block->data(), alignment));
    absl::StatusOr<void*> again =
        os::Mmap(nullptr, layout.size(), PROT_READ | PROT_WRITE, MAP_SHARED,
                 block->fd(), 0, "memfd");
    ASSERT_TRUE(again.ok()) << again.status();
    auto* first = static_cast<unsigned char*>(block->data());
    auto* second = static_cast<unsigned char*>(*again);
    std::memset(first, 0x31, layout.size());
    EXPECT_TRUE(AllBytesAre(second, layout.size(), 0x31));
    second[layout.size() - 1] = 0x42;
    EXPECT_EQ(first[layout.size() - 1], 0x42);
    EXPECT_TRUE(os::Munmap(*again, layout.size(), "memfd").ok());
    const int fd = block->fd();
    *block = ScratchBlock();
    EXPECT_EQ(::fcntl(fd, F_GETFD), -1) << "the block closes its memfd";
  }
}

// ------------------------------------------------------------------ pmr

TEST(ScratchResourceTest, PmrContainersRunAndEveryMappingIsReleased) {
  os::fault::ScopedReset reset;
  os::fault::Inject({os::Op::kMunmap, 0});  // count mmap and munmap
  ScratchPolicy policy;
  policy.mmap_threshold = 64 * kKiB;  // let growth cross into mmap
  ScratchResource resource(policy);
  {
    std::pmr::vector<uint64_t> values(&resource);
    for (uint64_t i = 0; i < 100000; ++i) values.push_back(i * i);
    std::pmr::unordered_map<int, std::pmr::string> names(&resource);
    for (int i = 0; i < 5000; ++i) {
      names.emplace(i, std::pmr::string(absl::StrCat("name number ", i)));
    }
    for (uint64_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], i * i);
    for (int i = 0; i < 5000; ++i) {
      ASSERT_EQ(names.at(i), absl::StrCat("name number ", i).c_str());
    }
    for (int i = 0; i < 5000; i += 2) names.erase(i);
    EXPECT_EQ(names.size(), 2500u);
    EXPECT_GT(os::fault::Calls(os::Op::kMmap), 0u) << "never used mmap";
  }
  EXPECT_EQ(os::fault::Calls(os::Op::kMunmap),
            os::fault::Calls(os::Op::kMmap));
}

TEST(ScratchResourceTest, EveryStrategyDeallocatesWithItsOwnCall) {
  std::vector<ScratchPolicy> policies;
  for (Strategy s : {Strategy::kHeap, Strategy::kAlignedHeap,
                     Strategy::kAnonymousMap, Strategy::kSharedAnonymous}) {
    policies.push_back(Forced(s));
  }
  policies.emplace_back().memfd = true;
  policies.push_back(Forced(Strategy::kAnonymousMap));
  policies.back().huge_pages = true;
  policies.push_back(Reserving(64 * kMiB));  // released whole, not size()
  for (const ScratchPolicy& policy : policies) {
    ScratchResource resource(policy);
    for (size_t alignment : kAlignments) {
      for (size_t bytes : {size_t{0}, size_t{24}, 5 * kMiB}) {
        void* p = resource.allocate(bytes, alignment);
        EXPECT_TRUE(IsAligned(p, alignment));
        std::memset(p, 0xEE, bytes);
        resource.deallocate(p, bytes, alignment);
        // Heap blocks: a wrong free is an ASan report, a missing one LSan's.
        const Layout layout = MakeLayout(bytes == 0 ? 1 : bytes, alignment);
        if (ChooseStrategy(layout, policy) >= Strategy::kAnonymousMap) {
          EXPECT_TRUE(Unmapped(p, std::max(layout.size(), policy.reserve)))
              << bytes << " " << alignment;
        }
      }
    }
  }
}

TEST(ScratchResourceTest, FailureThrowsBadAllocAsPmrRequires) {
  ScratchResource resource;
  EXPECT_THROW((void)resource.allocate(size_t{1} << 62, 8), std::bad_alloc);
  const size_t max = PTRDIFF_MAX;  // rounded up past it: no valid Layout
  EXPECT_THROW((void)resource.allocate(max - 10, 4096), std::bad_alloc);
}

TEST(ScratchResourceTest, EqualOnlyToItself) {
  ScratchResource a, b;
  EXPECT_TRUE(a.is_equal(a));
  EXPECT_FALSE(a.is_equal(b));
}

}  // namespace
}  // namespace mapfile
