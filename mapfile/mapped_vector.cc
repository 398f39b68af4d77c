// Copyright 2026 The mapfile Authors.
//
// The untyped half of MappedVector<T>: creating and validating the file,
// growth, and the commit protocol of docs/DESIGN.md.

#include "mapfile/mapped_vector.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <atomic>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <new>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/numeric/bits.h"
#include "absl/strings/str_cat.h"
#include "mapfile/internal/crash_point.h"
#include "mapfile/internal/os.h"
#include "mapfile/internal/pretouch.h"
#include "mapfile/internal/vector_layout.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {
namespace {

absl::Span<std::byte> HeaderPage(MappedFile& file) {
  return absl::MakeSpan(file.data(), kHeaderSize);
}

bool AllZeros(const std::byte* from, const std::byte* to) {
  return std::all_of(from, to, [](std::byte b) { return b == std::byte{0}; });
}

// A file whose creation did not finish: the crash came between growing it
// (to `created` bytes) and syncing its header, so a power loss may have left
// any of the header page's 512-byte sectors unwritten. Every sector is zeros
// or the one creation writes (`fresh`), and nothing was stored after the
// header: kCreate starts it again. Zeroed sectors in a file that is larger
// or holds data are damage, not a creation: DataLoss (nothing is wiped).
absl::StatusOr<bool> IsUnfinished(const MappedFile& file,
                                  const std::byte* fresh, uint64_t created) {
  if (file.size() == 0) return true;
  if (file.size() < kHeaderSize) return false;
  if (std::memcmp(file.data(), fresh, kHeaderSize) == 0) return false;
  for (uint64_t at = 0; at < kHeaderSize; at += 512) {
    const std::byte* sector = file.data() + at;
    if (std::memcmp(sector, fresh + at, 512) != 0 &&
        !AllZeros(sector, sector + 512)) {
      return false;
    }
  }
  if (file.size() > created ||
      !AllZeros(file.data() + kHeaderSize, file.data() + file.size())) {
    return absl::DataLossError(absl::StrCat(
        "MappedVector::Open(\"", file.path(), "\"): the header page is ",
        "zeros or torn but the file holds ", file.size(),
        " bytes of which some follow the header: damaged, not an unfinished "
        "creation (left as it is)"));
  }
  return true;
}

// `s` with its message prefixed by `call` (which names the file).
using os::Annotate;

// Allocation ahead of the writer on tmpfs (VectorStore::Open): the
// background allocates up to AheadWindow() bytes past the last element,
// kAheadPiece bytes per fallocate; a writer that catches up allocates
// pieces itself (docs/PERFORMANCE.md, "The vector's write path").
constexpr uint64_t kAheadWindow = uint64_t{2} << 20;
constexpr uint64_t kAheadPiece = uint64_t{256} << 10;

// Bytes allocated ahead of a file whose elements end at byte `end`: as
// much again (at least a piece), as geometric growth would, up to
// kAheadWindow, so that a small vector takes little more than it holds.
uint64_t AheadWindow(uint64_t end) {
  return std::min(kAheadWindow, std::max(kAheadPiece, end));
}

absl::Status CheckAlignment(size_t alignment, absl::string_view call) {
  if (!absl::has_single_bit(alignment) || alignment > os::PageSize()) {
    return absl::InvalidArgumentError(absl::StrCat(
        call, ": VectorOptions::alignment ", alignment,
        " is not a power of two up to the page size ", os::PageSize()));
  }
  return absl::OkStatus();
}

}  // namespace

// The allocation ahead of a writer whose file is on tmpfs, shared with the
// task that does it on the pretouch thread. The task never outlives the
// file's descriptor: ~Pretoucher (first in ~VectorStore and in a
// move-assignment) waits for it.
struct VectorStore::Ahead {
  explicit Ahead(int file) : fd(file) {}
  const int fd;
  // The task and the writer allocate pieces; each claims its piece under
  // mu first, so no byte is claimed twice.
  std::mutex mu;
  std::condition_variable finished;  // a piece finished
  // The file's bytes [0, allocated) are allocated. Stored under mu; lowered
  // only by Shrink, with no task running.
  std::atomic<uint64_t> allocated{0};
  // Guarded by mu: [allocated, claimed) is claimed; of it, `done` pieces
  // are allocated (out of order) and `failed` ones are the writer's to do
  // again (it reports the error).
  uint64_t claimed = 0;
  std::vector<std::pair<uint64_t, uint64_t>> done, failed;
  // Guarded by mu: pieces claimed and not finished. done and failed have
  // room for all of them (Claim), so Finish never allocates: it runs after
  // the fallocate, where an exception (out of memory) would lose a claimed
  // piece that no one then allocates, and the writer would wait for it
  // forever.
  int in_flight = 0;
  // The task claims up to here; the writer keeps it within the file's
  // size, so the task never allocates past the end of the file.
  std::atomic<uint64_t> want{0};
  std::atomic<bool> posted{false};  // a task is queued or running

