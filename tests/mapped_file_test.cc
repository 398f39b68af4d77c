// Copyright 2026 The mapfile Authors.
//
// Tests of MappedFile: stable addresses across growth and past the
// reservation, the growth policy, a full disk (real tiny tmpfs and injected
// ENOSPC) without SIGBUS, sticky sync errors, the one-writer lock across
// processes, readers following a writer, and bad input.

#include "mapfile/mapped_file.h"

#include <errno.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "mapfile/internal/os.h"
#include "tests/testing.h"

namespace mapfile {
namespace {

using ::testing::HasSubstr;
using Code = absl::StatusCode;

const uint64_t kPage = os::PageSize();

MappedFile::Options Opts(OpenMode mode) {
  MappedFile::Options options;
  options.mode = mode;
  return options;
}

// Growth by exactly `pages` pages at a time.
MappedFile::Options Linear(OpenMode mode, uint64_t pages = 1) {
  MappedFile::Options options = Opts(mode);
  options.growth.min_step = pages * kPage;
  options.growth.factor = 1;
  return options;
}

uint64_t FileSize(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size)
                                      : ~0ull;
}

// The child's exit code, or 128 + signal, as RunInChild reports it.
int Wait(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A byte that says which page it was written to.
std::byte Mark(uint64_t page) { return std::byte(page % 251 + 1); }

class MappedFileTest : public ::testing::Test {
 protected:
  std::string File(const std::string& name = "f") { return dir_.File(name); }

  os::fault::ScopedReset reset_;
  testing::TempDir dir_;
};

// ---------------------------------------------------------------- bad input

TEST_F(MappedFileTest, EmptyFileOpensWithSizeZeroAndAValidBase) {
  ASSERT_TRUE(testing::WriteFile(File(), ""));
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite}) {
    absl::StatusOr<MappedFile> file = MappedFile::Open(File(), Opts(mode));
    ASSERT_TRUE(file.ok()) << file.status();
    EXPECT_EQ(file->size(), 0u);
    EXPECT_NE(file->data(), nullptr);
    EXPECT_GE(file->capacity(), kPage);
    EXPECT_EQ(*file->Residency(), 1.0);
    EXPECT_TRUE(file->Sync().ok());
    EXPECT_TRUE(file->Refresh().ok());
    EXPECT_EQ(file->size(), 0u);
  }
}

TEST_F(MappedFileTest, MissingFileIsNotFoundAndCreateNewOfAnExistingOneFails) {
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite}) {
    absl::Status status =
        MappedFile::Open(File("missing"), Opts(mode)).status();
    EXPECT_EQ(status.code(), Code::kNotFound) << status;
    EXPECT_THAT(status.message(), HasSubstr(File("missing")));
  }
  ASSERT_TRUE(MappedFile::Open(File(), Opts(OpenMode::kCreateNew)).ok());
  absl::Status status =
      MappedFile::Open(File(), Opts(OpenMode::kCreateNew)).status();
  EXPECT_EQ(status.code(), Code::kAlreadyExists) << status;
  EXPECT_TRUE(MappedFile::Open(File(), Opts(OpenMode::kCreate)).ok());
}

TEST_F(MappedFileTest, DirectoryDeviceAndProcFileAreInvalidArgument) {
  for (const std::string& path : {dir_.path(), std::string("/dev/zero"),
                                  std::string("/proc/self/status")}) {
    absl::Status status =
        MappedFile::Open(path, Opts(OpenMode::kReadOnly)).status();
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(path));
  }
  absl::Status status =
      MappedFile::Open(dir_.path(), Opts(OpenMode::kReadWrite)).status();
  EXPECT_EQ(status.code(), Code::kInvalidArgument) << status;
}

