// Copyright 2026 The mapfile Authors.
//
// Tests of the os layer: every wrapper's error path through the fault seam
// (errno -> StatusCode and message), EINTR retry, short reads and writes, and
// a real disk-full case on a tiny tmpfs.

#include "mapfile/internal/os.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing.h"

namespace mapfile {
namespace os {
namespace {

using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

class OsTest : public ::testing::Test {
 protected:
  fault::ScopedReset reset_;
  mapfile::testing::TempDir dir_;
};

TEST(ErrnoToCodeTest, MapsTheDocumentedTable) {
  struct Case {
    int error;
    absl::StatusCode code;
  };
  const Case cases[] = {
      {ENOENT, absl::StatusCode::kNotFound},
      {EEXIST, absl::StatusCode::kAlreadyExists},
      {EACCES, absl::StatusCode::kPermissionDenied},
      {EPERM, absl::StatusCode::kPermissionDenied},
      {EROFS, absl::StatusCode::kPermissionDenied},
      {ENOSPC, absl::StatusCode::kResourceExhausted},
      {EDQUOT, absl::StatusCode::kResourceExhausted},
      {EFBIG, absl::StatusCode::kResourceExhausted},
      {ENOMEM, absl::StatusCode::kResourceExhausted},
      {EMFILE, absl::StatusCode::kResourceExhausted},
      // Unavailable is only a lock held elsewhere (Flock says so itself):
      // EAGAIN from mmap, fork or a thread is a resource running out, and
      // EBUSY (msync of locked pages) is no lock on the file.
      {EWOULDBLOCK, absl::StatusCode::kResourceExhausted},
      {EBUSY, absl::StatusCode::kFailedPrecondition},
      {EINVAL, absl::StatusCode::kInvalidArgument},
      {EISDIR, absl::StatusCode::kInvalidArgument},
      {ENOTDIR, absl::StatusCode::kInvalidArgument},
      {EOPNOTSUPP, absl::StatusCode::kUnimplemented},
      {EIO, absl::StatusCode::kDataLoss},
      {EHOSTDOWN, absl::StatusCode::kUnknown},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ErrnoToCode(c.error), c.code) << strerror(c.error);
  }
}

TEST(ErrnoStatusTest, NamesTheCallAndTheCause) {
  absl::Status s = ErrnoStatus(ENOSPC, "fallocate(\"/data/x.vec\", 0, 1048576)");
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(s.message(),
            "fallocate(\"/data/x.vec\", 0, 1048576): No space left on device");
}

TEST(AnnotateTest, PutsTheContextFirstAndKeepsTheCode) {
  absl::Status s = Annotate(absl::DataLossError("record 7 fails its checksum"),
                            "AppendLog::Read(\"/data/log\")");
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(s.message(),
            "AppendLog::Read(\"/data/log\"): record 7 fails its checksum");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "ignored").ok());
}

TEST(OpNameTest, EveryOpHasItsCName) {
  EXPECT_EQ(OpName(Op::kFallocate), "fallocate");
  EXPECT_EQ(OpName(Op::kAlignedAlloc), "aligned_alloc");
  for (int i = 0; i < static_cast<int>(Op::kCount); ++i) {
    EXPECT_NE(OpName(static_cast<Op>(i)), "unknown") << i;
  }
}

