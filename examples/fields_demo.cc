// fields_demo: records that say what is inside them. MAPFILE_FIELDS stores
// the field names, offsets and types in the file's header, so `mapfile
// dump` prints columns, CSV or JSON, and Python reads the file as a numpy
// array (python/README.md).
//   fields_demo [path] [count]   (default: trades.vec, 1000 records)
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "mapfile/mapped_vector.h"
#include "mapfile/status_macros.h"

struct Trade {
  int64_t time;
  double price;
  char symbol[8];  // text, NUL-padded
  uint32_t size;
};
MAPFILE_TYPE(Trade, "example.Trade", 1);
MAPFILE_FIELDS(Trade, time, price, symbol, size);

absl::Status Demo(const std::string& path, int count) {
  MAPFILE_ASSIGN_OR_RETURN(auto trades, mapfile::MappedVector<Trade>::Open(path));
  trades.clear();
  const char* symbols[] = {"AAPL", "MSFT", "GOOG"};
  for (int i = 0; i < count; ++i) {
    Trade t = {1700000000 + i, 100 + 0.25 * (i % 400), {}, 100u * (1 + i % 5)};
    std::snprintf(t.symbol, sizeof(t.symbol), "%s", symbols[i % 3]);
    MAPFILE_RETURN_IF_ERROR(trades.push_back(t));
  }
  return trades.Sync();
}

int main(int argc, char** argv) {
  const absl::Status status = Demo(argc > 1 ? argv[1] : "trades.vec",
                                   argc > 2 ? std::atoi(argv[2]) : 1000);
  if (status.ok()) return 0;
  std::fprintf(stderr, "fields_demo: %s\n", status.ToString().c_str());
  return 1;
}
