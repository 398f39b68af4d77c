// Copyright 2026 The mapfile Authors.
//
// log_store.cc: the log engine's life (Make, Open, the destructor) and
// LogHandle, the faces' calls into it (append_log.h): each forwards to the
// file that owns the work, except Append, whose body is in log_writer.cc.
// Part of the log engine (mapfile/internal/log_store.h; docs/DESIGN.md).

#include "mapfile/internal/log_store.h"

#include <algorithm>
#include <memory>
#include <new>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/os.h"
#include "mapfile/internal/pretouch.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

using os::Annotate;

LogStore::~LogStore() {
  if (pretouch_ != nullptr && pretouch_->Inherited()) {
    // A forked child's copy of a writer (log_store.h, "fork()"): its
    // buffered frames are the parent's to write (here they could land on a
    // file the parent has since reused). The jobs' state and the
    // reservations are abandoned, never destroyed (their mutexes may be
    // held), as inherited pretouchers are; the mappings and descriptors go.
    static auto* const abandoned = new std::vector<std::shared_ptr<void>>();
    abandoned->push_back(std::move(jobs_));
    for (const std::shared_ptr<Segment>& s : segments_) {
      if (s->reservation) abandoned->push_back(std::move(s->reservation));
    }
    return;
  }
  try {  // best effort; a destructor must not throw
    if (writer_ && !dry_run_ && !segments_.empty()) {
      // A clean close keeps every appended record for the next Open, as a
      // kill -9 after a buffer flush would (the protocol above).
      Flush().IgnoreError();
    }
    if (jobs_ != nullptr) {
      // No segment is allocated further (on tmpfs a prepared one is being
      // allocated whole): not the active one, not the prepared one, not
      // one being prepared now.
      std::shared_ptr<Reservation> prepared;
      {
        std::lock_guard<std::mutex> lock(jobs_->mu);
        if (jobs_->prepare == LogJobs::kQueued) jobs_->prepare = LogJobs::kNone;
        if (jobs_->prepared && jobs_->prepared->ok()) {
          prepared = (**jobs_->prepared)->reservation;
        }
        jobs_->closing = true;
      }
      if (prepared) prepared->Close();
      if (!segments_.empty() && segments_.back()->reservation) {
        segments_.back()->reservation->Close();
      }
      // Close finishes the compressions queued by Syncs (a process that dies
      // first leaves them to the next Open).
      FinishJobs(true);
    }
    pretouch_.reset();
    if (jobs_ != nullptr && jobs_->prepared && jobs_->prepared->ok()) {
      Unprepare(***jobs_->prepared);
    }
  } catch (const std::bad_alloc&) {
  }
}

// FailedPrecondition in a forked child of the process that opened this
// writer (log_store.h, "fork()"); else OK.
absl::Status LogStore::Owned(absl::string_view call) const {
  if (pretouch_ == nullptr || !pretouch_->Inherited()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      Context(call),
      ": this writer was opened by the parent of this process (fork); only "
      "the process that opened a log for writing may use its writer"));
}

// "AppendLog::Open(\"dir\")", or with arguments ("Read(5)"):
// "AppendLog::Read(\"dir\", 5)": the call, its directory first.
std::string LogStore::Context(absl::string_view call) const {
  const char* face = blob_ ? (writer_ ? "BlobLog::" : "BlobReader::")
                           : (writer_ ? "AppendLog::" : "LogReader::");
  absl::string_view args;
  if (const size_t open = call.find('('); open != absl::string_view::npos &&
                                          absl::EndsWith(call, ")")) {
    args = call.substr(open + 1, call.size() - open - 2);
    call = call.substr(0, open);
  }
  return absl::StrCat(face, call, "(\"", dir_, "\"", args.empty() ? "" : ", ",
                      args, ")");
}


absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Open(
    const std::string& dir, const LogOptions& options,
    const TypeFingerprint& type, bool writer, FrameKind frames) {
  MAPFILE_ASSIGN_OR_RETURN(std::unique_ptr<LogStore> s,
                           Make(dir, options, type, writer, frames));
  if (writer) {
    // LogOptions::pretouch only chooses where background work runs: the
    // writer no longer stores through its mapping, so there is nothing to
    // populate.
    s->jobs_ = std::make_shared<LogJobs>();
    s->pretouch_ =
        std::make_unique<Pretoucher>(0, options.pretouch_in_background);
    // At least one frame: a record may be larger than the buffer.
    s->buffer_bytes_ = std::max<uint64_t>(kWriteBuffer, s->stride_);
    s->buffer_.reset(new (std::nothrow) std::byte[s->buffer_bytes_]);
    if (s->buffer_ == nullptr) {
      return absl::ResourceExhaustedError(absl::StrCat(
          s->Context("Open"), ": cannot allocate the ", s->buffer_bytes_,
          "-byte write buffer"));
    }
    s->frames_per_buffer_ = std::max<uint64_t>(1, kWriteBuffer / s->stride_);
    MAPFILE_RETURN_IF_ERROR(s->OpenWriter());
  } else {
    MAPFILE_RETURN_IF_ERROR(s->Rescan());
  }
  return s;
}

// Runs a writer's recovery of the last segment (Rescan -> Map -> Recover)
// with dry_run_ set: each step that would write stops short of it.

