// Copyright 2026 The mapfile Authors.
//
// File permissions (docs/MAPPED_FILE.md, "File permissions"): a file the library creates gets `permissions` filtered by
// the umask, a log directory the matching directory mode, and every rewrite
// (Compress, Decompress, compress_sealed at a roll or Seal, recovery of a
// torn tail) leaves the mode, owner and group of the file it replaces as
// they were, so that no operation widens (or narrows) access. The CLI's
// rewrites are in cli_test.cc.
//
// The umask is per process: each test sets it and restores it (tests in
// one binary run one at a time).

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"
#include "mapfile/mapped_file.h"
#include "mapfile/mapped_vector.h"
#include "tests/testing.h"

struct Rec {
  uint64_t a;
  uint64_t b;
};
MAPFILE_TYPE(Rec, "test.PermissionsRec", 1);

namespace mapfile {
namespace {

// Sets the umask for the life of the object, then restores it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }
  ScopedUmask(const ScopedUmask&) = delete;
  ScopedUmask& operator=(const ScopedUmask&) = delete;

 private:
  mode_t old_;
};

// The mode bits of `path` (07777), or ~0 if it cannot be stat'ed.
mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ~mode_t{0};
  return st.st_mode & 07777;
}

std::string Octal(mode_t mode) { return absl::StrFormat("0%o", mode); }

// A mode none of the table's (permissions, umask) pairs creates, wider than
// umask 077 allows and narrower than 0644 in one respect: a rewrite that
// used `permissions` and the umask instead of the old file's mode changes it.
constexpr mode_t kChosen = 0660;

struct Case {
  mode_t permissions;
  mode_t umask;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << absl::StrFormat("permissions 0%o, umask 0%o", c.permissions, c.umask);
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  return absl::StrFormat("Permissions0%o_Umask0%o", info.param.permissions,
                         info.param.umask);
}

class PermissionsTest : public ::testing::TestWithParam<Case> {
 protected:
  mode_t permissions() const { return GetParam().permissions; }
  // What open(2) gives a new file under the case's umask.
  mode_t created() const { return permissions() & ~GetParam().umask; }

  // 8 KiB segments: 168 records of Rec each.
  LogOptions Options() const {
    LogOptions options;
    options.permissions = permissions();
    options.segment_size = 8 << 10;
    // Background work (the next segment, prepared as a temporary file, and
    // compressions) runs in the calls that wait for it, so that the files
    // listed by Modes() change only in the calls under test.
    options.pretouch_in_background = false;
    return options;
  }
  static std::string Segment(const std::string& dir, uint64_t first) {
    return absl::StrCat(dir, "/", internal::SegmentFileName(first));
  }
  // The segment files of `dir` and their modes.
  static std::vector<std::pair<std::string, mode_t>> Modes(
      const std::string& dir) {
    std::vector<std::pair<std::string, mode_t>> modes;
    absl::StatusOr<std::vector<std::string>> names = os::ReadDir(dir);
    EXPECT_TRUE(names.ok()) << names.status();
    if (!names.ok()) return modes;
    std::sort(names->begin(), names->end());
    for (const std::string& name : *names) {
      const std::string path = absl::StrCat(dir, "/", name);
      modes.emplace_back(path, ModeOf(path));
    }
    return modes;
  }
  static void Append(AppendLog<Rec>& log, uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      ASSERT_TRUE(log.Append({log.next_seq(), ~log.next_seq()}).ok());
    }
    ASSERT_TRUE(log.Sync().ok());
  }

  ScopedUmask umask_{GetParam().umask};
  testing::TempDir dir_;
};

TEST_P(PermissionsTest, MappedFileCreatesWithPermissionsUnderTheUmask) {
  const std::string path = dir_.File("file");
  MappedFile::Options options;
  options.mode = OpenMode::kCreate;
  options.permissions = permissions();
  {
    absl::StatusOr<MappedFile> file = MappedFile::Open(path, options);
    ASSERT_TRUE(file.ok()) << file.status();
  }
  EXPECT_EQ(Octal(ModeOf(path)), Octal(created()));
  // An existing file keeps its mode, whatever the options say.
  ASSERT_EQ(::chmod(path.c_str(), kChosen), 0);
  options.permissions = 0600;
  absl::StatusOr<MappedFile> file = MappedFile::Open(path, options);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(Octal(ModeOf(path)), Octal(kChosen));
}

TEST_P(PermissionsTest, VectorCreatesWithPermissionsUnderTheUmask) {
  const std::string path = dir_.File("vec");
  VectorOptions options;
  options.permissions = permissions();
  absl::StatusOr<MappedVector<Rec>> v = MappedVector<Rec>::Open(path, options);
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_TRUE(v->resize(20000).ok());  // growth keeps the mode
  ASSERT_TRUE(v->Sync().ok());
  EXPECT_EQ(Octal(ModeOf(path)), Octal(created()));
}

