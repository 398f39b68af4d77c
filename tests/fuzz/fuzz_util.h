// Copyright 2026 The mapfile Authors.
//
// fuzz_util.h: what mapfile's libFuzzer targets share. The library opens
// paths, so each input is written to a file (or a directory of files) in a
// per-process scratch directory, on tmpfs where there is one.

#ifndef MAPFILE_TESTS_FUZZ_FUZZ_UTIL_H_
#define MAPFILE_TESTS_FUZZ_FUZZ_UTIL_H_

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace mapfile {
namespace fuzz {

// The per-process scratch directory, removed when the fuzzer exits (it
// ends a timed run with exit()).
inline const std::string& ScratchBase() {
  static const std::string base = [] {
    std::string pattern = ::access("/dev/shm", W_OK) == 0
                              ? "/dev/shm/mapfile-fuzz.XXXXXX"
                              : "/tmp/mapfile-fuzz.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) std::abort();
    return pattern;
  }();
  static const bool removed_at_exit = [] {
    return std::atexit([] {
             std::error_code ignored;
             std::filesystem::remove_all(ScratchBase(), ignored);
           }) == 0;
  }();
  (void)removed_at_exit;
  return base;
}

// A fresh, empty directory for this input: <scratch>/<name>.
inline std::string FreshDir(const std::string& name) {
  const std::string& base = ScratchBase();
  const std::string dir = base + "/" + name;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  std::filesystem::create_directories(dir, ignored);
  return dir;
}

inline void Write(const std::string& path, const uint8_t* data, size_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) std::abort();
  for (size_t done = 0; done < size;) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n <= 0) std::abort();
    done += static_cast<size_t>(n);
  }
  ::close(fd);
}

}  // namespace fuzz
}  // namespace mapfile

#endif  // MAPFILE_TESTS_FUZZ_FUZZ_UTIL_H_
