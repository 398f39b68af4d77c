// Copyright 2026 The mapfile Authors.
//
// vector_layout.h: where a MappedVector file keeps its elements (after the
// header page, at the header's data_offset; docs/FORMAT.md "Vectors"), so
// that the library and the `mapfile` tool compute room for elements alike.
//
// Thread safety: pure functions.

#ifndef MAPFILE_INTERNAL_VECTOR_LAYOUT_H_
#define MAPFILE_INTERNAL_VECTOR_LAYOUT_H_

#include <cstdint>

#include "mapfile/format.h"

namespace mapfile {
namespace internal {

// Bytes for elements in a vector file of `file_size` bytes whose elements
// start at `data_offset` (0 for a file cut below its data).
inline uint64_t VectorRoom(uint64_t file_size, uint64_t data_offset) {
  return file_size > data_offset ? file_size - data_offset : 0;
}

// Elements a vector file of `file_size` bytes with header `h` has room for:
// MappedVector<T>::capacity() of that file.
inline uint64_t VectorCapacity(const FileHeader& h, uint64_t file_size) {
  return h.type.size == 0 ? 0
                          : VectorRoom(file_size, h.data_offset) / h.type.size;
}

}  // namespace internal
}  // namespace mapfile

#endif  // MAPFILE_INTERNAL_VECTOR_LAYOUT_H_
