// log_demo: a typed append log written by one thread and followed by a
// LogReader in another, as a second process would.
//   log_demo [dir]        (default: ticks.log in the current directory)
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/time.h"
#include "mapfile/append_log.h"
#include "mapfile/status_macros.h"

struct Tick {
  int64_t time;
  double price;
};
MAPFILE_TYPE(Tick, "example.Tick", 1);

absl::Status Capture(const std::string& dir) {
  MAPFILE_ASSIGN_OR_RETURN(auto log, mapfile::AppendLog<Tick>::Open(dir));
  for (int64_t batch = 0; batch < 3; ++batch) {
    std::vector<Tick> ticks;
    for (int64_t i = 0; i < 1000; ++i)
      ticks.push_back({batch * 1000 + i, 100.0 + i});
    MAPFILE_RETURN_IF_ERROR(log.AppendBatch(ticks).status());
    MAPFILE_RETURN_IF_ERROR(log.Sync());  // group commit; wakes the readers
  }
  return absl::OkStatus();
}

absl::Status Follow(const std::string& dir, uint64_t seq, uint64_t end) {
  MAPFILE_ASSIGN_OR_RETURN(auto reader, mapfile::LogReader<Tick>::Open(dir));
  while (seq < end) {
    MAPFILE_RETURN_IF_ERROR(
        reader.WaitFor(seq, absl::Seconds(10)));  // no spinning
    MAPFILE_ASSIGN_OR_RETURN(Tick tick, reader.Read(seq));
    if (seq % 1000 == 999)
      std::printf("seq %llu: time %lld\n", static_cast<unsigned long long>(seq),
                  static_cast<long long>(tick.time));
    ++seq;
  }
  return absl::OkStatus();
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "ticks.log";
  uint64_t start = 0;
  {  // Create the log (or find where it ends) so the reader has one to open.
    auto log = mapfile::AppendLog<Tick>::Open(dir);
    if (!log.ok()) {
      std::fprintf(stderr, "log_demo: %s\n", log.status().ToString().c_str());
      return 1;
    }
    start = log->next_seq();
  }
  absl::Status follow;
  std::thread reader([&] { follow = Follow(dir, start, start + 3000); });
  absl::Status capture = Capture(dir);
  reader.join();
  for (const absl::Status& s : {capture, follow}) {
    if (!s.ok()) {
      std::fprintf(stderr, "log_demo: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