// Each wrapper, driven through the seam: an injected errno comes back as the
// mapped code, with the call's name and the path in the message.
TEST_F(OsTest, EveryWrapperReportsInjectedErrors) {
  const std::string file = dir_.File("data");
  absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_TRUE(Ftruncate(fd->get(), file, 4096).ok());
  absl::StatusOr<void*> map =
      Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0, file);
  ASSERT_TRUE(map.ok()) << map.status();
  char buffer[16] = {};

  struct Case {
    Op op;
    std::string name;  // as the message spells the call
    std::function<absl::Status()> call;
  };
  const std::vector<Case> cases = {
      {Op::kOpen, "open", [&] { return Open(file, O_RDONLY).status(); }},
      {Op::kFstat, "fstat", [&] { return Fstat(fd->get(), file).status(); }},
      {Op::kStat, "stat", [&] { return Stat(file).status(); }},
      {Op::kFtruncate, "ftruncate",
       [&] { return Ftruncate(fd->get(), file, 8192); }},
      {Op::kFallocate, "fallocate",
       [&] { return Fallocate(fd->get(), file, 0, 4096); }},
      {Op::kFdatasync, "fdatasync", [&] { return Fdatasync(fd->get(), file); }},
      {Op::kSyncFileRange, "sync_file_range",
       [&] {
         return SyncFileRange(fd->get(), file, 0, 4096,
                              SYNC_FILE_RANGE_WRITE);
       }},
      {Op::kFsync, "fsync", [&] { return Fsync(fd->get(), file); }},
      {Op::kFchmod, "fchmod", [&] { return Fchmod(fd->get(), file, 0600); }},
      {Op::kFchown, "fchown", [&] { return Fchown(fd->get(), file, -1, -1); }},
      {Op::kFlock, "flock", [&] { return Flock(fd->get(), file, LOCK_SH); }},
      {Op::kRename, "rename", [&] { return Rename(file, file + ".2"); }},
      {Op::kUnlink, "unlink", [&] { return Unlink(file); }},
      {Op::kMkdir, "mkdir", [&] { return Mkdir(dir_.File("sub")); }},
      {Op::kReadDir, "opendir", [&] { return ReadDir(dir_.path()).status(); }},
      {Op::kPread, "pread",
       [&] { return Pread(fd->get(), file, buffer, 16, 0).status(); }},
      {Op::kPwrite, "pwrite",
       [&] { return Pwrite(fd->get(), file, buffer, 16, 0); }},
      {Op::kMemfdCreate, "memfd_create",
       [&] { return MemfdCreate(file).status(); }},
      {Op::kMmap, "mmap",
       [&] {
         return Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd->get(), 0, file)
             .status();
       }},
      {Op::kMunmap, "munmap", [&] { return Munmap(*map, 4096, file); }},
      {Op::kMremap, "mremap",
       [&] { return Mremap(*map, 4096, 4096, 0, nullptr, file).status(); }},
      {Op::kMsync, "msync", [&] { return Msync(*map, 4096, MS_SYNC, file); }},
      {Op::kMadvise, "madvise",
       [&] { return Madvise(*map, 4096, MADV_NORMAL, file); }},
      {Op::kMincore, "mincore", [&] { return Mincore(*map, 4096, file).status(); }},
      {Op::kFutex, "futex",
       [&] { return FutexWake(static_cast<uint32_t*>(*map), file); }},
  };
  for (const Case& c : cases) {
    for (int error : {EIO, ENOSPC, EACCES}) {
      SCOPED_TRACE(absl::StrCat(c.name, " errno ", error));
      fault::Inject({c.op, error});
      absl::Status s = c.call();
      EXPECT_EQ(s.code(), ErrnoToCode(error)) << s;
      EXPECT_THAT(std::string(s.message()), HasSubstr(c.name + "(\""));
      EXPECT_THAT(std::string(s.message()), HasSubstr(strerror(error)));
      EXPECT_EQ(fault::Calls(c.op), 1u);
      // The rule fails only the first call; the next one runs for real.
      // (Rename/unlink/munmap would change the fixture, so not re-run.)
    }
  }
  // The file the cases name is in every message that has a path.
  fault::Inject({Op::kFallocate, ENOSPC});
  EXPECT_EQ(Fallocate(fd->get(), file, 0, 1048576).message(),
            absl::StrCat("fallocate(\"", file,
                         "\", mode=0, offset=0, length=1048576): No space "
                         "left on device"));
  ASSERT_TRUE(Munmap(*map, 4096, file).ok());
}

