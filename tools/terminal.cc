// Copyright 2026 The mapfile Authors.

#include "tools/terminal.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace mapfile {
namespace cli {
namespace {

bool Printable(unsigned char c) { return c >= 0x20 && c <= 0x7e; }

}  // namespace

std::string Escape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (Printable(c)) {
      out += static_cast<char>(c);
    } else {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    }
  }
  return out;
}

void HexDump(std::ostream& out, const std::byte* data, size_t size,
             uint64_t offset, int indent) {
  for (size_t line = 0; line < size; line += 16) {
    const size_t n = std::min<size_t>(16, size - line);
    std::string text(static_cast<size_t>(indent), ' ');
    absl::StrAppendFormat(&text, "%08x ", offset + line);
    std::string ascii;
    for (size_t i = 0; i < 16; ++i) {
      if (i == 8) text += ' ';
      if (i < n) {
        const auto c = static_cast<unsigned char>(data[line + i]);
        absl::StrAppendFormat(&text, " %02x", c);
        ascii += Printable(c) ? static_cast<char>(c) : '.';
      } else {
        text += "   ";
      }
    }
    out << text << "  |" << ascii << "|\n";
  }
}

std::string Hex(const std::byte* data, size_t size) {
  std::string out;
  out.reserve(2 * size);
  for (size_t i = 0; i < size; ++i) {
    absl::StrAppendFormat(&out, "%02x", static_cast<unsigned char>(data[i]));
  }
  return out;
}

bool IsTerminal(int fd) { return isatty(fd) == 1; }

Progress::Progress(std::string label, uint64_t total)
    : label_(std::move(label)),
      total_(total),
      enabled_(IsTerminal(STDERR_FILENO)) {}

Progress::~Progress() {
  if (drawn_) std::cerr << "\r\x1b[K" << std::flush;  // erase the line
}

void Progress::Update(uint64_t done) {
  if (!enabled_ || total_ == 0) return;
  const absl::Time now = absl::Now();
  if (now - last_ < absl::Milliseconds(100) && done < total_) return;
  last_ = now;
  constexpr int kWidth = 30;
  const double fraction = std::min(1.0, double(done) / double(total_));
  const int filled = static_cast<int>(fraction * kWidth);
  std::cerr << absl::StrFormat("\r%s [%s%s] %3.0f%%", Escape(label_),
                               std::string(filled, '#'),
                               std::string(kWidth - filled, ' '),
                               100 * fraction)
            << std::flush;
  drawn_ = true;
}

}  // namespace cli
}  // namespace mapfile