TEST_F(MappedFileTest, FifoIsInvalidArgumentWithoutBlocking) {
  ASSERT_EQ(mkfifo(File("fifo").c_str(), 0644), 0);
  const auto start = std::chrono::steady_clock::now();
  for (OpenMode mode : {OpenMode::kReadOnly, OpenMode::kReadWrite}) {
    absl::Status status = MappedFile::Open(File("fifo"), Opts(mode)).status();
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("FIFO"));
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(MappedFileTest, UnreadableFileIsPermissionDenied) {
  ASSERT_TRUE(testing::WriteFile(File(), "secret"));
  ASSERT_EQ(chmod(File().c_str(), 0600), 0);
  ASSERT_EQ(chmod(dir_.path().c_str(), 0755), 0);
  // Root bypasses permission bits: check as "nobody" in a child instead.
  const int code = testing::RunInChild([&] {
    if (geteuid() == 0) {
      if (setuid(65534) != 0) return 77;
    } else if (chmod(File().c_str(), 0) != 0) {
      return 2;
    }
    absl::Status status =
        MappedFile::Open(File(), Opts(OpenMode::kReadOnly)).status();
    return status.code() == Code::kPermissionDenied ? 0 : 1;
  });
  if (code == 77) GTEST_SKIP() << "running as root and cannot setuid(nobody)";
  EXPECT_EQ(code, 0);
}

TEST_F(MappedFileTest, OversizedRequestsAreInvalidArgument) {
  MappedFile::Options options = Opts(OpenMode::kCreate);
  options.initial_size = MappedFile::kMaxSize + 1;
  EXPECT_EQ(MappedFile::Open(File(), options).status().code(),
            Code::kInvalidArgument);
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Opts(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Grow(100).ok());
  EXPECT_EQ(file->Grow(MappedFile::kMaxSize + 1).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(file->Truncate(~uint64_t{0}).code(), Code::kInvalidArgument);
  EXPECT_EQ(file->Sync(1, ~uint64_t{0}).code(), Code::kInvalidArgument);
  EXPECT_EQ(file->Sync(file->size() + 1, 0).code(), Code::kInvalidArgument);
  EXPECT_EQ(file->Advise(static_cast<Access>(99)).code(),
            Code::kInvalidArgument);
  EXPECT_TRUE(file->Sync().ok());  // the failures above are not sync failures
}

// ---------------------------------------------------------------- growth

TEST(GrowthPolicyTest, IsGeometricThenLinearAndPageAligned) {
  GrowthPolicy policy;  // 64 KiB min step, x2, 1 GiB cap
  const uint64_t kKiB = 1024, kGiB = uint64_t{1} << 30;
  EXPECT_EQ(policy.NextSize(0, 1), 64 * kKiB);
  EXPECT_EQ(policy.NextSize(64 * kKiB, 64 * kKiB + 1), 128 * kKiB);
  EXPECT_EQ(policy.NextSize(kGiB / 2, kGiB / 2 + 1), kGiB);
  EXPECT_EQ(policy.NextSize(3 * kGiB, 3 * kGiB + 1), 4 * kGiB);  // linear
  EXPECT_EQ(policy.NextSize(kPage, 10 * kGiB + 1), 10 * kGiB + kPage);
  EXPECT_EQ(policy.NextSize(100, 101) % kPage, 0u);
  policy.factor = 1;
  EXPECT_EQ(policy.NextSize(kGiB, kGiB + 1), kGiB + 64 * kKiB);
  EXPECT_EQ(policy.NextSize(MappedFile::kMaxSize - 1, MappedFile::kMaxSize),
            MappedFile::kMaxSize);
}

TEST_F(MappedFileTest, PointersStayValidAcross1000GrowthSteps) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Linear(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  std::byte* const base = file->data();
  std::vector<std::byte*> pointers;
  for (uint64_t page = 0; page < 1000; ++page) {
    ASSERT_TRUE(file->Grow((page + 1) * kPage).ok()) << page;
    ASSERT_EQ(file->size(), (page + 1) * kPage);
    pointers.push_back(file->data() + page * kPage + page % kPage);
    *pointers.back() = Mark(page);
  }
  EXPECT_EQ(file->data(), base);
  EXPECT_EQ(file->remap_count(), 0u);
  for (uint64_t page = 0; page < pointers.size(); ++page) {
    ASSERT_EQ(*pointers[page], Mark(page)) << page;
  }
  ASSERT_TRUE(file->Sync().ok());
}

TEST_F(MappedFileTest, GrowthPastATinyReservationRemapsAndKeepsContent) {
  MappedFile::Options options = Linear(OpenMode::kCreate, 3);
  options.reserve = kPage;
  absl::StatusOr<MappedFile> file = MappedFile::Open(File(), options);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->capacity(), kPage);
  for (uint64_t page = 0; page < 100; ++page) {
    ASSERT_TRUE(file->Grow((page + 1) * kPage).ok()) << page;
    file->data()[page * kPage] = Mark(page);
    ASSERT_LE(file->size(), file->capacity());
  }
  EXPECT_GT(file->remap_count(), 0u);
  for (uint64_t page = 0; page < 100; ++page) {
    ASSERT_EQ(file->data()[page * kPage], Mark(page)) << page;
  }
}

TEST_F(MappedFileTest, PolicySlackDoesNotMoveAMappingTheRequestFitsIn) {
  MappedFile::Options options = Opts(OpenMode::kCreate);
  options.reserve = 256 << 10;
  options.growth.min_step = 1 << 20;  // would overshoot the reservation
  absl::StatusOr<MappedFile> file = MappedFile::Open(File(), options);
  ASSERT_TRUE(file.ok()) << file.status();
  std::byte* const base = file->data();
  ASSERT_TRUE(file->Grow(200 << 10).ok());
  EXPECT_EQ(file->size(), uint64_t{256} << 10);
  EXPECT_EQ(file->data(), base);
  EXPECT_EQ(file->remap_count(), 0u);
}

TEST_F(MappedFileTest, InitialSizeIsPreallocatedOnOpen) {
  MappedFile::Options options = Opts(OpenMode::kCreate);
  options.initial_size = 10000;
  absl::StatusOr<MappedFile> file = MappedFile::Open(File(), options);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(file->size(), 10000u);
  struct stat st;
  ASSERT_EQ(stat(File().c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 10000);
  EXPECT_GE(uint64_t(st.st_blocks) * 512, 10000u);  // blocks, not a hole
}

TEST_F(MappedFileTest, ReservationFallsBackUnderASmallAddressSpaceLimit) {
  if (testing::kAddressSanitizer || testing::kThreadSanitizer) {
    GTEST_SKIP() << "sanitizers reserve terabytes of shadow memory";
  }
  const int code = testing::RunInChild([&] {
    uint64_t vm_pages = 0;
    std::ifstream("/proc/self/statm") >> vm_pages;
    const rlim_t limit = vm_pages * kPage + (rlim_t{512} << 20);
    struct rlimit rl = {limit, limit};
    if (vm_pages == 0 || setrlimit(RLIMIT_AS, &rl) != 0) return 2;
    absl::StatusOr<MappedFile> file =
        MappedFile::Open(File(), Opts(OpenMode::kCreate));
    if (!file.ok()) return 3;
    if (file->capacity() >= (uint64_t{64} << 30) || file->capacity() < kPage)
      return 4;
    if (!file->Grow(1 << 20).ok()) return 5;
    file->data()[(1 << 20) - 1] = std::byte{1};
    return 0;
  });
  EXPECT_EQ(code, 0);
}

TEST_F(MappedFileTest, TruncateShrinksAndRegrowsWithZeros) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Linear(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Grow(4 * kPage).ok());
  std::memset(file->data(), 0x5a, 4 * kPage);
  ASSERT_TRUE(file->Truncate(kPage + 10).ok());
  EXPECT_EQ(file->size(), kPage + 10);
  EXPECT_EQ(FileSize(File()), kPage + 10);
  ASSERT_TRUE(file->Truncate(4 * kPage).ok());
  EXPECT_EQ(file->data()[kPage + 9], std::byte{0x5a});
  EXPECT_EQ(file->data()[kPage + 10], std::byte{0});  // cut bytes stay cut
  EXPECT_EQ(file->data()[3 * kPage], std::byte{0});
  ASSERT_TRUE(file->Truncate(0).ok());
  EXPECT_EQ(FileSize(File()), 0u);
}

TEST_F(MappedFileTest, PopulateMakesEveryPageResident) {
  MappedFile::Options options = Opts(OpenMode::kCreate);
  options.populate = true;
  options.huge_pages = true;  // a hint; must not break anything
  options.initial_size = 64 * kPage;
  absl::StatusOr<MappedFile> file = MappedFile::Open(File(), options);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_EQ(*file->Residency(), 1.0);
  EXPECT_TRUE(file->Advise(Access::kRandom).ok());
  ASSERT_TRUE(file->Grow(128 * kPage).ok());
  EXPECT_TRUE(file->Advise(Access::kWillNeed).ok());
  absl::StatusOr<double> residency = file->Residency();
  ASSERT_TRUE(residency.ok()) << residency.status();
  EXPECT_GT(*residency, 0.0);
  EXPECT_LE(*residency, 1.0);
}

// ---------------------------------------------------------------- disk full

TEST_F(MappedFileTest, InjectedEnospcFromFallocateLeavesFileUnchanged) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Linear(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Grow(kPage).ok());
  file->data()[0] = std::byte{42};
  os::fault::Inject({os::Op::kFallocate, ENOSPC});
  absl::Status status = file->Grow(8 * kPage);
  EXPECT_EQ(status.code(), Code::kResourceExhausted) << status;
  EXPECT_THAT(status.message(), HasSubstr(File()));
  EXPECT_THAT(status.message(), HasSubstr("fallocate"));
  EXPECT_EQ(file->size(), kPage);
  EXPECT_EQ(FileSize(File()), kPage);
  EXPECT_EQ(file->data()[0], std::byte{42});
  ASSERT_TRUE(file->Grow(8 * kPage).ok());  // the rule fired once
  file->data()[8 * kPage - 1] = std::byte{1};
  EXPECT_EQ(file->data()[0], std::byte{42});
}