  // REQUIRES: mu. Makes room to record one more piece in flight (may
  // throw std::bad_alloc, before anything changes); the caller claims it
  // next.
  void Prepare() {
    done.reserve(done.size() + in_flight + 1);
    failed.reserve(failed.size() + in_flight + 1);
  }
  // REQUIRES: mu. Records a finished piece (claimed after Prepare) and
  // moves `allocated` over the done pieces that start at it. Never throws.
  void Finish(uint64_t from, uint64_t to, bool ok) {
    --in_flight;
    (ok ? done : failed).emplace_back(from, to);
    uint64_t at = allocated.load(std::memory_order_relaxed);
    for (auto it = done.begin(); it != done.end();) {
      if (it->first == at) {
        at = it->second;
        done.erase(it);
        it = done.begin();
      } else {
        ++it;
      }
    }
    allocated.store(at, std::memory_order_release);
    finished.notify_all();
  }
  // REQUIRES: mu, no piece in flight. [0, to) allocated, nothing claimed.
  void Reset(uint64_t to) {
    allocated.store(to, std::memory_order_release);
    claimed = to;
    done.clear();
    failed.clear();
  }
  // Allocates [from, to) (KEEP_SIZE: never past the end of the file, even
  // racing a cut): whether it did. fallocate, not os::Fallocate: this runs
  // on the pretouch thread, whose calls tests do not count.
  bool Fill(uint64_t from, uint64_t to) const {
    return ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(from),
                       static_cast<off_t>(to - from)) == 0;
  }
};

VectorStore::VectorStore() = default;
VectorStore::VectorStore(VectorStore&&) noexcept = default;
VectorStore& VectorStore::operator=(VectorStore&&) noexcept = default;
VectorStore::~VectorStore() { pretouch_.reset(); }

void VectorStore::Pretouch() {
  if (pretouch_) pretouch_->Run();
}

// Made before main: path() is evaluated for messages by every public
// function, outside their out-of-memory guard, so it must not allocate.
const std::string* const kNoPath = new std::string();

const std::string& VectorStore::path() const {
  return file_ ? file_->path() : *kNoPath;
}

