// Copyright 2026 The mapfile Authors.
//
// mapped_vector.h: MappedVector<T>, a std::vector-like array of trivially
// copyable T kept in a file (or, with CreateScratch, in scratch memory).
//
//   struct Tick { int64_t time; double price; };
//   MAPFILE_TYPE(Tick, "example.Tick", 1);
//   ...
//   MAPFILE_ASSIGN_OR_RETURN(auto ticks, MappedVector<Tick>::Open(path));
//   MAPFILE_RETURN_IF_ERROR(ticks.push_back({1700000000, 101.5}));
//   MAPFILE_RETURN_IF_ERROR(ticks.Sync());   // durable from here on
//   std::sort(ticks.begin(), ticks.end(), ByTime);
//
// Guarantees (file-backed vectors):
//   * Typed: the header records T's name, schema version, size and
//     alignment (format.h); opening a file of another T, kind, major format
//     version or byte order is FailedPrecondition naming both sides.
//   * Stable addresses: growth extends the file inside an address-space
//     reservation (VectorOptions::reserve, default 64 GiB), so pointers,
//     references and iterators stay valid across push_back/reserve/resize,
//     and no element is ever copied by growth. Only growth past the
//     reservation moves the elements. Amortised O(1) push_back.
//   * Durability: Sync() writes the elements back, then commits the size in
//     the header's inactive commit slot (docs/FORMAT.md). After a crash the
//     vector reopens with the size of the last successful Sync() and those
//     elements; elements pushed after it are not returned. Writes to
//     existing elements in place (v[i] = x) reach the file when the kernel
//     writes the page back, at the latest at the next Sync(): mmap gives no
//     atomicity for them, so a crash may leave any mix of old and new bytes
//     in elements changed since the last Sync().
//   * The destructor does not Sync: what was not synced is as after a crash.
//   * One writer per file (flock): a second writer is Unavailable. Readers
//     take no lock (VectorOptions::reader_lock), so any number of them, in
//     any process, open the file while its writer works.
//
// Read-only, two ways; either maps the file PROT_READ, takes no lock, and
// reads the size the newest commit slot holds (what the writer last Synced;
// its unsynced pushes are not seen). Refresh() follows the writer's later
// commits.
//   * MappedVector<const T>: mutation does not compile (Options::mode is
//     ignored). Prefer it.
//   * MappedVector<T> with Options::mode = kReadOnly: every Status-returning
//     mutator (push_back, emplace_back, append, resize, reserve,
//     shrink_to_fit, Sync) is FailedPrecondition naming the file; clear()
//     and pop_back(), which cannot report, change only this object's size()
//     (nothing is written; Refresh() restores the committed size).
//     REQUIRES: no write to an element (v[i] = x, std::sort): the page is
//     read-only and the write is a SIGSEGV, as a write through a const_cast
//     would be.
// A reader must not outlive the bytes it maps: if the writer commits a
// smaller size and then shrink_to_fit()s (the only call that cuts the
// file), a reader still holding the old size faults on the cut pages. Use
// reader_lock (which keeps writers out) where that can happen.
//
// Scratch: CreateScratch gives the same container on memory from Allocate()
// (scratch.h), with no file: Sync() is a no-op, path() is empty, file() is
// null. Below ScratchPolicy::mmap_threshold bytes (1 MiB) it lives on the
// heap and growth reallocates and copies as std::vector does; its first
// growth to mmap_threshold or more moves it, once, into an anonymous mapping
// of VectorOptions::reserve bytes of address space (ScratchPolicy::reserve:
// MAP_NORESERVE, only touched pages cost memory), and from then on growth is
// free and addresses are stable, as in a file, up to the reservation. For
// stable addresses from the first element set scratch.mmap_threshold = 0.
// Where the reservation cannot be had (RLIMIT_AS, vm.overcommit_memory=2)
// growth falls back to reallocating. shrink_to_fit() reallocates (moves).
//
// Errors: growth and Sync return [[nodiscard]] absl::Status (disk full is
// ResourceExhausted from growth, never SIGBUS with the default preallocate).
// at() returns absl::StatusOr<T> (a copy; OutOfRange past size()).
// operator[], front(), back() and pop_back() require what std::vector does.
//
// Thread safety: as std::vector. Concurrent const calls are safe; anything
// that changes the vector needs external synchronisation.