TEST_F(MappedFileTest, FileSystemWithoutFallocateGetsZerosWritten) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Linear(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  os::fault::Inject({os::Op::kFallocate, EOPNOTSUPP, 1, os::fault::kForever});
  ASSERT_TRUE(file->Grow(20 * kPage).ok());
  EXPECT_GT(os::fault::Calls(os::Op::kPwrite), 0u);
  EXPECT_EQ(FileSize(File()), 20 * kPage);
  // A full disk during the zero writes is still ResourceExhausted.
  os::fault::Inject({os::Op::kPwrite, ENOSPC, 2});
  absl::Status status = file->Grow(40 * kPage);
  EXPECT_EQ(status.code(), Code::kResourceExhausted) << status;
  EXPECT_EQ(file->size(), 20 * kPage);
  EXPECT_EQ(FileSize(File()), 20 * kPage);
}

// tmpfs of 1 MiB: a 64 KiB file, a 768 KiB filler; growing the file past the
// space left fails cleanly, and works once the filler is cut.
TEST_F(MappedFileTest, FullDiskIsResourceExhaustedWithoutSigbusAndRecovers) {
  absl::StatusOr<int> code =
      testing::RunWithTinyTmpfs(1 << 20, [](const std::string& dir) {
        const std::string path = dir + "/f";
        MappedFile::Options options = Opts(OpenMode::kCreate);
        options.initial_size = 64 << 10;
        absl::StatusOr<MappedFile> file = MappedFile::Open(path, options);
        options.initial_size = 768 << 10;
        absl::StatusOr<MappedFile> filler =
            MappedFile::Open(dir + "/filler", options);
        if (!file.ok() || !filler.ok()) return 2;
        std::memset(file->data(), 0x17, 64 << 10);
        if (!file->Sync().ok()) return 3;
        absl::Status status = file->Grow(512 << 10);
        if (status.code() != Code::kResourceExhausted) return 4;
        if (file->size() != 64 << 10 || FileSize(path) != 64 << 10) return 5;
        if (!filler->Truncate(0).ok()) return 6;
        if (!file->Grow(512 << 10).ok()) return 7;
        std::memset(file->data() + (64 << 10), 0x18, file->size() - (64 << 10));
        if (!file->Sync().ok()) return 8;
        file = absl::UnknownError("closed");  // unlocks
        file = MappedFile::Open(path, Opts(OpenMode::kReadOnly));
        if (!file.ok() || file->size() != 512 << 10) return 9;
        for (uint64_t i = 0; i < file->size(); ++i) {
          if (file->data()[i] != std::byte(i < (64 << 10) ? 0x17 : 0x18))
            return 10;
        }
        return 0;
      });
  if (code.status().code() == Code::kUnavailable) GTEST_SKIP() << code.status();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
}

