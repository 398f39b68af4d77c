// Copyright 2026 The mapfile Authors.
//
// crash_point.h: named points inside the library where the reliability
// suite (tests/reliability/) can stop a process, or watch what has become
// durable. The library marks its commit protocols:
//
//   MAPFILE_CRASH_POINT("vector.commit.data_synced", &path_);
//
// and a test installs a hook that sees every point as it is passed: it may
// _exit there (whitebox crash points) or copy what a sync just made durable
// (power-loss simulation). With no hook installed a point costs one relaxed
// atomic load; the site's arguments are not even evaluated.
//
// Points (name: where; `path` and [offset, offset + length) as passed):
//   file.synced              MappedFile::Sync's msync returned: the range's
//                            pages are durable
//   file.datasynced          fdatasync returned: the whole file and its size
//                            are durable (also the compressed temporary)
//   vector.commit.data_synced  elements durable, commit slot not yet written
//   vector.commit.slot_written slot written in memory, not yet synced
//   log.sync.slot_written    slot written in memory next to the new frames,
//                            neither yet synced (one msync makes both durable)
//   log.segment.created      next segment renamed into place; old one not
//                            yet marked sealed or trimmed
//   log.roll.sealed          old segment marked sealed, not yet trimmed
//   log.compress.written     compressed temporary durable, not yet renamed
//   log.renamed              `path` (a temporary path + ".tmp" before) now
//                            names the file; the directory is synced
//   log.truncate.unlinked    one old segment removed by TruncateBefore
//   log.recover.cut          recovery cut the live segment after its valid
//                            frames, before extending it again
//
// Thread safety: the hook is called on the thread passing the point.

#ifndef MAPFILE_INTERNAL_CRASH_POINT_H_
#define MAPFILE_INTERNAL_CRASH_POINT_H_

#include <atomic>
#include <cstdint>
#include <string>

namespace mapfile {
namespace internal {

struct CrashSite {
  const char* point;
  const std::string* path = nullptr;
  uint64_t offset = 0;
  uint64_t length = 0;
};

using CrashHook = void (*)(const CrashSite& site);

// The installed hook, or null (the default: points do nothing).
inline std::atomic<CrashHook> crash_hook{nullptr};

}  // namespace internal
}  // namespace mapfile

#define MAPFILE_CRASH_POINT(...)                                              \
  do {                                                                        \
    if (::mapfile::internal::CrashHook mapfile_crash_hook =                   \
            ::mapfile::internal::crash_hook.load(std::memory_order_relaxed)) \
      mapfile_crash_hook(::mapfile::internal::CrashSite{__VA_ARGS__});        \
  } while (0)

#endif  // MAPFILE_INTERNAL_CRASH_POINT_H_
