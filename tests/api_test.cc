// Copyright 2026 The mapfile Authors.
//
// The public API of docs/DESIGN.md ("The public API"), spelled exactly as
// users write it: if a name or a signature there stops compiling or
// behaving as described, this test fails. Each case is a short user program through one public header.

#include "mapfile/mapfile.h"

#include <cstdint>
#include <string>
#include <memory_resource>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing.h"

struct ApiTick {
  int64_t time;
  double price;
};
MAPFILE_TYPE(ApiTick, "api_test.Tick", 1);

// format.h -- optional field schema, as DESIGN.md spells it.
struct Quote {
  int64_t time;
  double bid, ask;
  char symbol[8];
  uint32_t sizes[2];
};
MAPFILE_TYPE(Quote, "example.Quote", 1);
MAPFILE_FIELDS(Quote, time, bid, ask, symbol, sizes);

namespace mapfile {
namespace {

TEST(ApiTest, FieldSchema) {
  testing::TempDir dir;
  const std::string path = dir.File("quotes.vec");
  {
    auto q = MappedVector<Quote>::Open(path);
    ASSERT_TRUE(q.ok()) << q.status();
    ASSERT_TRUE(q->push_back({1, 2.5, 2.75, "AAPL", {100, 200}}).ok());
    ASSERT_TRUE(q->Sync().ok());
  }
  const std::string bytes = testing::ReadFile(path);
  absl::StatusOr<FileHeader> h = DecodeHeader(
      absl::MakeConstSpan(reinterpret_cast<const std::byte*>(bytes.data()),
                          bytes.size()),
      path);
  ASSERT_TRUE(h.ok()) << h.status();
  std::vector<std::string> names;
  for (const FieldInfo& f : h->type.fields) names.push_back(f.name);
  EXPECT_EQ(names, (std::vector<std::string>{"time", "bid", "ask", "symbol",
                                             "sizes"}));
  EXPECT_EQ(h->type.fields[4].TypeName(), "uint32[2]");
  EXPECT_TRUE(MappedVector<const Quote>::Open(path).ok());
}

TEST(ApiTest, Scratch) {
  absl::StatusOr<Layout> layout = Layout::Create(4096, 64);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->size(), 4096u);
  EXPECT_EQ(layout->alignment(), 64u);
  EXPECT_EQ(Layout::Of<ApiTick>().size(), sizeof(ApiTick));
  EXPECT_TRUE(Layout::Array<ApiTick>(10).ok());
  EXPECT_FALSE(Layout::Create(0, 8).ok());

  ScratchPolicy policy;
  policy.force = Strategy::kAlignedHeap;
  policy.zero = true;
  absl::StatusOr<ScratchBlock> block = Allocate(*layout, policy);
  ASSERT_TRUE(block.ok()) << block.status();
  EXPECT_EQ(block->strategy(), Strategy::kAlignedHeap);
  EXPECT_GE(block->size(), 4096u);
  EXPECT_EQ(block->layout().alignment(), 64u);
  absl::Span<uint64_t> words = block->as_span<uint64_t>();
  EXPECT_EQ(words[0], 0u);
  static_assert(!std::is_copy_constructible_v<ScratchBlock>);
  for (Strategy s : {Strategy::kHeap, Strategy::kAnonymousMap,
                     Strategy::kSharedAnonymous}) {
    ScratchPolicy p;
    p.force = s;
    absl::StatusOr<ScratchBlock> b = Allocate(*layout, p);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(b->strategy(), s);
  }