absl::StatusOr<VectorStore> VectorStore::Open(const std::string& path,
                                              const VectorOptions& options,
                                              const TypeFingerprint& type,
                                              bool read_only) {
  const bool creating = !read_only && (options.mode == OpenMode::kCreate ||
                                       options.mode == OpenMode::kCreateNew);
  const std::string call = absl::StrCat("MappedVector::Open(\"", path, "\")");
  if (creating) {
    MAPFILE_RETURN_IF_ERROR(CheckAlignment(options.alignment, call));
  }
  MappedFile::Options file_options;
  file_options.mode = read_only ? OpenMode::kReadOnly : options.mode;
  file_options.reserve = options.reserve;
  file_options.permissions = options.permissions;
  file_options.preallocate = options.preallocate;
  file_options.populate = options.populate;
  // On tmpfs a new page costs its allocation (fallocate) and a fault per
  // page that zeroes and maps it, about half each: the file's size grows
  // sparse, and its pages are allocated ahead of the writer on the pretouch
  // thread, concurrently with the writer's stores. capacity() covers only
  // allocated pages, and a writer that catches up with the background
  // allocates for itself, so a full tmpfs is still a ResourceExhausted from
  // the call that needed the space, never a SIGBUS.
  // Elsewhere (ext4: fallocate marks extents, the cost is in the fault)
  // growth allocates as it maps. Not with populate (which maps everything
  // in). With pretouch_in_background = false the allocation ahead runs in
  // Pretouch(), as populating does.
  const bool on_tmpfs = !read_only && options.preallocate && os::OnTmpfs(path);
  const bool ahead = on_tmpfs && !options.populate;
  if (ahead) file_options.preallocate = false;
  file_options.huge_pages = options.huge_pages;
  file_options.lock = read_only ? options.reader_lock : options.lock;
  // The name needs to be durable from the first Sync() on, not before:
  // Commit syncs the directory (a new file lost to a power loss before its
  // first Sync is a vector that held nothing durable).
  file_options.sync_directory = false;
  VectorStore store;
  store.type_ = type;
  store.read_only_ = read_only;
  MAPFILE_ASSIGN_OR_RETURN(store.file_, MappedFile::Open(path, file_options));
  MappedFile& file = *store.file_;
  store.directory_due_ = file.created();
  store.touch_ = options.pretouch > 0 && !read_only;
  if (store.touch_ || ahead) {
    store.pretouch_ = std::make_unique<Pretoucher>(
        store.touch_ ? os::RoundUp(options.pretouch, os::PageSize()) : 0,
        options.pretouch_in_background);
  }
  if (ahead) store.ahead_ = std::make_shared<Ahead>(file.fd());
  if (!read_only && !options.huge_pages) store.growth_advice_ = MADV_HUGEPAGE;
  FileHeader header;
  std::byte fresh[kHeaderSize] = {};
  if (creating) {
    absl::StatusOr<FileHeader> made =
        NewHeader(ContainerKind::kVector, type, options.alignment);
    MAPFILE_RETURN_IF_ERROR(Annotate(made.status(), call));
    header = *std::move(made);
    EncodeHeader(header, absl::MakeSpan(fresh));
    EncodeSlot({1, 0, 0}, absl::MakeSpan(fresh));
  }
  bool unfinished = false;
  const uint64_t created = file_options.growth.NextSize(0, header.data_offset);
  if (creating) {
    MAPFILE_ASSIGN_OR_RETURN(unfinished, IsUnfinished(file, fresh, created));
  }
  if (unfinished) {
    // Allocated before the size covers it: a crash in between leaves no
    // hole in the header page, which the next Open reads (a read of a hole
    // on a full tmpfs is a SIGBUS).
    if (store.ahead_) {
      MAPFILE_RETURN_IF_ERROR(Annotate(store.AllocateTo(created), call));
    }
    MAPFILE_RETURN_IF_ERROR(file.Grow(header.data_offset));
    std::memcpy(file.data(), fresh, kHeaderSize);
    // The one flush before the first Sync(): a header page on disk before
    // any element is what tells a creation cut short by a crash (zeros or
    // this header, nothing after it: IsUnfinished) from a damaged file.
    MAPFILE_RETURN_IF_ERROR(file.Sync());
    // An empty file left by an earlier creation: its name may not be
    // durable either.
    store.directory_due_ = true;
    store.data_offset_ = header.data_offset;
    store.sequence_ = 1;
  } else {
    // A reader maps the size again after reading the slots: a live writer
    // may have grown the file and committed into the growth since Open
    // mapped it.
    MAPFILE_RETURN_IF_ERROR(store.Load(/*refresh=*/read_only));
    // Never committed: the writer that created the file may have ended
    // before the Sync that makes its name durable.
    if (!read_only && store.sequence_ <= 1) store.directory_due_ = true;
    // What the file commits was written, so its pages are allocated; past
    // them the file may be sparse (a writer that grew it ended).
    const uint64_t written =
        std::min(file.size(), os::RoundUp(store.data_offset_ +
                                              store.committed_ * type.size,
                                          os::PageSize()));
    if (store.ahead_) {
      std::lock_guard<std::mutex> lock(store.ahead_->mu);
      store.ahead_->Reset(written);
    } else if (on_tmpfs && file.size() > written) {
      // A writer that does not allocate ahead (populate) counts the whole
      // file as capacity: a tail left sparse is allocated now or cut (past
      // the committed elements nothing is promised), or a store there on a
      // full tmpfs would be a SIGBUS.
      MAPFILE_ASSIGN_OR_RETURN(struct stat st, os::Fstat(file.fd(), path));
      if (static_cast<uint64_t>(st.st_blocks) * 512 <
          os::RoundUp(file.size(), os::PageSize())) {
        absl::Status status =
            os::CheckFreeSpace(file.fd(), path, written, file.size() - written);
        if (status.ok()) {
          status = os::Fallocate(file.fd(), path, written,
                                 file.size() - written, FALLOC_FL_KEEP_SIZE);
        }
        if (!status.ok()) status = file.Truncate(written);
        MAPFILE_RETURN_IF_ERROR(Annotate(status, call));
      }
    }
  }
  if (store.touch_) store.mark_ = store.committed_ * type.size;
  store.Update();
  return store;
}

