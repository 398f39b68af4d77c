// A program that uses mapfile as an installed dependency: built by
// tests/consumer_bazel (@mapfile//:mapfile) and tests/consumer_cmake
// (find_package(mapfile)). Writes, syncs and rereads a vector at argv[1].
#include <cstdint>
#include <cstdio>

#include "mapfile/mapped_vector.h"
#include "mapfile/scratch.h"
#include "mapfile/status_macros.h"

absl::Status Run(const char* path) {
  {
    MAPFILE_ASSIGN_OR_RETURN(auto v, mapfile::MappedVector<uint64_t>::Open(path));
    for (uint64_t i = 0; i < 1000; ++i) MAPFILE_RETURN_IF_ERROR(v.push_back(i * i));
    MAPFILE_RETURN_IF_ERROR(v.Sync());
  }
  MAPFILE_ASSIGN_OR_RETURN(auto v, mapfile::MappedVector<const uint64_t>::Open(path));
  MAPFILE_ASSIGN_OR_RETURN(mapfile::Layout layout, mapfile::Layout::Create(4096, 64));
  MAPFILE_ASSIGN_OR_RETURN(mapfile::ScratchBlock block, mapfile::Allocate(layout));
  std::printf("%s: %zu records, last %llu; scratch block of %zu bytes\n", path,
              v.size(), static_cast<unsigned long long>(v.back()), block.size());
  return v.size() == 1000 && v.back() == 999 * 999
             ? absl::OkStatus()
             : absl::InternalError("unexpected contents");
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer PATH\n");
    return 2;
  }
  absl::Status status = Run(argv[1]);
  if (!status.ok()) std::fprintf(stderr, "%s\n", status.ToString().c_str());
  return status.ok() ? 0 : 1;
}