TEST_P(PermissionsTest, LogCreatesDirectoryLockAndEverySegmentWithThem) {
  const std::string dir = dir_.File("log");
  absl::StatusOr<AppendLog<Rec>> log = AppendLog<Rec>::Open(dir, Options());
  ASSERT_TRUE(log.ok()) << log.status();
  Append(*log, 600);  // three rolls
  ASSERT_TRUE(log->Seal().ok());
  EXPECT_EQ(Octal(ModeOf(dir)),
            Octal(os::DirectoryMode(permissions()) & ~GetParam().umask));
  const auto modes = Modes(dir);
  ASSERT_EQ(modes.size(), 6u);  // LOCK and five segments
  for (const auto& [path, mode] : modes) {
    EXPECT_EQ(Octal(mode), Octal(created())) << path;
  }
}

TEST_P(PermissionsTest, CompressAndDecompressKeepEachSegmentsMode) {
  const std::string dir = dir_.File("log");
  absl::StatusOr<AppendLog<Rec>> log = AppendLog<Rec>::Open(dir, Options());
  ASSERT_TRUE(log.ok()) << log.status();
  Append(*log, 800);  // segments 0, 168, 336, 504 sealed; 672 active
  // Segment 168 has a mode its owner chose; the others were created.
  ASSERT_EQ(::chmod(Segment(dir, 168).c_str(), kChosen), 0);
  const auto before = Modes(dir);
  for (uint64_t seq : {0, 168, 336}) {
    ASSERT_TRUE(log->Compress(seq).ok());
    EXPECT_EQ(Modes(dir), before) << "after Compress(" << seq << ")";
  }
  for (uint64_t seq : {0, 168, 336}) {
    ASSERT_TRUE(log->Decompress(seq).ok());
    EXPECT_EQ(Modes(dir), before) << "after Decompress(" << seq << ")";
  }
  EXPECT_EQ(Octal(ModeOf(Segment(dir, 168))), Octal(kChosen));
  EXPECT_EQ(Octal(ModeOf(Segment(dir, 0))), Octal(created()));
}

TEST_P(PermissionsTest, CompressSealedKeepsTheModeAndTheNextSegmentTakesThem) {
  const std::string dir = dir_.File("log");
  LogOptions options = Options();
  options.compress_sealed = true;
  absl::StatusOr<AppendLog<Rec>> log = AppendLog<Rec>::Open(dir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  Append(*log, 100);
  ASSERT_EQ(::chmod(Segment(dir, 0).c_str(), kChosen), 0);
  Append(*log, 200);  // a roll: segment 0 is sealed and compressed
  EXPECT_EQ(Octal(ModeOf(Segment(dir, 0))), Octal(kChosen));
  EXPECT_EQ(Octal(ModeOf(Segment(dir, 168))), Octal(created()));
  ASSERT_EQ(::chmod(Segment(dir, 168).c_str(), kChosen), 0);
  ASSERT_TRUE(log->Seal().ok());  // segment 168 sealed and compressed
  EXPECT_EQ(Octal(ModeOf(Segment(dir, 168))), Octal(kChosen));
  EXPECT_EQ(Octal(ModeOf(Segment(dir, 300))), Octal(created()));
  // Both really were rewritten: they read back compressed.
  log = absl::UnknownError("closed");
  absl::StatusOr<LogReader<Rec>> reader = LogReader<Rec>::Open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (uint64_t seq : {0, 167, 168, 299}) {
    absl::StatusOr<Rec> r = reader->Read(seq);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->a, seq);
  }
  for (uint64_t first : {0, 168}) {
    const std::string bytes = testing::ReadFile(Segment(dir, first));
    EXPECT_LT(bytes.size(), 8u << 10) << "segment " << first
                                      << " was not compressed";
  }
}

