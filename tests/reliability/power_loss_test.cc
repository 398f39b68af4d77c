// Copyright 2026 The mapfile Authors.
//
// Power-loss simulation (SQLite's crash VFS, ALICE, CrashMonkey): a mapped
// write reaches the disk only when the kernel writes its page back, in any
// order, and a sector (512 bytes) is the unit a disk writes atomically. The
// test keeps, per file, the image the library has made durable: every
// msync a MappedFile::Sync completes copies its page range into it, every
// fdatasync the whole file and its size, every rename moves it (the hooks
// of mapfile/internal/crash_point.h). At instants -- between operations,
// just before each sync completes, at every crash point -- it synthesises
// crash images: each file gets the durable size or the current one, and
// each page that differs the durable or the current bytes, one page torn
// sector by sector. Each image is opened by the library as after a reboot:
// the vector must hold exactly a committed size, the log every synced record
// and only whole records of the runs that wrote them. Some log images are
// adopted as the disk after a crash, and a new run recovers and continues
// from them, so what recovery itself makes durable is tested too.

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "mapfile/append_log.h"
#include "mapfile/blob_log.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/mapped_vector.h"
#include "tests/reliability/reliability.h"
#include "tests/testing.h"

namespace mapfile {
namespace reliability {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kSector = 512;

struct Durable {
  std::string bytes;  // may run past `size`: synced pages of a new size
  uint64_t size = 0;
};

// The simulation's state; the hook below feeds it.
struct Disk {
  std::map<std::string, Durable> durable;  // by path
  // A segment is mapped under its temporary name and renamed while mapped:
  // its MappedFile keeps reporting the old name.
  std::map<std::string, std::string> renamed;
  std::string moving;  // the file between "log.moving" and "log.moved"
  std::function<void(const std::string& point)> instant;
  bool recording = false;
};
Disk* g_disk = nullptr;

void ApplySync(const internal::CrashSite& site) {
  std::string path = *site.path;
  auto alias = g_disk->renamed.find(path);
  if (alias != g_disk->renamed.end() && ::access(path.c_str(), F_OK) != 0) {
    path = alias->second;
  }
  Durable& d = g_disk->durable[path];
  const std::string now = testing::ReadFile(path);
  if (std::strcmp(site.point, "file.datasynced") == 0) {
    d = {now, now.size()};
    return;
  }
  const uint64_t end = std::min<uint64_t>(site.offset + site.length, now.size());
  if (end <= site.offset) return;
  if (d.bytes.size() < end) d.bytes.resize(end);
  d.bytes.replace(site.offset, end - site.offset, now, site.offset,
                  end - site.offset);
}

void Hook(const internal::CrashSite& site) {
  if (g_disk == nullptr) return;  // a log closing after the scenario
  Disk& disk = *g_disk;
  if (!disk.recording) return;
  disk.recording = false;  // the checks below open files too
  const bool sync = std::strncmp(site.point, "file.", 5) == 0;
  // The engine's unlinks and its moves of retired (recycled) segment files:
  // a name used again starts empty; a moved file keeps its durable bytes.
  if (std::strcmp(site.point, "log.unlinked") == 0) {
    disk.durable.erase(*site.path);
    disk.renamed.erase(*site.path);
  }
  if (std::strcmp(site.point, "log.moving") == 0) disk.moving = *site.path;
  if (std::strcmp(site.point, "log.moved") == 0) {
    auto from = disk.durable.find(disk.moving);
    if (from != disk.durable.end()) {
      disk.durable[*site.path] = from->second;
      disk.durable.erase(disk.moving);
    } else {
      disk.durable.erase(*site.path);
    }
    disk.renamed[disk.moving] = *site.path;
  }
  if (std::strcmp(site.point, "log.renamed") == 0) {
    const std::string temp = *site.path + ".tmp";
    disk.durable[*site.path] = disk.durable[temp];
    disk.durable.erase(temp);
    disk.renamed[temp] = *site.path;
  }
  // A crash just before the sync completes, or at the point.
  disk.instant(site.point);
  if (sync) ApplySync(site);
  disk.recording = true;
}

std::string Slice(const std::string& s, uint64_t at, uint64_t n) {
  std::string out(n, '\0');
  if (at < s.size()) s.copy(out.data(), std::min<uint64_t>(n, s.size() - at), at);
  return out;
}

// One crash image of the regular files in `dir`.
std::map<std::string, std::string> CrashImage(const std::string& dir,
                                              std::mt19937_64& rng,
                                              uint64_t* torn) {
  std::map<std::string, std::string> image;
  for (auto& [name, now] : ReadTree(dir)) {
    const Durable& d = g_disk->durable[dir + "/" + name];
    const uint64_t size = rng() % 2 ? d.size : now.size();
    std::vector<uint64_t> differing;
    for (uint64_t p = 0; p * kPage < size; ++p) {
      if (Slice(d.bytes, p * kPage, kPage) != Slice(now, p * kPage, kPage)) {
        differing.push_back(p);
      }
    }
    const int64_t torn_page =
        differing.empty() || rng() % 2 ? -1
                                       : differing[rng() % differing.size()];
    const int mode = rng() % 4;  // 0: all old, 1: all new, else: a mix
    std::string out = Slice(d.bytes, 0, size);
    for (uint64_t p : differing) {
      const bool tear = static_cast<int64_t>(p) == torn_page;
      for (uint64_t s = p * kPage; s < (p + 1) * kPage && s < size;
           s += kSector) {
        const bool take_new = tear ? rng() % 2 : mode == 1 || (mode > 1 && p % 2 == rng() % 2);
        if (take_new) {
          out.replace(s, std::min(kSector, size - s),
                      Slice(now, s, std::min(kSector, size - s)));
        }
      }
      if (tear) ++*torn;
    }
    image[name] = std::move(out);
  }
  return image;
}

// Saves a failing image where the test runner keeps outputs, for
// `mapfile info` and `mapfile verify`.
void KeepFailure(const std::map<std::string, std::string>& image) {
  const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (out != nullptr) WriteTree(std::string(out) + "/failed_image", image);
}

bool HasFatalFailure() { return ::testing::Test::HasFatalFailure(); }

struct Figures {
  uint64_t instants = 0, images = 0, torn = 0, adopted = 0;
  uint64_t retentions = 0;  // TruncateBefore calls
  uint64_t past_sync = 0;   // those that retired records no Sync covered
};

TEST(PowerLossTest, VectorImagesHoldExactlyACommittedSize) {
  ShmDir dir, images;
  const std::string live = dir.File("live"), path = live + "/v.vec";
  const std::string img = images.File("img");
  WriteTree(live, {{"v.vec", ""}});  // durable, empty (created, dir synced)
  Disk disk;
  g_disk = &disk;
  ScopedCrashHook hook(Hook);
  std::mt19937_64 rng(0x706f776572);
  Figures f;
  const int per_instant = Scaled(3, 12);
  std::vector<uint64_t> allowed = {0};
  disk.instant = [&](const std::string& point) {
    ++f.instants;
    for (int k = 0; k < per_instant && !HasFatalFailure(); ++k) {
      WriteTree(img, CrashImage(live, rng, &f.torn));
      ++f.images;
      absl::Status s = CheckVector(img + "/v.vec", allowed);
      ASSERT_TRUE(s.ok()) << "crash at " << point << ": " << s;
    }
  };
  disk.recording = true;
  // The hook is single-threaded: pretouch (if on) runs in Pretouch() below.
  auto v = MappedVector<Rec>::Open(path, Pretouched(VectorOptions(), /*background=*/false));
  ASSERT_TRUE(v.ok()) << v.status();
  const int steps = Scaled(60, 600);
  for (int step = 0; step < steps && !HasFatalFailure();
       ++step) {
    const uint64_t n = 1 + rng() % 700;
    switch (rng() % 4) {
      case 0:
      case 1:
        for (uint64_t i = 0; i < n; ++i) {
          ASSERT_TRUE(v->push_back(MakeRec(v->size())).ok());
        }
        v->Pretouch();  // a no-op unless the pretouch run
        break;
      case 2:
        for (uint64_t i = 0; i < n / 4 && !v->empty(); ++i) v->pop_back();
        break;
      case 3:
        ASSERT_TRUE(v->shrink_to_fit().ok());
        break;
    }
    disk.instant("between operations");
    if (rng() % 2) {
      allowed = {v->committed_size(), v->size()};
      ASSERT_TRUE(v->Sync().ok());
      allowed = {v->size()};
    }
  }
  disk.recording = false;
  g_disk = nullptr;
  Report("power_loss.vector",
         absl::StrCat(f.instants, " crash instants, ", f.images, " images (",
                      f.torn, " torn pages)"));
}

// What LogScenario does with each face of the log engine.
template <typename Log>
struct Face;
template <>
struct Face<AppendLog<Rec>> {
  static constexpr const char* kName = "log";
  static constexpr uint64_t kSegmentSize = 16 << 10;  // ~380 records
  static absl::StatusOr<AppendLog<Rec>> Open(const std::string& dir,
                                             const LogOptions& options) {
    return AppendLog<Rec>::Open(dir, options);
  }
  static absl::Status Append(AppendLog<Rec>& log, uint64_t next, uint64_t n,
                             uint64_t gen) {
    std::vector<Rec> batch;
    for (uint64_t i = 0; i < n; ++i) batch.push_back(MakeRec(next + i, gen));
    absl::Status s = log.AppendBatch(batch).status();
    log.Pretouch();  // prepares the next segment in the pretouch run
    return s;
  }
  static absl::Status Check(const std::string& dir, const LogOptions& options,
                            uint64_t min_next, uint64_t max_next,
                            uint64_t gen) {
    return CheckLog(dir, options, min_next, max_next, gen);
  }
};
template <>
struct Face<BlobLog> {
  static constexpr const char* kName = "blob_log";
  // ~35 records of 1.8 KiB on average: rolls in most batches, yet about 30
  // segments (and indexes) for the 1,000 records retained, not 125 -- each
  // image copies and checks all of them.
  static constexpr uint64_t kSegmentSize = 64 << 10;
  static absl::StatusOr<BlobLog> Open(const std::string& dir,
                                      const LogOptions& options) {
    return BlobLog::Open(dir, options);
  }
  static absl::Status Append(BlobLog& log, uint64_t next, uint64_t n,
                             uint64_t gen) {
    std::vector<std::string> owned;
    for (uint64_t i = 0; i < n / 8 + 1; ++i) {
      owned.push_back(MakeBlob(next + i, gen));
    }
    const std::vector<absl::string_view> batch(owned.begin(), owned.end());
    return log.AppendBatch(batch).status();
  }
  static absl::Status Check(const std::string& dir, const LogOptions& options,
                            uint64_t min_next, uint64_t max_next,
                            uint64_t gen) {
    return CheckBlobLog(dir, options, min_next, max_next, gen);
  }
};

// `retain`: records TruncateBefore keeps; with `rare_syncs` the second half
// syncs as rarely as the first, so that retention often goes past the last
// Sync (segments holding unsynced records retired, the last named one
// included, its successor named in its place).
template <typename Log>
void LogScenario(bool compress, uint64_t retain = 1000,
                 bool rare_syncs = false) {
  using F = Face<Log>;
  ShmDir dir, images;
  const std::string live = dir.File("log"), img = images.File("img");
  // Pretouch, in the pretouch run, from this thread (Pretouch() below): the
  // disk model's hook is single-threaded.
  LogOptions options = Pretouched(LogOptions(), /*background=*/false);
  options.segment_size = F::kSegmentSize;
  options.compress_sealed = compress;
  options.recycle_segments = compress ? 0 : 2;  // compressed: never reused
  Disk disk;
  g_disk = &disk;
  ScopedCrashHook hook(Hook);
  std::mt19937_64 rng(compress ? 0x7a737464 : 0x6c6f67);
  Figures f;
  const int per_instant = Scaled(2, 8);
  uint64_t gen = 1, synced = 0, appended = 0;
  std::map<std::string, std::string> adopt;
  disk.instant = [&](const std::string& point) {
    ++f.instants;
    for (int k = 0; k < per_instant && !HasFatalFailure(); ++k) {
      std::map<std::string, std::string> image = CrashImage(live, rng, &f.torn);
      WriteTree(img, image);
      ++f.images;
      absl::Status s = F::Check(img, options, synced, appended, gen);
      if (absl::IsNotFound(s) && appended == 0) continue;  // no segment yet
      if (!s.ok()) KeepFailure(image);
      ASSERT_TRUE(s.ok()) << "crash at " << point << ": " << s;
      // (Rarely with rare_syncs: an adopted image counts as synced, and
      // retention past the last Sync needs a long unsynced run.)
      if (point == "between operations" && rng() % (rare_syncs ? 256 : 16) == 0) {
        adopt = image;
      }
    }
  };
  disk.recording = true;
  auto log = F::Open(live, options);
  ASSERT_TRUE(log.ok()) << log.status();
  const int steps = rare_syncs ? Scaled(240, 1200) : Scaled(80, 800);
  for (int step = 0; step < steps && !HasFatalFailure();
       ++step) {
    const uint64_t next = log->next_seq();
    switch (rng() % 6) {
      case 0:
      case 1:
      case 2:
      {
        const uint64_t n = 1 + rng() % 200;
        const uint64_t before = log->next_seq();
        appended = next + (std::is_same_v<Log, BlobLog> ? n / 8 + 1 : n);
        ASSERT_TRUE(F::Append(*log, next, n, gen).ok());
        ASSERT_EQ(log->next_seq() - before, appended - next);
        break;
      }
      case 3:
        // The second half syncs rarely: several rolls between two Syncs.
        if ((rare_syncs || step >= steps / 2) &&
            rng() % (rare_syncs ? 12 : 5) != 0) {
          break;
        }
        ASSERT_TRUE(log->Sync().ok());
        synced = next;
        break;
      case 4:
        if ((rare_syncs || step >= steps / 2) &&
            rng() % (rare_syncs ? 12 : 5) != 0) {
          break;
        }
        ASSERT_TRUE(log->Seal().ok());
        synced = next;
        break;
      case 5:
        if (next > retain) {
          ASSERT_TRUE(log->TruncateBefore(next - retain).ok());
          ++f.retentions;
          if (log->first_seq() > synced) ++f.past_sync;
        }
        break;
    }
    disk.instant("between operations");
    if (adopt.empty()) continue;
    // The power failed here: the disk holds `adopt`; a new run recovers.
    ++f.adopted;
    disk.recording = false;
    log = absl::UnavailableError("crashed");
    WriteTree(live, adopt);
    for (const auto& [name, bytes] : adopt) {
      disk.durable[live + "/" + name] = {bytes, bytes.size()};
    }
    adopt.clear();
    ++gen;
    disk.recording = true;
    log = F::Open(live, options);
    ASSERT_TRUE(log.ok()) << log.status();
    synced = appended = log->next_seq();
  }
  disk.recording = false;
  g_disk = nullptr;
  Report(absl::StrCat("power_loss.", F::kName, compress ? "_compressed" : "",
                      rare_syncs ? "_retained_past_sync" : ""),
         absl::StrCat(f.instants, " crash instants, ", f.images, " images (",
                      f.torn, " torn pages), ", f.adopted,
                      " recovered and continued, ", f.retentions,
                      " retentions (", f.past_sync, " past the last Sync)"));
  if (rare_syncs) {
    EXPECT_GT(f.past_sync, 0u) << "no TruncateBefore went past the last Sync";
  }
}

TEST(PowerLossTest, LogImagesKeepSyncedRecordsAndNeverResurrectCutOnes) {
  LogScenario<AppendLog<Rec>>(false);
}

TEST(PowerLossTest, CompressedLogImagesKeepSyncedRecords) {
  LogScenario<AppendLog<Rec>>(true);
}

// Blob segments (frames of 0 B to 9000 B, sealed segments' indexes written
// without a sync, so images hold them missing, empty or partial) and
// compressed ones.
TEST(PowerLossTest, BlobLogImagesKeepSyncedRecordsAndNeverResurrectCutOnes) {
  LogScenario<BlobLog>(false);
}

TEST(PowerLossTest, CompressedBlobLogImagesKeepSyncedRecords) {
  LogScenario<BlobLog>(true);
}

// Retention past the last Sync: TruncateBefore retires segments holding
// records no Sync made durable, the last named one included, and names its
// successor (a temporary whose header WriteHeader made durable) in its
// place; a crash between the two leaves only temporaries.
TEST(PowerLossTest, LogImagesWithRetentionPastTheLastSync) {
  LogScenario<AppendLog<Rec>>(false, /*retain=*/150, /*rare_syncs=*/true);
}

TEST(PowerLossTest, CompressedLogImagesWithRetentionPastTheLastSync) {
  LogScenario<AppendLog<Rec>>(true, /*retain=*/150, /*rare_syncs=*/true);
}

TEST(PowerLossTest, BlobLogImagesWithRetentionPastTheLastSync) {
  LogScenario<BlobLog>(false, /*retain=*/20, /*rare_syncs=*/true);
}

// Regression (found by VectorImagesHoldExactlyACommittedSize): a power loss
// before a new vector's first Sync left a header page with only some of its
// sectors written, and every later Open(kCreate) failed ("not a mapfile
// file" or a bad checksum) instead of creating the vector again.
TEST(PowerLossTest, VectorCreationTornBeforeItsFirstSyncIsStartedAgain) {
  ShmDir dir;
  const std::string path = dir.File("v.vec"), fresh = dir.File("fresh.vec");
  ASSERT_TRUE(MappedVector<Rec>::Open(fresh).ok());
  const std::string header = testing::ReadFile(fresh).substr(0, kPage);
  for (int keep = 1; keep < 255; keep += 37) {  // sectors written, as bits
    std::string torn(64 << 10, '\0');
    for (int sector = 0; sector < 8; ++sector) {
      if (keep & (1 << sector)) {
        torn.replace(sector * kSector, kSector, header, sector * kSector,
                     kSector);
      }
    }
    ASSERT_TRUE(testing::WriteFile(path, torn));
    auto v = MappedVector<Rec>::Open(path);
    ASSERT_TRUE(v.ok()) << "sectors " << keep << ": " << v.status();
    ASSERT_TRUE(v->push_back(MakeRec(0)).ok());
    ASSERT_TRUE(v->Sync().ok());
    v = absl::UnavailableError("closed");
    ASSERT_TRUE(CheckVector(path, {1}).ok());
  }
  // A sector that is neither zeros nor the new header is not a creation:
  // an error, and the file is left alone.
  std::string foreign = header + std::string(60 << 10, '\0');
  foreign[kSector + 3] ^= 1;
  ASSERT_TRUE(testing::WriteFile(path, foreign));
  EXPECT_FALSE(MappedVector<Rec>::Open(path).ok());
  EXPECT_EQ(testing::ReadFile(path), foreign);
}

// Regression (found by CompressedLogImagesKeepSyncedRecords): recovery cut
// a torn tail but did not make the cut durable, so a power loss after the
// next run appended over the cut brought the old run's later frames back
// behind the new ones, where they passed their checksums.
TEST(PowerLossTest, RecoveryCutTailNeverComesBackBehindNewRecords) {
  ShmDir dir;
  const std::string live = dir.File("log");
  LogOptions options;
  options.segment_size = 16 << 10;
  Disk disk;
  g_disk = &disk;
  disk.instant = [](const std::string&) {};
  ScopedCrashHook hook(Hook);
  std::map<std::string, std::string> crashed;
  {  // Run 1: 30 unsynced records in the first data page; the first torn.
    auto log = AppendLog<Rec>::Open(live, options);
    ASSERT_TRUE(log.ok()) << log.status();
    std::vector<Rec> batch;
    for (uint64_t i = 0; i < 30; ++i) batch.push_back(MakeRec(i, 1));
    ASSERT_TRUE(log->AppendBatch(batch).ok());
    crashed = ReadTree(live);
  }
  const std::string segment = internal::SegmentFileName(0);
  crashed[segment][kPage + 64 + 5] ^= 1;  // record 0's payload
  WriteTree(live, crashed);
  for (const auto& [name, bytes] : crashed) {
    disk.durable[live + "/" + name] = {bytes, bytes.size()};
  }
  disk.recording = true;
  auto log = AppendLog<Rec>::Open(live, options);  // run 2: cuts at 0
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_EQ(log->next_seq(), 0u);
  std::vector<Rec> batch;
  for (uint64_t i = 0; i < 14; ++i) batch.push_back(MakeRec(i, 2));
  ASSERT_TRUE(log->AppendBatch(batch).ok());
  disk.recording = false;
  // Power loss: the first sector of the page (records 0..13 of run 2)
  // reached the disk, the rest of the page is as the disk had it.
  const std::string path = live + "/" + segment;
  const std::string now = testing::ReadFile(path);
  std::string image = disk.durable[path].bytes;
  image.resize(now.size());
  image.replace(kPage, kSector, now, kPage, kSector);
  std::map<std::string, std::string> files = ReadTree(live);
  files[segment] = image;
  log = absl::UnavailableError("crashed");
  WriteTree(live, files);
  absl::Status s = CheckLog(live, options, 0, 14, 2);
  EXPECT_TRUE(s.ok()) << s;
  g_disk = nullptr;
}

}  // namespace
}  // namespace reliability
}  // namespace mapfile
