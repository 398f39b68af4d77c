// Copyright 2026 The mapfile Authors.
//
// fiu_workload: the program fiu_test runs under libfiu's `fiu-run -x`
// (random failures of POSIX calls and malloc, injected by a library
// mapfile did not write). It writes a vector and a log with Syncs, as an
// application would: after any error it drops the container and reopens
// it. What it knows to be durable (the sizes at each successful Sync) it
// stores in a shared mapping of PROGRESS, made before any fault can hit it,
// so the checker learns it without a system call that libfiu could fail.
//
//   fiu_workload DIR PROGRESS ROUNDS COMPRESS
//
// Exit codes: 0 done (errors or not), 3 set-up failed (a fault before the
// workload began: nothing to check), 4 an exception left a mapfile call.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <optional>
#include <string>

#include "mapfile/append_log.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/fiu_workload.h"
#include "tests/reliability/reliability.h"

namespace mapfile {
namespace reliability {
namespace {

constexpr uint64_t kPerRound = 300;

void Work(const std::string& dir, FiuProgress* p, int rounds, bool compress) {
  // Built before the first mapfile call, so that the paths and options
  // need no allocation inside the loop.
  const std::string vector_path = dir + "/v.vec";
  const std::string log_dir = dir + "/log";
  LogOptions log_options;
  log_options.segment_size = 64 << 10;  // a roll every ~800 records
  log_options.compress_sealed = compress;
  std::optional<MappedVector<Rec>> vector;
  std::optional<AppendLog<Rec>> log;
  p->stage = 1;
  for (int round = 0; round < rounds; ++round) {
    const uint64_t gen = static_cast<uint64_t>(round);
    if (!vector) {
      auto v = MappedVector<Rec>::Open(vector_path);
      if (v.ok()) {
        vector.emplace(*std::move(v));
      } else {
        ++p->errors;
      }
    }
    if (vector) {
      bool ok = true;
      for (uint64_t i = 0; i < kPerRound && ok; ++i) {
        ok = vector->push_back(MakeRec(vector->size(), gen)).ok();
      }
      if (ok) ok = vector->Sync().ok();
      if (ok) {
        p->vector_synced = vector->size();
      } else {
        ++p->errors;
        vector.reset();
      }
    }
    if (!log) {
      auto l = AppendLog<Rec>::Open(log_dir, log_options);
      if (l.ok()) {
        log.emplace(*std::move(l));
      } else {
        ++p->errors;
      }
    }
    if (log) {
      bool ok = true;
      for (uint64_t i = 0; i < kPerRound && ok; ++i) {
        ok = log->Append(MakeRec(log->next_seq(), gen)).ok();
      }
      if (ok) ok = log->Sync().ok();
      if (ok) p->log_synced = log->next_seq();
      if (ok && round % 5 == 4) ok = log->Seal().ok();
      if (ok) p->log_synced = log->next_seq();
      if (!ok) {
        ++p->errors;
        log.reset();
      }
    }
    p->rounds = static_cast<uint64_t>(round) + 1;
  }
  p->stage = 2;
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile

int main(int argc, char** argv) {
  using mapfile::reliability::FiuProgress;
  if (argc != 5) return 2;
  const int fd = ::open(argv[2], O_RDWR | O_CLOEXEC);
  if (fd < 0) return 3;
  void* map = ::mmap(nullptr, sizeof(FiuProgress), PROT_READ | PROT_WRITE,
                     MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return 3;
  auto* progress = static_cast<FiuProgress*>(map);
  try {
    const std::string dir = argv[1];
    const int rounds = std::atoi(argv[3]);
    const bool compress = std::atoi(argv[4]) != 0;
    progress->stage = 0;
    mapfile::reliability::Work(dir, progress, rounds, compress);
  } catch (...) {
    // Set-up (the strings above) or a mapfile call: the stage says which.
    return progress->stage == 0 ? 3 : 4;
  }
  return 0;
}