  ScratchResource resource;
  std::pmr::vector<int> v(&resource);
  for (int i = 0; i < 1000; ++i) v.push_back(i);
  EXPECT_EQ(v[999], 999);
}

TEST(ApiTest, MappedFile) {
  testing::TempDir dir;
  MappedFile::Options options;
  options.mode = OpenMode::kCreateNew;
  static_assert(std::is_same_v<decltype(options.permissions), mode_t>);
  EXPECT_EQ(options.permissions, 0644u);
  options.permissions = 0600;
  absl::StatusOr<MappedFile> file = MappedFile::Open(dir.File("f"), options);
  ASSERT_TRUE(file.ok()) << file.status();
  std::byte* base = file->data();
  ASSERT_TRUE(file->Grow(10000).ok());
  EXPECT_EQ(file->data(), base);
  EXPECT_GE(file->size(), 10000u);
  EXPECT_GE(file->capacity(), file->size());
  file->data()[0] = std::byte{42};
  EXPECT_TRUE(file->Sync(0, 1, SyncMode::kSync).ok());
  EXPECT_TRUE(file->Sync(0, 1, SyncMode::kAsync).ok());
  EXPECT_TRUE(file->Sync().ok());
  EXPECT_TRUE(file->Advise(Access::kSequential).ok());
  absl::StatusOr<double> residency = file->Residency();
  ASSERT_TRUE(residency.ok());
  EXPECT_GT(*residency, 0.0);
  EXPECT_TRUE(file->Truncate(4096).ok());
  EXPECT_EQ(file->size(), 4096u);
  EXPECT_EQ(file->path(), dir.File("f"));
  EXPECT_GE(file->fd(), 0);

  MappedFile::Options read;
  read.mode = OpenMode::kReadOnly;
  read.lock = false;
  absl::StatusOr<MappedFile> reader = MappedFile::Open(dir.File("f"), read);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(std::as_const(*reader).data()[0], std::byte{42});
}

TEST(ApiTest, MappedVector) {
  testing::TempDir dir;
  const std::string path = dir.File("ticks.vec");
  {
    MappedVector<ApiTick>::Options options;  // kCreate
    static_assert(std::is_same_v<decltype(options.permissions), mode_t>);
    EXPECT_EQ(options.permissions, 0644u);
    options.permissions = 0640;
    absl::StatusOr<MappedVector<ApiTick>> v =
        MappedVector<ApiTick>::Open(path, options);
    ASSERT_TRUE(v.ok()) << v.status();
    EXPECT_TRUE(v->empty());
    ASSERT_TRUE(v->push_back(ApiTick{1, 1.5}).ok());
    ASSERT_TRUE(v->emplace_back(ApiTick{2, 2.5}).ok());
    const ApiTick more[] = {{3, 3.5}, {4, 4.5}};
    ASSERT_TRUE(v->append(more).ok());
    ASSERT_TRUE(v->reserve(100).ok());
    EXPECT_GE(v->capacity(), 100u);
    ASSERT_TRUE(v->resize(5).ok());
    v->pop_back();
    ASSERT_TRUE(v->shrink_to_fit().ok());
    EXPECT_EQ(v->size(), 4u);
    EXPECT_EQ(v->front().time, 1);
    EXPECT_EQ(v->back().time, 4);
    EXPECT_EQ((*v)[2].price, 3.5);
    EXPECT_EQ(v->data() + 4, &*v->end());
    EXPECT_EQ(v->begin()->time, 1);
    ASSERT_TRUE(v->Sync().ok());
  }
  {
    VectorOptions options;
    options.mode = OpenMode::kReadOnly;
    absl::StatusOr<MappedVector<ApiTick>> v =
        MappedVector<ApiTick>::Open(path, options);
    ASSERT_TRUE(v.ok()) << v.status();
    ASSERT_EQ(v->size(), 4u);
    EXPECT_EQ((*v)[3].price, 4.5);
    EXPECT_FALSE(v->push_back(ApiTick{5, 5.5}).ok());
  }
  // The wrong T is refused, naming both sides.
  absl::StatusOr<MappedVector<double>> wrong = MappedVector<double>::Open(path);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kFailedPrecondition);

  absl::StatusOr<MappedVector<uint64_t>> scratch =
      MappedVector<uint64_t>::CreateScratch();
  ASSERT_TRUE(scratch.ok()) << scratch.status();
  for (uint64_t i = 0; i < 100000; ++i) ASSERT_TRUE(scratch->push_back(i).ok());
  EXPECT_EQ((*scratch)[99999], 99999u);
  scratch->clear();
  EXPECT_TRUE(scratch->empty());
}