TEST_F(OsTest, AlignedAllocReportsInjectedAndInvalidRequests) {
  fault::Inject({Op::kAlignedAlloc, ENOMEM});
  absl::StatusOr<void*> p = AlignedAlloc(64, 128);
  EXPECT_EQ(p.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(p.status().message()),
              HasSubstr("aligned_alloc(alignment=64, size=128)"));
  EXPECT_EQ(AlignedAlloc(48, 96).status().code(),
            absl::StatusCode::kInvalidArgument);  // not a power of two
  EXPECT_EQ(AlignedAlloc(64, 100).status().code(),
            absl::StatusCode::kInvalidArgument);  // not a multiple
  EXPECT_EQ(AlignedAlloc(64, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  p = AlignedAlloc(4096, 8192);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(reinterpret_cast<uintptr_t>(*p) % 4096, 0u);
  AlignedFree(*p);
}

TEST_F(OsTest, NthAndTimesSelectWhichCallsFail) {
  const std::string file = dir_.File("f");
  absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok());
  fault::Inject({Op::kFdatasync, EIO, /*nth=*/3, /*times=*/2});
  std::vector<bool> ok;
  for (int i = 0; i < 6; ++i) ok.push_back(Fdatasync(fd->get(), file).ok());
  EXPECT_EQ(ok, (std::vector<bool>{true, true, false, false, true, true}));
  EXPECT_EQ(fault::Calls(Op::kFdatasync), 6u);

  fault::Inject({Op::kFdatasync, EIO, 2, fault::kForever});
  EXPECT_TRUE(Fdatasync(fd->get(), file).ok());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(Fdatasync(fd->get(), file).ok());

  fault::Reset();
  EXPECT_TRUE(Fdatasync(fd->get(), file).ok());
  EXPECT_EQ(fault::Calls(Op::kFdatasync), 0u);  // not counted when disarmed
}

TEST_F(OsTest, EintrIsRetried) {
  const std::string file = dir_.File("f");
  absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok());
  const std::string data = "interrupted but complete";
  fault::Inject({Op::kPwrite, EINTR, 1, 3});
  ASSERT_TRUE(Pwrite(fd->get(), file, data.data(), data.size(), 0).ok());
  EXPECT_EQ(fault::Calls(Op::kPwrite), 4u);  // three EINTRs, then the write

  fault::Inject({Op::kFsync, EINTR, 1, 2});
  EXPECT_TRUE(Fsync(fd->get(), file).ok());
  EXPECT_EQ(fault::Calls(Op::kFsync), 3u);

  fault::Inject({Op::kPread, EINTR, 1, 1});
  std::string back(data.size(), '\0');
  absl::StatusOr<size_t> n = Pread(fd->get(), file, back.data(), back.size(), 0);
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(back, data);
}

TEST_F(OsTest, ShortWritesAndReadsAreCompleted) {
  const std::string file = dir_.File("f");
  absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok());
  std::string data(1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);

  fault::Inject({Op::kPwrite, 0, 1, fault::kForever, /*max_transfer=*/7});
  ASSERT_TRUE(Pwrite(fd->get(), file, data.data(), data.size(), 100).ok());
  EXPECT_EQ(fault::Calls(Op::kPwrite), (1000 + 6) / 7);

  fault::Inject({Op::kPread, 0, 1, fault::kForever, /*max_transfer=*/3});
  std::string back(data.size(), '\0');
  absl::StatusOr<size_t> n = Pread(fd->get(), file, back.data(), back.size(), 100);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, data.size());
  EXPECT_EQ(back, data);
  EXPECT_EQ(fault::Calls(Op::kPread), (1000 + 2) / 3);

  // Reading past the end returns what is there, not an error.
  fault::Reset();
  n = Pread(fd->get(), file, back.data(), back.size(), 600);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 500u);
}

