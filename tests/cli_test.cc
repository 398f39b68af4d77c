// Copyright 2026 The mapfile Authors.
//
// Tests of the `mapfile` tool (tools/), run as a subprocess the way users
// run it: golden output of info/verify/dump on fixture files, --json
// fields, follow with a writer in another process, and the bad-input table
// (each case: exit code, a one-line message naming the file, no hang).
//
// The binary's path comes from $MAPFILE_CLI (CMake: $<TARGET_FILE:...>;
// Bazel: $(rootpath //tools:mapfile)).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/mapped_vector.h"
#include "nlohmann/json.hpp"
#include "tests/sample_record.h"
#include "tests/testing.h"
#include "tools/inspect.h"

struct Tick {
  int64_t time;
  double price;
};
MAPFILE_TYPE(Tick, "example.Tick", 1);

namespace mapfile {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;
using json = nlohmann::json;

std::string CliPath() {
  const char* path = std::getenv("MAPFILE_CLI");
  return path != nullptr ? path : "";
}

// The tool running as a child, its stdout and stderr captured.
class Subprocess {
 public:
  explicit Subprocess(const std::vector<std::string>& args) {
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(out[1], STDOUT_FILENO);
      ::dup2(err[1], STDERR_FILENO);
      std::vector<char*> argv;
      const std::string cli = CliPath();
      argv.push_back(const_cast<char*>(cli.c_str()));
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }
  ~Subprocess() {
    if (pid_ > 0 && code_ < 0) {
      ::kill(pid_, SIGKILL);
      Wait(absl::Seconds(5));
    }
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // Reads output until `done()` holds, both pipes close, or the deadline.
  // False on timeout.
  bool ReadUntil(absl::Time deadline, const std::function<bool()>& done) {
    while (!done() && (fds_[0] >= 0 || fds_[1] >= 0)) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return false;
      pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
      if (::poll(p, 2, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <
          0) {
        continue;
      }
      for (int i = 0; i < 2; ++i) {
        if (fds_[i] < 0 || p[i].revents == 0) continue;
        char buffer[4096];
        const ssize_t n = ::read(fds_[i], buffer, sizeof(buffer));
        if (n > 0) {
          (i == 0 ? out_ : err_).append(buffer, static_cast<size_t>(n));
        } else if (n == 0 || errno != EINTR) {
          ::close(fds_[i]);
          fds_[i] = -1;
        }
      }
    }
    return true;
  }

  // Collects everything and the exit code (-1 on timeout: the child is
  // killed).
  int Wait(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    if (!ReadUntil(deadline, [] { return false; })) {
      ::kill(pid_, SIGKILL);
    }
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (absl::Now() > deadline) code_ = -1;
    return code_;
  }

  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

 private:
  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  int code_ = -1;
  std::string out_, err_;
};

struct Result {
  int code;
  std::string out, err;
  absl::Duration elapsed;
};

Result Cli(const std::vector<std::string>& args,
           absl::Duration timeout = absl::Seconds(10)) {
  const absl::Time start = absl::Now();
  Subprocess p(args);
  const int code = p.Wait(timeout);
  return {code, p.out(), p.err(), absl::Now() - start};
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(CliPath().empty())
        << "set MAPFILE_CLI to the path of the mapfile binary";
  }

  // A vector of `n` Ticks {i, i + 0.5}, synced.
  std::string MakeVector(const std::string& name, int n) {
    const std::string path = dir_.File(name);
    auto v = MappedVector<Tick>::Open(path);
    EXPECT_TRUE(v.ok()) << v.status();
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(v->push_back({i, i + 0.5}).ok());
    }
    EXPECT_TRUE(v->Sync().ok());
    return path;
  }

  // A log of `n` Ticks {i, i + 0.5} in 8 KiB segments (168 records each),
  // synced; the first segment compressed if `compress`.
  std::string MakeLog(const std::string& name, int n, bool compress = false) {
    const std::string dir = dir_.File(name);
    LogOptions options;
    options.segment_size = 8 << 10;
    auto log = AppendLog<Tick>::Open(dir, options);
    EXPECT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < n; ++i) EXPECT_TRUE(log->Append({i, i + 0.5}).ok());
    EXPECT_TRUE(log->Sync().ok());
    if (compress) {
      EXPECT_TRUE(log->Compress(0).ok());
    }
    return dir;
  }
  static std::string Segment(const std::string& dir, uint64_t first) {
    return absl::StrCat(dir, "/", internal::SegmentFileName(first));
  }
  // File offset of record `seq` in a segment starting at `first`.
  static uint64_t FrameOffset(uint64_t seq, uint64_t first = 0) {
    const internal::LogLayout layout(FingerprintOf<Tick>());
    return layout.records_offset() + (seq - first) * layout.stride;
  }

  // A power loss during the Sync of records 10..14 of `segment` (commits
  // of 10, then 15 records): the newest slot reached the disk, the frames
  // it counts did not (zeros), and the published count is the one of the
  // Sync before (it is stored only after a Sync returns).
  static void TearNewestCommit(const std::string& segment) {
    Patch(segment, FrameOffset(10), std::string(5 * 24, '\0'));
    const internal::LogLayout layout(FingerprintOf<Tick>());
    const uint64_t published = 10;  // little-endian, as the file is
    Patch(segment, layout.data_offset() + internal::kPublishedAt,
          std::string(reinterpret_cast<const char*>(&published), 8));
  }

  // `path` with `bytes` written at `offset`.
  static void Patch(const std::string& path, uint64_t offset,
                    const std::string& bytes) {
    std::string data = testing::ReadFile(path);
    ASSERT_LE(offset + bytes.size(), data.size());
    data.replace(offset, bytes.size(), bytes);
    ASSERT_TRUE(testing::WriteFile(path, data));
  }

  // Rewrites the header page through the library's encoder (a hostile
  // header with valid checksums).
  static void Rewrite(const std::string& path,
                      const std::function<void(FileHeader&)>& edit,
                      std::optional<CommitSlot> slot = std::nullopt) {
    std::string data = testing::ReadFile(path);
    auto page = absl::MakeSpan(reinterpret_cast<std::byte*>(data.data()),
                               data.size());
    auto header = DecodeHeader(page, path);
    ASSERT_TRUE(header.ok()) << header.status();
    edit(*header);
    EncodeHeader(*header, page);
    if (slot) EncodeSlot(*slot, page);
    ASSERT_TRUE(testing::WriteFile(path, data));
  }

  static uint64_t Allocated(const std::string& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return static_cast<uint64_t>(st.st_blocks) * 512;
  }

  // Text output without the line that depends on the page cache.
  static std::string WithoutResidency(const std::string& text) {
    std::string out;
    for (absl::string_view line : absl::StrSplit(text, '\n')) {
      if (!absl::StartsWith(line, "  resident ")) absl::StrAppend(&out, line, "\n");
    }
    out.pop_back();
    return out;
  }

  testing::TempDir dir_;
};

// ---------------------------------------------------------------- golden