#ifndef MAPFILE_MAPPED_VECTOR_H_
#define MAPFILE_MAPPED_VECTOR_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "mapfile/format.h"
#include "mapfile/mapped_file.h"
#include "mapfile/scratch.h"
#include "mapfile/status_macros.h"

namespace mapfile {

struct VectorOptions {
  // kCreate: open, or create an empty vector if the file is missing or
  // empty. kCreateNew: only create. kReadWrite: only open.
  OpenMode mode = OpenMode::kCreate;
  // of files it creates (umask applies): as MappedFile::Options::permissions,
  // the mode bits of a file that kCreate/kCreateNew creates, filtered by the
  // umask as open(2) does; an existing file keeps its own. Bits outside
  // 0777 are InvalidArgument.
  mode_t permissions = 0644;
  // Address space reserved up front (see MappedFile); for a scratch vector
  // past scratch.mmap_threshold, the mapping's reserve (it replaces
  // scratch.reserve).
  uint64_t reserve = uint64_t{64} << 30;
  // Growth fails with a Status on a full disk, never a SIGBUS. On tmpfs
  // (writers, without `populate`) the file's size grows sparse and its
  // pages are allocated ahead of the last element on the pretouch thread
  // (or in Pretouch(), without pretouch_in_background);
  // capacity() then counts only allocated bytes and grows as they do
  // (docs/PERFORMANCE.md, "The vector's write path"). Such a file stays
  // sparse past its elements when closed; a writer with `populate`, which
  // counts the whole file, allocates that tail at Open (or, on a full
  // tmpfs, cuts the file to the committed elements).
  bool preallocate = true;
  bool populate = false;
  // MADV_HUGEPAGE on the whole mapping, for as long as it is open (see
  // MappedFile::Options). Without it a writer still asks for huge pages
  // where it grows the file, until its first Sync(): on file systems with
  // large folios (ext4 from Linux 6.16, XFS) new elements then fault in
  // 2 MiB at a time instead of 4 KiB. From the first Sync on, new pages are
  // small again, because a sync writes back whole folios: that Sync lets go
  // of the huge folios from the end of the elements on (clean by then; a
  // later access reads them back as small pages), so that a Sync() after a
  // few push_backs writes 4 KiB, not 2 MiB (docs/PERFORMANCE.md, "The
  // vector's write path").
  bool huge_pages = false;
  // Writers hold flock(LOCK_EX) while open: a second writer, in any process,
  // is Unavailable (false: no such protection).
  bool lock = true;
  // Readers (kReadOnly, MappedVector<const T>) take no lock unless this is
  // set; then they hold LOCK_SH: Unavailable while a writer has the file,
  // and no writer can open it while they do (nothing changes under them).
  bool reader_lock = false;
  // Of the first element in a new file: a power of two, at most the page
  // size; raised to alignof(T). An existing file keeps its own.
  size_t alignment = 64;
  ScratchPolicy scratch;  // CreateScratch only
  // Writers of files: keep this many bytes ahead of the last element
  // populated and writable (MADV_POPULATE_WRITE), so that push_back into a
  // new file does not page fault; 0: off (no cost). Rounded up to pages.
  // The work runs on the process's pretouch thread (shared by all
  // containers) or, with pretouch_in_background = false, only in
  // Pretouch(). It never changes a byte. Where the kernel lacks
  // MADV_POPULATE_WRITE (before Linux 5.14) it does nothing.
  uint64_t pretouch = 0;
  bool pretouch_in_background = true;
};

namespace internal {

class Pretoucher;  // mapfile/internal/pretouch.h

// The untyped part of MappedVector: the bytes behind the elements, the
// header and the commits. Sizes are in bytes, counts in elements.
class VectorStore {
 public:
  VectorStore();
  VectorStore(VectorStore&&) noexcept;
  VectorStore& operator=(VectorStore&&) noexcept;
  ~VectorStore();  // stops the pretoucher before the mapping goes

  static absl::StatusOr<VectorStore> Open(const std::string& path,
                                          const VectorOptions& options,
                                          const TypeFingerprint& type,
                                          bool read_only);
  static absl::StatusOr<VectorStore> Scratch(const VectorOptions& options,
                                             const TypeFingerprint& type);

  bool read_only() const { return read_only_; }
  // FailedPrecondition naming MappedVector::`call`, the file, read-only.
  absl::Status ReadOnlyError(const char* call) const;

