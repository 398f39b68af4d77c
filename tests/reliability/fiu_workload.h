// Copyright 2026 The mapfile Authors.
//
// fiu_workload.h: what fiu_workload (the program run under libfiu) tells
// fiu_test through a shared mapping of a small file.

#ifndef MAPFILE_TESTS_RELIABILITY_FIU_WORKLOAD_H_
#define MAPFILE_TESTS_RELIABILITY_FIU_WORKLOAD_H_

#include <cstdint>

namespace mapfile {
namespace reliability {

struct FiuProgress {
  // kNotStarted until main runs (a fault in a library's static
  // initialisation can end the process before), then 0 set-up, 1 writing,
  // 2 done.
  static constexpr uint64_t kNotStarted = 99;
  uint64_t stage = kNotStarted;
  uint64_t rounds = 0;         // rounds finished
  uint64_t errors = 0;         // failed mapfile calls (each ends a container)
  uint64_t vector_synced = 0;  // vector size at the last successful Sync
  uint64_t log_synced = 0;     // log next_seq at the last successful Sync
};

}  // namespace reliability
}  // namespace mapfile

#endif  // MAPFILE_TESTS_RELIABILITY_FIU_WORKLOAD_H_