TEST_P(PermissionsTest, RecoveryOfATornTailKeepsTheMode) {
  const std::string dir = dir_.File("log");
  {
    absl::StatusOr<AppendLog<Rec>> log = AppendLog<Rec>::Open(dir, Options());
    ASSERT_TRUE(log.ok()) << log.status();
    Append(*log, 10);
    for (uint64_t i = 10; i < 15; ++i) ASSERT_TRUE(log->Append({i, ~i}).ok());
  }  // records 10..14 are not committed
  const std::string segment = Segment(dir, 0);
  const internal::LogLayout layout(FingerprintOf<Rec>());
  std::string bytes = testing::ReadFile(segment);
  bytes[layout.records_offset() + 12 * layout.stride + 1] ^= 0x55;
  ASSERT_TRUE(testing::WriteFile(segment, bytes));
  ASSERT_EQ(::chmod(segment.c_str(), kChosen), 0);
  // Opened with other permissions: only files it creates would take them.
  LogOptions options = Options();
  options.permissions = 0644;
  absl::StatusOr<AppendLog<Rec>> log = AppendLog<Rec>::Open(dir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_GT(log->recovery().bytes_cut, 0u);
  EXPECT_EQ(log->next_seq(), 12u);
  EXPECT_EQ(Octal(ModeOf(segment)), Octal(kChosen));
  EXPECT_EQ(Octal(ModeOf(absl::StrCat(dir, "/", internal::kLogLockName))),
            Octal(created()));
}

INSTANTIATE_TEST_SUITE_P(Table, PermissionsTest,
                         ::testing::Values(Case{0600, 022}, Case{0640, 022},
                                           Case{0644, 022}, Case{0600, 077},
                                           Case{0640, 077}, Case{0644, 077}),
                         CaseName);

// The bug that asked for all this: a private (chmod 0600) segment of a log
// with the default permissions became world-readable when rewritten.
TEST(PermissionsBugTest, Chmod0600SegmentStays0600AfterDecompress) {
  ScopedUmask umask(022);
  testing::TempDir tmp;
  const std::string dir = tmp.File("log");
  LogOptions options;
  options.segment_size = 8 << 10;
  absl::StatusOr<AppendLog<Rec>> log = AppendLog<Rec>::Open(dir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  for (uint64_t i = 0; i < 300; ++i) ASSERT_TRUE(log->Append({i, i}).ok());
  ASSERT_TRUE(log->Sync().ok());
  const std::string segment =
      absl::StrCat(dir, "/", internal::SegmentFileName(0));
  ASSERT_TRUE(log->Compress(0).ok());
  ASSERT_EQ(::chmod(segment.c_str(), 0600), 0);
  ASSERT_TRUE(log->Decompress(0).ok());
  EXPECT_EQ(Octal(ModeOf(segment)), "0600");
  ASSERT_TRUE(log->Compress(0).ok());
  EXPECT_EQ(Octal(ModeOf(segment)), "0600");
}

// Root (or a member of the group) keeps a rewritten segment's group.
TEST(PermissionsGroupTest, RewriteKeepsTheSegmentsGroup) {
  testing::TempDir tmp;
  const std::string dir = tmp.File("log");
  LogOptions options;
  options.segment_size = 8 << 10;
  absl::StatusOr<AppendLog<Rec>> log = AppendLog<Rec>::Open(dir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  for (uint64_t i = 0; i < 300; ++i) ASSERT_TRUE(log->Append({i, i}).ok());
  ASSERT_TRUE(log->Sync().ok());
  const std::string segment =
      absl::StrCat(dir, "/", internal::SegmentFileName(0));
  const gid_t other = ::getegid() + 4242;
  if (::chown(segment.c_str(), static_cast<uid_t>(-1), other) != 0) {
    GTEST_SKIP() << "cannot chgrp here (not root): " << strerror(errno);
  }
  ASSERT_EQ(::chmod(segment.c_str(), 0640), 0);
  ASSERT_TRUE(log->Compress(0).ok());
  struct stat st;
  ASSERT_EQ(::stat(segment.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, other);
  EXPECT_EQ(Octal(st.st_mode & 07777), "0640");
  ASSERT_TRUE(log->Decompress(0).ok());
  ASSERT_EQ(::stat(segment.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, other);
  EXPECT_EQ(Octal(st.st_mode & 07777), "0640");
}

TEST(PermissionsOptionTest, BitsOutside0777AreInvalidArgument) {
  testing::TempDir tmp;
  MappedFile::Options file;
  file.mode = OpenMode::kCreate;
  file.permissions = 04755;
  EXPECT_EQ(MappedFile::Open(tmp.File("f"), file).status().code(),
            absl::StatusCode::kInvalidArgument);
  VectorOptions vector;
  vector.permissions = 01644;
  EXPECT_EQ(MappedVector<Rec>::Open(tmp.File("v"), vector).status().code(),
            absl::StatusCode::kInvalidArgument);
  LogOptions log;
  log.permissions = 02644;
  EXPECT_EQ(AppendLog<Rec>::Open(tmp.File("log"), log).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing was created.
  EXPECT_EQ(ModeOf(tmp.File("f")), ~mode_t{0});
  EXPECT_EQ(ModeOf(tmp.File("v")), ~mode_t{0});
  EXPECT_EQ(ModeOf(tmp.File("log")), ~mode_t{0});
}

}  // namespace
}  // namespace mapfile
