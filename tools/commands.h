// Copyright 2026 The mapfile Authors.
//
// commands.h: the `mapfile` tool's subcommands. main.cc parses the command
// line into these option structs; each Run* function does the work, prints
// to stdout (results) and stderr (errors, progress), and returns the exit
// code (docs/CLI.md):
//
//   0  success; for `verify`: no damage found
//   1  damage found (a checksum, a commit or a size that does not hold)
//   2  usage or I/O error: a missing, foreign, unreadable or unsupported
//      path, or bad arguments
//
// Read commands never change a file. `recover` writes only with `yes`.

#ifndef MAPFILE_TOOLS_COMMANDS_H_
#define MAPFILE_TOOLS_COMMANDS_H_

#include <cstdint>
#include <optional>
#include <string>

namespace mapfile {
namespace cli {

enum ExitCode : int { kExitOk = 0, kExitDamage = 1, kExitError = 2 };

struct ReadOptions {
  std::string path;
  bool json = false;  // one JSON document on stdout instead of text
};

// How records are printed: with a field schema (MAPFILE_FIELDS) as named
// columns, --json (JSON Lines of typed values) or --csv; --hex forces the
// hex form (and the hex JSON) even then. Without a schema: hex, or --csv
// with one "bytes" column of hex.
struct RecordOutput {
  bool hex = false;
  bool csv = false;
};

struct DumpOptions : ReadOptions, RecordOutput {
  std::optional<uint64_t> from;    // first sequence number (vector: index)
  std::optional<uint64_t> to;      // stop before this one
  std::optional<uint64_t> count;   // or: at most this many
  bool raw = false;                // payload bytes instead of hex
  std::string output;              // --raw: file to write ("" = stdout)
};

struct TailOptions : ReadOptions, RecordOutput {
  uint64_t lines = 10;             // the last `lines` records first
  bool follow = false;             // then wait for new ones
  double timeout_seconds = 0;      // follow: stop after this long idle (0: never)
};

// `recover`, `compress` and `decompress` take the log's writer lock
// (Unavailable while a writer runs). `recover` shows what the library's
// recovery would cut (LogStore::PlanRecovery), and cuts by opening the log.
struct RecoverOptions : ReadOptions {
  bool yes = false;   // cut; otherwise only show what would be cut
  std::string save;   // where the cut bytes go ("": <segment>.cut)
};

struct CompressOptions : ReadOptions {
  int level = 3;      // zstd level
};

int RunInfo(const ReadOptions& options);
int RunSchema(const ReadOptions& options);
int RunVerify(const ReadOptions& options);
int RunDump(const DumpOptions& options);
int RunTail(const TailOptions& options);
int RunRecover(const RecoverOptions& options);
int RunCompress(const CompressOptions& options);
int RunDecompress(const ReadOptions& options);

}  // namespace cli
}  // namespace mapfile

#endif  // MAPFILE_TOOLS_COMMANDS_H_
