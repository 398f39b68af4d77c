// Copyright 2026 The mapfile Authors.
//
// checksum.h: the one checksum the format uses, XXH3-64 from libxxhash
// (ChecksumAlgorithm::kXxh3_64 in the header). A library hash, never a
// hand-rolled one. Internal: included by .cc files only, so that users of
// the public headers do not need xxhash.h.
//
// Thread safety: a pure function.

#ifndef MAPFILE_INTERNAL_CHECKSUM_H_
#define MAPFILE_INTERNAL_CHECKSUM_H_

#include <xxhash.h>

#include <cstddef>
#include <cstdint>

namespace mapfile {
namespace internal {

inline uint64_t Xxh3(const void* data, size_t length) {
  return XXH3_64bits(data, length);
}

}  // namespace internal
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_CHECKSUM_H_
