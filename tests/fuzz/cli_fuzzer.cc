// Copyright 2026 The mapfile Authors.
//
// The CLI's read paths (info, verify, both as text and JSON; schema, and
// dump through the field schema as columns, JSON and CSV) over arbitrary
// bytes given as a vector file or as a log's only segment. Exit codes only.

#include <fcntl.h>
#include <unistd.h>

#include "mapfile/internal/log_format.h"
#include "tests/fuzz/fuzz_util.h"
#include "tools/commands.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int quiet = [] {  // the commands print; keep the fuzzer's log
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, STDOUT_FILENO);
    return null;
  }();
  (void)quiet;
  const std::string dir = mapfile::fuzz::FreshDir("cli");
  const std::string file = dir + "/x.vec";
  mapfile::fuzz::Write(file, data, size);
  const std::string log = dir + "/log";
  ::mkdir(log.c_str(), 0755);
  mapfile::fuzz::Write(log + "/" + mapfile::internal::SegmentFileName(0), data,
                       size);
  for (const std::string& path : {file, log}) {
    for (bool json : {false, true}) {
      mapfile::cli::ReadOptions o;
      o.path = path;
      o.json = json;
      if (mapfile::cli::RunInfo(o) > 2 || mapfile::cli::RunVerify(o) > 2 ||
          mapfile::cli::RunSchema(o) > 2) {
        __builtin_trap();  // exit codes are 0, 1 and 2 (docs/CLI.md)
      }
    }
    for (int format = 0; format < 3; ++format) {
      mapfile::cli::DumpOptions d;
      d.path = path;
      d.json = format == 1;
      d.csv = format == 2;
      d.count = 16;  // the fields of a few records are enough
      if (mapfile::cli::RunDump(d) > 2) __builtin_trap();
    }
  }
  return 0;
}