absl::Status VectorStore::Load(bool refresh) {
  MAPFILE_ASSIGN_OR_RETURN(
      FileHeader header,
      DecodeHeader(absl::MakeConstSpan(file_->data(), file_->size()), path()));
  // A writer grows the file before it commits into the growth: with the
  // slots read first, the size read now covers what they count (read the
  // other way round, a commit made between them looks truncated).
  if (refresh) MAPFILE_RETURN_IF_ERROR(file_->Refresh());
  MAPFILE_RETURN_IF_ERROR(
      CheckCompatible(header, ContainerKind::kVector, type_, path()));
  MAPFILE_ASSIGN_OR_RETURN(CommitSlot commit,
                           LatestCommit(header, file_->size(), path()));
  // A live writer's data was stored before the slot that counts it (see
  // Commit): read none of it before the slot.
  std::atomic_thread_fence(std::memory_order_acquire);
  data_offset_ = header.data_offset;
  sequence_ = commit.sequence;
  committed_ = commit.count;
  return absl::OkStatus();
}

absl::Status VectorStore::Refresh() {
  if (!read_only_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "MappedVector::Refresh(\"", path(),
        "\"): only a read-only vector follows a writer"));
  }
  absl::Status status = Load(/*refresh=*/true);
  Update();
  return status;
}

absl::Status VectorStore::ReadOnlyError(const char* call) const {
  return absl::FailedPreconditionError(
      absl::StrCat("MappedVector::", call, "(\"", path(),
                   "\"): the vector is opened read-only (OpenMode::kReadOnly)"));
}

absl::StatusOr<VectorStore> VectorStore::Scratch(const VectorOptions& options,
                                                 const TypeFingerprint& type) {
  MAPFILE_RETURN_IF_ERROR(
      CheckAlignment(options.alignment, "MappedVector::CreateScratch"));
  VectorStore store;
  store.type_ = type;
  store.policy_ = options.scratch;
  store.policy_.reserve = options.reserve;
  store.scratch_alignment_ =
      std::max<uint64_t>(options.alignment, type.alignment);
  return store;
}

void VectorStore::Update() {
  data_ = file_ ? file_->data() + data_offset_
                : static_cast<std::byte*>(block_.data());
  if (!file_) {
    capacity_ = block_.capacity();
    return;
  }
  // A reader's file may have been cut below the header since.
  uint64_t end = file_->size();
  if (ahead_) {
    end = std::min(end, ahead_->allocated.load(std::memory_order_acquire));
  }
  capacity_ = VectorRoom(end, data_offset_);
}

absl::Status VectorStore::Reallocate(uint64_t bytes, uint64_t used) {
  ScratchBlock block;
  if (bytes > 0) {
    MAPFILE_ASSIGN_OR_RETURN(Layout layout,
                             Layout::Create(bytes, scratch_alignment_));
    absl::StatusOr<ScratchBlock> got = Allocate(layout, policy_);
    if (!got.ok() && policy_.reserve > bytes) {
      // No address space for the reservation (RLIMIT_AS, strict
      // overcommit): from now on, reallocate as std::vector does.
      policy_.reserve = 0;
      got = Allocate(layout, policy_);
    }
    MAPFILE_ASSIGN_OR_RETURN(block, std::move(got));
    if (used > 0) std::memcpy(block.data(), block_.data(), used);
  }
  block_ = std::move(block);
  Update();
  return absl::OkStatus();
}

