// Copyright 2026 The mapfile Authors.
//
// sample_record.h: a record with a field of every kind MAPFILE_FIELDS
// takes, and one member it is not told of (a gap), with deterministic
// values: what the CLI tests and the Python reader's tests read back
// (tests/sample_writer.cc writes the files those use).

#ifndef MAPFILE_TESTS_SAMPLE_RECORD_H_
#define MAPFILE_TESTS_SAMPLE_RECORD_H_

#include <cstdint>
#include <cstring>

#include "mapfile/format.h"

namespace mapfile {
namespace testing {

enum class Side : uint8_t { kBuy = 1, kSell = 2 };

struct Sample {
  int64_t time;
  double price;
  char symbol[8];
  uint32_t sizes[2];
  float ratio;
  int32_t delta;
  int16_t small;
  uint16_t port;
  int8_t tiny;
  uint8_t flags;
  bool active;
  Side side;
  uint64_t id;
  uint8_t raw[4];
  int8_t unlisted[4];  // not in MAPFILE_FIELDS: a gap
};

// Record `i`: every value a function of i, exactly representable.
inline Sample MakeSample(uint64_t i) {
  static constexpr const char* kSymbols[] = {"AAPL", "MSFT", "A,B\"C", "LONGNAME"};
  Sample s;
  std::memset(&s, 0, sizeof(s));
  s.time = 1700000000 + static_cast<int64_t>(i);
  s.price = 100 + static_cast<double>(i) * 0.25;
  std::memcpy(s.symbol, kSymbols[i % 4], std::strlen(kSymbols[i % 4]));
  s.sizes[0] = static_cast<uint32_t>(i);
  s.sizes[1] = static_cast<uint32_t>(2 * i);
  s.ratio = static_cast<float>(i) / 4;
  s.delta = -static_cast<int32_t>(i);
  s.small = static_cast<int16_t>(-static_cast<int>(i % 300));
  s.port = static_cast<uint16_t>(i % 65536);
  s.tiny = static_cast<int8_t>(-static_cast<int>(i % 128));
  s.flags = static_cast<uint8_t>(i % 256);
  s.active = i % 2 == 1;
  s.side = i % 2 == 1 ? Side::kSell : Side::kBuy;
  s.id = ~uint64_t{0} - i;
  for (int k = 0; k < 4; ++k) s.raw[k] = static_cast<uint8_t>(i + k);
  for (int k = 0; k < 4; ++k) s.unlisted[k] = 7;
  return s;
}

}  // namespace testing
}  // namespace mapfile

MAPFILE_TYPE(mapfile::testing::Sample, "test.Sample", 1);
MAPFILE_FIELDS(mapfile::testing::Sample, time, price, symbol, sizes, ratio,
               delta, small, port, tiny, flags, active, side, id, raw);

#endif  // MAPFILE_TESTS_SAMPLE_RECORD_H_