TEST_F(CliTest, InfoOfAVectorShowsTypeCountsCommitAndSizes) {
  const std::string path = MakeVector("ticks.vec", 3);
  const Result r = Cli({"info", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, IsEmpty());
  const uint64_t size = testing::ReadFile(path).size();
  EXPECT_EQ(WithoutResidency(r.out),
            absl::StrFormat(
                "%s: mapfile vector, format 1.1\n"
                "  type           \"example.Tick\" v1 (16 bytes, align 8)\n"
                "  records        3 committed, room for %d\n"
                "  commit         sequence 2: 3 records, 48 bytes\n"
                "  slot 0         sequence 2: 3 records, 48 bytes\n"
                "  slot 1         sequence 1: 0 records, 0 bytes\n"
                "  data           at offset 4096, records aligned to 64\n"
                "  byte order     little-endian\n"
                "  checksum       xxh3-64\n"
                "  file           %d bytes, %d allocated\n",
                path, (size - 4096) / 16, size, Allocated(path)));
  EXPECT_THAT(r.out, HasSubstr("\n  resident       "));
}

TEST_F(CliTest, VerifyOfAnIntactVectorIsOkWithExitZero) {
  const std::string path = MakeVector("ticks.vec", 3);
  const Result r = Cli({"verify", path});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat(path,
                                ": OK: vector, 3 records (48 bytes) checked\n"));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(CliTest, DumpShowsEachRecordAsHexUnderItsBoundary) {
  const std::string path = MakeVector("ticks.vec", 3);
  const Result r = Cli({"dump", "--from", "1", "--count", "1", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            absl::StrCat(
                path,
                ": vector of \"example.Tick\" v1 (16 bytes, align 8), records "
                "[1, 2) of [0, 3)\n"
                "record 1  offset 4112  16 bytes\n"
                "  00001010  01 00 00 00 00 00 00 00  00 00 00 00 00 00 f8 3f"
                "  |...............?|\n"));
}

TEST_F(CliTest, DumpRawWritesThePayloadBytesToAFile) {
  const std::string path = MakeVector("ticks.vec", 3);
  const std::string out = dir_.File("raw.bin");
  const Result r = Cli({"dump", "--raw", "--from", "1", "-o", out, path});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string raw = testing::ReadFile(out);
  ASSERT_EQ(raw.size(), 2 * sizeof(Tick));
  Tick t[2];
  std::memcpy(t, raw.data(), raw.size());
  EXPECT_EQ(t[0].time, 1);
  EXPECT_EQ(t[1].price, 2.5);
}

TEST_F(CliTest, DumpRangesAreCheckedAgainstTheCommittedRecords) {
  const std::string path = MakeVector("ticks.vec", 3);
  Result r = Cli({"dump", "--from", "4", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--from 4 is outside the records"));
  r = Cli({"dump", "--json", "--from", "2", "--to", "100", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["records"].size(), 1u);
  r = Cli({"dump", "--to", "1", "--count", "1", path});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("excludes"));
}

TEST_F(CliTest, JsonOutputsParseAndHaveTheDocumentedFields) {
  const std::string path = MakeVector("ticks.vec", 3);
  Result r = Cli({"info", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  for (const char* field :
       {"path", "kind", "format_major", "format_minor", "type", "byte_order",
        "checksum", "record_alignment", "data_offset", "file_size",
        "allocated_size", "slots", "commit", "residency", "records"}) {
    EXPECT_TRUE(j.contains(field)) << field;
  }
  EXPECT_EQ(j["kind"], "vector");
  EXPECT_EQ(j["type"]["name"], "example.Tick");
  EXPECT_EQ(j["type"]["size"], 16);
  EXPECT_EQ(j["commit"]["count"], 3);
  EXPECT_EQ(j["records"]["committed"], 3);

  r = Cli({"verify", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["ok"], true);
  EXPECT_EQ(j["records_checked"], 3);
  EXPECT_TRUE(j["findings"].empty());

  r = Cli({"dump", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  ASSERT_EQ(j["records"].size(), 3u);
  EXPECT_EQ(j["records"][2]["sequence"], 2);
  EXPECT_EQ(j["records"][2]["offset"], 4096 + 32);
  EXPECT_EQ(j["records"][2]["hex"], "02000000000000000000000000000440");
}

TEST_F(CliTest, VerifyReportsDamageWithExitOneAndWhereItIs) {
  const std::string path = MakeVector("ticks.vec", 3);
  Patch(path, 72, "X");  // inside the type name: header checksum
  Result r = Cli({"verify", path});
  EXPECT_EQ(r.code, 1) << r.err;
  EXPECT_THAT(r.out, StartsWith(absl::StrCat(path, ": DAMAGED: 1 problem\n")));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("segment ", path,
                                            ", offset 0, sequence -: ")));
  EXPECT_THAT(r.out, HasSubstr("header checksum mismatch"));
  r = Cli({"verify", "--json", path});
  const json j = json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["segment"], path);
  EXPECT_EQ(j["findings"][0]["offset"], 0);
  EXPECT_TRUE(j["findings"][0]["sequence"].is_null());
}

TEST_F(CliTest, VerifyNeverChangesTheFile) {
  const std::string path = MakeVector("ticks.vec", 3);
  Patch(path, 3968 + 8, "\xff");  // damage the newer slot
  const std::string before = testing::ReadFile(path);
  EXPECT_EQ(Cli({"verify", path}).code, 0);  // falls back to the older slot
  EXPECT_EQ(testing::ReadFile(path), before);
}

TEST_F(CliTest, NamesFromAFileNeverReachTheTerminalAsControlSequences) {
  const std::string path = MakeVector("ticks.vec", 1);
  Rewrite(path, [](FileHeader& h) { h.type.name = "\x1b]0;pwned\x07\x1b[2J"; });
  const Result r = Cli({"info", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(r.out.find('\x07'), std::string::npos);
  EXPECT_THAT(r.out, HasSubstr("\\x1b]0;pwned\\x07\\x1b[2J"));
  const Result j = Cli({"info", "--json", path});
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(j.out.find('\x1b'), std::string::npos);
  EXPECT_EQ(json::parse(j.out)["type"]["name"], "\x1b]0;pwned\x07\x1b[2J");
}

TEST_F(CliTest, RawBytesAreNotWrittenToATerminal) {
  const std::string path = MakeVector("ticks.vec", 1);
  int master = ::posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || ::grantpt(master) != 0 || ::unlockpt(master) != 0) {
    GTEST_SKIP() << "no pseudo-terminal";
  }
  const std::string tty = ::ptsname(master);
  const int code = testing::RunInChild([&] {
    const int fd = ::open(tty.c_str(), O_RDWR | O_NOCTTY);
    if (fd < 0 || ::dup2(fd, STDOUT_FILENO) < 0) return 99;
    const std::string cli = CliPath();
    ::execl(cli.c_str(), cli.c_str(), "dump", "--raw", path.c_str(), nullptr);
    return 98;
  });
  ::close(master);
  EXPECT_EQ(code, 2);
}

TEST_F(CliTest, HelpVersionAndUsageErrors) {
  Result r = Cli({"--help"});
  EXPECT_EQ(r.code, 0);
  for (const char* command : {"info", "verify", "dump", "tail", "follow",
                              "recover", "compress", "decompress"}) {
    EXPECT_THAT(r.out, HasSubstr(command));
  }
  r = Cli({"dump", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("--from"));
  r = Cli({"--version"});
  EXPECT_EQ(r.code, 0);
  // CMake passes its project(VERSION); Bazel does not know one.
  const char* version = std::getenv("MAPFILE_VERSION");
  EXPECT_THAT(r.out, ::testing::MatchesRegex(absl::StrCat(
                         "mapfile ", version ? version : "[0-9]+\\.[0-9]+\\.[0-9]+",
                         " \\(file format 1\\.1\\)\n")));
  EXPECT_EQ(Cli({}).code, 2);
  EXPECT_EQ(Cli({"frobnicate", "x"}).code, 2);
  EXPECT_EQ(Cli({"info"}).code, 2);
  r = Cli({"dump", "--from", "-3", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("--from"));
}

TEST_F(CliTest, TailPrintsTheLastRecordsAndFollowSeesAnotherProcessAppend) {
  const std::string path = MakeVector("ticks.vec", 5);
  Result r = Cli({"tail", "-n", "2", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["sequence"], 3);
  EXPECT_EQ(json::parse(lines[1])["sequence"], 4);

  // -n 1: its first line says it is running, before the writer starts.
  Subprocess follow({"follow", "-n", "1", "--json", "--timeout", "20", path});
  ASSERT_TRUE(follow.ReadUntil(absl::Now() + absl::Seconds(5), [&] {
    return follow.out().find("\"sequence\":4") != std::string::npos;
  })) << follow.err();
  const absl::Time start = absl::Now();
  const int code = testing::RunInChild([&] {
    auto v = MappedVector<Tick>::Open(path);
    if (!v.ok() || !v->push_back({77, 7.5}).ok() || !v->Sync().ok()) return 1;
    return 0;
  });
  ASSERT_EQ(code, 0);
  EXPECT_TRUE(follow.ReadUntil(start + absl::Seconds(1), [&] {
    return follow.out().find("\"sequence\":5") != std::string::npos;
  })) << "follow printed nothing within a second: " << follow.out()
      << follow.err();
}

// ---------------------------------------------------------------- logs

// A reused file can be longer than its segment (the log was reopened with a
// smaller segment_size): `info` counts the room its header recorded, as the
// writer does, not the file's length.
TEST_F(CliTest, LogInfoGivesAReusedLongerFileTheRoomItsHeaderRecorded) {
  const std::string dir = dir_.File("reused");
  const internal::LogLayout layout(FingerprintOf<Tick>());
  const int64_t big = static_cast<int64_t>(layout.Capacity(64 << 10));
  LogOptions options;
  options.segment_size = 64 << 10;
  options.pretouch_in_background = false;
  {
    auto log = AppendLog<Tick>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int64_t i = 0; i < 3 * big + 5; ++i) {
      ASSERT_TRUE(log->Append({i, i + 0.5}).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->TruncateBefore(big).ok());  // segment 0 kept: .free
  }
  options.segment_size = 16 << 10;
  {
    auto log = AppendLog<Tick>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    // Rolls at 4 * big into the reused 64 KiB file, a 16 KiB segment now.
    for (int64_t i = 3 * big + 5; i < 4 * big + 10; ++i) {
      ASSERT_TRUE(log->Append({i, i + 0.5}).ok());
    }
    ASSERT_TRUE(log->Sync().ok());
  }
  const std::string reused = Segment(dir, 4 * big);
  ASSERT_GT(std::filesystem::file_size(reused), uint64_t{16} << 10);
  Result r = Cli({"info", "--json", reused});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["records"]["capacity"], layout.Capacity(16 << 10)) << r.out;
  EXPECT_EQ(j["records"]["present"], 10) << r.out;
}

// Segments rolled into since the last Sync keep a temporary name until the
// next Sync (docs/DESIGN.md); retired ones wait for reuse as "*.free".
// Neither is part of the log, both take disk: `info` shows them, with the
// records the temporaries hold, so that an operator is not surprised.
TEST_F(CliTest, LogInfoShowsTemporaryAndRetiredSegments) {
  const std::string dir = dir_.File("pending");
  LogOptions options;
  options.segment_size = 8 << 10;  // 168 records of 16 bytes
  {
    auto log = AppendLog<Tick>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 100; ++i) ASSERT_TRUE(log->Append({i, i + 0.5}).ok());
    ASSERT_TRUE(log->Sync().ok());
    // Two rolls after the Sync: [168, 336) and [336, 400) stay temporary.
    for (int i = 100; i < 400; ++i) ASSERT_TRUE(log->Append({i, i + 0.5}).ok());
  }  // closed without a Sync
  Result r = Cli({"info", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["next_seq"], 100);
  EXPECT_EQ(j["records"]["present"], 168);
  ASSERT_EQ(j["temporaries"].size(), 2u) << r.out;
  EXPECT_EQ(j["temporaries"][0]["path"], Segment(dir, 168) + ".tmp");
  EXPECT_EQ(j["temporaries"][0]["first_sequence"], 168);
  EXPECT_EQ(j["temporaries"][0]["role"], "rolled");
  EXPECT_EQ(j["temporaries"][0]["records"], 168);
  EXPECT_EQ(j["temporaries"][1]["records"], 64);
  EXPECT_EQ(j["pending_records"], 232);
  EXPECT_GT(j["temporary_allocated_size"].get<uint64_t>(), 0u);
  EXPECT_TRUE(j["retired"].empty());
  r = Cli({"info", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(
                         "  temporaries    2 temporary segments, ",
                         j["temporary_allocated_size"].get<uint64_t>(),
                         " bytes allocated; 232 records not yet named by a "
                         "Sync (the next Sync names them, the next writer's "
                         "Open keeps them)\n    ",
                         Segment(dir, 168),
                         ".tmp: from 168, 168 records "
                         "rolled into since the last Sync, ")));
  EXPECT_THAT(r.out,
              HasSubstr(absl::StrCat(Segment(dir, 336),
                                     ".tmp: from 336, 64 records "
                                     "rolled into since the last Sync, ")));

  // The next writer adopts them, its Sync names them; retention then
  // retires the two oldest segments for reuse.
  {
    auto log = AppendLog<Tick>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_EQ(log->next_seq(), 400u);
    ASSERT_TRUE(log->Sync().ok());
    ASSERT_TRUE(log->TruncateBefore(336).ok());
  }
  j = json::parse(Cli({"info", "--json", dir}).out);
  EXPECT_EQ(j["next_seq"], 400);
  EXPECT_TRUE(j["temporaries"].empty()) << j.dump();
  EXPECT_EQ(j["pending_records"], 0);
  ASSERT_EQ(j["retired"].size(), 2u) << j.dump();
  EXPECT_EQ(j["retired"][0]["path"], Segment(dir, 0) + ".free");
  r = Cli({"info", dir});
  EXPECT_THAT(r.out, Not(HasSubstr("temporaries")));
  EXPECT_THAT(r.out, HasSubstr("  retired        2 segments kept for reuse, "));
}

TEST_F(CliTest, LogInfoVerifyAndDumpSpanSegmentsAndCompression) {
  const std::string dir = MakeLog("log", 400, /*compress=*/true);
  Result r = Cli({"info", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["kind"], "log");
  EXPECT_EQ(j["type"]["name"], "example.Tick");
  EXPECT_EQ(j["first_seq"], 0);
  EXPECT_EQ(j["next_seq"], 400);
  EXPECT_EQ(j["records"]["committed"], 400);
  ASSERT_EQ(j["segments"].size(), 3u);
  EXPECT_EQ(j["segments"][0]["compressed"], true);
  EXPECT_GT(j["segments"][0]["compression_ratio"].get<double>(), 1.0);
  EXPECT_EQ(j["segments"][1]["sealed"], true);
  EXPECT_EQ(j["segments"][2]["sealed"], false);
  EXPECT_EQ(j["segments"][2]["first_sequence"], 336);
  r = Cli({"info", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith(absl::StrCat(
                         dir, ": mapfile log of \"example.Tick\" v1 (16 "
                              "bytes, align 8)\n  sequences      [0, 400): "
                              "400 committed, 400 present\n")));
  EXPECT_THAT(r.out, HasSubstr("  state          sealed, zstd "));

  r = Cli({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, absl::StrCat(dir, ": OK: log, 400 records (",
                                json::parse(Cli({"verify", "--json", dir}).out)
                                    ["bytes_checked"].get<uint64_t>(),
                                " bytes) checked\n"));

  r = Cli({"dump", "--json", "--from", "167", "--count", "2", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  ASSERT_EQ(j["records"].size(), 2u);
  EXPECT_EQ(j["records"][0]["segment"], internal::SegmentFileName(0));
  EXPECT_EQ(j["records"][1]["segment"], internal::SegmentFileName(168));
  EXPECT_EQ(j["records"][1]["sequence"], 168);
  EXPECT_EQ(j["records"][1]["offset"], FrameOffset(168, 168));
  EXPECT_EQ(j["records"][1]["hex"], "a8000000000000000000000000106540");

  // A segment path stands for that segment's records.
  r = Cli({"dump", "--json", Segment(dir, 168)});
  ASSERT_EQ(r.code, 0) << r.err;
  j = json::parse(r.out);
  EXPECT_EQ(j["from"], 168);
  EXPECT_EQ(j["to"], 336);
}

TEST_F(CliTest, VerifyFindsADamagedRecordWithItsSegmentOffsetAndSequence) {
  const std::string dir = MakeLog("log", 200);
  Patch(Segment(dir, 0), FrameOffset(5) + 3, "\x7f");
  const Result r = Cli({"verify", "--json", dir});
  EXPECT_EQ(r.code, 1) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["findings"].size(), 1u);
  EXPECT_EQ(j["findings"][0]["segment"], Segment(dir, 0));
  EXPECT_EQ(j["findings"][0]["offset"], FrameOffset(5));
  EXPECT_EQ(j["findings"][0]["sequence"], 5);
  EXPECT_THAT(j["findings"][0]["problem"].get<std::string>(),
              HasSubstr("record 5 fails its checksum"));
  EXPECT_EQ(j["records_checked"], 200);  // it went on after the damage
  const Result d = Cli({"dump", "--from", "5", dir});
  EXPECT_EQ(d.code, 1);
  EXPECT_THAT(d.err, HasSubstr("record 5"));
}

// AppendLog::Sync flushes the slot and the frames together, so recovery
// reads a bad frame of the newest commit as a torn Sync: verify warns
// (what recovery does by design) while damage to an older commit is damage.
TEST_F(CliTest, VerifyWarnsOfATornNewestCommitAndFindsDamageBeforeIt) {
  const std::string dir = dir_.File("log");
  {
    auto log = AppendLog<Tick>::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE(log->Append({i, 0.5}).ok());
      if (i == 9 || i == 14) {
        ASSERT_TRUE(log->Sync().ok());
      }
    }
  }  // commits of 10, then 15 records
  const std::string segment = Segment(dir, 0);
  Patch(segment, FrameOffset(3) + 1, "\x55");   // in the older commit
  Patch(segment, FrameOffset(12) + 1, "\x55");  // in the newest
  const Result r = Cli({"verify", "--json", dir});
  EXPECT_EQ(r.code, 1) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["findings"].size(), 1u);
  const std::string prefix = absl::StrCat("log segment \"", segment, "\": ");
  EXPECT_EQ(j["findings"][0]["problem"],
            prefix + "record 3 fails its checksum");
  ASSERT_EQ(j["warnings"].size(), 1u);
  EXPECT_EQ(j["warnings"][0]["sequence"], 12);
  EXPECT_EQ(j["warnings"][0]["problem"],
            prefix + "the newest commit (sequence 3, records [10, 15)) was "
                     "torn by a power loss: record 12 fails its checksum. Its "
                     "Sync never returned; recovery (the next writer's Open, "
                     "or `mapfile recover --yes`) keeps the records before "
                     "12, cuts the rest and makes that durable");
}

// One verdict on a torn commit: a power loss kept the newest commit's slot
// but not its frames (zeros on disk). verify warns with exit 0, recover
// shows the fallback, Open recovers exactly that and makes it durable, and
// afterwards all three see a clean log.
TEST_F(CliTest, RecoverVerifyAndOpenAgreeOnATornCommit) {
  const std::string dir = dir_.File("log");
  {
    auto log = AppendLog<Tick>::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE(log->Append({i, 0.5}).ok());
      if (i == 9 || i == 14) {
        ASSERT_TRUE(log->Sync().ok());
      }
    }
  }  // commits of 10, then 15 records
  const std::string segment = Segment(dir, 0);
  TearNewestCommit(segment);

  Result r = Cli({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(": OK, with a warning: log, 15 records"));
  EXPECT_THAT(r.out, HasSubstr("warning: segment"));
  EXPECT_THAT(r.out, HasSubstr("was torn by a power loss: record 10 fails"));

  r = Cli({"recover", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_EQ(j["torn_commit"], true);
  EXPECT_EQ(j["committed"], 10);
  EXPECT_EQ(j["kept_after_commit"], 0);
  EXPECT_EQ(j["bytes_to_cut"], 0);
  r = Cli({"recover", dir});
  EXPECT_THAT(r.out, HasSubstr("torn commit: the newest commit (15 records) "
                               "was torn by a power loss; recovery falls back "
                               "to the commit before it (10 records)"));
  EXPECT_THAT(r.out, HasSubstr("run again with --yes"));

  {  // A reader, without recovering, and the writer's Open agree with it.
    auto reader = LogReader<Tick>::Open(dir);
    ASSERT_TRUE(reader.ok()) << reader.status();
    EXPECT_EQ(reader->next_seq(), 10u);
    auto log = AppendLog<Tick>::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(log->next_seq(), 10u);
    EXPECT_EQ(log->recovery().records_cut, 0u);
  }
  // The writer's Open made it durable: the torn slot no longer wins.
  r = Cli({"verify", "--json", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  j = json::parse(r.out);
  EXPECT_TRUE(j["warnings"].empty()) << r.out;
  EXPECT_EQ(j["records_checked"], 10);
  j = json::parse(Cli({"recover", "--json", dir}).out);
  EXPECT_EQ(j["torn_commit"], false);
  EXPECT_EQ(j["committed"], 10);
  auto reader = LogReader<Tick>::Open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->next_seq(), 10u);
  // And the next records go on from there.
  auto log = AppendLog<Tick>::Open(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(log->Append({10, 1.5}).ok());
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(Cli({"verify", dir}).code, 0);
}

TEST_F(CliTest, RecoverYesMakesATornCommitDurable) {
  const std::string dir = dir_.File("log");
  {
    auto log = AppendLog<Tick>::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 15; ++i) {
      ASSERT_TRUE(log->Append({i, 0.5}).ok());
      if (i == 9 || i == 14) ASSERT_TRUE(log->Sync().ok());
    }
  }
  TearNewestCommit(Segment(dir, 0));
  const Result r = Cli({"recover", "--yes", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["written"], true);
  const Result v = Cli({"verify", "--json", dir});
  EXPECT_EQ(v.code, 0);
  EXPECT_TRUE(json::parse(v.out)["warnings"].empty()) << v.out;
}

TEST_F(CliTest, FollowPrintsRecordsAnotherProcessAppendsToALog) {
  const std::string dir = MakeLog("log", 3);
  Subprocess follow({"follow", "-n", "1", "--json", "--timeout", "20", dir});
  ASSERT_TRUE(follow.ReadUntil(absl::Now() + absl::Seconds(5), [&] {
    return follow.out().find("\"sequence\":2") != std::string::npos;
  })) << follow.err();
  const absl::Time start = absl::Now();
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = AppendLog<Tick>::Open(dir);
              if (!log.ok() || !log->Append({42, 4.5}).ok()) return 1;
              return log->Sync().ok() ? 0 : 2;
            }),
            0);
  EXPECT_TRUE(follow.ReadUntil(start + absl::Seconds(1), [&] {
    return follow.out().find("\"sequence\":3") != std::string::npos;
  })) << "follow printed nothing within a second: " << follow.out()
      << follow.err();
}

TEST_F(CliTest, RecoverShowsTheTornTailAndCutsItOnlyWithYes) {
  const std::string dir = dir_.File("log");
  {
    auto log = AppendLog<Tick>::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
    ASSERT_TRUE(log->Sync().ok());
    for (int i = 10; i < 15; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
  }  // records 10..14 are not committed
  const std::string segment = Segment(dir, 0);
  Patch(segment, FrameOffset(12) + 1, "\x55");  // a torn record 12
  const std::string before = testing::ReadFile(segment);
  Result r = Cli({"recover", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("10 committed records in the active segment"));
  EXPECT_THAT(r.out, HasSubstr("2 more with valid checksums"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrFormat(
                         "torn tail: %d bytes from offset %d would be cut",
                         3 * 24, FrameOffset(12))));
  EXPECT_EQ(testing::ReadFile(segment), before);  // shown, not done

  r = Cli({"recover", "--yes", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["written"], true);
  EXPECT_EQ(j["records_kept"], 2);
  EXPECT_EQ(j["bytes_cut"], 3 * 24);
  EXPECT_EQ(testing::ReadFile(j["copy"].get<std::string>()),
            before.substr(FrameOffset(12), 3 * 24));
  EXPECT_EQ(Cli({"verify", dir}).code, 0);
  EXPECT_THAT(Cli({"recover", dir}).out, HasSubstr("nothing to cut"));
}

// A writer killed between TruncateBefore's retirement of the last named
// segment and the naming of its successor leaves only temporaries, which
// the next writer's Open names and recovers. recover (PlanRecovery) must
// preview exactly that, and --yes do it; verify must not call the log
// missing.
TEST_F(CliTest, RecoverAndVerifyALogLeftAsOnlyTemporariesByRetention) {
  const std::string dir = dir_.File("log");
  const uint64_t per = 168;  // 8 KiB segments of Ticks
  {
    LogOptions options;
    options.segment_size = 8 << 10;
    auto log = AppendLog<Tick>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (uint64_t i = 0; i < 3 * per + 5; ++i) {
      ASSERT_TRUE(log->Append({static_cast<int64_t>(i), 0.5}).ok());
    }
    ASSERT_TRUE(log->TruncateBefore(2 * per).ok());  // no Sync
  }
  ASSERT_TRUE(std::filesystem::exists(Segment(dir, 2 * per)));
  std::filesystem::rename(Segment(dir, 2 * per), Segment(dir, 2 * per) + ".tmp");
  Result r = Cli({"recover", "--json", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = Cli({"verify", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = Cli({"recover", "--yes", "--json", dir});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  auto log = AppendLog<Tick>::Open(dir);
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(log->first_seq(), 2 * per);
  EXPECT_EQ(log->next_seq(), 3 * per + 5);
}

// CLI.md: recover --yes opens the log as its writer "and commits what
// recovery kept (Sync)", since a writer's Open no longer does. With records
// kept after the commit and nothing to cut, --yes must commit them too.
TEST_F(CliTest, RecoverYesCommitsKeptRecordsEvenWithNothingToCut) {
  const std::string dir = dir_.File("log");
  {
    auto log = AppendLog<Tick>::Open(dir);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
    ASSERT_TRUE(log->Sync().ok());
    for (int i = 10; i < 15; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
  }  // records 10..14 written (close), not committed
  Result r = Cli({"recover", "--yes", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  auto reader = LogReader<Tick>::Open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->next_seq(), 15u) << r.out;  // committed and published
}

// The modes of the files in `dir`, by name.
std::map<std::string, mode_t> Modes(const std::string& dir) {
  std::map<std::string, mode_t> modes;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    struct stat st;
    if (::stat(entry.path().c_str(), &st) == 0) {
      modes[entry.path().filename()] = st.st_mode & 07777;
    }
  }
  return modes;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : ~mode_t{0};
}

// compress, decompress and recover --yes rewrite segments and copy their
// bytes: each file keeps (each copy takes) the mode of the segment it
// replaces (copies), whatever LogOptions::permissions and the umask (which
// the tool inherits) would give a new file. docs/CLI.md, "Permissions".
TEST_F(CliTest, RewritesKeepEachSegmentsModeUnderEveryUmask) {
  for (const mode_t mask : {022, 077}) {
    for (const mode_t permissions : {0600, 0640, 0644}) {
      const std::string name =
          absl::StrFormat("log_%o_%o", permissions, mask);
      SCOPED_TRACE(name);
      struct RestoreUmask {
        mode_t old;
        ~RestoreUmask() { ::umask(old); }
      } restore{::umask(mask)};
      const std::string dir = dir_.File(name);
      LogOptions options;
      options.segment_size = 8 << 10;  // 168 records a segment
      options.permissions = permissions;
      {
        auto log = AppendLog<Tick>::Open(dir, options);
        ASSERT_TRUE(log.ok()) << log.status();
        for (int i = 0; i < 400; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
        ASSERT_TRUE(log->Sync().ok());
      }  // segments 0 and 168 sealed, 336 active
      // One segment with a mode its owner chose, which no (permissions,
      // umask) pair here creates.
      ASSERT_EQ(::chmod(Segment(dir, 168).c_str(), 0660), 0);
      const std::map<std::string, mode_t> before = Modes(dir);
      ASSERT_EQ(before.size(), 4u);  // LOCK and three segments
      EXPECT_EQ(before.at(internal::SegmentFileName(0)), permissions & ~mask);

      Result r = Cli({"compress", dir});
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_LT(testing::ReadFile(Segment(dir, 168)).size(), 8u << 10)
          << "not compressed";
      EXPECT_EQ(Modes(dir), before) << "after compress";
      r = Cli({"decompress", dir});
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(testing::ReadFile(Segment(dir, 168)).size(), 8u << 10);
      EXPECT_EQ(Modes(dir), before) << "after decompress";

      // A copy of the records takes its source's read and write bits.
      const std::string raw = dir_.File(name + ".raw");
      r = Cli({"dump", "--raw", "-o", raw, Segment(dir, 168)});
      ASSERT_EQ(r.code, 0) << r.err;
      EXPECT_EQ(ModeOf(raw), 0660 & ~mask);

      // A torn tail in the active segment, which has a chosen mode too.
      {
        auto log = AppendLog<Tick>::Open(dir, options);
        ASSERT_TRUE(log.ok()) << log.status();
        for (int i = 400; i < 405; ++i) {
          ASSERT_TRUE(log->Append({i, 0.5}).ok());
        }
      }  // records 400..404 are not committed
      const std::string active = Segment(dir, 336);
      Patch(active, FrameOffset(402, 336) + 1, "\x55");
      ASSERT_EQ(::chmod(active.c_str(), 0604), 0);
      const std::map<std::string, mode_t> torn = Modes(dir);
      r = Cli({"recover", "--yes", "--json", dir});
      ASSERT_EQ(r.code, 0) << r.err;
      const json j = json::parse(r.out);
      ASSERT_EQ(j["written"], true);
      EXPECT_EQ(Modes(dir).at(internal::SegmentFileName(336)), 0604u);
      EXPECT_EQ(ModeOf(j["copy"].get<std::string>()), 0604u)
          << "the cut bytes' copy";
      std::map<std::string, mode_t> after = Modes(dir);
      after.erase(std::filesystem::path(j["copy"].get<std::string>())
                      .filename());
      EXPECT_EQ(after, torn) << "after recover";
    }
  }
}

// compress opens the log as its writer, which starts a new segment after a
// sealed last one: that file takes the last segment's permission bits, not
// the default 0644.
TEST_F(CliTest, ASegmentTheCliStartsTakesTheLastSegmentsMode) {
  struct RestoreUmask {
    mode_t old;
    ~RestoreUmask() { ::umask(old); }
  } restore{::umask(022)};
  const std::string dir = dir_.File("log");
  LogOptions options;
  options.segment_size = 8 << 10;
  options.permissions = 0600;
  {
    auto log = AppendLog<Tick>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 200; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
    ASSERT_TRUE(log->Seal().ok());  // segments 0, 168 sealed; 200 active
  }
  ASSERT_EQ(::unlink(Segment(dir, 200).c_str()), 0);  // 168 is now the last
  ASSERT_EQ(::chmod(Segment(dir, 168).c_str(), 0640), 0);
  const Result r = Cli({"compress", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ModeOf(Segment(dir, 200)), 0640u);
  EXPECT_EQ(ModeOf(Segment(dir, 168)), 0640u);
  EXPECT_EQ(ModeOf(Segment(dir, 0)), 0600u);
}

TEST_F(CliTest, RecoverPreviewIsWhatYesCutsForATornTailAtSeveralOffsets) {
  const std::string original = dir_.File("original");
  LogOptions options;
  options.segment_size = 16 << 10;  // zero pages after the tail
  {
    auto log = AppendLog<Tick>::Open(original, options);
    ASSERT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
    ASSERT_TRUE(log->Sync().ok());
    for (int i = 10; i < 15; ++i) ASSERT_TRUE(log->Append({i, 0.5}).ok());
  }  // records 10..14 are not committed
  const std::string bytes = testing::ReadFile(Segment(original, 0));
  const uint64_t page = 4096;
  // The file cut at these offsets (inside frames, on a boundary, after the
  // last record), and one with a torn record 12 and a stray byte after a
  // zero page (recovery measures the tail up to the first zero page).
  const uint64_t kCuts[] = {FrameOffset(10) + 1, FrameOffset(11) + 17,
                            FrameOffset(12),     FrameOffset(13) + 23,
                            FrameOffset(15),     bytes.size()};
  for (size_t k = 0; k <= std::size(kCuts); ++k) {
    const std::string dir = dir_.File(absl::StrCat("log", k));
    ASSERT_TRUE(std::filesystem::create_directory(dir));
    std::string data = bytes;
    if (k < std::size(kCuts)) {
      data.resize(kCuts[k]);
    } else {
      data[FrameOffset(12) + 1] ^= 0x55;
      data[(FrameOffset(15) / page + 2) * page] = 'x';
    }
    SCOPED_TRACE(data.size());
    ASSERT_TRUE(testing::WriteFile(Segment(dir, 0), data));
    Result r = Cli({"recover", "--json", dir});
    ASSERT_EQ(r.code, 0) << r.err;
    const json plan = json::parse(r.out);
    EXPECT_EQ(testing::ReadFile(Segment(dir, 0)), data);  // shown, not done
    r = Cli({"recover", "--yes", "--json", dir});
    ASSERT_EQ(r.code, 0) << r.err;
    const json done = json::parse(r.out);
    // Written when there is something to cut or to commit (records kept
    // after the commit: a writer's Open leaves them to its first Sync).
    EXPECT_EQ(done["written"], plan["bytes_to_cut"].get<uint64_t>() > 0 ||
                                   plan["kept_after_commit"].get<uint64_t>() > 0);
    if (done["written"] == true) {
      EXPECT_EQ(done["bytes_cut"], plan["bytes_to_cut"]);
      EXPECT_EQ(done["records_cut"], plan["records_to_cut"]);
      EXPECT_EQ(done["records_kept"], plan["kept_after_commit"]);
    }
    if (plan["bytes_to_cut"].get<uint64_t>() > 0) {
      EXPECT_EQ(testing::ReadFile(done["copy"].get<std::string>()),
                data.substr(plan["cut_offset"].get<uint64_t>(),
                            plan["bytes_to_cut"].get<uint64_t>()));
    }
    // The log holds what the preview said it keeps, and nothing to cut.
    auto log = AppendLog<Tick>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    EXPECT_EQ(log->next_seq(),
              plan["committed"].get<uint64_t>() +
                  plan["kept_after_commit"].get<uint64_t>());
    EXPECT_EQ(log->recovery().bytes_cut, 0u);
  }
}

TEST_F(CliTest, DecompressRewritesCompressedSegmentsAndTheyStayReadable) {
  const std::string dir = MakeLog("log", 400, /*compress=*/true);
  ASSERT_EQ(Cli({"compress", dir}).code, 0);  // both sealed segments now
  const std::string dump =
      Cli({"dump", "--json", "--from", "160", "--count", "20", dir}).out;
  Result r = Cli({"decompress", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  json j = json::parse(r.out);
  ASSERT_EQ(j["decompressed"].size(), 2u);
  EXPECT_EQ(j["decompressed"][1]["segment"], Segment(dir, 168));
  EXPECT_EQ(j["decompressed"][0]["bytes_after"],
            FrameOffset(168));  // header page, control block, 168 frames
  EXPECT_EQ(Cli({"verify", dir}).code, 0);
  j = json::parse(Cli({"info", "--json", dir}).out);
  EXPECT_EQ(j["segments"][0]["compressed"], false);
  EXPECT_EQ(j["segments"][1]["compressed"], false);
  EXPECT_EQ(Cli({"dump", "--json", "--from", "160", "--count", "20", dir}).out,
            dump);
  r = Cli({"decompress", dir});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no sealed segment to decompress"));
  EXPECT_EQ(Cli({"decompress", MakeVector("v.vec", 1)}).code, 2);
}

TEST_F(CliTest, DecompressOfADamagedSegmentChangesNothing) {
  const std::string dir = MakeLog("log", 400, /*compress=*/true);
  const std::string segment = Segment(dir, 0);
  Patch(segment, testing::ReadFile(segment).size() - 30, "\xde\xad\xbe\xef");
  const std::string damaged = testing::ReadFile(segment);
  const Result r = Cli({"decompress", dir});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr(segment));
  EXPECT_EQ(testing::ReadFile(segment), damaged);
  EXPECT_FALSE(std::filesystem::exists(segment + ".tmp"));
}

TEST_F(CliTest, CompressRewritesSealedSegmentsAndTheyStayReadable) {
  const std::string dir = MakeLog("log", 400);
  Result r = Cli({"compress", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["compressed"].size(), 2u);
  EXPECT_LT(j["compressed"][0]["bytes_after"].get<uint64_t>(),
            j["compressed"][0]["bytes_before"].get<uint64_t>());
  EXPECT_EQ(Cli({"verify", dir}).code, 0);
  r = Cli({"dump", "--json", "--from", "5", "--count", "1", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["records"][0]["hex"],
            "05000000000000000000000000001640");
  EXPECT_EQ(Cli({"compress", MakeVector("v.vec", 1)}).code, 2);
}

// ---------------------------------------------------------------- bad input

struct BadInput {
  const char* name;
  // Makes the input and returns its path ("" to skip the case).
  std::function<std::string()> make;
  int code;             // for info, verify and dump alike
  const char* message;  // in the output (stderr, or verify's findings)
  // info reads headers only: it cannot see damage inside records.
  std::vector<const char*> commands = {"info", "verify", "dump"};
  const char* dump_message = nullptr;  // if dump says it otherwise
};


// ---------------------------------------------------------------- blob logs

// A blob log in 8 KiB segments: "record 0", "record 1", ... (text), every
// tenth record binary (bytes 0..255, which are not UTF-8 text), synced.
std::string BlobRecord(int i) {
  if (i % 10 != 9) return absl::StrCat("record ", i, " h\xc3\xa9llo");
  std::string binary(256, '\0');
  for (int b = 0; b < 256; ++b) binary[b] = static_cast<char>(b);
  return binary;
}

std::string MakeBlobLog(const testing::TempDir& dir, const std::string& name,
                        int n, bool seal = false) {
  const std::string path = dir.File(name);
  LogOptions options;
  options.segment_size = 8 << 10;
  auto log = BlobLog::Open(path, options);
  EXPECT_TRUE(log.ok()) << log.status();
  for (int i = 0; i < n; ++i) EXPECT_TRUE(log->Append(BlobRecord(i)).ok());
  EXPECT_TRUE(seal ? log->Seal().ok() : log->Sync().ok());
  return path;
}

TEST_F(CliTest, BlobLogInfoVerifyAndDumpShowTextAndEscapedBinary) {
  const std::string dir = MakeBlobLog(dir_, "blobs", 100);
  Result r = Cli({"info", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("mapfile blob log"));
  EXPECT_THAT(r.out, HasSubstr("[0, 100): 100 committed"));
  EXPECT_THAT(r.out, HasSubstr("indexed"));  // the sealed segments

  r = Cli({"verify", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("OK: blob log, 100 records"));

  r = Cli({"dump", "--from", "8", "--count", "2", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("record 8  15 bytes  record 8 h\xc3\xa9llo\n"));
  EXPECT_THAT(r.out, HasSubstr("record 9  256 bytes (escaped)  \\x00\\x01"));
  EXPECT_THAT(r.out, Not(HasSubstr("\x1b")));  // ESC never printed raw

  r = Cli({"dump", "--json", "--from", "8", "--count", "2", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["records"].size(), 2u);
  EXPECT_EQ(j["records"][0]["text"], "record 8 h\xc3\xa9llo");
  EXPECT_EQ(j["records"][1]["size"], 256);
  EXPECT_EQ(j["records"][1]["hex"].get<std::string>().substr(0, 8), "00010203");

  r = Cli({"dump", "--csv", dir});
  EXPECT_EQ(r.code, 2);
  EXPECT_THAT(r.err, HasSubstr("no fields"));

  const std::string raw = dir_.File("raw");
  r = Cli({"dump", "--raw", "-o", raw, "--from", "1", "--to", "3", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(testing::ReadFile(raw), BlobRecord(1) + BlobRecord(2));

  r = Cli({"info", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  const json info = json::parse(r.out);
  EXPECT_EQ(info["kind"], "blob log");
  EXPECT_EQ(info["next_seq"], 100);
  EXPECT_GT(info["segments"].size(), 1u);
}

TEST_F(CliTest, BlobLogVerifyFindsADamagedRecordWithItsSequence) {
  const std::string dir = MakeBlobLog(dir_, "blobs", 30);
  const std::string segment = Segment(dir, 0);
  // Record 3's payload: frames of 16-byte records are 32 bytes.
  Patch(segment, 4096 + 64 + 3 * 32 + 18, "X");
  Result r = Cli({"verify", "--json", dir});
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  const json j = json::parse(r.out);
  ASSERT_FALSE(j["findings"].empty());
  EXPECT_EQ(j["findings"][0]["sequence"], 3);
  EXPECT_THAT(j["findings"][0]["problem"].get<std::string>(),
              HasSubstr("checksum"));
  EXPECT_EQ(Cli({"dump", "--from", "3", "--count", "1", dir}).code, 1);
}

TEST_F(CliTest, BlobLogTailFollowsAnotherProcess) {
  const std::string dir = MakeBlobLog(dir_, "blobs", 5);
  Result r = Cli({"tail", "-n", "2", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("record 3 h\xc3\xa9llo"));
  EXPECT_THAT(r.out, HasSubstr("record 4 h\xc3\xa9llo"));
  EXPECT_THAT(r.out, Not(HasSubstr("record 2 ")));
  Subprocess follow({"follow", "--json", "--timeout", "20", dir});
  absl::SleepFor(absl::Milliseconds(200));
  ASSERT_EQ(testing::RunInChild([&] {
              auto log = BlobLog::Open(dir);
              if (!log.ok() || !log->Append("news").ok()) return 1;
              return log->Sync().ok() ? 0 : 2;
            }),
            0);
  EXPECT_TRUE(follow.ReadUntil(absl::Now() + absl::Seconds(5), [&] {
    return follow.out().find("\"text\":\"news\"") != std::string::npos;
  })) << follow.out() << follow.err();
}

TEST_F(CliTest, BlobLogRecoverCutsATornTailOnlyWithYes) {
  const std::string dir = dir_.File("blobs");
  {
    auto log = BlobLog::Open(dir);
    ASSERT_TRUE(log.ok());
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(log->Append(BlobRecord(i)).ok());
    ASSERT_TRUE(log->Sync().ok());
    for (int i = 10; i < 15; ++i) ASSERT_TRUE(log->Append(BlobRecord(i)).ok());
  }
  const std::string segment = Segment(dir, 0);
  // Frames: records 0..8 and 10.. are 16 bytes (32-byte frames), 9 is 256
  // (272): record 12 is at 9 * 32 + 272 + 2 * 32 from the first frame.
  const uint64_t record12 = 4096 + 64 + 9 * 32 + 272 + 2 * 32;
  Patch(segment, record12 + 20, "!");
  const std::string before = testing::ReadFile(segment);
  Result r = Cli({"recover", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("10 committed records"));
  EXPECT_THAT(r.out, HasSubstr("2 more with valid checksums"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrFormat("from offset %d would be cut",
                                               record12)));
  EXPECT_EQ(testing::ReadFile(segment), before);
  EXPECT_EQ(Cli({"verify", dir}).code, 1);  // the torn tail is a finding

  r = Cli({"recover", "--yes", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  EXPECT_EQ(j["written"], true);
  EXPECT_EQ(j["records_kept"], 2);
  EXPECT_EQ(j["bytes_cut"], 3 * 32);
  EXPECT_EQ(Cli({"verify", dir}).code, 0);
  auto reader = BlobReader::Open(dir);
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->next_seq(), 12u);
}

TEST_F(CliTest, BlobLogCompressAndDecompressKeepEveryRecordReadable) {
  const std::string dir = MakeBlobLog(dir_, "blobs", 200, /*seal=*/true);
  Result r = Cli({"compress", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_FALSE(j["compressed"].empty());
  for (const json& s : j["compressed"]) {
    EXPECT_LT(s["bytes_after"].get<uint64_t>(), s["bytes_before"].get<uint64_t>());
  }
  EXPECT_EQ(Cli({"verify", dir}).code, 0);
  r = Cli({"dump", "--raw", "-o", dir_.File("raw"), dir});
  ASSERT_EQ(r.code, 0) << r.err;
  std::string all;
  for (int i = 0; i < 200; ++i) all += BlobRecord(i);
  EXPECT_EQ(testing::ReadFile(dir_.File("raw")), all);
  ASSERT_EQ(Cli({"decompress", dir}).code, 0);
  EXPECT_EQ(Cli({"verify", dir}).code, 0);
  auto reader = BlobReader::Open(dir);
  ASSERT_TRUE(reader.ok());
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<std::string> rec = reader->Read(i);
    ASSERT_TRUE(rec.ok()) << rec.status();
    EXPECT_EQ(*rec, BlobRecord(i));
  }
}

TEST_F(CliTest, BadInputTable) {
  const testing::TempDir& d = dir_;
  auto vector = [&](const char* name) { return MakeVector(name, 3); };
  const std::vector<BadInput> cases = {
      {"missing path",
       [&]() { return d.File("nope"); }, 2,
       "No such file or directory"},
      {"0-byte file",
       [&]() {
         testing::WriteFile(d.File("empty"), "");
         return d.File("empty");
       },
       2, "is empty, not a mapfile file"},
      {"1-byte file",
       [&]() {
         testing::WriteFile(d.File("one"), "M");
         return d.File("one");
       },
       2, "is not a mapfile file"},
      {"cut inside the header",
       [&]() {
         const std::string p = vector("cut.vec");
         testing::WriteFile(p, testing::ReadFile(p).substr(0, 100));
         return p;
       },
       1, "the file is 100 bytes, shorter than the 4096-byte header"},
      {"wrong magic",
       [&]() {
         const std::string p = vector("magic.vec");
         Patch(p, 0, "m");
         return p;
       },
       2, "is not a mapfile file"},
      {"a foreign file", [&]() {
         return std::string("/bin/sh");
       },
       2, "is not a mapfile file"},
      {"unknown major version",
       [&]() {
         const std::string p = vector("v2.vec");
         Patch(p, 8, std::string("\x02\x00", 2));
         return p;
       },
       2, "has format version 2.1; this library reads version 1.x"},
      {"bad header checksum",
       [&]() {
         const std::string p = vector("sum.vec");
         Patch(p, 100, "!");
         return p;
       },
       1, "header checksum mismatch"},
      {"both commit slots corrupt",
       [&]() {
         const std::string p = vector("slots.vec");
         Patch(p, 3968 + 20, "!");
         Patch(p, 4032 + 20, "!");
         return p;
       },
       1, "both commit slots are invalid"},
      {"a count past the end of the file",
       [&]() {
         const std::string p = vector("count.vec");
         Rewrite(p, [](FileHeader&) {},
                 CommitSlot{9, uint64_t{1} << 40, uint64_t{16} << 40});
         return p;
       },
       1, "bytes after offset 4096 but the file is"},
      {"a count whose byte length overflows",
       [&]() {
         const std::string p = vector("overflow.vec");
         Rewrite(p, [](FileHeader&) {}, CommitSlot{9, uint64_t{1} << 60, 0});
         return p;
       },
       1, "records in 0 bytes"},
      {"a hostile data offset",
       [&]() {
         const std::string p = vector("offset.vec");
         Rewrite(p, [](FileHeader& h) { h.data_offset = ~uint64_t{0} - 63; });
         return p;
       },
       1, "data offset"},
      {"a hostile type size",
       [&]() {
         const std::string p = vector("size.vec");
         Rewrite(p, [](FileHeader& h) { h.type.size = uint64_t{1} << 62; },
                 CommitSlot{9, 4, 0});
         return p;
       },
       1, "is larger than 16777216 bytes"},
      {"a directory (no segments)",
       [&]() {
         ::mkdir(d.File("dir").c_str(), 0755);
         return d.File("dir");
       },
       2, "directory"},
      {"a log directory with a gap between segments",
       [&]() {
         const std::string p = MakeLog("gap", 400);
         ::unlink(Segment(p, 168).c_str());
         return p;
       },
       1, "records [168, 336) are missing before", {"info", "verify", "dump"},
       "the log expects 336"},
      {"a sealed segment whose zstd frame is damaged",
       [&]() {
         const std::string p = MakeLog("zstd", 400, /*compress=*/true);
         std::string data = testing::ReadFile(Segment(p, 0));
         Patch(Segment(p, 0), data.size() - 30, "\xde\xad\xbe\xef");
         return p;
       },
       1, "compressed log segment", {"verify", "dump", "decompress"}},
      {"/dev/zero",
       [&]() { return std::string("/dev/zero"); },
       2, "is a character device"},
      {"a FIFO",
       [&]() {
         ::mkfifo(d.File("fifo").c_str(), 0644);
         return d.File("fifo");
       },
       2, "is a FIFO"},
      {"a symlink loop",
       [&]() {
         ::symlink(d.File("b").c_str(), d.File("a").c_str());
         ::symlink(d.File("a").c_str(), d.File("b").c_str());
         return d.File("a");
       },
       2, "Too many levels of symbolic links"},
      {"no permission",
       [&]() {
         if (::geteuid() == 0) return std::string();  // root reads anything
         const std::string p = vector("secret.vec");
         ::chmod(p.c_str(), 0);
         return p;
       },
       2, "Permission denied"},
  };
  for (const BadInput& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string path = c.make();
    if (path.empty()) continue;
    for (const char* command : c.commands) {
      SCOPED_TRACE(command);
      const Result r = Cli({command, path}, absl::Seconds(5));
      EXPECT_EQ(r.code, c.code) << r.out << r.err;
      EXPECT_LT(r.elapsed, absl::Seconds(1));
      EXPECT_THAT(r.out + r.err,
                  HasSubstr(c.dump_message && command == std::string("dump")
                                ? c.dump_message
                                : c.message));
      EXPECT_THAT(r.out + r.err, HasSubstr(path));
      // One line on stderr, or none when verify reports the damage.
      EXPECT_LE(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      const Result j = Cli({command, "--json", path}, absl::Seconds(5));
      EXPECT_EQ(j.code, c.code);
      EXPECT_TRUE(json::accept(j.out)) << j.out;
    }
  }
}

// ---------------------------------------------------------------- fields

using testing::MakeSample;
using testing::Sample;

// One row of CSV (RFC 4180: quoted cells, "" for a quote).
std::vector<std::string> CsvRow(absl::string_view line) {
  std::vector<std::string> cells(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      cells.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      cells.emplace_back();
    } else {
      cells.back() += c;
    }
  }
  return cells;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  return lines;
}

// Every field of record `i` as the JSON output must give it.
void ExpectSampleJson(const json& j, uint64_t i) {
  const Sample s = MakeSample(i);
  SCOPED_TRACE(j.dump());
  EXPECT_EQ(j["seq"].get<uint64_t>(), i);
  EXPECT_EQ(j["time"].get<int64_t>(), s.time);
  EXPECT_EQ(j["price"].get<double>(), s.price);
  EXPECT_EQ(j["symbol"].get<std::string>(),
            std::string(s.symbol, strnlen(s.symbol, 8)));
  EXPECT_EQ(j["sizes"], json::array({s.sizes[0], s.sizes[1]}));
  EXPECT_EQ(j["ratio"].get<float>(), s.ratio);
  EXPECT_EQ(j["delta"].get<int32_t>(), s.delta);
  EXPECT_EQ(j["small"].get<int16_t>(), s.small);
  EXPECT_EQ(j["port"].get<uint16_t>(), s.port);
  EXPECT_EQ(j["tiny"].get<int8_t>(), s.tiny);
  EXPECT_EQ(j["flags"].get<uint8_t>(), s.flags);
  EXPECT_EQ(j["active"].get<bool>(), s.active);
  EXPECT_EQ(j["side"].get<int>(), static_cast<int>(s.side));
  EXPECT_EQ(j["id"].get<uint64_t>(), s.id);
  EXPECT_EQ(j["raw"].get<std::string>(),
            absl::StrFormat("%02x%02x%02x%02x", s.raw[0], s.raw[1], s.raw[2],
                            s.raw[3]));
  EXPECT_FALSE(j.contains("unlisted"));
}

class CliFieldsTest : public CliTest {
 protected:
  std::string MakeSamples(const std::string& name, int n) {
    const std::string path = dir_.File(name);
    auto v = MappedVector<Sample>::Open(path);
    EXPECT_TRUE(v.ok()) << v.status();
    for (int i = 0; i < n; ++i) EXPECT_TRUE(v->push_back(MakeSample(i)).ok());
    EXPECT_TRUE(v->Sync().ok());
    return path;
  }
  std::string MakeSampleLog(const std::string& name, int n) {
    const std::string dir = dir_.File(name);
    LogOptions options;
    options.segment_size = 8 << 10;
    options.compress_sealed = true;
    auto log = AppendLog<Sample>::Open(dir, options);
    EXPECT_TRUE(log.ok()) << log.status();
    for (int i = 0; i < n; ++i) EXPECT_TRUE(log->Append(MakeSample(i)).ok());
    EXPECT_TRUE(log->Sync().ok());
    return dir;
  }
};

TEST_F(CliFieldsTest, SchemaListsNameTypeOffsetAndSizeAndTheGaps) {
  const std::string path = MakeSamples("s.vec", 1);
  Result r = Cli({"schema", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, absl::StrCat(
      path, ": vector of \"test.Sample\" v1 (64 bytes, align 8), 14 fields\n"
      "  name    type          offset    size\n"
      "  time    int64              0       8\n"
      "  price   float64            8       8\n"
      "  symbol  char[8]           16       8\n"
      "  sizes   uint32[2]         24       8\n"
      "  ratio   float32           32       4\n"
      "  delta   int32             36       4\n"
      "  small   int16             40       2\n"
      "  port    uint16            42       2\n"
      "  tiny    int8              44       1\n"
      "  flags   uint8             45       1\n"
      "  active  bool              46       1\n"
      "  side    uint8 (enum)      47       1\n"
      "  id      uint64            48       8\n"
      "  raw     bytes[4]          56       4\n"
      "  (gap)                     60       4\n"));
  r = Cli({"schema", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  const json j = json::parse(r.out);
  ASSERT_EQ(j["fields"].size(), 14u);
  EXPECT_EQ(j["fields"][3], json({{"name", "sizes"}, {"type", "uint32[2]"},
                                  {"offset", 24}, {"size", 8}, {"count", 2},
                                  {"array", true}, {"enum", false}}));
  EXPECT_EQ(j["type"]["fields"], 14);
  // A file without a schema says so, and is not an error.
  r = Cli({"schema", MakeVector("ticks.vec", 1)});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("no field schema"));
  // A log directory and one of its segments.
  const std::string dir = MakeSampleLog("s.log", 300);
  for (const std::string& p : {dir, Segment(dir, 0)}) {
    r = Cli({"schema", p});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_THAT(r.out, HasSubstr("log of \"test.Sample\" v1 (64 bytes, align 8), 14 fields"));
  }
}

TEST_F(CliFieldsTest, DumpShowsNamedColumns) {
  const std::string path = MakeSamples("s.vec", 4);
  const Result r = Cli({"dump", "--from", "1", "--count", "2", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(
      r.out,
      absl::StrCat(
          path,
          ": vector of \"test.Sample\" v1 (64 bytes, align 8), records [1, 3) "
          "of [0, 4)\n"
          "seq        time   price  symbol  sizes[0]  sizes[1]  ratio  delta  "
          "small  port  tiny  flags  active  side                    id  raw\n"
          "  1  1700000001  100.25  MSFT           1         2   0.25     -1  "
          "   -1     1    -1      1    true     2  18446744073709551614  "
          "01020304\n"
          "  2  1700000002   100.5  A,B\"C          2         4    0.5     -2  "
          "   -2     2    -2      2   false     1  18446744073709551613  "
          "02030405\n"));
}

TEST_F(CliFieldsTest, DumpJsonIsOneTypedObjectPerRecord) {
  const std::string path = MakeSamples("s.vec", 8);
  const Result r = Cli({"dump", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 8u) << r.out;
  for (uint64_t i = 0; i < 8; ++i) ExpectSampleJson(json::parse(lines[i]), i);
  EXPECT_THAT(lines[0], StartsWith("{\"seq\": 0, \"time\": 1700000000, "
                                   "\"price\": 100.0, \"symbol\": \"AAPL\""));
}

TEST_F(CliFieldsTest, DumpCsvHasAHeaderRowAndQuotesCells) {
  const std::string path = MakeSamples("s.vec", 8);
  const Result r = Cli({"dump", "--csv", path});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 9u) << r.out;
  EXPECT_EQ(lines[0],
            "seq,time,price,symbol,sizes[0],sizes[1],ratio,delta,small,port,"
            "tiny,flags,active,side,id,raw");
  EXPECT_EQ(lines[3],
            "2,1700000002,100.5,\"A,B\"\"C\",2,4,0.5,-2,-2,2,-2,2,false,1,"
            "18446744073709551613,02030405");
  for (uint64_t i = 0; i < 8; ++i) {
    const Sample s = MakeSample(i);
    const std::vector<std::string> cells = CsvRow(lines[i + 1]);
    ASSERT_EQ(cells.size(), 16u) << lines[i + 1];
    EXPECT_EQ(cells[0], absl::StrCat(i));
    EXPECT_EQ(std::stod(cells[2]), s.price);
    EXPECT_EQ(cells[3], std::string(s.symbol, strnlen(s.symbol, 8)));
    EXPECT_EQ(cells[14], absl::StrCat(s.id));
  }
}

TEST_F(CliFieldsTest, HexForcesTheHexFormAndFilesWithoutSchemaStayHex) {
  const std::string path = MakeSamples("s.vec", 2);
  Result r = Cli({"dump", "--hex", "--count", "1", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("record 0  offset 4096  64 bytes\n  00001000  00 f1 53 65"));
  r = Cli({"dump", "--hex", "--json", path});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["records"].size(), 2u);
  // No schema: hex, and --csv gives the bytes as one hex column.
  const std::string ticks = MakeVector("ticks.vec", 2);
  r = Cli({"dump", "--count", "1", ticks});
  EXPECT_THAT(r.out, HasSubstr("record 0  offset 4096  16 bytes"));
  r = Cli({"dump", "--csv", ticks});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "seq,bytes\n"
            "0,0000000000000000000000000000e03f\n"
            "1,0100000000000000000000000000f83f\n");
  r = Cli({"dump", "--csv", "--json", ticks});
  EXPECT_EQ(r.code, 2);
  r = Cli({"dump", "--csv", "--hex", ticks});
  EXPECT_EQ(r.code, 2);
}

TEST_F(CliFieldsTest, TextFieldsAreEscapedInEveryFormat) {
  const std::string path = dir_.File("evil.vec");
  {
    auto v = MappedVector<Sample>::Open(path);
    ASSERT_TRUE(v.ok()) << v.status();
    Sample s = MakeSample(0);
    std::memcpy(s.symbol, "\x1b[2J\n\\\xff", 8);  // 7 bytes and a NUL
    ASSERT_TRUE(v->push_back(s).ok());
    ASSERT_TRUE(v->Sync().ok());
  }
  for (const char* format : {"--csv", "--json", "--count=1"}) {
    SCOPED_TRACE(format);
    const Result r = Cli({"dump", format, path});
    ASSERT_EQ(r.code, 0) << r.err;
    for (char c : r.out) {
      EXPECT_TRUE(c == '\n' || (c >= 0x20 && c < 0x7f)) << int(c);
    }
    if (format != std::string("--json")) {
      EXPECT_THAT(r.out, HasSubstr("\\x1b[2J\\x0a\\\\\\xff"));
    }
  }
  const json j = json::parse(Cli({"dump", "--json", path}).out);
  EXPECT_EQ(j["symbol"], "\\x1b[2J\\x0a\\\\\\xff");
}

TEST_F(CliFieldsTest, TailAndFollowUseTheSameFormats) {
  const std::string dir = MakeSampleLog("s.log", 400);  // compressed segments
  Result r = Cli({"tail", "-n", "3", "--json", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (uint64_t i = 0; i < 3; ++i) ExpectSampleJson(json::parse(lines[i]), 397 + i);
  r = Cli({"tail", "-n", "2", "--csv", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("seq,time,price,"));
  EXPECT_THAT(lines[2], StartsWith("399,1700000399,199.75,LONGNAME,"));
  r = Cli({"tail", "-n", "1", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_THAT(lines[0], StartsWith("seq        time   price  symbol"));
  EXPECT_THAT(lines[1], StartsWith("399  1700000399  199.75  LONGNAME"));
  // Records from a compressed segment, through dump.
  r = Cli({"dump", "--json", "--from", "5", "--count", "1", dir});
  ASSERT_EQ(r.code, 0) << r.err;
  ExpectSampleJson(json::parse(r.out), 5);

  // -n 1: its record shows that follow has the log open before the append.
  Subprocess follow({"follow", "-n", "1", "--csv", "--timeout", "20", dir});
  ASSERT_TRUE(follow.ReadUntil(absl::Now() + absl::Seconds(10), [&] {
    return follow.out().find("\n399,") != std::string::npos;
  })) << follow.out();
  {
    LogOptions options;
    options.mode = OpenMode::kReadWrite;
    options.segment_size = 8 << 10;
    auto log = AppendLog<Sample>::Open(dir, options);
    ASSERT_TRUE(log.ok()) << log.status();
    ASSERT_TRUE(log->Append(MakeSample(400)).ok());
    ASSERT_TRUE(log->Sync().ok());
  }
  ASSERT_TRUE(follow.ReadUntil(absl::Now() + absl::Seconds(10), [&] {
    return follow.out().find("\n400,") != std::string::npos;
  })) << follow.out();
  EXPECT_THAT(follow.out(), StartsWith("seq,time,price,"));
}

// ---------------------------------------------------------------- in-process

TEST_F(CliTest, AFileThatShrinksWhileItIsReadIsDataLossNotSigbus) {
  const std::string path = MakeVector("ticks.vec", 1000);
  auto f = cli::FileReader::Open(path);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_EQ(::truncate(path.c_str(), 4096 + 160), 0);
  std::vector<std::byte> buffer(16000);
  const absl::Status s = f->Read(4096, buffer.data(), buffer.size());
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("shrank"));
}

}  // namespace
}  // namespace mapfile