// A child forked while the pretouch thread held ahead_->mu or had claimed
// a piece inherits a lock no thread there releases and a claim no thread
// there finishes: its growth would wait for them forever. So the child
// starts over from the bytes allocated at the fork (a piece in flight then
// is allocated again, which changes nothing) with a pretoucher of its own;
// the inherited state is abandoned, never destroyed (its mutex may be
// held), as inherited pretouchers are.
void VectorStore::RenewAfterFork() {
  if (!ahead_ || !pretouch_->Inherited()) return;
  static auto* const abandoned = new std::vector<std::shared_ptr<Ahead>>();
  auto fresh = std::make_shared<Ahead>(file_->fd());
  {
    std::lock_guard<std::mutex> lock(fresh->mu);
    fresh->Reset(ahead_->allocated.load(std::memory_order_acquire));
  }
  abandoned->push_back(ahead_);
  ahead_ = std::move(fresh);
  pretouch_ = std::make_unique<Pretoucher>(pretouch_->window(),
                                           pretouch_->background());
  touched_ = 0;
}

absl::Status VectorStore::Reserve(uint64_t bytes, uint64_t used) {
  RenewAfterFork();
  if (bytes > capacity_) {
    if (!file_) return Reallocate(std::max(bytes, 2 * capacity_), used);
    const uint64_t need = data_offset_ + bytes;
    // With ahead_, the size (sparse) runs a window ahead of the last
    // element, so that the background has room to allocate in; but it
    // never moves a mapping that `need` fits in.
    uint64_t grow_to = need;
    if (ahead_) {
      grow_to = std::max(
          need, data_offset_ + used + AheadWindow(data_offset_ + used));
      if (os::RoundUp(need, os::PageSize()) <= file_->capacity()) {
        grow_to = std::max(need, std::min(grow_to, file_->capacity()));
      }
    }
    if (grow_to > file_->size()) {
      const std::byte* const old = data_;
      // Growth past the reservation moves the mapping.
      if (touch_ && grow_to > file_->capacity()) pretouch_->Stop();
      const uint64_t old_size = file_->size();
      absl::Status status = file_->Grow(grow_to);
      // The window is room for the background, not a need: a limit it
      // passes (RLIMIT_FSIZE) fails only a call that needs the bytes.
      if (!status.ok() && grow_to > need) {
        status = need > file_->size() ? file_->Grow(need) : absl::OkStatus();
      }
      Update();
      MAPFILE_RETURN_IF_ERROR(status);
      if (data_ != old) touched_ = 0;
      if (growth_advice_ != 0) {
        // New pages, never written: see VectorOptions::huge_pages. A hint.
        const uint64_t page = os::PageSize();
        const uint64_t from = data_ == old ? os::RoundUp(old_size, page) : 0;
        const uint64_t to = os::RoundUp(file_->size(), page);
        if (to > from) {
          os::Madvise(file_->data() + from, to - from, growth_advice_, path())
              .IgnoreError();
          huge_grown_ = huge_grown_ || growth_advice_ == MADV_HUGEPAGE;
        }
      }
    }
    if (ahead_) {
      // Allocated before capacity_ covers it; at least a piece, so that a
      // writer ahead of the background comes back once a piece, not once a
      // page.
      const uint64_t done = ahead_->allocated.load(std::memory_order_acquire);
      if (done < need) {
        MAPFILE_RETURN_IF_ERROR(AllocateTo(std::min(
            file_->size(),
            std::max(os::RoundUp(need, os::PageSize()), done + kAheadPiece))));
      }
      Update();
    }
  }
  if (ahead_) {
    AllocateAheadTo(data_offset_ + std::max(bytes, used + AheadWindow(
                                                       data_offset_ + used)));
  }
  if (touch_ && bytes > mark_) {
    // Top up the populated pages ahead of the writer, and come back when
    // half of them are used.
    const uint64_t window = pretouch_->window();
    const uint64_t to = std::min(capacity_, used + window);
    if (to > std::max(used, touched_)) {
      pretouch_->Touch(data_ + std::max(used, touched_), data_ + to);
    }
    touched_ = to;
    mark_ = std::max(bytes, used + window / 2);
  }
  return absl::OkStatus();
}

