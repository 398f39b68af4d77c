// Uses mapfile as an external Bazel dependency (@mapfile//:mapfile).
#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "mapfile/scratch.h"

int main() {
  absl::StatusOr<mapfile::Layout> layout = mapfile::Layout::Create(4096, 64);
  if (!layout.ok()) {
    std::fprintf(stderr, "Layout::Create: %s\n",
                 layout.status().ToString().c_str());
    return 1;
  }
  absl::StatusOr<mapfile::ScratchBlock> block = mapfile::Allocate(*layout);
  if (!block.ok()) {
    std::fprintf(stderr, "Allocate: %s\n", block.status().ToString().c_str());
    return 1;
  }
  std::printf("allocated %zu bytes (alignment %zu) with strategy %s\n",
              block->size(), block->layout().alignment(),
              std::string(mapfile::ToString(block->strategy())).c_str());
  return 0;
}
