// Copyright 2026 The mapfile Authors.
//
// BlobLog and BlobReader: the variable-length face of the log engine
// (internal::LogStore with FrameKind::kBlob). Everything here forwards;
// the frames are mapfile/internal/blob_format.h's.

#include "mapfile/blob_log.h"

#include <algorithm>
#include <utility>

#include "absl/time/clock.h"

#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/status_macros.h"

namespace mapfile {

using internal::FrameKind;
using internal::LogStore;

absl::StatusOr<BlobLog> BlobLog::Open(const std::string& dir,
                                      const Options& options) {
  return internal::CatchAllocation(
      "BlobLog::Open", dir, [&]() -> absl::StatusOr<BlobLog> {
        MAPFILE_ASSIGN_OR_RETURN(
            std::unique_ptr<LogStore> store,
            LogStore::Open(dir, options, internal::BlobFingerprint(),
                           /*writer=*/true, FrameKind::kBlob));
        return BlobLog(std::move(store));
      });
}

absl::StatusOr<RecoveryReport> BlobLog::PlanRecovery(const std::string& dir) {
  return internal::CatchAllocation(
      "BlobLog::PlanRecovery", dir, [&]() -> absl::StatusOr<RecoveryReport> {
        MAPFILE_ASSIGN_OR_RETURN(
            internal::RecoveryPlan plan,
            LogStore::PlanRecovery(dir, internal::BlobFingerprint(),
                                   FrameKind::kBlob));
        return plan.report;
      });
}

BlobLog::BlobLog(std::unique_ptr<LogStore> store) : store_(std::move(store)) {}
BlobLog::BlobLog(BlobLog&& other) noexcept = default;
BlobLog& BlobLog::operator=(BlobLog&& other) noexcept = default;
BlobLog::~BlobLog() = default;

absl::StatusOr<uint64_t> BlobLog::Append(absl::string_view record) {
  return internal::CatchAllocation("BlobLog::Append", dir(), [&] {
    return store_->AppendBlobs(&record, 1);
  });
}
absl::StatusOr<uint64_t> BlobLog::AppendBatch(
    absl::Span<const absl::string_view> records) {
  return internal::CatchAllocation("BlobLog::AppendBatch", dir(), [&] {
    return store_->AppendBlobs(records.data(), records.size());
  });
}
absl::Status BlobLog::Sync() {
  return internal::CatchAllocation("BlobLog::Sync", dir(),
                                   [&] { return store_->Sync(); });
}

absl::StatusOr<std::string> BlobLog::Read(uint64_t seq) const {
  return internal::CatchAllocation(
      "BlobLog::Read", dir(), [&]() -> absl::StatusOr<std::string> {
        std::string out;
        MAPFILE_RETURN_IF_ERROR(store_->ReadBlob(seq, &out));
        return out;
      });
}
absl::Status BlobLog::Read(uint64_t seq, std::string* out) const {
  return internal::CatchAllocation("BlobLog::Read", dir(),
                                   [&] { return store_->ReadBlob(seq, out); });
}
uint64_t BlobLog::first_seq() const { return store_->first_seq(); }
uint64_t BlobLog::next_seq() const { return store_->next_seq(); }
absl::Status BlobLog::TruncateBefore(uint64_t seq) {
  return internal::CatchAllocation("BlobLog::TruncateBefore", dir(),
                                   [&] { return store_->TruncateBefore(seq); });
}
absl::Status BlobLog::Seal() {
  return internal::CatchAllocation("BlobLog::Seal", dir(),
                                   [&] { return store_->Seal(); });
}
absl::Status BlobLog::Compress(uint64_t seq) {
  return internal::CatchAllocation("BlobLog::Compress", dir(),
                                   [&] { return store_->Compress(seq); });
}
absl::Status BlobLog::Decompress(uint64_t seq) {
  return internal::CatchAllocation("BlobLog::Decompress", dir(),
                                   [&] { return store_->Decompress(seq); });
}
const RecoveryReport& BlobLog::recovery() const { return store_->recovery(); }
const std::string& BlobLog::dir() const { return store_->dir(); }

absl::StatusOr<BlobReader> BlobReader::Open(const std::string& dir,
                                            const ReaderOptions& options) {
  return internal::CatchAllocation(
      "BlobReader::Open", dir, [&]() -> absl::StatusOr<BlobReader> {
        LogOptions o;
        o.cache_bytes = options.cache_bytes;
        const absl::Time deadline = absl::Now() + options.wait_for_log;
        while (true) {
          absl::StatusOr<std::unique_ptr<LogStore>> store =
              LogStore::Open(dir, o, internal::BlobFingerprint(),
                             /*writer=*/false, FrameKind::kBlob);
          if (store.ok()) return BlobReader(*std::move(store));
          // Only "not there yet" is waited for; a wrong or damaged log is not.
          if (store.status().code() != absl::StatusCode::kNotFound ||
              absl::Now() >= deadline) {
            return store.status();
          }
          absl::SleepFor(
              std::min(absl::Milliseconds(10), deadline - absl::Now()));
        }
      });
}

BlobReader::BlobReader(std::unique_ptr<LogStore> store)
    : store_(std::move(store)) {}
BlobReader::BlobReader(BlobReader&& other) noexcept = default;
BlobReader& BlobReader::operator=(BlobReader&& other) noexcept = default;
BlobReader::~BlobReader() = default;

absl::StatusOr<std::string> BlobReader::Read(uint64_t seq) {
  return internal::CatchAllocation(
      "BlobReader::Read", store_->dir(), [&]() -> absl::StatusOr<std::string> {
        std::string out;
        MAPFILE_RETURN_IF_ERROR(store_->ReadBlob(seq, &out));
        return out;
      });
}
absl::Status BlobReader::Read(uint64_t seq, std::string* out) {
  return internal::CatchAllocation("BlobReader::Read", store_->dir(),
                                   [&] { return store_->ReadBlob(seq, out); });
}
uint64_t BlobReader::first_seq() { return store_->first_seq(); }
uint64_t BlobReader::next_seq() { return store_->next_seq(); }
absl::Status BlobReader::WaitFor(uint64_t seq, absl::Duration timeout) {
  return internal::CatchAllocation("BlobReader::WaitFor", store_->dir(),
                                   [&] { return store_->WaitFor(seq, timeout); });
}

}  // namespace mapfile
