// Copyright 2026 The mapfile Authors.
//
// sample_writer: writes and reads files of tests/sample_record.h through the
// C++ library, for tests of other readers (python/tests) and for the
// benchmarks in bench/python_bench.py. The C++ side is the reference: what
// it reads is what any other reader must read.
//
//   sample_writer vector PATH N          N records, synced
//   sample_writer plain PATH N           N records of a type without schema
//   sample_writer log DIR N SEGMENT [compress]
//                                        N records in SEGMENT-byte segments,
//                                        synced; sealed ones zstd if compress
//   sample_writer commits DIR A B        a log: A records synced, then B more
//                                        synced (two commits, one segment)
//   sample_writer read PATH              prints "FIRST NEXT BAD" as MappedVector
//                                        <const Sample> (FIRST 0) or
//                                        LogReader<Sample> sees it, BAD the
//                                        first record whose Read fails ("-":
//                                        none), or "error: MESSAGE" (exit 1)
//   sample_writer blob DIR SEGMENT OP... a BlobLog in SEGMENT-byte segments;
//                                        each OP is N (append a record of N
//                                        bytes, BlobPayload below), "sync",
//                                        "seal"; nothing is synced but by
//                                        "sync" (the rest is a torn tail)
//   sample_writer blobz DIR SEGMENT OP... the same with compress_sealed
//   sample_writer blobread DIR           prints "FIRST NEXT BAD BYTES" as
//                                        BlobReader sees it: BAD the first
//                                        record whose Read fails or differs
//                                        from BlobPayload ("-": none), BYTES
//                                        the bytes of the records before it
//   sample_writer big PATH BYTES         a vector of about BYTES bytes of
//                                        Sample records (for benchmarks)
//
// Exit 0 on success, 1 on a library error (printed), 2 on bad arguments.

#include <sys/stat.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/sample_record.h"

namespace {

using mapfile::testing::MakeSample;
using mapfile::testing::Sample;

struct Plain {  // the same bytes as Sample, without a schema
  unsigned char bytes[sizeof(Sample)];
};

int Error(const absl::Status& s) {
  std::printf("error: %s\n", std::string(s.message()).c_str());
  return 1;
}

template <typename T>
int WriteVector(const std::string& path, uint64_t n) {
  auto v = mapfile::MappedVector<T>::Open(path);
  if (!v.ok()) return Error(v.status());
  std::vector<T> batch;
  for (uint64_t i = 0; i < n; ++i) {
    const Sample s = MakeSample(i);
    T t;
    std::memcpy(&t, &s, sizeof(t));
    batch.push_back(t);
    if (batch.size() == 65536 || i + 1 == n) {
      if (absl::Status st = v->append(batch); !st.ok()) return Error(st);
      batch.clear();
    }
  }
  if (absl::Status st = v->Sync(); !st.ok()) return Error(st);
  return 0;
}

int Read(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    auto r = mapfile::LogReader<Sample>::Open(path);
    if (!r.ok()) return Error(r.status());
    const uint64_t first = r->first_seq(), next = r->next_seq();
    std::string bad = "-";
    for (uint64_t seq = first; seq < next; ++seq) {
      if (!r->Read(seq).ok()) {
        bad = std::to_string(seq);
        break;
      }
    }
    std::printf("%llu %llu %s\n", static_cast<unsigned long long>(first),
                static_cast<unsigned long long>(next), bad.c_str());
    return 0;
  }
  auto v = mapfile::MappedVector<const Sample>::Open(path);
  if (!v.ok()) return Error(v.status());
  std::printf("0 %llu -\n", static_cast<unsigned long long>(v->size()));
  return 0;
}

// Byte k of blob record `seq`: the same rule as python/tests' payload().
char BlobByte(uint64_t seq, uint64_t k) {
  return static_cast<char>((seq * 131 + k * 7) & 0xff);
}

std::string BlobPayload(uint64_t seq, uint64_t n) {
  std::string out(n, '\0');
  for (uint64_t k = 0; k < n; ++k) out[k] = BlobByte(seq, k);
  return out;
}

int WriteBlobs(const std::vector<std::string>& a, bool compress) {
  mapfile::LogOptions o;
  o.segment_size = std::strtoull(a[2].c_str(), nullptr, 10);
  o.compress_sealed = compress;
  auto log = mapfile::BlobLog::Open(a[1], o);
  if (!log.ok()) return Error(log.status());
  for (size_t i = 3; i < a.size(); ++i) {
    absl::Status s;
    if (a[i] == "sync") {
      s = log->Sync();
    } else if (a[i] == "seal") {
      s = log->Seal();
    } else {
      const uint64_t n = std::strtoull(a[i].c_str(), nullptr, 10);
      s = log->Append(BlobPayload(log->next_seq(), n)).status();
    }
    if (!s.ok()) return Error(s);
  }
  return 0;
}

int ReadBlobs(const std::string& dir) {
  auto r = mapfile::BlobReader::Open(dir);
  if (!r.ok()) return Error(r.status());
  const uint64_t first = r->first_seq(), next = r->next_seq();
  std::string bad = "-";
  uint64_t bytes = 0;
  std::string record;
  for (uint64_t seq = first; seq < next; ++seq) {
    if (!r->Read(seq, &record).ok() ||
        record != BlobPayload(seq, record.size())) {
      bad = std::to_string(seq);
      break;
    }
    bytes += record.size();
  }
  std::printf("%llu %llu %s %llu\n", static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(next), bad.c_str(),
              static_cast<unsigned long long>(bytes));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  auto number = [&](size_t i) { return std::strtoull(a[i].c_str(), nullptr, 10); };
  if (a.size() == 3 && a[0] == "vector") return WriteVector<Sample>(a[1], number(2));
  if (a.size() == 3 && a[0] == "plain") return WriteVector<Plain>(a[1], number(2));
  if (a.size() == 3 && a[0] == "big") {
    return WriteVector<Sample>(a[1], number(2) / sizeof(Sample));
  }
  if (a.size() == 2 && a[0] == "read") return Read(a[1]);
  if (a.size() == 2 && a[0] == "blobread") return ReadBlobs(a[1]);
  if (a.size() >= 3 && (a[0] == "blob" || a[0] == "blobz")) {
    return WriteBlobs(a, a[0] == "blobz");
  }
  if ((a.size() == 4 || a.size() == 5) && a[0] == "log") {
    mapfile::LogOptions o;
    o.segment_size = number(3);
    o.compress_sealed = a.size() == 5 && a[4] == "compress";
    auto log = mapfile::AppendLog<Sample>::Open(a[1], o);
    if (!log.ok()) return Error(log.status());
    for (uint64_t i = 0; i < number(2); ++i) {
      if (auto s = log->Append(MakeSample(i)); !s.ok()) return Error(s.status());
    }
    if (absl::Status s = log->Sync(); !s.ok()) return Error(s);
    return 0;
  }
  if (a.size() == 4 && a[0] == "commits") {
    auto log = mapfile::AppendLog<Sample>::Open(a[1]);
    if (!log.ok()) return Error(log.status());
    uint64_t i = 0;
    for (uint64_t part : {number(2), number(3)}) {
      for (uint64_t end = i + part; i < end; ++i) {
        if (auto s = log->Append(MakeSample(i)); !s.ok()) return Error(s.status());
      }
      if (absl::Status s = log->Sync(); !s.ok()) return Error(s);
    }
    return 0;
  }
  std::fprintf(stderr, "usage: see tests/sample_writer.cc\n");
  return 2;
}
