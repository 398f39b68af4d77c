// vector_demo: typed records in a file with MappedVector<T>.
//   vector_demo [path]        (default: ticks.vec in the current directory)
#include <cstdint>
#include <cstdio>
#include <string>

#include "mapfile/mapped_vector.h"
#include "mapfile/status_macros.h"

using mapfile::MappedVector;

struct Tick {
  int64_t time;
  double price;
};
MAPFILE_TYPE(Tick, "example.Tick", 1);  // stored in the header, checked on open

absl::Status Demo(const std::string& path) {
  {
    MAPFILE_ASSIGN_OR_RETURN(auto ticks, MappedVector<Tick>::Open(path));
    ticks.clear();
    for (int64_t i = 0; i < 3; ++i) {
      MAPFILE_RETURN_IF_ERROR(
          ticks.push_back(Tick{1700000000 + i, 100.25 * (i + 1)}));
    }
    MAPFILE_RETURN_IF_ERROR(ticks.Sync());  // durable from here on
  }
  MAPFILE_ASSIGN_OR_RETURN(auto ticks, MappedVector<const Tick>::Open(path));
  for (const Tick& t : ticks) {
    std::printf("%lld %.2f\n", static_cast<long long>(t.time), t.price);
  }
  return absl::OkStatus();
}

int main(int argc, char** argv) {
  const absl::Status status = Demo(argc > 1 ? argv[1] : "ticks.vec");
  if (status.ok()) return 0;
  std::fprintf(stderr, "vector_demo: %s\n", status.ToString().c_str());
  return 1;
}
