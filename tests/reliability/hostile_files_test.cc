// Copyright 2026 The mapfile Authors.
//
// Hostile files: a directory of crafted files -- truncated, foreign, lying
// headers (checksums recomputed, so only validation stands between them and
// the containers), huge claimed sizes, wrong kinds, garbage zstd, sparse
// monsters, directories, FIFOs, symlink loops -- opened by every container
// (vector writer and reader, log writer and reader) and, when MAPFILE_CLI
// names the built tool, by `mapfile info` and `mapfile verify`. Run under
// ASan+UBSan: errors only, never a crash, hang or huge allocation.

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/checksum.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

void Put(std::string& s, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s[at + i] = static_cast<char>(v >> (8 * i));
}
// Recomputes the header checksum (bytes [0, 3960)) and, for slot `slot`,
// its checksum: the lie passes every checksum.
void Reseal(std::string& s, int slot = -1) {
  Put(s, 3960, internal::Xxh3(s.data(), 3960), 8);
  if (slot >= 0) {
    const size_t at = 3968 + 64 * slot;
    Put(s, at + 56, internal::Xxh3(s.data() + at, 56), 8);
  }
}
void SetSlot(std::string& s, int slot, uint64_t seq, uint64_t count,
             uint64_t length) {
  const size_t at = 3968 + 64 * slot;
  Put(s, at, seq, 8);
  Put(s, at + 8, count, 8);
  Put(s, at + 16, length, 8);
  Reseal(s, slot);
}

// A zstd frame of `size` bytes, declared in its header (else only a 128 KiB
// window is), held as RLE blocks of 128 KiB (4 bytes each: a ratio of
// 32768).
std::string RleFrame(uint64_t size, bool declared) {
  std::string f = "\x28\xb5\x2f\xfd";  // magic
  f += declared ? '\xe0' : '\0';  // one segment, 8-byte size; or none
  f.resize(declared ? 13 : 6, '\x38');  // ...and a window of 2^17
  if (declared) Put(f, 5, size, 8);
  for (uint64_t left = size; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, 128 << 10);
    left -= n;
    f.resize(f.size() + 4);  // the byte repeated: 0
    Put(f, f.size() - 4, (n << 3) | (1 << 1) | (left == 0), 3);
  }
  return f;
}
// Turns a valid segment into a compressed one of `count` records that is
// consistent in every field, and whose frame expands from a few KiB (with
// `declared` false, padded with zeros to 4 bytes a record).
void Bomb(std::string& f, uint64_t count, bool declared = true) {
  const internal::LogLayout layout(FingerprintOf<Rec>());
  const uint64_t length = layout.control_size + count * layout.stride;
  std::string frame = RleFrame(length, declared);
  if (!declared) frame.resize(std::max<uint64_t>(frame.size(), count * 4));
  f.resize(layout.data_offset());
  f += frame;
  Put(f, 144, kSegmentSealed | kSegmentCompressed, 4);
  Put(f, 152, length, 8);
  Reseal(f);
  SetSlot(f, 0, 2, count, frame.size());
}

struct Case {
  std::string name;
  std::function<void(std::string& file)> craft;  // of a valid file
};