  std::byte* data() const { return data_; }
  uint64_t capacity_bytes() const { return capacity_; }
  // Bytes the writer may fill before it calls Reserve again: capacity_bytes(),
  // or, with pretouch, the point where the pretouched pages need topping up.
  uint64_t limit_bytes() const {
    return touch_ ? std::min(mark_, capacity_) : capacity_;
  }
  // VectorOptions::pretouch_in_background = false: populates now.
  void Pretouch();
  uint64_t committed() const { return committed_; }
  MappedFile* file() { return file_ ? &*file_ : nullptr; }
  const MappedFile* file() const { return file_ ? &*file_ : nullptr; }
  const std::string& path() const;

  // Makes capacity_bytes() >= bytes, keeping the first `used` bytes.
  absl::Status Reserve(uint64_t bytes, uint64_t used);
  // Makes capacity_bytes() as small as `used` allows (and the committed
  // state, for a file).
  absl::Status Shrink(uint64_t used);
  // Makes `count` elements of the type durable and the committed state.
  absl::Status Commit(uint64_t count);
  // Read-only files: maps the file's current size and reloads committed().
  absl::Status Refresh();

 private:
  // Checks the header against type_ and loads the newest commit; with
  // `refresh`, maps the file's current size after reading the slots.
  absl::Status Load(bool refresh = false);
  void Update();
  absl::Status Reallocate(uint64_t bytes, uint64_t used);  // scratch
  // After the first Commit: lets go of the huge folios from the one that
  // holds byte `end` of the file on.
  void DropHugeTail(uint64_t end);
  // Allocates the file's bytes [ahead_->allocated, end) on this thread.
  absl::Status AllocateTo(uint64_t end);
  // Asks the background to allocate up to `end` (at most the file's size).
  void AllocateAheadTo(uint64_t end);
  // In a child forked while ahead_ was in use: starts ahead_ and pretouch_
  // over (see the definition).
  void RenewAfterFork();

  // Declared before file_: a move-assignment stops it before the old
  // mapping is unmapped (and before the old file, whose descriptor an
  // allocation task uses, is closed).
  std::unique_ptr<Pretoucher> pretouch_;
  bool touch_ = false;  // VectorOptions::pretouch: populate ahead
  // tmpfs: the file's pages are allocated ahead of the writer by a task on
  // the pretouch thread, and capacity_ covers only allocated bytes (null
  // elsewhere; see VectorStore::Open).
  struct Ahead;
  std::shared_ptr<Ahead> ahead_;
  // Pretouch: Reserve is called again at this size. Never below the
  // committed bytes, so that MappedVector's limit_ >= size_ after Open.
  uint64_t mark_ = 0;
  uint64_t touched_ = 0;  // pretouch: bytes asked for so far
  std::optional<MappedFile> file_;
  ScratchBlock block_;
  ScratchPolicy policy_;
  uint64_t scratch_alignment_ = 1;
  TypeFingerprint type_;
  uint64_t data_offset_ = 0;
  std::byte* data_ = nullptr;
  uint64_t capacity_ = 0;
  uint64_t sequence_ = 0;
  uint64_t committed_ = 0;
  bool read_only_ = false;
  // Nothing committed yet (this writer created the file, or its creator
  // ended before a Sync): the first Commit fsyncs the directory.
  bool directory_due_ = false;
  absl::Status directory_error_;  // sticky: that directory fsync failed
  // madvise advice for the pages growth maps (0: none): MADV_HUGEPAGE until
  // the first Commit, MADV_NOHUGEPAGE after it if growth asked for huge
  // pages before it, else none (see VectorOptions).
  int growth_advice_ = 0;
  bool huge_grown_ = false;  // growth mapped pages with MADV_HUGEPAGE
};

}  // namespace internal

template <typename T>
class MappedVector {
  static_assert(std::is_trivially_copyable_v<T>,
                "MappedVector<T> stores T's bytes in a file and reads them "
                "back in another run or process, so T must be trivially "
                "copyable: no virtual functions, no owning pointers or "
                "containers (std::string, std::vector), no custom copy");
  static_assert(alignof(T) <= 4096,
                "MappedVector<T>: alignof(T) above 4096 (the smallest page) "
                "cannot be honoured by a mapping");

