// Copyright 2026 The mapfile Authors.
//
// terminal.h: what the `mapfile` tool writes, made safe for a terminal.
//
// Names and bytes that come from a file (type names, segment names, record
// payloads) may hold anything, including escape sequences that would drive
// the user's terminal. Everything the tool prints as text goes through
// Escape() or HexDump(); raw bytes go only to a file or a pipe.
//
// Thread safety: the free functions are pure; a Progress belongs to one
// thread.

#ifndef MAPFILE_TOOLS_TERMINAL_H_
#define MAPFILE_TOOLS_TERMINAL_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace mapfile {
namespace cli {

// `text` with every byte outside printable ASCII (0x20..0x7e) written as
// \xNN, and the backslash as \\ (so the escaping is unambiguous). Printable
// text is unchanged, so the common case reads naturally.
std::string Escape(absl::string_view text);

// Lines like `hexdump -C`: the offset (`offset` + position), 16 bytes in
// hex, and the bytes as printable ASCII ('.' for anything else). `indent`
// spaces start each line.
void HexDump(std::ostream& out, const std::byte* data, size_t size,
             uint64_t offset, int indent = 2);

// Lower-case hex of `size` bytes, no separators (for --json).
std::string Hex(const std::byte* data, size_t size);

// isatty(fd).
bool IsTerminal(int fd);

// A one-line progress bar redrawn on stderr, at most every 100 ms, and only
// when stderr is a terminal (nothing at all when it is a file or a pipe, so
// logs and tests see clean output). Erased when destroyed.
class Progress {
 public:
  Progress(std::string label, uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void Update(uint64_t done);

 private:
  std::string label_;
  uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace cli
}  // namespace mapfile

#endif  // MAPFILE_TOOLS_TERMINAL_H_