// Mutations of a valid vector or segment file.
std::vector<Case> Cases() {
  return {
      {"empty", [](std::string& f) { f.clear(); }},
      {"one_byte", [](std::string& f) { f = "M"; }},
      {"header_minus_one", [](std::string& f) { f.resize(4095); }},
      {"header_only", [](std::string& f) { f.resize(4096); }},
      {"foreign_text", [](std::string& f) { f = std::string(8192, 'x'); }},
      {"bad_magic", [](std::string& f) { f[0] = 'N'; }},
      {"bad_checksum", [](std::string& f) { f[100] ^= 1; }},
      {"major_2", [](std::string& f) { Put(f, 8, 2, 2); Reseal(f); }},
      {"kind_99", [](std::string& f) { Put(f, 12, 99, 2); Reseal(f); }},
      {"big_endian", [](std::string& f) { Put(f, 16, 2, 1); Reseal(f); }},
      {"type_size_0", [](std::string& f) { Put(f, 32, 0, 8); Reseal(f); }},
      {"type_size_huge", [](std::string& f) { Put(f, 32, ~0ull, 8); Reseal(f); }},
      {"alignment_3", [](std::string& f) { Put(f, 48, 3, 8); Reseal(f); }},
      {"alignment_2_63", [](std::string& f) { Put(f, 48, 1ull << 63, 8); Reseal(f); }},
      {"data_offset_0", [](std::string& f) { Put(f, 56, 0, 8); Reseal(f); }},
      {"data_offset_huge", [](std::string& f) { Put(f, 56, ~0ull - 7, 8); Reseal(f); }},
      {"name_length_255", [](std::string& f) { Put(f, 64, 255, 1); Reseal(f); }},
      {"header_size_lie", [](std::string& f) { Put(f, 24, 8192, 4); Reseal(f); }},
      {"count_huge", [](std::string& f) { SetSlot(f, 0, 2, 1ull << 60, 24ull << 60); }},
      {"count_overflow", [](std::string& f) { SetSlot(f, 0, 2, ~0ull / 3, ~0ull); }},
      {"length_mismatch", [](std::string& f) { SetSlot(f, 0, 2, 5, 7); }},
      {"slot_past_eof", [](std::string& f) { SetSlot(f, 0, 2, 100000, 100000 * 24); }},
      {"both_slots_torn", [](std::string& f) { f[3970] ^= 1; f[4040] ^= 1; }},
      {"slot_parity_lie", [](std::string& f) { SetSlot(f, 1, 2, 1, 24); }},
      {"sequence_max", [](std::string& f) { SetSlot(f, 1, ~0ull, 1, 24); }},
      {"compressed_garbage", [](std::string& f) {
         Put(f, 144, kSegmentSealed | kSegmentCompressed, 4);
         Put(f, 152, 64 + 10 * 32, 8);  // consistent: 10 records of Rec
         Reseal(f);
         SetSlot(f, 0, 2, 10, 64);
       }},
      {"compressed_bomb", [](std::string& f) { Bomb(f, 1 << 24); }},
      {"compressed_count_wraps", [](std::string& f) {  // 2^59 + 10 frames
         Put(f, 144, kSegmentSealed | kSegmentCompressed, 4);  // of 32 bytes
         Put(f, 152, 64 + 10 * 32, 8);
         Reseal(f);
         SetSlot(f, 0, 2, (1ull << 59) + 10, 64);
       }},
      {"sealed_flag_lie", [](std::string& f) { Put(f, 144, kSegmentSealed, 4); Reseal(f); }},
      {"first_sequence_lie", [](std::string& f) { Put(f, 136, 12345, 8); Reseal(f); }},
      // The field schema (Rec lists seq, gen, check): entry 1 at 208, its
      // name "seq" at 219 and NUL at 222.
      {"schema_name_unterminated", [](std::string& f) { f[222] = 'x'; Reseal(f); }},
      {"schema_name_length_255", [](std::string& f) { Put(f, 218, 255, 1); Reseal(f); }},
      {"schema_offset_past_record", [](std::string& f) { Put(f, 208, ~0u, 4); Reseal(f); }},
      {"schema_count_overflow", [](std::string& f) { Put(f, 212, ~0u, 4); Reseal(f); }},
      {"schema_too_many_fields", [](std::string& f) { Put(f, 200, 65535, 2); Reseal(f); }},
      {"schema_length_lie", [](std::string& f) { Put(f, 202, 65535, 2); Reseal(f); }},
      {"schema_unknown_type", [](std::string& f) { Put(f, 216, 99, 1); Reseal(f); }},
      {"schema_flag_without_schema", [](std::string& f) {
         std::fill(f.begin() + 200, f.begin() + 3960, '\0');
         Reseal(f);
       }},
      {"required_flag_unknown", [](std::string& f) { Put(f, 23, 0x80, 1); Reseal(f); }},
      {"sparse_1tib", [](std::string& f) { f.resize(8192); }},  // + ftruncate below
  };
}