TEST_F(OsTest, ShortWriteThenErrorReportsTheError) {
  const std::string file = dir_.File("f");
  absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok());
  std::string data(100, 'x');
  fault::Inject({Op::kPwrite, ENOSPC, /*nth=*/3, 1, /*max_transfer=*/10});
  absl::Status s = Pwrite(fd->get(), file, data.data(), data.size(), 0);
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(mapfile::testing::ReadFile(file), std::string(20, 'x'));
}

TEST_F(OsTest, OpenReportsCreationAndFailures) {
  const std::string file = dir_.File("new");
  bool created = false;
  absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT, 0600, &created);
  ASSERT_TRUE(fd.ok()) << fd.status();
  EXPECT_TRUE(created);
  EXPECT_EQ(fd->path(), file);
  EXPECT_EQ(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  absl::StatusOr<struct stat> st = Fstat(fd->get(), file);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->st_mode & 0777, 0600u);

  fd = Open(file, O_RDWR | O_CREAT, 0600, &created);
  ASSERT_TRUE(fd.ok());
  EXPECT_FALSE(created);

  absl::StatusOr<Fd> excl = Open(file, O_RDWR | O_CREAT | O_EXCL);
  EXPECT_EQ(excl.status().code(), absl::StatusCode::kAlreadyExists);

  absl::StatusOr<Fd> missing = Open(dir_.File("missing"), O_RDONLY);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            absl::StrCat("open(\"", dir_.File("missing"),
                         "\", O_RDONLY): No such file or directory"));

  // Creation fsyncs the parent directory; an error there is reported.
  fault::Inject({Op::kFsync, EIO});
  absl::StatusOr<Fd> again = Open(dir_.File("other"), O_RDWR | O_CREAT);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kDataLoss);
}

TEST(DirectoryModeTest, EachReadBitGrantsSearch) {
  EXPECT_EQ(DirectoryMode(0644), 0755u);
  EXPECT_EQ(DirectoryMode(0600), 0700u);
  EXPECT_EQ(DirectoryMode(0640), 0750u);
  EXPECT_EQ(DirectoryMode(0664), 0775u);
  EXPECT_EQ(DirectoryMode(0200), 0200u);
  EXPECT_EQ(DirectoryMode(04644), 0755u);  // no set-user-ID on a directory
}

// Runs `body` with the umask set to `mask`, then restores it. The umask is
// per process: tests in one binary run one at a time.
template <typename Body>
void WithUmask(mode_t mask, Body body) {
  const mode_t old = ::umask(mask);
  body();
  ::umask(old);
}

TEST_F(OsTest, KeepAccessGivesTheOriginalsModeWhateverTheUmask) {
  for (mode_t mode : {0600, 0640, 0644, 0664, 0400}) {
    SCOPED_TRACE(absl::StrFormat("0%o", mode));
    const std::string original = dir_.File(absl::StrFormat("orig%o", mode));
    const std::string copy = original + ".copy";
    ASSERT_TRUE(testing::WriteFile(original, "x"));
    ASSERT_EQ(::chmod(original.c_str(), mode), 0);
    absl::StatusOr<struct stat> st = Stat(original);
    ASSERT_TRUE(st.ok()) << st.status();
    WithUmask(077, [&] {  // would narrow 0644 to 0600
      absl::StatusOr<Fd> fd = Open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600);
      ASSERT_TRUE(fd.ok()) << fd.status();
      ASSERT_TRUE(KeepAccess(fd->get(), copy, *st).ok());
    });
    absl::StatusOr<struct stat> got = Stat(copy);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->st_mode & 07777, mode);
    EXPECT_EQ(got->st_gid, st->st_gid);
  }
}