absl::Status VectorStore::Shrink(uint64_t used) {
  if (!file_)
    return used < capacity_ ? Reallocate(used, used) : absl::OkStatus();
  // Never below what the header commits: a crash must find those bytes.
  const uint64_t size = data_offset_ + std::max(used, committed_ * type_.size);
  if (size >= file_->size()) return absl::OkStatus();
  RenewAfterFork();
  if (ahead_) {
    // No allocation may run past the cut (it would outlive it).
    ahead_->want.store(0, std::memory_order_relaxed);
    pretouch_->FinishTasks();
  }
  if (touch_) {
    pretouch_->Stop();  // the tail is unmapped
    touched_ = std::min(touched_, size - data_offset_);
  }
  absl::Status status = file_->Truncate(size);
  if (ahead_) {
    std::lock_guard<std::mutex> lock(ahead_->mu);
    ahead_->Reset(std::min(ahead_->allocated.load(std::memory_order_relaxed),
                           file_->size()));
  }
  Update();
  return status;
}

absl::Status VectorStore::AllocateTo(uint64_t end) {
  Ahead& a = *ahead_;
  const int fd = file_->fd();
  std::unique_lock<std::mutex> lock(a.mu);
  for (;;) {
    const uint64_t at = a.allocated.load(std::memory_order_relaxed);
    if (at >= end) return absl::OkStatus();
    a.Prepare();  // out of memory: nothing claimed, nothing lost
    uint64_t from = a.claimed, to = a.claimed;
    auto hole = std::find_if(a.failed.begin(), a.failed.end(),
                             [&](const auto& f) { return f.first == at; });
    if (hole != a.failed.end()) {
      std::tie(from, to) = *hole;  // the task's piece failed: do it again
      a.failed.erase(hole);
    } else if (a.claimed < end) {
      to = end;
    } else if (a.claimed < a.want.load(std::memory_order_relaxed)) {
      // The task is on what `end` needs: rather than wait idle, take the
      // piece after it, which the writer needs next (measured: faster than
      // waiting, docs/PERFORMANCE.md).
      to = std::min(a.want.load(std::memory_order_relaxed),
                    a.claimed + kAheadPiece);
    } else {
      a.finished.wait(lock);
      continue;
    }
    a.claimed = std::max(a.claimed, to);
    ++a.in_flight;
    lock.unlock();
    // Claims are checked (docs/ERRORS.md): a reserve() past the free space
    // is refused before a page is taken. KEEP_SIZE: Open allocates the
    // header page before the file's size covers it.
    absl::Status status;
    try {  // the messages allocate: out of memory must not lose the piece
      status = os::CheckFreeSpace(fd, path(), from, to - from);
      if (status.ok()) {
        status = Annotate(
            os::Fallocate(fd, path(), from, to - from, FALLOC_FL_KEEP_SIZE),
            absl::StrCat("allocating bytes ", from, " to ", to,
                         " of the file"));
      }
    } catch (...) {
      lock.lock();
      a.Finish(from, to, false);  // the writer's to do again
      throw;
    }
    lock.lock();
    a.Finish(from, to, status.ok());
    if (!status.ok()) return status;
  }
}

void VectorStore::AllocateAheadTo(uint64_t end) {
  Ahead& a = *ahead_;
  end = std::min(os::RoundUp(end, os::PageSize()), file_->size());
  if (end <= a.want.load(std::memory_order_relaxed)) return;
  // seq_cst, as the task's posted.store(false) and its load of want
  // after it: one of the two sides sees the other's store (no lost want).
  a.want.store(end);
  if (a.allocated.load(std::memory_order_acquire) >= end ||
      a.posted.exchange(true)) {
    return;  // done, or a task will see the new want
  }
  auto job = [ahead = ahead_] {
    Ahead& task = *ahead;
    for (;;) {
      uint64_t from = 0, to = 0;
      bool out_of_memory = false;
      {
        std::lock_guard<std::mutex> lock(task.mu);
        const uint64_t want = task.want.load(std::memory_order_relaxed);
        if (task.claimed < want) {
          try {
            task.Prepare();
            from = task.claimed;
            to = std::min(want, from + kAheadPiece);
            task.claimed = to;
            ++task.in_flight;
          } catch (const std::bad_alloc&) {
            out_of_memory = true;  // nothing claimed: the writer allocates
          }
        }
      }
      if (out_of_memory) {
        task.posted.store(false);
        return;
      }
      if (from == to) {
        task.posted.store(false);
        // A want raised after the load above found posted still set.
        bool more;
        {
          std::lock_guard<std::mutex> lock(task.mu);
          more = task.claimed < task.want.load();
        }
        if (more && !task.posted.exchange(true)) continue;
        return;
      }
      // A failure (a full tmpfs) is the writer's to report: it allocates
      // the piece again itself when it needs it.
      const bool ok = task.Fill(from, to);
      {
        std::lock_guard<std::mutex> lock(task.mu);
        task.Finish(from, to, ok);
      }
      if (!ok) {
        task.posted.store(false);
        return;
      }
    }
  };
  try {  // the task's std::function allocates
    pretouch_->Post(std::move(job));
  } catch (...) {
    a.posted.store(false);  // none queued: the next growth posts one
    throw;
  }
}