// A valid file of each kind, to mutate: a vector of 100 records, and a log
// segment of 100 records (its directory's only segment).
std::string ValidFile(const std::string& dir, bool log) {
  if (log) {
    const std::string d = dir + "/valid_log";
    LogOptions o;
    o.segment_size = 16 << 10;
    auto l = AppendLog<Rec>::Open(d, o);
    for (uint64_t i = 0; i < 100; ++i) (void)l->Append(MakeRec(i, 1));
    (void)l->Sync();
    return testing::ReadFile(d + "/" + internal::SegmentFileName(0));
  }
  const std::string path = dir + "/valid.vec";
  auto v = MappedVector<Rec>::Open(path);
  for (uint64_t i = 0; i < 100; ++i) (void)v->push_back(MakeRec(i));
  (void)v->Sync();
  return testing::ReadFile(path);
}

// Opens `path` with every container that takes a file of this shape and
// reads everything it claims to hold. Returns how many opens failed.
int OpenEverything(const std::string& path, bool log) {
  int errors = 0;
  auto note = [&](const absl::Status& s) {
    errors += !s.ok();
    if (!s.ok()) {
      EXPECT_FALSE(s.message().empty());
    }
  };
  if (log) {
    {
      auto reader = LogReader<Rec>::Open(path);
      note(reader.status());
      if (reader.ok()) {
        for (uint64_t s = reader->first_seq(); s < reader->next_seq() && s < 1000; ++s) {
          (void)reader->Read(s);
        }
      }
    }
    LogOptions o;
    o.mode = OpenMode::kReadWrite;
    o.segment_size = 16 << 10;
    auto writer = AppendLog<Rec>::Open(path, o);
    note(writer.status());
    if (writer.ok()) {
      for (auto c = writer->From(writer->first_seq()); c.Valid(); c.Next()) {
      }
    }
    return errors;
  }
  {
    auto reader = MappedVector<const Rec>::Open(path);
    note(reader.status());
    if (reader.ok()) {
      uint64_t sum = 0;
      for (const Rec& r : *reader) sum += r.seq;
      (void)sum;
    }
  }
  VectorOptions o;
  o.mode = OpenMode::kReadWrite;
  auto writer = MappedVector<Rec>::Open(path, o);
  note(writer.status());
  if (writer.ok()) (void)writer->push_back(MakeRec(writer->size()));
  return errors;
}

// `mapfile info` and `mapfile verify` exit 0, 1 or 2, never by a signal.
void RunCli(const std::string& path) {
  const char* cli = std::getenv("MAPFILE_CLI");
  if (cli == nullptr || *cli == '\0') return;
  for (const char* command : {"info", "verify"}) {
    const std::string line =
        absl::StrCat(cli, " ", command, " '", path, "' >/dev/null 2>&1");
    const int status = std::system(line.c_str());
    ASSERT_TRUE(WIFEXITED(status)) << line << ": killed by a signal";
    EXPECT_LE(WEXITSTATUS(status), 2) << line;
    const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    if (WEXITSTATUS(status) > 2 && out != nullptr) {  // keep it for a look
      (void)std::system(absl::StrCat("cp -r '", path, "' '", out, "'").c_str());
    }
  }
}

// Every file here is made in a 1 GiB tmpfs of this process's own (the
// sparse 1 TiB file too), never on the real disk: a regression that made a
// writer trust a file's claimed size would fill the tmpfs, not the disk
// other programs use. Where namespaces are not allowed the files stay in
// $TEST_TMPDIR, and the library's own free-space check
// (os::CheckFreeSpace) is what keeps the disk free.
class TinyTmpfsEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    absl::Status status = testing::MoveTempDirsToTinyTmpfs(uint64_t{1} << 30);
    if (!status.ok()) std::fprintf(stderr, "%s\n", status.ToString().c_str());
  }
};
::testing::Environment* const kTinyTmpfs =
    ::testing::AddGlobalTestEnvironment(new TinyTmpfsEnvironment);