// Why `preallocate` exists: a sparse file faults when the disk is full.
TEST_F(MappedFileTest, WithoutPreallocateAFullDiskIsSigbus) {
  absl::StatusOr<int> code =
      testing::RunWithTinyTmpfs(1 << 20, [](const std::string& dir) {
        MappedFile::Options options = Opts(OpenMode::kCreate);
        options.preallocate = false;
        absl::StatusOr<MappedFile> file = MappedFile::Open(dir + "/f", options);
        if (!file.ok() || !file->Grow(4 << 20).ok()) return 2;
        signal(SIGBUS, SIG_DFL);  // sanitizers catch it otherwise
        std::memset(file->data(), 1, file->size());
        return 0;
      });
  if (code.status().code() == Code::kUnavailable) GTEST_SKIP() << code.status();
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 128 + SIGBUS);
}

// ---------------------------------------------------------------- durability

TEST_F(MappedFileTest, SyncFdatasyncsOnlyWhenTheSizeChanged) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Opts(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  os::fault::Inject({os::Op::kFdatasync, 0});  // counts calls, never fails
  ASSERT_TRUE(file->Grow(kPage).ok());
  file->data()[0] = std::byte{1};
  ASSERT_TRUE(file->Sync().ok());
  EXPECT_EQ(os::fault::Calls(os::Op::kFdatasync), 1u);
  file->data()[1] = std::byte{1};
  ASSERT_TRUE(file->Sync(1, 1).ok());
  ASSERT_TRUE(file->Sync(0, 1, SyncMode::kAsync).ok());
  EXPECT_EQ(os::fault::Calls(os::Op::kFdatasync), 1u);
  EXPECT_GE(os::fault::Calls(os::Op::kMsync), 3u);
}