TEST_F(OsTest, KeepAccessKeepsTheGroupOrClearsItsBits) {
  const std::string original = dir_.File("orig");
  ASSERT_TRUE(testing::WriteFile(original, "x"));
  ASSERT_EQ(::chmod(original.c_str(), 0640), 0);
  // A group this process is not in: only root may give a file that group.
  const gid_t other = ::getegid() + 4242;
  if (::chown(original.c_str(), static_cast<uid_t>(-1), other) != 0) {
    GTEST_SKIP() << "cannot chgrp here (not root): " << strerror(errno);
  }
  absl::StatusOr<struct stat> st = Stat(original);
  ASSERT_TRUE(st.ok()) << st.status();
  {
    const std::string copy = dir_.File("kept");
    absl::StatusOr<Fd> fd = Open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_TRUE(fd.ok()) << fd.status();
    ASSERT_TRUE(KeepAccess(fd->get(), copy, *st).ok());
    absl::StatusOr<struct stat> got = Stat(copy);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->st_gid, other);
    EXPECT_EQ(got->st_mode & 07777, 0640u);
  }
  {
    // As for a process that may not set the group: EPERM is not an error,
    // and the group (another one) gets no access.
    const std::string copy = dir_.File("denied");
    absl::StatusOr<Fd> fd = Open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_TRUE(fd.ok()) << fd.status();
    fault::ScopedReset reset;
    fault::Inject({Op::kFchown, EPERM, 1, fault::kForever});
    ASSERT_TRUE(KeepAccess(fd->get(), copy, *st).ok());
    absl::StatusOr<struct stat> got = Stat(copy);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_NE(got->st_gid, other);
    EXPECT_EQ(got->st_mode & 07777, 0600u);
  }
  {
    // Any other failure is reported.
    const std::string copy = dir_.File("failed");
    absl::StatusOr<Fd> fd = Open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_TRUE(fd.ok()) << fd.status();
    fault::ScopedReset reset;
    fault::Inject({Op::kFchown, EIO});
    absl::Status s = KeepAccess(fd->get(), copy, *st);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("fchown(\"" + copy));
  }
}

TEST_F(OsTest, FdClosesOnceAndMoves) {
  absl::StatusOr<Fd> fd = Open(dir_.File("f"), O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok());
  const int raw = fd->get();
  Fd moved = std::move(*fd);
  EXPECT_FALSE(fd->valid());
  EXPECT_EQ(moved.get(), raw);
  EXPECT_TRUE(moved.Close().ok());
  EXPECT_FALSE(moved.valid());
  EXPECT_TRUE(moved.Close().ok());  // closing twice is a no-op
  EXPECT_EQ(fcntl(raw, F_GETFD), -1);
}

TEST_F(OsTest, SecondExclusiveLockIsUnavailable) {
  const std::string file = dir_.File("lock");
  absl::StatusOr<Fd> a = Open(file, O_RDWR | O_CREAT);
  absl::StatusOr<Fd> b = Open(file, O_RDWR);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(Flock(a->get(), file, LOCK_EX | LOCK_NB).ok());
  absl::Status s = Flock(b->get(), file, LOCK_EX | LOCK_NB);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr(absl::StrCat("flock(\"", file, "\", LOCK_EX|LOCK_NB)")));
  ASSERT_TRUE(Flock(a->get(), file, LOCK_UN).ok());
  EXPECT_TRUE(Flock(b->get(), file, LOCK_EX | LOCK_NB).ok());
}

TEST_F(OsTest, DirectoryOperations) {
  ASSERT_TRUE(Mkdir(dir_.File("d")).ok());
  EXPECT_EQ(Mkdir(dir_.File("d")).code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(mapfile::testing::WriteFile(dir_.File("d/a"), "a"));
  ASSERT_TRUE(Rename(dir_.File("d/a"), dir_.File("d/b")).ok());
  ASSERT_TRUE(mapfile::testing::WriteFile(dir_.File("d/c"), "c"));
  absl::StatusOr<std::vector<std::string>> names = ReadDir(dir_.File("d"));
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, UnorderedElementsAre("b", "c"));
  ASSERT_TRUE(Unlink(dir_.File("d/b")).ok());
  EXPECT_EQ(Unlink(dir_.File("d/b")).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadDir(dir_.File("nope")).status().code(),
            absl::StatusCode::kNotFound);
  // Directory fsyncs after rename/unlink/mkdir surface their errors.
  fault::Inject({Op::kFsync, EIO});
  EXPECT_EQ(Unlink(dir_.File("d/c")).code(), absl::StatusCode::kDataLoss);
}