TEST(HostileFilesTest, EveryContainerAndTheCliGiveErrorsOnly) {
  testing::TempDir dir;
  int files = 0, errors = 0, opens = 0;
  for (bool log : {false, true}) {
    const std::string valid = ValidFile(dir.path(), log);
    for (const Case& c : Cases()) {
      SCOPED_TRACE(absl::StrCat(log ? "log segment " : "vector ", c.name));
      std::string bytes = valid;
      c.craft(bytes);
      const std::string name = absl::StrCat(log ? "log_" : "vec_", c.name);
      std::string path = dir.File(name);
      if (log) {
        ASSERT_EQ(::mkdir(path.c_str(), 0755), 0);
        path += "/" + internal::SegmentFileName(0);
      }
      ASSERT_TRUE(testing::WriteFile(path, bytes));
      if (c.name == "sparse_1tib") {
        ASSERT_EQ(::truncate(path.c_str(), 1ll << 40), 0);
      }
      const std::string target = log ? dir.File(name) : path;
      const int failed = OpenEverything(target, log);
      if (c.name.rfind("schema_", 0) == 0 || c.name.rfind("required_", 0) == 0) {
        EXPECT_EQ(failed, 2) << "a hostile schema must fail every open";
      }
      errors += failed;
      opens += 4;
      ++files;
      RunCli(target);
    }
  }
  // Not files at all, and log directories that lie about their segments.
  const std::string fifo = dir.File("fifo"), loop = dir.File("loop");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  ASSERT_EQ(::symlink(loop.c_str(), loop.c_str()), 0);
  for (const std::string& path : {dir.path(), fifo, loop, std::string("/dev/zero"),
                                  std::string("/proc/self/maps")}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(OpenEverything(path, false), 2);
    RunCli(path);
    files++;
    opens += 2;
  }
  const std::string valid_log = dir.File("valid_log");
  const std::string seg0 = testing::ReadFile(valid_log + "/" + internal::SegmentFileName(0));
  struct DirCase {
    std::string name;
    std::vector<std::pair<std::string, std::string>> files;
  };
  const std::vector<DirCase> dirs = {
      {"gap", {{internal::SegmentFileName(0), seg0}, {internal::SegmentFileName(500), seg0}}},
      {"renamed_segment", {{internal::SegmentFileName(7), seg0}}},
      {"segment_is_dir", {{internal::SegmentFileName(0), ""}}},
      {"only_temp", {{internal::SegmentFileName(0) + ".tmp", seg0}}},
      {"max_name", {{"99999999999999999999.seg", seg0}}},
  };
  for (const DirCase& c : dirs) {
    SCOPED_TRACE(c.name);
    const std::string d = dir.File("dir_" + c.name);
    ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
    for (const auto& [name, bytes] : c.files) {
      if (c.name == "segment_is_dir") {
        ASSERT_EQ(::mkdir((d + "/" + name).c_str(), 0755), 0);
      } else {
        ASSERT_TRUE(testing::WriteFile(d + "/" + name, bytes));
      }
    }
    errors += OpenEverything(d, true);
    opens += 2;
    ++files;
    RunCli(d);
  }
  Report("hostile_files", absl::StrCat(files, " crafted files and directories, ",
                                       opens, " opens, ", errors, " errors"));
}

