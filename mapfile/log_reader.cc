// Copyright 2026 The mapfile Authors.
//
// log_reader.cc: the reading side of the log engine, for writers and
// readers alike: the directory's segments (Rescan; a reader follows the
// writer with Refresh/UpdateLive), finding a record (Find, Run, Read) and
// waiting for one (WaitFor). Part of the log engine
// (mapfile/internal/log_store.h; docs/DESIGN.md).

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/internal/os.h"
#include "mapfile/status_macros.h"

namespace mapfile {
namespace internal {

// Lists the directory and merges it into segments_: known segments keep
// their mappings, gone ones are dropped, new ones are added unmapped. Every
// segment but the last holds exactly the records up to the next one's first
// (checked against its header when it is loaded).
absl::Status LogStore::Rescan() {
  MAPFILE_ASSIGN_OR_RETURN(std::vector<std::string> names, os::ReadDir(dir_));
  std::vector<uint64_t> firsts, temps;
  for (const std::string& name : names) {
    absl::string_view base = name;
    std::optional<uint64_t> first;
    if (writer_ && !dry_run_ && absl::ConsumeSuffix(&base, kFreeSuffix) &&
        ParseSegmentFileName(base)) {
      const std::string path = absl::StrCat(dir_, "/", name);
      std::lock_guard<std::mutex> lock(jobs_->mu);
      if (jobs_->free.size() < options_.recycle_segments) {
        jobs_->free.push_back(path);
      } else {
        MAPFILE_RETURN_IF_ERROR(os::Annotate(UnlinkLogFile(path), Context("Open")));
      }
    } else if (writer_ && !dry_run_ && absl::EndsWith(name, kTempSuffix) &&
               ParseIndexFileName(absl::StripSuffix(name, kTempSuffix))) {
      // A blob index being written when a writer died (a cache: Seal or
      // the next reader writes it again).
      MAPFILE_RETURN_IF_ERROR(os::Unlink(absl::StrCat(dir_, "/", name)));
    } else if (writer_ && absl::ConsumeSuffix(&base, kTempSuffix) &&
               (first = ParseSegmentFileName(base))) {
      // A segment being created, rolled into or compressed when a writer
      // died (and no other *.tmp file: those are not the log's to touch).
      temps.push_back(*first);
    } else if ((first = ParseSegmentFileName(name))) {
      firsts.push_back(*first);
    }
  }
  std::sort(firsts.begin(), firsts.end());
  for (uint64_t first : temps) {
    if (std::binary_search(firsts.begin(), firsts.end(), first)) {
      // The rewrite of an existing segment (Compress, Decompress): the
      // segment is whole without it.
      if (dry_run_) continue;
      MAPFILE_RETURN_IF_ERROR(UnlinkLogFile(
          absl::StrCat(dir_, "/", SegmentFileName(first), kTempSuffix)));
    } else {
      temps_.push_back(first);  // maybe a roll no Sync finished: Adopt()
    }
  }
  if (firsts.empty()) {
    // A reader that knows segments keeps them: the writer is between
    // retiring its last named segment and naming the next (TruncateBefore).
    if (writer_ || !segments_.empty()) return absl::OkStatus();
    return absl::NotFoundError(absl::StrCat(
        Context("Open"), ": no log segments (*", kSegmentSuffix, ") yet"));
  }
  std::vector<std::shared_ptr<Segment>> merged;
  size_t j = 0;
  for (uint64_t first : firsts) {
    while (j < segments_.size() && segments_[j]->first < first) ++j;
    if (j < segments_.size() && segments_[j]->first == first) {
      merged.push_back(segments_[j]);
    } else {
      merged.push_back(std::make_shared<Segment>(
          first, absl::StrCat(dir_, "/", SegmentFileName(first))));
    }
  }
  for (size_t i = 0; i + 1 < merged.size(); ++i) {
    Segment& s = *merged[i];
    s.count = merged[i + 1]->first - s.first;  // what the names imply
    MAPFILE_RETURN_IF_ERROR(CheckCount(s.path, s.count, control_, stride_));
    if (blob_ && s.live && !writer_) {
      // A reader's live blob segment rolled over: the writer trims it to its
      // frames. Map it again (Load), so that its frame area ends at its
      // commit's length and no walk of the index can reach bytes the trim
      // unmaps; a reader holding a RecordRun keeps the old mapping.
      s.file.reset();
      s.data = nullptr;
      s.index.reset();
    }
    s.live = false;
    s.sealed = true;
  }
  segments_ = std::move(merged);
  Segment& last = *segments_.back();
  if (last.live && last.data != nullptr) {  // known, mapped or decompressed
    if (!writer_) UpdateLive(last);
    return absl::OkStatus();
  }
  last.live = true;
  if (!writer_) return Load(segments_.back()).status();
  MAPFILE_ASSIGN_OR_RETURN(FileHeader header, Map(last, !dry_run_));
  return Recover(last, header);
}

// Maps `s` and checks its header against this log. Leaves s.data null for a
// compressed segment (Load decompresses it).

void LogStore::UpdateLive(Segment& s) {
  if (s.data == nullptr || s.compressed) return;
  // A file too short for its control block (hostile, or cut by hand) has
  // nothing published: its words would be read past the file's end.
  if (s.file->size() < data_offset_ + control_) return;
  const uint64_t published =
      __atomic_load_n(Word64(s.data, kPublishedAt), __ATOMIC_ACQUIRE);
  if (blob_) {
    // The writer may have grown the file (a record larger than a segment)
    // or a recovering writer cut and re-extended it: map its size first.
    // Frames up to `published` are committed: index them now (a damaged
    // one stops the index; ReadBlob reports it).
    for (int pass = 0; pass < 2; ++pass) {
      s.count = std::max(s.count, std::min(published, s.capacity));
      const FrameCheck check =
          s.index->Extend(s.data + control_, s.area, s.first, s.count, false);
      if (pass == 1 || s.index->count() >= published ||
          (check != FrameCheck::kShort && published <= s.capacity) ||
          !s.file->Refresh().ok()) {
        break;
      }
      SetArea(s);
    }
    return;
  }
  if (published > s.capacity && s.file->Refresh().ok()) {
    // A recovering writer cut and re-extended the file.
    s.data = s.file->data() + data_offset_;
    s.capacity = FramesIn(s.file->size());
  }
  s.count = std::max(s.count, std::min(published, s.capacity));
}

absl::Status LogStore::Refresh(bool rescan) {
  Segment& last = *segments_.back();
  // The live segment's file still holds it: a segment retired before a
  // Sync sealed it (TruncateBefore) may be reused for a later one, whose
  // header and control block replace its own. Checked again after reading
  // the control block.
  uint64_t first = 0;  // as the header stores it: little-endian
  for (int i = 0; i < 8; ++i) {
    reinterpret_cast<unsigned char*>(&first)[i] =
        static_cast<unsigned char>(last.first >> (8 * i));
  }
  auto same = [&] {
    return __atomic_load_n(reinterpret_cast<const uint64_t*>(
                               last.file->data() + kFirstSequenceAt),
                           __ATOMIC_ACQUIRE) == first;
  };
  if (!rescan && last.data != nullptr && !last.compressed &&
      !__atomic_load_n(Word32(last.data, kSealedAt), __ATOMIC_ACQUIRE) &&
      same()) {
    UpdateLive(last);
    if (same()) return absl::OkStatus();
  }
  return Rescan();
}


uint64_t LogStore::first_seq() {
  if (!writer_) {  // next_seq()/Read report errors, out of memory included
    CatchAllocation("LogReader::first_seq", dir_, [&] { return Refresh(true); })
        .IgnoreError();
  }
  return segments_.front()->first;
}

uint64_t LogStore::next_seq() {
  if (!writer_) {  // Read and WaitFor report errors, out of memory included
    CatchAllocation("LogReader::next_seq", dir_, [&] { return Refresh(false); })
        .IgnoreError();
  }
  const Segment& last = *segments_.back();
  return last.first + last.count;
}

const std::shared_ptr<Segment>& LogStore::Find(uint64_t seq) {
  auto it = std::upper_bound(
      segments_.begin(), segments_.end(), seq,
      [](uint64_t s, const std::shared_ptr<Segment>& p) { return s < p->first; });
  return *(it - 1);
}

absl::StatusOr<RecordRun> LogStore::Run(uint64_t seq) {
  const uint64_t next = next_seq();
  if (seq >= next || seq < segments_.front()->first) {
    return absl::OutOfRangeError(absl::StrCat(
        Context(absl::StrCat("Read(", seq, ")")), ": outside the log's [",
        segments_.front()->first, ", ", next, ")"));
  }
  const std::shared_ptr<Segment>& s = Find(seq);
  if (writer_ && s->count > s->flushed && s == segments_.back()) {
    // A run reaches into the buffer: write it, so that the mapping holds
    // every record of the run (and stays valid while the cursor does).
    MAPFILE_RETURN_IF_ERROR(Owned(absl::StrCat("Read(", seq, ")")));
    MAPFILE_RETURN_IF_ERROR(Flush());
  }
  MAPFILE_ASSIGN_OR_RETURN(RecordRun run, Load(s));
  run.end = std::min(run.end, next);
  return run;
}

bool LogStore::Valid(const std::byte* frame, uint64_t seq) const {
  return FrameValid(frame, payload_, checksum_at_, seq);
}

absl::Status LogStore::Read(uint64_t seq, void* out) {
  const std::byte* frame;
  if (writer_ && !segments_.empty() &&
      seq >= segments_.back()->first + segments_.back()->flushed &&
      seq < next_seq()) {
    // Still in the write buffer.
    const Segment& a = *segments_.back();
    frame = buffer_.get() + (seq - a.first - a.flushed) * stride_;
  } else {
    MAPFILE_ASSIGN_OR_RETURN(RecordRun run, Run(seq));
    frame = run.base + (seq - run.first) * stride_;
  }
  if (!Valid(frame, seq)) {
    return absl::DataLossError(
        absl::StrCat(Context(absl::StrCat("Read(", seq, ")")), ": record ",
                     seq, " in \"", Find(seq)->path, "\" fails its checksum"));
  }
  std::memcpy(out, frame, payload_);
  return absl::OkStatus();
}

absl::Status LogStore::ReadBlob(uint64_t seq, std::string* out) {
  MAPFILE_ASSIGN_OR_RETURN(RecordRun run, Run(seq));
  Segment& s = *Find(seq);
  const uint64_t i = seq - s.first;
  FrameCheck check = FrameCheck::kValid;
  uint64_t at = 0;
  uint64_t n = 0;
  if (s.index == nullptr) {
    check = FrameCheck::kShort;
  } else {
    BlobIndex& x = *s.index;
    // A reader's live segment: frames published since the last look.
    if (i >= x.count()) check = x.Extend(run.base, s.area, s.first, i + 1, false);
    at = x.bytes();
    if (i < x.count()) {
      at = x.start(i);
      check = CheckBlobFrame(run.base, at, x.end(i), seq, &n);
      // The index must end the frame where the frame says it ends.
      if (check == FrameCheck::kValid && BlobFrameSize(n) != x.end(i) - at) {
        check = FrameCheck::kShort;
      }
    }
  }
  if (check != FrameCheck::kValid) {
    return absl::DataLossError(absl::StrCat(
        Context(absl::StrCat("Read(", seq, ")")), ": the frame of record ",
        seq, " in \"", s.path, "\" at offset ", at, " ",
        FrameCheckName(check)));
  }
  out->assign(reinterpret_cast<const char*>(run.base + at + kBlobFrameHeader),
              n);
  return absl::OkStatus();
}

absl::Status LogStore::WaitFor(uint64_t seq, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    const std::shared_ptr<Segment> last = segments_.back();
    const uint32_t* word = last->data != nullptr && !last->compressed
                               ? Word32(last->data, kGenerationAt)
                               : nullptr;
    const uint32_t generation =
        word != nullptr ? __atomic_load_n(word, __ATOMIC_ACQUIRE) : 0;
    const uint64_t next = next_seq();
    if (next > seq) return absl::OkStatus();
    const absl::Time now = absl::Now();
    if (now >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          Context(absl::StrCat("WaitFor(", seq, ")")),
          ": not committed within ", absl::FormatDuration(timeout),
          " (next_seq() is ", next, ")"));
    }
    if (last != segments_.back()) continue;  // rolled over: look again
    // Slices of at most 100 ms: a writer that died between creating a
    // segment and marking the old one sealed wakes nobody.
    const absl::Time until = std::min(deadline, now + absl::Milliseconds(100));
    bool woken = false;
    if (word != nullptr) {
      const timespec ts = absl::ToTimespec(until);
      MAPFILE_ASSIGN_OR_RETURN(woken,
                               os::FutexWait(word, generation, &ts, last->path));
    } else {
      absl::SleepFor(until - now);
    }
    if (!woken) Refresh(true).IgnoreError();
  }
}


}  // namespace internal
}  // namespace mapfile