// The commit protocol (docs/DESIGN.md): the data reaches the disk before
// the slot that counts it, and the slot overwritten is the older one, so a
// crash at any instant leaves the previous commit or this one.
absl::Status VectorStore::Commit(uint64_t count) {
  if (!file_) {
    committed_ = count;
    return absl::OkStatus();
  }
  // A sync writes back whole folios: from the first one on, new pages are
  // small, so that a Sync after a few elements writes a few pages
  // (VectorOptions::huge_pages). The huge folios around the end are let go
  // once this commit has made them clean (below).
  // Without growth before it, nothing asked for huge pages: the mapping
  // stays as it is and so does the page cache.
  const bool first_after_huge =
      growth_advice_ == MADV_HUGEPAGE && huge_grown_;
  if (growth_advice_ == MADV_HUGEPAGE) {
    growth_advice_ = huge_grown_ ? MADV_NOHUGEPAGE : 0;
  }
  if (first_after_huge) {
    const uint64_t mapped = os::RoundUp(file_->size(), os::PageSize());
    if (mapped > 0) {
      os::Madvise(file_->data(), mapped, MADV_NOHUGEPAGE, path())
          .IgnoreError();
    }
  }
  const uint64_t length = count * type_.size;
  MAPFILE_RETURN_IF_ERROR(file_->Sync(data_offset_, length));
  MAPFILE_RETURN_IF_ERROR(directory_error_);
  if (directory_due_) {
    // The file's name, made by Open without a flush: durable before the
    // first commit is. A failure is sticky, as a failed data sync is (the
    // kernel may have dropped the update; a later fsync that succeeds would
    // not mean it is on disk).
    directory_error_ =
        Annotate(os::FsyncParentDirectory(path()),
                 absl::StrCat("MappedVector::Sync(\"", path(),
                              "\"): making the new file's name durable"));
    MAPFILE_RETURN_IF_ERROR(directory_error_);
    directory_due_ = false;
  }
  MAPFILE_CRASH_POINT("vector.commit.data_synced", &path());
  std::atomic_thread_fence(std::memory_order_release);  // pairs with Load
  EncodeSlot({sequence_ + 1, count, length}, HeaderPage(*file_));
  MAPFILE_CRASH_POINT("vector.commit.slot_written", &path());
  MAPFILE_RETURN_IF_ERROR(file_->Sync(0, kHeaderSize));
  ++sequence_;
  committed_ = count;
  if (first_after_huge) DropHugeTail(data_offset_ + length);
  return absl::OkStatus();
}

// The huge folio that holds the end of the elements, and those faulted in
// ahead of it, would stay huge, and every later Sync that touches one would
// write all 2 MiB of it again. Right after a commit they are clean (or
// zeros): unmapping them and dropping them from the page cache costs one
// read of what they hold, as small pages. Hints: a folio that is dirty
// (pretouched zeros) or mapped by another process stays as it is.
void VectorStore::DropHugeTail(uint64_t end) {
  constexpr uint64_t kHuge = uint64_t{2} << 20;  // the PMD size on x86-64
  const uint64_t from = end / kHuge * kHuge;
  const uint64_t to = os::RoundUp(file_->size(), os::PageSize());
  if (to <= from) return;
  if (pretouch_)
    touched_ = std::min(touched_, from - std::min(from, data_offset_));
  os::Madvise(file_->data() + from, to - from, MADV_DONTNEED, path())
      .IgnoreError();
  ::posix_fadvise(file_->fd(), static_cast<off_t>(from),
                  static_cast<off_t>(to - from), POSIX_FADV_DONTNEED);
}

}  // namespace internal
}  // namespace mapfile
