// Copyright 2026 The mapfile Authors.
//
// bench_util.h: what the benchmark programs under bench/ share. Not part of
// the library; single-threaded use only.

#ifndef MAPFILE_BENCH_BENCH_UTIL_H_
#define MAPFILE_BENCH_BENCH_UTIL_H_

#include <stdio.h>
#include <stdlib.h>
#include <sys/statfs.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"

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

// "ext4", "tmpfs", ... for the file system holding `dir`.
inline std::string FileSystemName(const std::string& dir) {
  struct statfs fs;
  if (::statfs(dir.c_str(), &fs) != 0) return "unknown";
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x01021994:
      return "tmpfs";
    case 0x9123683E:
      return "btrfs";
    case 0x58465342:
      return "xfs";
    case 0x794c7630:
      return "overlay";
    default:
      return "fs" + std::to_string(fs.f_type);
  }
}

// The directories a benchmark that compares file systems runs in, each with
// its file system's name: $MAPFILE_BENCH_DIRS (separated by spaces or
// commas), else $MAPFILE_BENCH_DIR, else "/var/tmp /dev/shm" (this
// machine's ext4 and tmpfs).
inline std::vector<std::pair<std::string, std::string>> BenchDirs() {
  std::string dirs = "/var/tmp /dev/shm";
  if (const char* d = getenv("MAPFILE_BENCH_DIRS")) {
    dirs = d;
  } else if (const char* one = getenv("MAPFILE_BENCH_DIR")) {
    dirs = one;
  }
  std::vector<std::pair<std::string, std::string>> out;
  for (absl::string_view dir :
       absl::StrSplit(dirs, absl::ByAnyChar(" ,"), absl::SkipEmpty())) {
    out.emplace_back(std::string(dir), FileSystemName(std::string(dir)));
  }
  return out;
}

// A record of kSize bytes (a multiple of 8).
template <size_t kSize>
struct Record {
  uint64_t values[kSize / 8];
};

}  // namespace bench
}  // namespace mapfile

#endif  // MAPFILE_BENCH_BENCH_UTIL_H_