 public:
  using value_type = std::remove_const_t<T>;
  using size_type = size_t;
  using difference_type = ptrdiff_t;
  using reference = T&;
  using const_reference = const T&;
  using pointer = T*;
  using const_pointer = const T*;
  using iterator = T*;  // contiguous: std::sort, std::span, ranges
  using const_iterator = const T*;
  using reverse_iterator = std::reverse_iterator<iterator>;
  using const_reverse_iterator = std::reverse_iterator<const_iterator>;
  using Options = VectorOptions;

  // Opens (or, by options.mode, creates) the vector in `path`. Errors: those
  // of MappedFile::Open; FailedPrecondition for a file of another type,
  // kind, major version or byte order; DataLoss for a mapfile file that is
  // truncated or corrupt, InvalidArgument for one that is not a mapfile file
  // (no "MAPFILE" magic). Every error of every function below starts with
  // its name and the path: MappedVector::push_back("/data/x.vec"): ...
  // (docs/ERRORS.md); out of memory is ResourceExhausted, never an
  // exception.
  [[nodiscard]] static absl::StatusOr<MappedVector> Open(
      const std::string& path, const Options& options = {}) {
    return internal::CatchAllocation(
        "MappedVector::Open", path, [&]() -> absl::StatusOr<MappedVector> {
          auto store = internal::VectorStore::Open(
              path, options, FingerprintOf<T>(),
              kReadOnly || options.mode == OpenMode::kReadOnly);
          if (!store.ok()) return store.status();
          return MappedVector(*std::move(store));
        });
  }

  // An empty vector on scratch memory (no file).
  [[nodiscard]] static absl::StatusOr<MappedVector> CreateScratch(
      const Options& options = {}) {
    return internal::CatchAllocation(
        "MappedVector::CreateScratch", "",
        [&]() -> absl::StatusOr<MappedVector> {
          auto store =
              internal::VectorStore::Scratch(options, FingerprintOf<T>());
          if (!store.ok()) return store.status();
          return MappedVector(*std::move(store));
        });
  }

  // Leaves `other` empty (size 0, capacity 0, data() null), as std::vector.
  MappedVector(MappedVector&& other) noexcept { *this = std::move(other); }
  MappedVector& operator=(MappedVector&& other) noexcept {
    if (this != &other) {
      store_ = std::exchange(other.store_, internal::VectorStore());
      base_ = std::exchange(other.base_, nullptr);
      size_ = std::exchange(other.size_, 0);
      capacity_ = std::exchange(other.capacity_, 0);
      limit_ = std::exchange(other.limit_, 0);
    }
    return *this;
  }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  size_t max_size() const {
    return (MappedFile::kMaxSize - kHeaderSize - kMaxRecordAlignment) /
           sizeof(T);
  }

  T& operator[](size_t i) { return base_[i]; }
  const T& operator[](size_t i) const { return base_[i]; }
  absl::StatusOr<value_type> at(size_t i) const {
    if (i < size_) return base_[i];
    return internal::CatchAllocation(
        "MappedVector::at", path(), [&]() -> absl::StatusOr<value_type> {
          return absl::OutOfRangeError(absl::StrCat(
              "MappedVector::at(", i, "): past the size ", size_, " of \"",
              path(), "\""));
        });
  }
  T& front() { return base_[0]; }
  const T& front() const { return base_[0]; }
  T& back() { return base_[size_ - 1]; }
  const T& back() const { return base_[size_ - 1]; }
  T* data() { return base_; }
  const T* data() const { return base_; }

  iterator begin() { return base_; }
  iterator end() { return base_ + size_; }
  const_iterator begin() const { return base_; }
  const_iterator end() const { return base_ + size_; }
  const_iterator cbegin() const { return begin(); }
  const_iterator cend() const { return end(); }
  reverse_iterator rbegin() { return reverse_iterator(end()); }
  reverse_iterator rend() { return reverse_iterator(begin()); }
  const_reverse_iterator rbegin() const {
    return const_reverse_iterator(end());
  }
  const_reverse_iterator rend() const {
    return const_reverse_iterator(begin());
  }
  const_reverse_iterator crbegin() const { return rbegin(); }
  const_reverse_iterator crend() const { return rend(); }

  // Size changes below are in memory until Sync() (read-only vectors: see
  // the top of the file).
  void clear() {
    RequireWritable();
    size_ = 0;
  }
  // REQUIRES: !empty().
  void pop_back() {
    RequireWritable();
    --size_;
  }

