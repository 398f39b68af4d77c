// Copyright 2026 The mapfile Authors.
//
// Arbitrary bytes as the only segment of a log: read by a LogReader, then
// recovered by an AppendLog, which reads everything and appends. Errors only.

#include "mapfile/append_log.h"
#include "mapfile/internal/log_format.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string dir = mapfile::fuzz::FreshDir("segment");
  mapfile::fuzz::Write(dir + "/" + mapfile::internal::SegmentFileName(0), data,
                       size);
  if (auto r = mapfile::LogReader<uint64_t>::Open(dir); r.ok()) {
    for (uint64_t s = r->first_seq(); s < r->next_seq() && s < 4096; ++s) {
      (void)r->Read(s);
    }
  }
  mapfile::LogOptions o;
  o.mode = mapfile::OpenMode::kReadWrite;
  o.segment_size = 16 << 10;
  if (auto w = mapfile::AppendLog<uint64_t>::Open(dir, o); w.ok()) {
    for (auto c = w->From(w->first_seq()); c.Valid(); c.Next()) {
    }
    if (w->Append(1).ok()) (void)w->Sync();
  }
  return 0;
}