TEST_F(MappedFileTest, MsyncEioIsStickyForEveryLaterSync) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Opts(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Grow(kPage).ok());
  ASSERT_TRUE(file->Sync().ok());
  os::fault::Inject(
      {os::Op::kMsync, EIO});  // fails once, then the kernel is fine
  absl::Status first = file->Sync(0, 1);
  EXPECT_EQ(first.code(), Code::kDataLoss) << first;
  EXPECT_THAT(first.message(), HasSubstr(File()));
  EXPECT_THAT(first.message(), HasSubstr("msync"));
  for (SyncMode mode : {SyncMode::kSync, SyncMode::kAsync}) {
    EXPECT_EQ(file->Sync(0, 1, mode), first);
  }
  EXPECT_EQ(file->Sync(), first);
}

TEST_F(MappedFileTest, FdatasyncEioIsSticky) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Opts(OpenMode::kCreate));
  ASSERT_TRUE(file.ok()) << file.status();
  ASSERT_TRUE(file->Grow(kPage).ok());
  os::fault::Inject({os::Op::kFdatasync, EIO});
  absl::Status first = file->Sync();
  EXPECT_EQ(first.code(), Code::kDataLoss) << first;
  EXPECT_THAT(first.message(), HasSubstr("fdatasync"));
  EXPECT_EQ(file->Sync(), first);
  EXPECT_EQ(os::fault::Calls(os::Op::kFdatasync), 1u);  // not retried
}