  // The fast path is a few inlined instructions; the element is stored
  // typed (not memcpy), so the compiler knows it leaves size_ unchanged.
  [[nodiscard]] absl::Status push_back(const T& value) {
    if (ABSL_PREDICT_TRUE(size_ < limit_ && !store_.read_only())) {
      ::new (static_cast<void*>(base_ + size_)) value_type(value);
      ++size_;
      return absl::OkStatus();
    }
    return GrowAndPushBack(value);  // a copy: `value` may live in this vector
  }

  template <typename... Args>
  [[nodiscard]] absl::Status emplace_back(Args&&... args) {
    if (ABSL_PREDICT_FALSE(size_ >= limit_ || store_.read_only())) {
      return internal::CatchAllocation(
          "MappedVector::emplace_back", path(),
          [&] { return EmplaceBack(std::forward<Args>(args)...); });
    }
    return EmplaceBack(std::forward<Args>(args)...);
  }

  // Appends copies of `values`, which may be part of this vector.
  [[nodiscard]] absl::Status append(absl::Span<const value_type> values) {
    return internal::CatchAllocation("MappedVector::append", path(),
                                     [&] { return Append(values); });
  }

  // Value-initialises (zeroes, for most T) new elements, as std::vector.
  [[nodiscard]] absl::Status resize(size_t n) {
    return internal::CatchAllocation("MappedVector::resize", path(),
                                     [&] { return Resize(n); });
  }
  [[nodiscard]] absl::Status resize(size_t n, const value_type& value) {
    return internal::CatchAllocation("MappedVector::resize", path(),
                                     [&] { return Resize(n, value); });
  }

  // capacity() >= n afterwards. Growth is geometric, for amortised O(1)
  // push_back: a file grows by its GrowthPolicy (doubling up to 1 GiB steps),
  // scratch memory at least doubles (or fits in its reservation).
  [[nodiscard]] absl::Status reserve(size_t n) {
    if (n <= limit_ && !store_.read_only()) return absl::OkStatus();
    return internal::CatchAllocation("MappedVector::reserve", path(),
                                     [&] { return Reserve(n); });
  }

  // Returns unused capacity to the file system (or the allocator). A file
  // keeps room for what the last Sync() committed: Sync() first to give
  // back more after clear()/pop_back().
  [[nodiscard]] absl::Status shrink_to_fit() {
    return internal::CatchAllocation("MappedVector::shrink_to_fit", path(),
                                     [&] { return ShrinkToFit(); });
  }

  // Makes every element and size() durable (no-op for scratch). Errors are
  // those of MappedFile::Sync; after one, the committed state is the
  // previous one and every later Sync fails (the kernel may have dropped
  // the pages).
  [[nodiscard]] absl::Status Sync() {
    return internal::CatchAllocation("MappedVector::Sync", path(), [&] {
      MAPFILE_RETURN_IF_ERROR(Writable("Sync"));
      return store_.Commit(size_);
    });
  }

  // Read-only vectors: follows the writer. Re-reads the newest commit slot,
  // maps what the file gained, and sets size() to the committed size
  // (undoing clear()/pop_back()). data() stays put unless the file outgrew
  // the reservation. FailedPrecondition for a writable or scratch vector;
  // after another error size() is at most what is still mapped.
  [[nodiscard]] absl::Status Refresh() {
    absl::Status s = internal::CatchAllocation(
        "MappedVector::Refresh", path(), [&] { return store_.Refresh(); });
    Update();
    size_ = s.ok() ? store_.committed() : std::min(size_, capacity_);
    return s;
  }

  // With VectorOptions::pretouch: populates the pages ahead of the last
  // element in the calling thread (the work the pretouch thread would do).
  // May be called from any thread, concurrently with the writer.
  void Pretouch() { store_.Pretouch(); }

  // The size as of the last successful Sync() (or open): what a reopen
  // after a crash would see.
  size_t committed_size() const { return store_.committed(); }

  // "" for scratch.
  const std::string& path() const { return store_.path(); }
  // The mapping, for Advise()/Residency(); nullptr for scratch. Growing or
  // truncating it behind the vector's back is not supported.
  MappedFile* file() { return store_.file(); }
  const MappedFile* file() const { return store_.file(); }