// Found by log_dir_fuzzer: a live segment cut inside its control block,
// whose few bytes there read as a large published count. The reader took
// the segment's room from the file's length, which wrapped below zero, and
// read records past the file's end (SIGBUS). Nothing is published there.
TEST(HostileFilesTest, LiveSegmentShorterThanItsControlBlockPublishesNothing) {
  testing::TempDir dir;
  const std::string log = dir.File("log");
  {
    auto w = AppendLog<uint32_t>::Open(log);
    ASSERT_TRUE(w.ok()) << w.status();
  }
  const std::string segment = log + "/00000000000000000000.seg";
  std::string bytes = testing::ReadFile(segment);
  const uint64_t data =
      internal::LogLayout(FingerprintOf<uint32_t>()).data_offset();
  ASSERT_GT(bytes.size(), data + 4);
  bytes.resize(data + 4);
  bytes.replace(data, 4, "\x03\x3a\x00\x00", 4);  // published: 14851
  ASSERT_TRUE(testing::WriteFile(segment, bytes));
  auto r = LogReader<uint32_t>::Open(log);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->next_seq(), r->first_seq());
  for (uint64_t s = 0; s < 1000; ++s) {
    EXPECT_FALSE(r->Read(s).ok()) << s;
  }
}

// 128 MiB from 4 KiB, rejected before anything is allocated for it: by its
// size (not 4 bytes a record), or by its frame's undeclared content size.
TEST(HostileFilesTest, CompressedBombIsDataLossWithoutAHugeAllocation) {
  testing::TempDir dir;
  const std::string valid = ValidFile(dir.path(), true);
  auto max_rss_kib = [] {
    rusage u;
    ::getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
  };
  for (bool declared : {true, false}) {
    SCOPED_TRACE(declared);
    std::string bomb = valid;
    Bomb(bomb, 1 << 22, declared);
    const std::string log = dir.File(absl::StrCat("bomb", declared));
    ASSERT_EQ(::mkdir(log.c_str(), 0755), 0);
    ASSERT_TRUE(testing::WriteFile(
        log + "/" + internal::SegmentFileName(0), bomb));
    EXPECT_EQ(testing::RunInChild([&] {
                const long before = max_rss_kib();
                auto reader = LogReader<Rec>::Open(log);
                auto code = reader.status().code();
                if (code != absl::StatusCode::kDataLoss) return 1;
                return max_rss_kib() - before < (64 << 10) ? 0 : 2;
              }),
              0);
  }
}

// ---------------------------------------------------------------------------
// Blob log segments (kind 3): the header cases above, and frames, commits
// and offset indexes that lie.

constexpr uint64_t kBlobRecords = 100;

// A blob log of kBlobRecords MakeBlob records in `d`: with `sealed`, in a
// sealed segment (with its index) followed by an empty active one.
void MakeValidBlobLog(const std::string& d, bool sealed) {
  LogOptions o;
  o.segment_size = 16 << 20;
  auto l = BlobLog::Open(d, o);
  ASSERT_TRUE(l.ok()) << l.status();
  for (uint64_t i = 0; i < kBlobRecords; ++i) {
    ASSERT_TRUE(l->Append(MakeBlob(i, 1)).ok());
  }
  ASSERT_TRUE(sealed ? l->Seal().ok() : l->Sync().ok());
}

// File offset of record `i`'s frame in segment 0.
uint64_t BlobFrameAt(uint64_t i) {
  uint64_t at = 4096 + 64;
  for (uint64_t k = 0; k < i; ++k) {
    at += internal::BlobFrameSize(MakeBlob(k, 1).size());
  }
  return at;
}

// Opens `dir` with BlobReader and BlobLog (kReadWrite), reads everything
// they claim, and checks that a record they return is the one written.
// Returns how many opens failed.
int OpenBlobLog(const std::string& dir) {
  int errors = 0;
  auto check = [&](const absl::StatusOr<std::string>& r, uint64_t seq) {
    if (!r.ok()) {
      EXPECT_FALSE(r.status().message().empty());
      return;
    }
    uint64_t gen = 0;
    EXPECT_TRUE(BlobIntact(*r, seq, &gen)) << "record " << seq;
  };
  {
    auto reader = BlobReader::Open(dir);
    errors += !reader.ok();
    if (reader.ok()) {
      for (uint64_t s = reader->first_seq(); s < reader->next_seq() && s < 1000;
           ++s) {
        check(reader->Read(s), s);
      }
    }
  }
  LogOptions o;
  o.mode = OpenMode::kReadWrite;
  o.segment_size = 16 << 10;
  auto writer = BlobLog::Open(dir, o);
  errors += !writer.ok();
  if (writer.ok()) {
    for (uint64_t s = writer->first_seq(); s < writer->next_seq() && s < 1000;
         ++s) {
      check(writer->Read(s), s);
    }
    if (writer->Append("after").ok()) (void)writer->Sync();
  }
  return errors;
}

