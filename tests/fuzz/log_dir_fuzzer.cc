// Copyright 2026 The mapfile Authors.
//
// Arbitrary bytes as a whole log directory: the input is split at "\n--\n"
// into up to 8 files; each begins with its file name's first sequence
// number as 8 little-endian bytes (a segment named 00000000000000000042.seg,
// or a temporary .tmp when the top bit is set). Read, recovered, appended to:
// errors only.

#include <cstring>
#include <string>

#include "mapfile/append_log.h"
#include "mapfile/internal/log_format.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = mapfile::fuzz::FreshDir("dir");
  const std::string input(reinterpret_cast<const char*>(data), size);
  size_t at = 0;
  for (int files = 0; files < 8 && at + 8 <= input.size(); ++files) {
    size_t end = input.find("\n--\n", at + 8);
    if (end == std::string::npos) end = input.size();
    uint64_t first;
    std::memcpy(&first, input.data() + at, 8);
    std::string name = mapfile::internal::SegmentFileName(first & ~(1ull << 63));
    if (first >> 63) name += mapfile::internal::kTempSuffix;
    mapfile::fuzz::Write(dir + "/" + name, data + at + 8, end - at - 8);
    at = end + 4;
  }
  if (auto r = mapfile::LogReader<uint32_t>::Open(dir); r.ok()) {
    const uint64_t first = r->first_seq();
    for (uint64_t s = first; s < r->next_seq() && s < first + 4096; ++s) {
      (void)r->Read(s);
    }
  }
  mapfile::LogOptions o;
  o.mode = mapfile::OpenMode::kReadWrite;
  o.segment_size = 16 << 10;
  if (auto w = mapfile::AppendLog<uint32_t>::Open(dir, o); w.ok()) {
    for (auto c = w->From(w->first_seq()); c.Valid(); c.Next()) {
    }
    if (w->Append(7).ok()) (void)w->Seal();
  }
  return 0;
}