// ---------------------------------------------------------------- locking

TEST_F(MappedFileTest, SecondWriterIsUnavailableUntilTheFirstIsKilled) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    absl::StatusOr<MappedFile> writer =
        MappedFile::Open(File(), Opts(OpenMode::kCreate));
    const char ok = writer.ok() ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    pause();  // holding the lock until SIGKILL
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  close(ready[1]);
  ASSERT_EQ(ok, 'y');
  for (OpenMode mode : {OpenMode::kReadWrite, OpenMode::kReadOnly}) {
    absl::Status status = MappedFile::Open(File(), Opts(mode)).status();
    EXPECT_EQ(status.code(), Code::kUnavailable) << status;
    EXPECT_THAT(status.message(), HasSubstr(File()));
  }
  MappedFile::Options follower = Opts(OpenMode::kReadOnly);
  follower.lock = false;
  EXPECT_TRUE(MappedFile::Open(File(), follower).ok());
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  EXPECT_EQ(Wait(pid), 128 + SIGKILL);
  absl::StatusOr<MappedFile> writer =
      MappedFile::Open(File(), Opts(OpenMode::kReadWrite));
  EXPECT_TRUE(writer.ok()) << writer.status();
}

TEST_F(MappedFileTest, ReadersShareTheLockAndExcludeWriters) {
  ASSERT_TRUE(testing::WriteFile(File(), "abc"));
  absl::StatusOr<MappedFile> a =
      MappedFile::Open(File(), Opts(OpenMode::kReadOnly));
  absl::StatusOr<MappedFile> b =
      MappedFile::Open(File(), Opts(OpenMode::kReadOnly));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(
      MappedFile::Open(File(), Opts(OpenMode::kReadWrite)).status().code(),
      Code::kUnavailable);
  EXPECT_EQ(std::memcmp(a->data(), "abc", 3), 0);
  EXPECT_EQ(a->Grow(kPage).code(), Code::kFailedPrecondition);
  EXPECT_EQ(a->Truncate(0).code(), Code::kFailedPrecondition);
}

TEST_F(MappedFileTest, WritingThroughAReadOnlyMappingFaults) {
  ASSERT_TRUE(testing::WriteFile(File(), "abc"));
  const int code = testing::RunInChild([&] {
    absl::StatusOr<MappedFile> file =
        MappedFile::Open(File(), Opts(OpenMode::kReadOnly));
    if (!file.ok()) return 2;
    signal(SIGSEGV, SIG_DFL);  // sanitizers catch it otherwise
    *static_cast<volatile std::byte*>(file->data()) = std::byte{1};
    return 0;
  });
  EXPECT_EQ(code, 128 + SIGSEGV);
  EXPECT_EQ(testing::ReadFile(File()), "abc");
}

// ---------------------------------------------------------------- readers

TEST_F(MappedFileTest, ReaderInAnotherProcessFollowsGrowthAtTheSameBase) {
  absl::StatusOr<MappedFile> writer =
      MappedFile::Open(File(), Linear(OpenMode::kCreate));
  ASSERT_TRUE(writer.ok()) << writer.status();
  int sizes[2];
  ASSERT_EQ(pipe(sizes), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    close(sizes[1]);
    MappedFile::Options options = Opts(OpenMode::kReadOnly);
    options.lock = false;
    absl::StatusOr<MappedFile> reader = MappedFile::Open(File(), options);
    if (!reader.ok()) _exit(2);
    const std::byte* const base = reader->data();
    uint64_t size = 0;
    while (read(sizes[0], &size, sizeof(size)) == sizeof(size) && size != 0) {
      if (!reader->Refresh().ok()) _exit(3);
      if (reader->data() != base || reader->size() < size) _exit(4);
      const uint64_t page = size / kPage - 1;
      if (reader->data()[page * kPage] != Mark(page)) _exit(5);
    }
    _exit(size == 0 ? 0 : 6);
  }
  close(sizes[0]);
  for (uint64_t page = 0; page < 300; ++page) {
    ASSERT_TRUE(writer->Grow((page + 1) * kPage).ok());
    writer->data()[page * kPage] = Mark(page);
    const uint64_t size = writer->size();
    ASSERT_EQ(write(sizes[1], &size, sizeof(size)), ssize_t(sizeof(size)));
  }
  const uint64_t done = 0;
  ASSERT_EQ(write(sizes[1], &done, sizeof(done)), ssize_t(sizeof(done)));
  close(sizes[1]);
  EXPECT_EQ(Wait(pid), 0);
}