TEST(ApiTest, AppendLogAndReader) {
  testing::TempDir dir;
  const std::string logdir = dir.File("log");
  LogOptions options;
  static_assert(std::is_same_v<decltype(options.permissions), mode_t>);
  EXPECT_EQ(options.permissions, 0644u);
  options.permissions = 0644;
  options.segment_size = 64 << 10;
  options.compress_sealed = true;
  options.compression_level = 3;
  options.sync_every_records = 0;
  absl::StatusOr<AppendLog<ApiTick>> log =
      AppendLog<ApiTick>::Open(logdir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<uint64_t> seq = log->Append(ApiTick{0, 0.5});
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 0u);  // sequence numbers start at 0 in a new log
  std::vector<ApiTick> batch;
  for (int i = 1; i < 10000; ++i) batch.push_back(ApiTick{i, i + 0.5});
  absl::StatusOr<uint64_t> first = log->AppendBatch(batch);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1u);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->next_seq(), 10000u);
  EXPECT_EQ(log->size(), 10000u);
  absl::StatusOr<ApiTick> t = log->Read(1234);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->time, 1234);
  ASSERT_TRUE(log->Seal().ok());
  ASSERT_TRUE(log->TruncateBefore(5000).ok());
  EXPECT_GT(log->first_seq(), 0u);
  EXPECT_LE(log->first_seq(), 5000u);
  const RecoveryReport& report = log->recovery();
  EXPECT_EQ(report.records_cut, 0u);
  EXPECT_EQ(report.bytes_cut, 0u);

  absl::StatusOr<LogReader<ApiTick>> reader = LogReader<ApiTick>::Open(logdir);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->next_seq(), 10000u);
  EXPECT_EQ(reader->first_seq(), log->first_seq());
  absl::StatusOr<ApiTick> r = reader->Read(9999);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->price, 9999.5);
  EXPECT_TRUE(reader->WaitFor(9999, absl::Milliseconds(10)).ok());
  EXPECT_EQ(reader->WaitFor(10000, absl::Milliseconds(10)).code(),
            absl::StatusCode::kDeadlineExceeded);

  ReaderOptions reader_options;
  reader_options.cache_bytes = uint64_t{1} << 20;
  reader_options.wait_for_log = absl::Milliseconds(20);
  absl::StatusOr<LogReader<ApiTick>> tuned =
      LogReader<ApiTick>::Open(logdir, reader_options);
  ASSERT_TRUE(tuned.ok()) << tuned.status();
  EXPECT_EQ(tuned->next_seq(), 10000u);
  EXPECT_EQ(LogReader<ApiTick>::Open(logdir + "-none", reader_options)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

TEST(ApiTest, BlobLogAndReader) {
  testing::TempDir dir;
  const std::string logdir = dir.File("blobs");
  static_assert(std::is_same_v<BlobLog::Options, LogOptions>);
  BlobLog::Options options;
  options.segment_size = 64 << 10;
  options.compress_sealed = true;
  absl::StatusOr<BlobLog> log = BlobLog::Open(logdir, options);
  ASSERT_TRUE(log.ok()) << log.status();
  absl::StatusOr<uint64_t> seq = log->Append(absl::string_view("first"));
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, 0u);
  const std::vector<absl::string_view> batch = {"", "b", "third record"};
  absl::StatusOr<uint64_t> first =
      log->AppendBatch(absl::Span<const absl::string_view>(batch));
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, 1u);
  ASSERT_TRUE(log->Sync().ok());
  EXPECT_EQ(log->next_seq(), 4u);
  EXPECT_EQ(log->size(), 4u);
  absl::StatusOr<std::string> r = log->Read(3);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(*r, "third record");
  std::string out;
  ASSERT_TRUE(log->Read(1, &out).ok());
  EXPECT_EQ(out, "");
  ASSERT_TRUE(log->Seal().ok());
  EXPECT_TRUE(log->Decompress(0).ok());
  EXPECT_TRUE(log->Compress(0).ok());
  ASSERT_TRUE(log->TruncateBefore(0).ok());
  EXPECT_EQ(log->first_seq(), 0u);
  EXPECT_EQ(log->recovery().bytes_cut, 0u);
  absl::StatusOr<RecoveryReport> plan = BlobLog::PlanRecovery(logdir);
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kOk);

  ReaderOptions reader_options;
  reader_options.cache_bytes = uint64_t{1} << 20;
  reader_options.wait_for_log = absl::Milliseconds(20);
  absl::StatusOr<BlobReader> reader = BlobReader::Open(logdir, reader_options);
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ(reader->first_seq(), 0u);
  EXPECT_EQ(reader->next_seq(), 4u);
  absl::StatusOr<std::string> rr = reader->Read(0);
  ASSERT_TRUE(rr.ok()) << rr.status();
  EXPECT_EQ(*rr, "first");
  EXPECT_TRUE(reader->Read(2, &out).ok());
  EXPECT_EQ(out, "b");
  EXPECT_TRUE(reader->WaitFor(3, absl::Milliseconds(10)).ok());
  EXPECT_EQ(reader->WaitFor(4, absl::Milliseconds(10)).code(),
            absl::StatusCode::kDeadlineExceeded);
}

}  // namespace
}  // namespace mapfile
