// Copyright 2026 The mapfile Authors.
//
// bench_util.h: what the benchmark programs under bench/ share. Not part of
// the library; single-threaded use only.

#ifndef MAPFILE_BENCH_BENCH_UTIL_H_
#define MAPFILE_BENCH_BENCH_UTIL_H_

#include <stdio.h>
#include <stdlib.h>

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace mapfile {
namespace bench {

// $MAPFILE_BENCH_DIR/name (default /tmp/name), with any old file removed:
// the numbers are those of that directory's file system.
inline std::string BenchFile(const char* name) {
  const char* dir = getenv("MAPFILE_BENCH_DIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  remove(path.c_str());
  return path;
}

// Setup that cannot go on after an error: prints it and aborts.
inline void OrDie(const absl::Status& status) {
  if (!status.ok()) {
    fprintf(stderr, "%s\n", status.ToString().c_str());
    abort();
  }
}
template <typename V>
V OrDie(absl::StatusOr<V> v) {
  OrDie(v.status());
  return *std::move(v);
}

// A record of kSize bytes (a multiple of 8).
template <size_t kSize>
struct Record {
  uint64_t values[kSize / 8];
};

}  // namespace bench
}  // namespace mapfile

#endif  // MAPFILE_BENCH_BENCH_UTIL_H_