// The in-process version, for TSan: one thread writes and grows, another
// follows with its own read-only MappedFile.
TEST_F(MappedFileTest, ReaderThreadFollowsWriterThread) {
  absl::StatusOr<MappedFile> writer =
      MappedFile::Open(File(), Linear(OpenMode::kCreate));
  ASSERT_TRUE(writer.ok()) << writer.status();
  MappedFile::Options options = Opts(OpenMode::kReadOnly);
  options.lock = false;
  absl::StatusOr<MappedFile> reader = MappedFile::Open(File(), options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  constexpr uint64_t kPages = 300;
  std::atomic<uint64_t> published{0};
  std::thread thread([&] {
    for (uint64_t page = 0; page < kPages; ++page) {
      if (!writer->Grow((page + 1) * kPage).ok()) return;
      writer->data()[page * kPage] = Mark(page);
      published.store(page + 1, std::memory_order_release);
    }
  });
  const std::byte* const base = reader->data();
  uint64_t errors = 0, seen = 0;
  while (seen < kPages) {
    const uint64_t pages = published.load(std::memory_order_acquire);
    if (pages == seen) {
      std::this_thread::yield();
      continue;
    }
    if (!reader->Refresh().ok() || reader->data() != base ||
        reader->size() < pages * kPage ||
        reader->data()[(pages - 1) * kPage] != Mark(pages - 1)) {
      ++errors;
    }
    seen = pages;
  }
  thread.join();
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(reader->size(), kPages * kPage);
}

TEST_F(MappedFileTest, RefreshUnmapsWhatAnotherWriterCut) {
  absl::StatusOr<MappedFile> writer =
      MappedFile::Open(File(), Linear(OpenMode::kCreate));
  ASSERT_TRUE(writer.ok() && writer->Grow(8 * kPage).ok());
  MappedFile::Options options = Opts(OpenMode::kReadOnly);
  options.lock = false;
  absl::StatusOr<MappedFile> reader = MappedFile::Open(File(), options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->size(), 8 * kPage);
  ASSERT_TRUE(writer->Truncate(2 * kPage).ok());
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->size(), 2 * kPage);
  EXPECT_EQ(*reader->Residency() <= 1.0, true);
}

TEST_F(MappedFileTest, MoveTransfersTheMapping) {
  absl::StatusOr<MappedFile> file =
      MappedFile::Open(File(), Opts(OpenMode::kCreate));
  ASSERT_TRUE(file.ok() && file->Grow(kPage).ok());
  file->data()[0] = std::byte{7};
  std::byte* const base = file->data();
  MappedFile moved = std::move(*file);
  EXPECT_EQ(moved.data(), base);
  EXPECT_EQ(moved.data()[0], std::byte{7});
  EXPECT_EQ(moved.path(), File());
  EXPECT_GE(moved.fd(), 0);
  moved = MappedFile::Open(File("g"), Opts(OpenMode::kCreate)).value();
  EXPECT_EQ(moved.size(), 0u);
  // The first file's lock was released with it.
  EXPECT_TRUE(MappedFile::Open(File(), Opts(OpenMode::kReadWrite)).ok());
}

}  // namespace
}  // namespace mapfile