TEST(HostileFilesTest, BlobSegmentsAndIndexesThatLieGiveErrorsOnly) {
  testing::TempDir dir;
  const std::string valid_dir = dir.File("valid_blob");
  MakeValidBlobLog(valid_dir, false);
  const std::string valid =
      testing::ReadFile(valid_dir + "/" + internal::SegmentFileName(0));
  std::vector<Case> cases = Cases();
  auto length_at = [](uint64_t record, uint64_t length) {
    return [record, length](std::string& f) {
      Put(f, BlobFrameAt(record) + 8, length, 4);
    };
  };
  const uint64_t frames_end = BlobFrameAt(kBlobRecords) - 4096 - 64;
  cases.push_back({"blob_length_max", length_at(5, 0xFFFFFFFF)});
  cases.push_back({"blob_length_1gib_plus_1", length_at(5, (1 << 30) + 1)});
  cases.push_back({"blob_length_1gib", length_at(5, 1 << 30)});
  cases.push_back({"blob_length_plus_8", length_at(5, MakeBlob(5, 1).size() + 8)});
  cases.push_back({"blob_length_zero", length_at(50, 0)});
  cases.push_back({"blob_flags", [](std::string& f) { Put(f, BlobFrameAt(7) + 12, 1, 4); }});
  cases.push_back({"blob_last_length_past_end", length_at(kBlobRecords - 1, 1 << 20)});
  cases.push_back({"blob_commit_length_past_file",
                   [](std::string& f) { SetSlot(f, 1, 3, kBlobRecords, f.size()); }});
  cases.push_back({"blob_commit_count_huge",
                   [=](std::string& f) { SetSlot(f, 1, 3, 1ull << 60, frames_end); }});
  cases.push_back({"blob_commit_short_length",
                   [=](std::string& f) { SetSlot(f, 1, 3, kBlobRecords, frames_end - 8); }});
  cases.push_back({"blob_compressed_bomb", [=](std::string& f) {
                     const uint64_t image = uint64_t{1} << 34;  // 16 GiB
                     std::string frame = RleFrame(1 << 20, true);
                     Put(frame, 5, image, 8);
                     f.resize(4096);
                     f += frame;
                     Put(f, 144, kSegmentSealed | kSegmentCompressed, 4);
                     Put(f, 152, image, 8);
                     Reseal(f);
                     SetSlot(f, 0, 2, kBlobRecords, frame.size());
                   }});
  cases.push_back({"blob_compressed_rle_zeros", [=](std::string& f) {
                     // 1 MiB of zeros, consistent in every field: frames
                     // that fail their checksums.
                     const uint64_t image = 1 << 20;
                     const std::string frame = RleFrame(image, true);
                     f.resize(4096);
                     f += frame;
                     Put(f, 144, kSegmentSealed | kSegmentCompressed, 4);
                     Put(f, 152, image, 8);
                     Reseal(f);
                     SetSlot(f, 0, 2, 1000, frame.size());
                   }});
  int files = 0, errors = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE("blob segment " + c.name);
    std::string bytes = valid;
    c.craft(bytes);
    const std::string d = dir.File("blob_" + c.name);
    ASSERT_EQ(::mkdir(d.c_str(), 0755), 0);
    const std::string path = d + "/" + internal::SegmentFileName(0);
    ASSERT_TRUE(testing::WriteFile(path, bytes));
    errors += OpenBlobLog(d);
    ++files;
    RunCli(d);
  }
  // A sealed segment whose index lies: every read is still the record
  // written or an error.
  const std::string sealed_dir = dir.File("sealed_blob");
  MakeValidBlobLog(sealed_dir, true);
  const std::string index_name = internal::IndexFileName(0);
  const std::string index = testing::ReadFile(sealed_dir + "/" + index_name);
  ASSERT_EQ(index.size(), 40 + 8 * kBlobRecords);
  auto resealed = [](std::string f) {
    Put(f, f.size() - 8, internal::Xxh3(f.data(), f.size() - 8), 8);
    return f;
  };
  auto start = [&](uint64_t i, uint64_t v) {
    std::string f = index;
    Put(f, 32 + 8 * i, v, 8);
    return resealed(f);
  };
  std::vector<std::pair<std::string, std::string>> indexes = {
      {"empty", ""},
      {"garbage", std::string(40 + 8 * kBlobRecords, 'x')},
      {"count_huge", [&] { std::string f = index; Put(f, 16, 1ull << 61, 8); return resealed(f); }()},
      {"length_lie", [&] { std::string f = index; Put(f, 24, 8, 8); return resealed(f); }()},
      {"start_past_end", start(10, 1ull << 40)},
      {"start_max", start(10, ~0ull - 7)},
      {"start_unaligned", start(10, 4100)},
      {"start_shifted", start(10, 16 + [&] { uint64_t v = 0; std::memcpy(&v, &index[32 + 80], 8); return v; }())},
      {"first_not_zero", start(0, 16)},
  };
  for (const auto& [name, bytes] : indexes) {
    SCOPED_TRACE("index " + name);
    const std::string d = dir.File("index_" + name);
    std::filesystem::copy(sealed_dir, d);
    ASSERT_TRUE(testing::WriteFile(d + "/" + index_name, bytes));
    errors += OpenBlobLog(d);
    ++files;
    RunCli(d);
  }
  {  // A sparse 1 TiB index is never read (its size is wrong).
    const std::string d = dir.File("index_sparse_1tib");
    std::filesystem::copy(sealed_dir, d);
    ASSERT_EQ(::truncate((d + "/" + index_name).c_str(), 1ll << 40), 0);
    EXPECT_EQ(OpenBlobLog(d), 0);
    ++files;
  }
  Report("hostile_files.blob",
         absl::StrCat(files, " crafted blob logs, ", errors, " failed opens"));
}

