// Copyright 2026 The mapfile Authors.
//
// Arbitrary bytes opened as a vector file: by a reader and by a writer,
// reading every element claimed and appending one. Errors only.

#include "mapfile/mapped_vector.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = mapfile::fuzz::FreshDir("vector") + "/v.vec";
  mapfile::fuzz::Write(path, data, size);
  uint64_t sum = 0;
  if (auto r = mapfile::MappedVector<const uint64_t>::Open(path); r.ok()) {
    for (uint64_t x : *r) sum += x;
  }
  mapfile::VectorOptions o;
  o.mode = mapfile::OpenMode::kReadWrite;
  if (auto w = mapfile::MappedVector<uint64_t>::Open(path, o); w.ok()) {
    for (uint64_t x : *w) sum += x;
    if (w->push_back(sum).ok()) (void)w->Sync();
  }
  return 0;
}
