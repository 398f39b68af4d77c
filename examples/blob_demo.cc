// blob_demo: a log of variable-length records (here JSON lines of 20 to
// 2,000 bytes) written by one thread and followed by a BlobReader in
// another, as a second process would.
//   blob_demo [dir]       (default: events.log in the current directory)
#include <cstdint>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "mapfile/blob_log.h"
#include "mapfile/status_macros.h"

absl::Status Capture(const std::string& dir, uint64_t start) {
  MAPFILE_ASSIGN_OR_RETURN(mapfile::BlobLog log, mapfile::BlobLog::Open(dir));
  for (uint64_t i = start; i < start + 3000; ++i) {
    const std::string event = absl::StrCat(
        R"({"event":)", i, R"(,"note":")", std::string(i % 2000, 'x'), "\"}");
    MAPFILE_RETURN_IF_ERROR(log.Append(event).status());
    if (i % 1000 == 999) MAPFILE_RETURN_IF_ERROR(log.Sync());  // group commit
  }
  return log.Sync();
}

absl::Status Follow(const std::string& dir, uint64_t seq, uint64_t end) {
  mapfile::ReaderOptions options;
  options.wait_for_log = absl::Seconds(10);  // may start before the writer
  MAPFILE_ASSIGN_OR_RETURN(mapfile::BlobReader reader,
                           mapfile::BlobReader::Open(dir, options));
  std::string event;  // reused: no allocation per record once large enough
  for (; seq < end; ++seq) {
    MAPFILE_RETURN_IF_ERROR(reader.WaitFor(seq, absl::Seconds(10)));
    MAPFILE_RETURN_IF_ERROR(reader.Read(seq, &event));  // checksum verified
    if (seq % 1000 == 999)
      std::printf("seq %llu: %zu bytes: %.30s...\n",
                  static_cast<unsigned long long>(seq), event.size(),
                  event.c_str());
  }
  return absl::OkStatus();
}

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "events.log";
  uint64_t start = 0;
  {  // Find where the log ends (creating it), and what recovery cut.
    auto log = mapfile::BlobLog::Open(dir);
    if (!log.ok()) {
      std::fprintf(stderr, "blob_demo: %s\n", log.status().ToString().c_str());
      return 1;
    }
    start = log->next_seq();
    std::printf("%s: %llu records; recovery cut %llu bytes\n", dir.c_str(),
                static_cast<unsigned long long>(start),
                static_cast<unsigned long long>(log->recovery().bytes_cut));
  }
  absl::Status follow;
  std::thread reader([&] { follow = Follow(dir, start, start + 3000); });
  absl::Status capture = Capture(dir, start);
  reader.join();
  for (const absl::Status& s : {capture, follow}) {
    if (!s.ok()) {
      std::fprintf(stderr, "blob_demo: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  return 0;
}