// 128 MiB of zeros from 4 KiB, consistent in every field a compressed blob
// segment has: streaming decompression stops at the first frame (zeros
// fail its checksum), so little of the 128 MiB is ever touched.
TEST(HostileFilesTest, CompressedBlobBombIsDataLossWithoutAHugeAllocation) {
  testing::TempDir dir;
  const std::string d = dir.File("blob_bomb");
  MakeValidBlobLog(d, false);
  const std::string path = d + "/" + internal::SegmentFileName(0);
  std::string f = testing::ReadFile(path);
  const uint64_t image = uint64_t{128} << 20;
  const std::string frame = RleFrame(image, true);
  f.resize(4096);
  f += frame;
  Put(f, 144, kSegmentSealed | kSegmentCompressed, 4);
  Put(f, 152, image, 8);
  Reseal(f);
  SetSlot(f, 0, 2, 1000, frame.size());
  ASSERT_TRUE(testing::WriteFile(path, f));
  EXPECT_EQ(testing::RunInChild([&] {
              rusage u;
              ::getrusage(RUSAGE_SELF, &u);
              const long before = u.ru_maxrss;
              // The only segment is loaded at Open: either fails.
              auto reader = BlobReader::Open(d);
              const absl::StatusCode code =
                  reader.ok() ? reader->Read(5).status().code()
                              : reader.status().code();
              if (code != absl::StatusCode::kDataLoss) return 2;
              ::getrusage(RUSAGE_SELF, &u);
              // ASan's allocator poisons (touches) every block it hands out,
              // so zstd's untouched window counts as resident there: the
              // bound holds for the real allocator only.
              if (testing::kAddressSanitizer) return 0;
              return u.ru_maxrss - before < (16 << 10) ? 0 : 3;
            }),
            0);
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
