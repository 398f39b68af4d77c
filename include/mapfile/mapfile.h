// Copyright 2026 The mapfile Authors.
//
// mapfile.h: every public header of mapfile, for programs that want them all.
//
//   MappedVector<T>   mapped_vector.h  a std::vector-shaped array in a file
//   AppendLog<T>      append_log.h     a checksummed, segmented append log
//   LogReader<T>      append_log.h     follows a log from any process
//   MappedFile        mapped_file.h    one file mapping with stable addresses
//   Allocate, ...     scratch.h        memory with no file behind it
//   MAPFILE_TYPE      format.h         a record type's stable identity

#ifndef MAPFILE_MAPFILE_H_
#define MAPFILE_MAPFILE_H_

#include "mapfile/append_log.h"     // IWYU pragma: export
#include "mapfile/blob_log.h"       // IWYU pragma: export
#include "mapfile/format.h"         // IWYU pragma: export
#include "mapfile/log_options.h"    // IWYU pragma: export
#include "mapfile/mapped_file.h"    // IWYU pragma: export
#include "mapfile/mapped_vector.h"  // IWYU pragma: export
#include "mapfile/scratch.h"        // IWYU pragma: export
#include "mapfile/status_macros.h"  // IWYU pragma: export

#endif  // MAPFILE_MAPFILE_H_