 private:
  // The bodies of the public functions above, which turn an exception
  // (out of memory) into a Status naming themselves.
  template <typename... Args>
  absl::Status EmplaceBack(Args&&... args) {
    MAPFILE_RETURN_IF_ERROR(Writable("emplace_back"));
    if (size_ >= limit_) {
      // Constructed first: the arguments may refer to elements.
      const value_type value = Make(std::forward<Args>(args)...);
      return push_back(value);
    }
    ::new (static_cast<void*>(base_ + size_))
        value_type(Make(std::forward<Args>(args)...));
    ++size_;
    return absl::OkStatus();
  }

  absl::Status Append(absl::Span<const value_type> values) {
    MAPFILE_RETURN_IF_ERROR(Writable("append"));
    const value_type* from = values.data();
    // size_ + n cannot wrap (both are at most max_size()).
    if (size_ + values.size() > limit_) {
      const bool inside = from >= base_ && from < base_ + capacity_;
      const ptrdiff_t index = inside ? from - base_ : 0;
      absl::Status s = Reserve(size_ + values.size());
      if (!s.ok()) return s;
      if (inside) from = base_ + index;
    }
    if (!values.empty()) {
      std::memmove(static_cast<void*>(base_ + size_), from,
                   values.size() * sizeof(T));
    }
    size_ += values.size();
    return absl::OkStatus();
  }

  absl::Status Resize(size_t n) {
    MAPFILE_RETURN_IF_ERROR(Writable("resize"));
    absl::Status s = Reserve(n);
    if (!s.ok()) return s;
    if (n > size_) std::uninitialized_value_construct(base_ + size_, base_ + n);
    size_ = n;
    return absl::OkStatus();
  }
  absl::Status Resize(size_t n, const value_type& value) {
    MAPFILE_RETURN_IF_ERROR(Writable("resize"));
    const value_type copy = value;
    absl::Status s = Reserve(n);
    if (!s.ok()) return s;
    if (n > size_) std::uninitialized_fill(base_ + size_, base_ + n, copy);
    size_ = n;
    return absl::OkStatus();
  }

  absl::Status Reserve(size_t n) {
    MAPFILE_RETURN_IF_ERROR(Writable("reserve"));
    if (n <= limit_) return absl::OkStatus();
    if (n > max_size()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("MappedVector::reserve(", n, "): more than max_size() ",
                       max_size(), " elements"));
    }
    absl::Status s =
        store_.Reserve(uint64_t{n} * sizeof(T), uint64_t{size_} * sizeof(T));
    Update();
    return s;
  }

  absl::Status ShrinkToFit() {
    MAPFILE_RETURN_IF_ERROR(Writable("shrink_to_fit"));
    absl::Status s = store_.Shrink(uint64_t{size_} * sizeof(T));
    Update();
    return s;
  }

  static constexpr bool kReadOnly = std::is_const_v<T>;

  explicit MappedVector(internal::VectorStore store)
      : store_(std::move(store)) {
    Update();
    size_ = store_.committed();
  }

  static void RequireWritable() {
    static_assert(!kReadOnly,
                  "MappedVector<const T> is read-only: open the file as "
                  "MappedVector<T> to change it");
  }
  absl::Status Writable(const char* call) const {
    RequireWritable();
    if (ABSL_PREDICT_FALSE(store_.read_only())) {
      return store_.ReadOnlyError(call);
    }
    return absl::OkStatus();
  }

  ABSL_ATTRIBUTE_NOINLINE absl::Status GrowAndPushBack(
      const value_type value) {
    return internal::CatchAllocation("MappedVector::push_back", path(), [&] {
      MAPFILE_RETURN_IF_ERROR(Writable("push_back"));
      MAPFILE_RETURN_IF_ERROR(Reserve(size_ + 1));
      ::new (static_cast<void*>(base_ + size_)) value_type(value);
      ++size_;
      return absl::OkStatus();
    });
  }

  template <typename... Args>
  static value_type Make(Args&&... args) {
    if constexpr (std::is_constructible_v<value_type, Args&&...>) {
      return value_type(std::forward<Args>(args)...);
    } else {
      return value_type{std::forward<Args>(args)...};
    }
  }

  void Update() {
    base_ = reinterpret_cast<T*>(store_.data());
    capacity_ = static_cast<size_t>(store_.capacity_bytes() / sizeof(T));
    limit_ = static_cast<size_t>(store_.limit_bytes() / sizeof(T));
  }

  internal::VectorStore store_;
  T* base_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
  size_t limit_ = 0;  // push_back's fast path up to here (<= capacity_)
};

}  // namespace mapfile

#endif  // MAPFILE_MAPPED_VECTOR_H_