TEST_F(OsTest, MappingCalls) {
  const size_t page = PageSize();
  ASSERT_GE(page, 4096u);
  const std::string file = dir_.File("m");
  absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT);
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(Ftruncate(fd->get(), file, 4 * page).ok());
  absl::StatusOr<void*> p = Mmap(nullptr, 4 * page, PROT_READ | PROT_WRITE,
                                 MAP_SHARED, fd->get(), 0, file);
  ASSERT_TRUE(p.ok());
  std::memset(*p, 'z', page);  // touch one page
  absl::StatusOr<size_t> resident = Mincore(*p, 4 * page, file);
  ASSERT_TRUE(resident.ok());
  EXPECT_GE(*resident, 1u);
  EXPECT_LE(*resident, 4u);
  EXPECT_TRUE(Msync(*p, page, MS_SYNC, file).ok());
  EXPECT_TRUE(Madvise(*p, 4 * page, MADV_RANDOM, file).ok());
  EXPECT_EQ(Mmap(nullptr, 0, PROT_READ, MAP_SHARED, fd->get(), 0, file)
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);  // zero-length mapping
  EXPECT_TRUE(Munmap(*p, 4 * page, file).ok());
  EXPECT_EQ(mapfile::testing::ReadFile(file).substr(0, 3), "zzz");
}

TEST_F(OsTest, MemfdCanBeMappedTwice) {
  absl::StatusOr<Fd> fd = MemfdCreate("mapfile-test");
  ASSERT_TRUE(fd.ok()) << fd.status();
  ASSERT_TRUE(Ftruncate(fd->get(), fd->path(), 4096).ok());
  auto a = Mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0,
                fd->path());
  auto b = Mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd->get(), 0, fd->path());
  ASSERT_TRUE(a.ok() && b.ok());
  std::memcpy(*a, "shared", 6);
  EXPECT_EQ(std::memcmp(*b, "shared", 6), 0);
  EXPECT_TRUE(Munmap(*a, 4096, fd->path()).ok());
  EXPECT_TRUE(Munmap(*b, 4096, fd->path()).ok());
}

// A real full disk: a 1 MiB tmpfs in a private mount namespace.
TEST(OsDiskFullTest, FallocateAndPwriteReportResourceExhausted) {
  absl::StatusOr<int> code =
      mapfile::testing::RunWithTinyTmpfs(1 << 20, [](const std::string& dir) {
        const std::string file = dir + "/big";
        absl::StatusOr<Fd> fd = Open(file, O_RDWR | O_CREAT);
        if (!fd.ok()) return 1;
        absl::Status s = Fallocate(fd->get(), file, 0, 4 << 20);
        if (s.code() != absl::StatusCode::kResourceExhausted) return 2;
        if (s.message().find("No space left on device") ==
            absl::string_view::npos) {
          return 3;
        }
        std::string data(2 << 20, 'x');
        s = Pwrite(fd->get(), file, data.data(), data.size(), 0);
        if (s.code() != absl::StatusCode::kResourceExhausted) return 4;
        // Space that exists can still be used.
        if (!Ftruncate(fd->get(), file, 0).ok()) return 5;
        if (!Fallocate(fd->get(), file, 0, 256 << 10).ok()) return 6;
        return 0;
      });
  if (!code.ok()) GTEST_SKIP() << code.status();
  EXPECT_EQ(*code, 0);
}

}  // namespace
}  // namespace os
}  // namespace mapfile