absl::StatusOr<std::unique_ptr<LogStore>> LogStore::Make(
    const std::string& dir, const LogOptions& options,
    const TypeFingerprint& type, bool writer, FrameKind frames) {
  std::unique_ptr<LogStore> s(new LogStore());
  s->dir_ = dir;
  s->options_ = options;
  s->type_ = type;
  s->writer_ = writer;
  s->blob_ = frames == FrameKind::kBlob;
  s->kind_ = s->blob_ ? ContainerKind::kBlobSegment : ContainerKind::kLogSegment;
  const LogLayout layout(type);
  s->stride_ = layout.stride;
  s->payload_ = layout.payload;
  s->checksum_at_ = layout.checksum_at;
  s->control_ = layout.control_size;
  s->data_offset_ = layout.data_offset();
  absl::StatusOr<FileHeader> header =
      NewHeader(s->kind_, type, layout.alignment);
  MAPFILE_RETURN_IF_ERROR(
      Annotate(header.status(), absl::StrCat(s->Context("Open"),
                                           ": header of segments \"", dir,
                                           "/*", kSegmentSuffix, "\"")));
  s->header_ = *std::move(header);
  if (options.segment_size > kMaxSegmentSize) {
    return absl::InvalidArgumentError(
        absl::StrCat(s->Context("Open"), ": segment_size ",
                     options.segment_size, " is above ", kMaxSegmentSize));
  }
  const uint64_t page = os::PageSize();
  s->size_ = std::max(os::RoundUp(options.segment_size, page),
                      os::RoundUp(layout.records_offset() + s->stride_, page));
  s->header_.segment_size = s->size_;  // recorded: the log's, not Open's
  return s;
}

// ---------------------------------------------------------------- LogHandle

LogHandle::LogHandle(LogStore* store)
    : store_(store),
      stride_(store->stride()),
      payload_(store->payload()),
      checksum_at_(store->checksum_at()) {}

absl::StatusOr<LogHandle> LogHandle::OpenWriter(const std::string& dir,
                                                const LogOptions& options,
                                                const TypeFingerprint& type) {
  MAPFILE_ASSIGN_OR_RETURN(std::unique_ptr<LogStore> store,
                           LogStore::Open(dir, options, type, /*writer=*/true));
  return LogHandle(store.release());
}

// A reader opened before its writer made the log polls for the first
// segment: a writer creates it under a temporary name and renames it only
// once its header is durable, so the first name seen is a whole segment.
absl::StatusOr<LogHandle> LogHandle::OpenReader(const std::string& dir,
                                                const ReaderOptions& options,
                                                const TypeFingerprint& type) {
  LogOptions o;
  o.cache_bytes = options.cache_bytes;
  const absl::Time deadline = absl::Now() + options.wait_for_log;
  while (true) {
    absl::StatusOr<std::unique_ptr<LogStore>> store =
        LogStore::Open(dir, o, type, /*writer=*/false);
    if (store.ok()) return LogHandle(store->release());
    const absl::Time now = absl::Now();
    if (store.status().code() != absl::StatusCode::kNotFound) {
      return store.status();
    }
    if (now >= deadline) {
      if (options.wait_for_log <= absl::ZeroDuration()) return store.status();
      return absl::NotFoundError(absl::StrCat(
          store.status().message(), " (waited ",
          absl::FormatDuration(options.wait_for_log), " for the log)"));
    }
    absl::SleepFor(std::min(deadline - now, absl::Milliseconds(5)));
  }
}

absl::StatusOr<RecoveryReport> LogHandle::PlanRecovery(
    const std::string& dir, const TypeFingerprint& type) {
  MAPFILE_ASSIGN_OR_RETURN(RecoveryPlan plan,
                           LogStore::PlanRecovery(dir, type));
  return std::move(plan.report);
}

void LogHandle::Close() {
  delete store_;
  store_ = nullptr;
}

absl::Status LogHandle::Sync() const { return store_->Sync(); }
absl::Status LogHandle::TruncateBefore(uint64_t seq) const {
  return store_->TruncateBefore(seq);
}
absl::Status LogHandle::Seal() const { return store_->Seal(); }
absl::Status LogHandle::Compress(uint64_t seq) const {
  return store_->Compress(seq);
}
absl::Status LogHandle::Decompress(uint64_t seq) const {
  return store_->Decompress(seq);
}
void LogHandle::Pretouch() const { store_->Pretouch(); }
const RecoveryReport& LogHandle::recovery() const {
  return store_->recovery();
}
uint64_t LogHandle::first_seq() const { return store_->first_seq(); }
uint64_t LogHandle::next_seq() const { return store_->next_seq(); }
absl::Status LogHandle::Read(uint64_t seq, void* out) const {
  return store_->Read(seq, out);
}
absl::StatusOr<RecordRun> LogHandle::Run(uint64_t seq) const {
  return store_->Run(seq);
}
absl::Status LogHandle::WaitFor(uint64_t seq, absl::Duration timeout) const {
  return store_->WaitFor(seq, timeout);
}
const std::string& LogHandle::dir() const { return store_->dir(); }

}  // namespace internal
}  // namespace mapfile
