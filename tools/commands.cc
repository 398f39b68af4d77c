// Copyright 2026 The mapfile Authors.
//
// The subcommands. Each builds its result as a JSON document first (the
// single source of truth: --json prints it, the text form is rendered from
// it), so the two outputs cannot drift apart.

#include "tools/commands.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "mapfile/blob_log.h"
#include "mapfile/format.h"
#include "mapfile/internal/blob_format.h"
#include "mapfile/internal/log_format.h"
#include "mapfile/internal/log_store.h"
#include "mapfile/internal/vector_layout.h"
#include "mapfile/status_macros.h"
#include "nlohmann/json.hpp"
#include "tools/fields.h"
#include "tools/inspect.h"
#include "tools/records.h"
#include "tools/terminal.h"

namespace mapfile {
namespace cli {
namespace {

using json = nlohmann::json;

constexpr size_t kChunk = size_t{1} << 20;  // bytes read at a time

int ExitCodeOf(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return absl::IsDataLoss(status) ? kExitDamage : kExitError;
}

// Prints a document: ASCII only (every other byte \u-escaped) and invalid
// UTF-8 from a file replaced, never thrown on.
void Print(const json& doc) {
  std::cout << doc.dump(2, ' ', true, json::error_handler_t::replace) << '\n';
}

// One line on stderr, if `status` is an error.
void Report(const absl::Status& status) {
  if (!status.ok()) std::cerr << "mapfile: " << Escape(status.message()) << '\n';
}

// Reports `status` on stderr (and, with --json, as a document on stdout)
// and returns its exit code.
int Fail(const ReadOptions& options, const absl::Status& status) {
  Report(status);
  if (options.json) {
    Print({{"path", options.path},
           {"error",
            {{"code", absl::StatusCodeToString(status.code())},
             {"message", std::string(status.message())}}}});
  }
  return ExitCodeOf(status);
}

json SlotJson(const CommitSlot& slot) {
  return {{"sequence", slot.sequence},
          {"count", slot.count},
          {"length", slot.length}};
}

json FieldsJson(const TypeFingerprint& type) {
  json fields = json::array();
  for (const FieldInfo& f : type.fields) {
    fields.push_back({{"name", f.name},
                      {"type", f.TypeName()},
                      {"offset", f.offset},
                      {"size", f.size()},
                      {"count", f.count},
                      {"array", (f.flags & kFieldArray) != 0},
                      {"enum", (f.flags & kFieldEnum) != 0}});
  }
  return fields;
}

json TypeJson(const TypeFingerprint& type) {
  return {{"name", type.name},
          {"version", type.version},
          {"size", type.size},
          {"alignment", type.alignment},
          {"declared", type.declared()},
          {"fields", type.fields.size()}};
}

TypeFingerprint TypeOf(const json& j) {
  return {j["name"].get<std::string>(), j["version"].get<uint32_t>(),
          j["size"].get<uint64_t>(), j["alignment"].get<uint64_t>()};
}

// ---------------------------------------------------------------- info

// The records a log segment has room for: within the size its header
// recorded, as the writer counts them (a reused file can be longer), else
// the file's length.
uint64_t SegmentCapacity(const FileReader& f,
                         const internal::LogLayout& layout) {
  const uint64_t recorded = f.header().segment_size;
  return layout.Capacity(recorded > 0 ? std::min(recorded, f.size())
                                      : f.size());
}

// Frames after the commit of an uncompressed, unsealed segment that still
// pass their checksums: what Open would keep.
absl::StatusOr<uint64_t> ValidAfterCommit(const FileReader& f,
                                          const internal::LogLayout& layout) {
  const uint64_t count = f.commit()->count;
  const uint64_t capacity = SegmentCapacity(f, layout);
  if (count >= capacity || (f.header().segment_flags & kSegmentSealed)) {
    return 0;
  }
  bool stopped = false;
  MAPFILE_ASSIGN_OR_RETURN(
      uint64_t checked,
      CheckFrames(f, layout, count, capacity,
                  [&](uint64_t, uint64_t) { return !(stopped = true); }));
  return checked - (stopped ? 1 : 0);
}

// Whether a log segment is sealed: by the header flag, or (a segment the
// writer rolled past) by the control block's word (internal/log_format.h).
bool Sealed(const FileReader& f) {
  const FileHeader& h = f.header();
  uint32_t word = 0;
  return (h.segment_flags & kSegmentSealed) ||
         (!(h.segment_flags & kSegmentCompressed) &&
          f.Read(h.data_offset + internal::kSealedAt, &word, 4).ok() &&
          word != 0);
}

json FileInfo(const FileReader& f) {
  const FileHeader& h = f.header();
  json j = {{"path", f.path()},
            {"kind", KindName(h.kind)},
            {"format_major", h.format_major},
            {"format_minor", h.format_minor},
            {"type", TypeJson(h.type)},
            {"byte_order", ByteOrderName(h.byte_order)},
            {"checksum", ChecksumName(h.checksum)},
            {"record_alignment", h.record_alignment},
            {"data_offset", h.data_offset},
            {"file_size", f.size()},
            {"allocated_size", f.allocated()},
            {"slots", json::array()}};
  for (const auto& slot : h.slots) {
    j["slots"].push_back(slot ? SlotJson(*slot) : json(nullptr));
  }
  const absl::StatusOr<CommitSlot>& commit = f.commit();
  j["commit"] = commit.ok() ? SlotJson(*commit) : json(nullptr);
  if (!commit.ok()) j["commit_error"] = std::string(commit.status().message());
  absl::StatusOr<double> residency = f.Residency();
  j["residency"] = residency.ok() ? json(*residency) : json(nullptr);
  if (h.kind == ContainerKind::kVector) {
    j["records"] = {{"committed", commit.ok() ? commit->count : 0},
                    {"capacity", internal::VectorCapacity(h, f.size())}};
  } else if (h.kind == ContainerKind::kBlobSegment) {
    // Frames vary in size: `info DIR` and `verify` read them through the
    // library; one segment shows its header and commit.
    j["first_sequence"] = h.first_sequence;
    j["sealed"] = Sealed(f);
    j["compressed"] = (h.segment_flags & kSegmentCompressed) != 0;
    if (j["compressed"].get<bool>() && commit.ok() && commit->length > 0) {
      j["uncompressed_length"] = h.uncompressed_length;
      j["compression_ratio"] =
          double(h.uncompressed_length) / double(commit->length);
    }
    const uint64_t committed = commit.ok() ? commit->count : 0;
    j["records"] = {{"committed", committed},
                    {"present", committed},
                    {"capacity", committed}};
  } else if (h.kind == ContainerKind::kLogSegment) {
    const internal::LogLayout layout(h.type);
    const bool compressed = h.segment_flags & kSegmentCompressed;
    j["first_sequence"] = h.first_sequence;
    j["sealed"] = Sealed(f);
    j["compressed"] = compressed;
    if (compressed && commit.ok() && commit->length > 0) {
      j["uncompressed_length"] = h.uncompressed_length;
      j["compression_ratio"] =
          double(h.uncompressed_length) / double(commit->length);
    }
    uint64_t present = commit.ok() ? commit->count : 0;
    if (commit.ok() && !compressed) {
      absl::StatusOr<uint64_t> more = ValidAfterCommit(f, layout);
      present += more.ok() ? *more : 0;
    }
    j["records"] = {{"committed", commit.ok() ? commit->count : 0},
                    {"present", present},
                    {"capacity",
                     compressed ? present : SegmentCapacity(f, layout)}};
  }
  return j;
}

std::string SlotText(const json& slot) {
  if (slot.is_null()) return "not valid (never written, torn or corrupt)";
  return absl::StrFormat("sequence %d: %d records, %d bytes",
                         slot["sequence"].get<uint64_t>(),
                         slot["count"].get<uint64_t>(),
                         slot["length"].get<uint64_t>());
}

void PrintFileInfo(const json& j) {
  auto row = [](absl::string_view name, const std::string& value) {
    std::cout << absl::StrFormat("  %-14s %s\n", name, value);
  };
  std::cout << Escape(j["path"].get<std::string>()) << ": mapfile "
            << j["kind"].get<std::string>() << ", format "
            << j["format_major"].get<int>() << "."
            << j["format_minor"].get<int>() << "\n";
  row("type", Escape(TypeOf(j["type"]).ToString()));
  if (j.contains("first_sequence")) {
    const uint64_t first = j["first_sequence"].get<uint64_t>();
    row("sequences", absl::StrFormat(
                         "[%d, %d)", first,
                         first + j["records"]["committed"].get<uint64_t>()));
    std::string state = j["sealed"].get<bool>() ? "sealed" : "active";
    if (j["compressed"].get<bool>()) {
      state += ", zstd";
      if (j.contains("compression_ratio")) {
        absl::StrAppendFormat(&state, " %.1fx of %d bytes",
                              j["compression_ratio"].get<double>(),
                              j["uncompressed_length"].get<uint64_t>());
      }
    }
    row("state", state);
  }
  if (j.contains("records")) {
    const json& r = j["records"];
    std::string text =
        absl::StrFormat("%d committed", r["committed"].get<uint64_t>());
    if (r.contains("present")) {
      absl::StrAppendFormat(&text, ", %d present", r["present"].get<uint64_t>());
    }
    absl::StrAppendFormat(&text, ", room for %d", r["capacity"].get<uint64_t>());
    row("records", text);
  }
  row("commit", j["commit"].is_null()
                    ? "DAMAGED: " + Escape(j["commit_error"].get<std::string>())
                    : SlotText(j["commit"]));
  for (int i = 0; i < 2; ++i) {
    row(absl::StrCat("slot ", i), SlotText(j["slots"][i]));
  }
  row("data", absl::StrFormat("at offset %d, records aligned to %d",
                              j["data_offset"].get<uint64_t>(),
                              j["record_alignment"].get<uint64_t>()));
  row("byte order", j["byte_order"].get<std::string>());
  row("checksum", j["checksum"].get<std::string>());
  row("file", absl::StrFormat("%d bytes, %d allocated",
                              j["file_size"].get<uint64_t>(),
                              j["allocated_size"].get<uint64_t>()));
  if (!j["residency"].is_null()) {
    row("resident", absl::StrFormat("%.1f%%", 100 * j["residency"].get<double>()));
  }
}

// The files of a log directory that are not (yet) part of it, so that
// `info` shows what takes disk and what the next writer's Open will do
// (docs/DESIGN.md, "The log's commit protocol"): temporary segments
// ("<first>.seg.tmp") and retired ones kept for reuse ("<first>.seg.free").
// A temporary from the log's end on was rolled into since the last Sync
// ("rolled": the next Sync names it, or the next writer's Open adopts the
// records it holds) or prepared for the next roll ("prepared": no record
// yet); one below it is a rewrite of a named segment (Compress, Decompress)
// under way or left by a dead writer ("rewrite": the next writer's Open
// removes it). Records of a fixed-size log's temporary: those after its
// commit whose checksums hold, as for a live segment; a blob log's are not
// counted here (its `tail` line counts what recovery keeps).
void AddPendingFiles(const std::string& dir, bool blob, json* j) {
  const uint64_t next =
      j->contains("next_seq") ? (*j)["next_seq"].get<uint64_t>() : 0;
  json temporaries = json::array();
  uint64_t pending = 0, allocated = 0;
  absl::StatusOr<std::vector<SegmentName>> temps =
      ListSegmentFiles(dir, internal::kTempSuffix);
  for (const SegmentName& name :
       temps.ok() ? *temps : std::vector<SegmentName>()) {
    absl::StatusOr<FileReader> f = FileReader::Open(name.path);
    if (!f.ok()) {
      temporaries.push_back({{"path", name.path},
                             {"first_sequence", name.first},
                             {"error", std::string(f.status().message())}});
      continue;
    }
    json t = {{"path", name.path},
              {"first_sequence", name.first},
              {"file_size", f->size()},
              {"allocated_size", f->allocated()}};
    allocated += f->allocated();
    if (!blob && f->header().kind == ContainerKind::kLogSegment &&
        f->commit().ok()) {
      t["records"] = FileInfo(*f)["records"]["present"];
    }
    const uint64_t records =
        t.contains("records") ? t["records"].get<uint64_t>() : 0;
    if (name.first < next) {
      t["role"] = "rewrite";
    } else if (t.contains("records") && records == 0) {
      t["role"] = "prepared";
    } else {
      t["role"] = "rolled";
      pending += records;
    }
    temporaries.push_back(std::move(t));
  }
  (*j)["temporaries"] = std::move(temporaries);
  (*j)["temporary_allocated_size"] = allocated;
  if (!blob) (*j)["pending_records"] = pending;
  json retired = json::array();
  absl::StatusOr<std::vector<SegmentName>> free =
      ListSegmentFiles(dir, internal::kFreeSuffix);
  for (const SegmentName& name :
       free.ok() ? *free : std::vector<SegmentName>()) {
    struct stat st;
    if (::stat(name.path.c_str(), &st) != 0) continue;  // reused meanwhile
    retired.push_back(
        {{"path", name.path},
         {"file_size", static_cast<uint64_t>(st.st_size)},
         {"allocated_size", static_cast<uint64_t>(st.st_blocks) * 512}});
  }
  (*j)["retired"] = std::move(retired);
}

// The lines AddPendingFiles' fields print as (none if there are none).
void PrintPendingFiles(const json& j) {
  const json& temporaries = j["temporaries"];
  if (!temporaries.empty()) {
    std::string text =
        absl::StrFormat("%d temporary segment%s, %d bytes allocated",
                        temporaries.size(), temporaries.size() == 1 ? "" : "s",
                        j["temporary_allocated_size"].get<uint64_t>());
    if (j.contains("pending_records") &&
        j["pending_records"].get<uint64_t>() > 0) {
      absl::StrAppendFormat(&text,
                            "; %d records not yet named by a Sync (the next "
                            "Sync names them, the next writer's Open "
                            "keeps them)",
                            j["pending_records"].get<uint64_t>());
    }
    std::cout << absl::StrFormat("  %-14s %s\n", "temporaries", text);
    for (const json& t : temporaries) {
      std::string line = absl::StrFormat("    %s: from %d",
                                         Escape(t["path"].get<std::string>()),
                                         t["first_sequence"].get<uint64_t>());
      if (t.contains("error")) {
        absl::StrAppend(
            &line, ": unreadable: ", Escape(t["error"].get<std::string>()));
      } else {
        const std::string role = t["role"].get<std::string>();
        if (role == "rewrite") {
          absl::StrAppend(&line,
                          ", a rewrite of the named segment (the "
                          "next writer's Open removes it)");
        } else if (role == "prepared") {
          absl::StrAppend(&line, ", prepared for the next roll, no records");
        } else if (t.contains("records")) {
          absl::StrAppendFormat(&line,
                                ", %d records rolled into since the "
                                "last Sync",
                                t["records"].get<uint64_t>());
        } else {
          absl::StrAppend(&line, ", rolled into since the last Sync");
        }
        absl::StrAppendFormat(&line, ", %d bytes, %d allocated",
                              t["file_size"].get<uint64_t>(),
                              t["allocated_size"].get<uint64_t>());
      }
      std::cout << line << "\n";
    }
  }
  const json& retired = j["retired"];
  if (!retired.empty()) {
    uint64_t allocated = 0;
    for (const json& r : retired)
      allocated += r["allocated_size"].get<uint64_t>();
    std::cout << absl::StrFormat(
        "  %-14s %d segment%s kept for reuse, %d bytes allocated\n", "retired",
        retired.size(), retired.size() == 1 ? "" : "s", allocated);
  }
}

// A log directory: totals, then each segment as FileInfo describes it.
json LogInfo(const std::string& dir, const std::vector<SegmentName>& names,
             absl::Status* damage) {
  json j = {{"path", dir}, {"kind", "log"}, {"segments", json::array()}};
  uint64_t committed = 0, present = 0, bytes = 0, allocated = 0;
  for (const SegmentName& name : names) {
    absl::StatusOr<FileReader> f = FileReader::Open(name.path);
    if (f.ok() && f->header().kind != ContainerKind::kLogSegment) {
      // A file named like a segment that holds another kind: its info has
      // no segment fields to add up (hostile_files_test).
      f = absl::FailedPreconditionError(
          absl::StrCat("\"", name.path, "\" holds a ",
                       KindName(f->header().kind), ", not a log segment"));
    }
    if (!f.ok() || !f->commit().ok()) {
      const absl::Status s = f.ok() ? f->commit().status() : f.status();
      if (damage->ok()) *damage = s;
      j["segments"].push_back(
          {{"path", name.path}, {"error", std::string(s.message())}});
      if (!f.ok()) continue;
    }
    json segment = FileInfo(*f);
    if (!j.contains("type")) {
      j["type"] = segment["type"];
      j["first_seq"] = segment["first_sequence"];
    } else if (j["next_seq"] != name.first) {
      const absl::Status gap = absl::DataLossError(absl::StrCat(
          "log \"", dir, "\": records [", j["next_seq"].get<uint64_t>(), ", ",
          name.first, ") are missing before \"", name.path, "\" (a gap)"));
      if (damage->ok()) *damage = gap;
      j["gaps"].push_back({{"from", j["next_seq"]}, {"to", name.first}});
    }
    committed += segment["records"]["committed"].get<uint64_t>();
    present += segment["records"]["present"].get<uint64_t>();
    j["next_seq"] = segment["first_sequence"].get<uint64_t>() +
                    segment["records"]["committed"].get<uint64_t>();
    bytes += f->size();
    allocated += f->allocated();
    if (f->commit().ok()) j["segments"].push_back(std::move(segment));
  }
  j["records"] = {{"committed", committed}, {"present", present}};
  j["file_size"] = bytes;
  j["allocated_size"] = allocated;
  AddPendingFiles(dir, /*blob=*/false, &j);
  return j;
}

void PrintLogInfo(const json& j) {
  std::cout << Escape(j["path"].get<std::string>()) << ": mapfile log";
  if (j.contains("type")) {
    std::cout << " of " << Escape(TypeOf(j["type"]).ToString()) << "\n"
              << absl::StrFormat(
                     "  %-14s [%d, %d): %d committed, %d present\n",
                     "sequences", j["first_seq"].get<uint64_t>(),
                     j["next_seq"].get<uint64_t>(),
                     j["records"]["committed"].get<uint64_t>(),
                     j["records"]["present"].get<uint64_t>());
  } else {
    std::cout << "\n";
  }
  std::cout << absl::StrFormat("  %-14s %d, %d bytes, %d allocated\n",
                               "segments", j["segments"].size(),
                               j["file_size"].get<uint64_t>(),
                               j["allocated_size"].get<uint64_t>());
  PrintPendingFiles(j);
  for (const json& s : j["segments"]) {
    std::cout << "\n";
    if (s.contains("error")) {
      std::cout << Escape(s["path"].get<std::string>())
                << ": DAMAGED: " << Escape(s["error"].get<std::string>())
                << "\n";
    } else {
      PrintFileInfo(s);
    }
  }
}

// ---------------------------------------------------------------- verify

constexpr size_t kMaxFindings = 100;

// Verify's result: findings, and an error that stopped it (not damage).
struct Verdict {
  json findings = json::array();
  // What recovery will do on its own, by design (a commit torn by a power
  // loss): reported, not damage (exit 0).
  json warnings = json::array();
  absl::Status error;
  uint64_t records = 0;
  uint64_t bytes = 0;

  // Records `status` at `file`/`offset`: DataLoss is a finding, anything
  // else an error. Returns false when verification cannot go on.
  bool Add(const std::string& file, uint64_t offset,
           std::optional<uint64_t> sequence, const absl::Status& status) {
    if (status.ok()) return true;
    if (!absl::IsDataLoss(status)) {
      if (error.ok()) error = status;
      return false;
    }
    if (findings.size() < kMaxFindings) {
      findings.push_back({{"segment", file},
                          {"offset", offset},
                          {"sequence", sequence ? json(*sequence) : json()},
                          {"problem", std::string(status.message())}});
    }
    return findings.size() < kMaxFindings;
  }
  void Warn(const std::string& file, uint64_t offset, uint64_t sequence,
            const std::string& problem) {
    warnings.push_back({{"segment", file},
                        {"offset", offset},
                        {"sequence", sequence},
                        {"problem", problem}});
  }
};

// Reads every committed byte of a vector: there are no per-record
// checksums, so this finds I/O errors and a file that shrank.
void VerifyVector(const FileReader& f, Verdict& v) {
  const CommitSlot& c = *f.commit();
  const uint64_t begin = f.header().data_offset;
  Progress progress(absl::StrCat("verify ", f.path()), c.length);
  std::vector<std::byte> buffer(std::min<uint64_t>(kChunk, c.length));
  for (uint64_t at = begin; at < begin + c.length;) {
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(kChunk, begin + c.length - at));
    if (!v.Add(f.path(), at, std::nullopt, f.Read(at, buffer.data(), n))) return;
    at += n;
    progress.Update(at - begin);
  }
  v.records += c.count;
  v.bytes += c.length;
}

// One segment of a log; `expected` is where it should start (after the
// previous one), `type` the log's record type; `last`: the log's last.
void VerifySegment(const FileReader& f, const SegmentName& name,
                   uint64_t expected, const TypeFingerprint& type, bool last,
                   Verdict& v) {
  const FileHeader& h = f.header();
  const std::string& path = f.path();
  auto damage = [&](uint64_t offset, std::optional<uint64_t> seq,
                    const std::string& what) {
    return v.Add(path, offset, seq,
                 absl::DataLossError(
                     absl::StrCat("log segment \"", path, "\": ", what)));
  };
  if (absl::Status s = CheckCompatible(h, ContainerKind::kLogSegment, type, path);
      !s.ok() && !damage(0, std::nullopt, std::string(s.message()))) {
    return;
  }
  if (h.first_sequence != name.first &&
      !damage(0, h.first_sequence,
              absl::StrCat("its header says its first record is ",
                           h.first_sequence, ", its name says ", name.first))) {
    return;
  }
  if (expected != name.first &&
      !damage(0, expected,
              expected < name.first
                  ? absl::StrCat("records [", expected, ", ", name.first,
                                 ") are missing before \"", path,
                                 "\" (a gap)")
                  : absl::StrCat("it starts at ", name.first,
                                 " but the previous segment ends at ",
                                 expected, " (an overlap)"))) {
    return;
  }
  const internal::LogLayout layout(h.type);
  const CommitSlot& c = *f.commit();
  // Recovery reads a bad frame of the active segment's newest commit as a
  // torn Sync (LogStore::LastWholeCommit, mapfile/log_recovery.cc): it
  // falls back to the commit before and cuts the rest.
  const bool active =
      last && !(h.segment_flags & kSegmentCompressed) && !Sealed(f);
  const uint64_t newest = h.first_sequence + internal::NewestCommitFrom(h, c);
  bool torn = false;
  auto bad = [&](uint64_t seq, uint64_t offset) {
    if (active && seq >= newest) {
      // What recovery does by design, not damage: say it once.
      if (!torn) {
        torn = true;
        v.Warn(path, offset, seq,
               absl::StrCat(
                   "log segment \"", path, "\": the newest commit (sequence ",
                   c.sequence, ", records [", newest, ", ",
                   h.first_sequence + c.count, ")) was torn by a power loss: "
                   "record ", seq, " fails its checksum. Its Sync never "
                   "returned; recovery (the next writer's Open, or `mapfile "
                   "recover --yes`) keeps the records before ", seq,
                   ", cuts the rest and makes that durable"));
      }
      return true;
    }
    return damage(offset, seq,
                  absl::StrCat("record ", seq, " fails its checksum"));
  };
  absl::StatusOr<uint64_t> checked;
  if (h.segment_flags & kSegmentCompressed) {
    checked = CheckCompressedFrames(f, layout, c, bad);
  } else if (absl::Status commit =
                 internal::CheckCommit(path, layout, h, c, f.size());
             !commit.ok()) {
    checked = commit;
  } else {
    Progress progress(absl::StrCat("verify ", path), c.count);
    checked = CheckFrames(f, layout, 0, c.count, bad,
                          [&](uint64_t done) { progress.Update(done); });
  }
  if (!checked.ok()) {
    v.Add(path, h.data_offset, std::nullopt, checked.status());
    return;
  }
  v.records += *checked;
  v.bytes += c.length;
}

// The first temporary segment of the log in `dir` that is a segment being
// appended to (as the library's Open chooses it for a log left with only
// temporaries); NotFound if none.
absl::StatusOr<std::string> FirstLiveTemp(const std::string& dir) {
  MAPFILE_ASSIGN_OR_RETURN(std::vector<SegmentName> temps,
                           ListSegmentFiles(dir, internal::kTempSuffix));
  for (const SegmentName& t : temps) {
    absl::StatusOr<FileReader> f = FileReader::Open(t.path);
    if (f.ok() && f->header().first_sequence == t.first &&
        (f->header().segment_flags & (kSegmentSealed | kSegmentCompressed)) ==
            0) {
      return t.path;
    }
  }
  return absl::NotFoundError(absl::StrCat("\"", dir, "\": no temporary segment"));
}

Verdict Verify(const std::string& path, std::string* kind) {
  Verdict v;
  struct stat st;
  absl::StatusOr<os::Fd> fd = OpenInput(path, &st);
  if (!fd.ok()) {
    v.Add(path, 0, std::nullopt, fd.status());
    return v;
  }
  std::vector<SegmentName> names;
  if (S_ISDIR(st.st_mode)) {
    absl::StatusOr<std::vector<SegmentName>> listed = ListSegments(path);
    absl::StatusOr<std::string> temp =
        listed.ok() ? absl::StatusOr<std::string>(absl::NotFoundError(""))
                    : FirstLiveTemp(path);
    if (temp.ok()) {
      // Recovery's case, not damage: a TruncateBefore interrupted between
      // retiring the last named segment and naming the next.
      *kind = "log";
      absl::StatusOr<FileReader> f = FileReader::Open(*temp);
      v.Warn(*temp, 0, f.ok() ? f->header().first_sequence : 0,
             absl::StrCat("no named segment: retention was interrupted after "
                          "retiring the last one; the next writer's Open (or "
                          "`mapfile recover --yes`) names this one and "
                          "recovers the log from it"));
      return v;
    }
    if (!v.Add(path, 0, std::nullopt, listed.status())) return v;
    names = *std::move(listed);
    *kind = "log";
  } else {
    names.push_back({0, path});
  }
  std::optional<TypeFingerprint> type;
  constexpr uint64_t kUnknown = ~uint64_t{0};  // after a damaged commit
  uint64_t expected = kUnknown;
  for (const SegmentName& name : names) {
    absl::StatusOr<FileReader> f = FileReader::Open(name.path);
    if (!v.Add(name.path, 0, std::nullopt, f.status())) return v;
    if (!f.ok()) continue;
    if (!S_ISDIR(st.st_mode)) {
      *kind = KindName(f->header().kind);
      names[0].first = f->header().first_sequence;
    }
    if (!v.Add(name.path, 0, std::nullopt, f->commit().status())) return v;
    if (!f->commit().ok()) {
      expected = kUnknown;
      continue;
    }
    if (f->header().kind == ContainerKind::kVector && !S_ISDIR(st.st_mode)) {
      VerifyVector(*f, v);
    } else {
      if (!type) type = f->header().type;
      VerifySegment(*f, name, expected == kUnknown ? name.first : expected,
                    *type, &name == &names.back(), v);
      expected = name.first + f->commit()->count;
    }
    if (!v.error.ok() || v.findings.size() >= kMaxFindings) return v;
  }
  return v;
}

// ---------------------------------------------------------------- blob logs

// Whether the log's last segment (which says what the log holds) is a blob
// log segment.
bool IsBlobLog(const std::vector<SegmentName>& names) {
  if (names.empty()) return false;
  absl::StatusOr<FileReader> f = FileReader::Open(names.back().path);
  return f.ok() && f->header().kind == ContainerKind::kBlobSegment;
}

// A blob log directory: totals through a BlobReader (the library's own
// view), then each segment's header, commit and index.
json BlobLogInfo(const std::string& dir, const std::vector<SegmentName>& names,
                 absl::Status* damage) {
  json j = {{"path", dir}, {"kind", "blob log"}, {"segments", json::array()}};
  absl::StatusOr<BlobReader> reader = BlobReader::Open(dir);
  if (reader.ok()) {
    j["first_seq"] = reader->first_seq();
    j["next_seq"] = reader->next_seq();
  } else {
    *damage = reader.status();
  }
  absl::StatusOr<RecoveryReport> plan = BlobLog::PlanRecovery(dir);
  if (plan.ok()) {
    j["kept_after_commit"] = plan->records_kept;
    j["bytes_to_cut"] = plan->bytes_cut;
  } else if (damage->ok()) {
    *damage = plan.status();
  }
  uint64_t bytes = 0, allocated = 0;
  for (const SegmentName& name : names) {
    absl::StatusOr<FileReader> f = FileReader::Open(name.path);
    if (f.ok() && f->header().kind != ContainerKind::kBlobSegment) {
      f = absl::FailedPreconditionError(
          absl::StrCat("\"", name.path, "\" holds a ",
                       KindName(f->header().kind), ", not a blob log segment"));
    }
    if (!f.ok() || !f->commit().ok()) {
      const absl::Status s = f.ok() ? f->commit().status() : f.status();
      if (damage->ok()) *damage = s;
      j["segments"].push_back(
          {{"path", name.path}, {"error", std::string(s.message())}});
      continue;
    }
    const uint32_t flags = f->header().segment_flags;
    const std::string index = absl::StrCat(
        dir, "/", internal::IndexFileName(name.first));
    struct stat ist;
    json segment = {{"path", name.path},
                    {"first_sequence", f->header().first_sequence},
                    {"committed", f->commit()->count},
                    {"commit", SlotJson(*f->commit())},
                    {"sealed", (flags & kSegmentSealed) != 0},
                    {"compressed", (flags & kSegmentCompressed) != 0},
                    {"index", ::stat(index.c_str(), &ist) == 0},
                    {"file_size", f->size()}};
    if (flags & kSegmentCompressed) {
      segment["uncompressed_length"] = f->header().uncompressed_length;
    }
    bytes += f->size();
    allocated += f->allocated();
    j["segments"].push_back(std::move(segment));
  }
  j["file_size"] = bytes;
  j["allocated_size"] = allocated;
  AddPendingFiles(dir, /*blob=*/true, &j);
  return j;
}

void PrintBlobLogInfo(const json& j) {
  std::cout << Escape(j["path"].get<std::string>())
            << ": mapfile blob log (variable-length records)\n";
  if (j.contains("next_seq")) {
    std::cout << absl::StrFormat("  %-14s [%d, %d): %d committed\n",
                                 "sequences", j["first_seq"].get<uint64_t>(),
                                 j["next_seq"].get<uint64_t>(),
                                 j["next_seq"].get<uint64_t>() -
                                     j["first_seq"].get<uint64_t>());
  }
  if (j.contains("kept_after_commit")) {
    std::cout << absl::StrFormat(
        "  %-14s %d intact after the commit, %d bytes to cut\n", "tail",
        j["kept_after_commit"].get<uint64_t>(),
        j["bytes_to_cut"].get<uint64_t>());
  }
  std::cout << absl::StrFormat("  %-14s %d, %d bytes, %d allocated\n",
                               "segments", j["segments"].size(),
                               j["file_size"].get<uint64_t>(),
                               j["allocated_size"].get<uint64_t>());
  PrintPendingFiles(j);
  for (const json& s : j["segments"]) {
    if (s.contains("error")) {
      std::cout << "  " << Escape(s["path"].get<std::string>())
                << ": DAMAGED: " << Escape(s["error"].get<std::string>())
                << "\n";
      continue;
    }
    std::cout << absl::StrFormat(
        "  %s: from %d, %d committed, %d bytes%s%s%s\n",
        Escape(s["path"].get<std::string>()),
        s["first_sequence"].get<uint64_t>(), s["committed"].get<uint64_t>(),
        s["file_size"].get<uint64_t>(),
        s["sealed"].get<bool>() ? ", sealed" : "",
        s["compressed"].get<bool>() ? ", compressed" : "",
        s["index"].get<bool>() ? ", indexed" : "");
  }
}

// Verify for a blob log (a directory, or one of its segments: the whole
// log is checked): every committed record read through a BlobReader, which
// checks its frame and checksum, and the tail Open would cut. *kind stays
// empty if `path` is not a blob log (Verify takes it).
Verdict VerifyBlobLog(const std::string& path, std::string* kind) {
  Verdict v;
  struct stat st;
  absl::StatusOr<os::Fd> fd = OpenInput(path, &st);
  if (!fd.ok()) return v;
  std::string dir = path;
  if (!S_ISDIR(st.st_mode)) {
    absl::StatusOr<FileReader> f = FileReader::Open(path);
    if (!f.ok() || f->header().kind != ContainerKind::kBlobSegment) return v;
    const size_t slash = path.find_last_of('/');
    dir = slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  }
  absl::StatusOr<std::vector<SegmentName>> names = ListSegments(dir);
  if (!names.ok() || !IsBlobLog(*names)) return v;
  *kind = "blob log";
  absl::StatusOr<BlobReader> reader = BlobReader::Open(dir);
  if (!reader.ok()) {
    v.Add(dir, 0, std::nullopt, reader.status());
    return v;
  }
  std::string record;
  const uint64_t next = reader->next_seq();
  Progress progress(absl::StrCat("verify ", dir), next);
  for (uint64_t seq = reader->first_seq(); seq < next; ++seq) {
    absl::Status s = reader->Read(seq, &record);
    if (!v.Add(dir, 0, seq, s)) return v;
    if (s.ok()) {
      ++v.records;
      v.bytes += record.size();
    }
    if (seq % 4096 == 0) progress.Update(seq);
  }
  absl::StatusOr<internal::RecoveryPlan> plan =
      internal::LogStore::PlanRecovery(dir, internal::BlobFingerprint(),
                                       internal::FrameKind::kBlob);
  if (!plan.ok()) {
    v.Add(dir, 0, std::nullopt, plan.status());
  } else if (plan->report.bytes_cut > 0) {
    v.Add(plan->segment, plan->cut_offset, std::nullopt,
          absl::DataLossError(absl::StrCat(
              "torn tail: ", plan->report.bytes_cut,
              " bytes after the last intact record (`mapfile recover` cuts "
              "them)")));
  }
  return v;
}

// ---------------------------------------------------------------- dump

// The records [first, last) that the options ask for.
absl::StatusOr<std::pair<uint64_t, uint64_t>> Range(const DumpOptions& o,
                                                    uint64_t first_seq,
                                                    uint64_t next_seq) {
  if (o.from && (*o.from < first_seq || *o.from > next_seq)) {
    return absl::OutOfRangeError(absl::StrFormat(
        "--from %d is outside the records of \"%s\": [%d, %d)", *o.from,
        o.path, first_seq, next_seq));
  }
  const uint64_t from = o.from.value_or(first_seq);
  uint64_t last = next_seq;
  if (o.to) last = std::min(last, std::max(*o.to, from));
  if (o.count) last = std::min(last, from + std::min(*o.count, last - from));
  return std::make_pair(from, last);
}

// ---------------------------------------------------------------- recover

// What AppendLog::Open would cut from the log in `dir` (the library's dry
// run of its own recovery), for the record type in the last segment's
// header, which goes to *type.
absl::StatusOr<internal::RecoveryPlan> PlanRecovery(
    const std::string& dir, TypeFingerprint* type, internal::FrameKind* frames) {
  absl::StatusOr<std::vector<SegmentName>> names = ListSegments(dir);
  std::string last;
  if (names.ok()) {
    last = names->back().path;
  } else {
    // Only temporaries (a TruncateBefore interrupted between retiring the
    // last named segment and naming the next): the first that is a segment
    // being appended to starts the log.
    absl::StatusOr<std::string> first = FirstLiveTemp(dir);
    if (!first.ok()) return names.status();
    last = *first;
  }
  MAPFILE_ASSIGN_OR_RETURN(FileReader f, FileReader::Open(last));
  *type = f.header().type;
  *frames = f.header().kind == ContainerKind::kBlobSegment
                ? internal::FrameKind::kBlob
                : internal::FrameKind::kFixed;
  return internal::LogStore::PlanRecovery(dir, *type, *frames);
}

// Copies [from, to) of `path` to `copy` (created; never overwritten), with
// the access (mode, owner, group) of `path`: the bytes are the segment's.
absl::Status SaveCopy(const std::string& path, uint64_t from, uint64_t to,
                      const std::string& copy) {
  MAPFILE_ASSIGN_OR_RETURN(FileReader f, FileReader::Open(path));
  MAPFILE_ASSIGN_OR_RETURN(struct stat original, os::Stat(path));
  MAPFILE_ASSIGN_OR_RETURN(
      os::Fd out, os::Open(copy, O_WRONLY | O_CREAT | O_EXCL, 0600));
  MAPFILE_RETURN_IF_ERROR(os::KeepAccess(out.get(), copy, original));
  std::vector<std::byte> buffer(std::min<uint64_t>(kChunk, to - from));
  for (uint64_t at = from; at < to;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, to - at));
    MAPFILE_RETURN_IF_ERROR(f.Read(at, buffer.data(), n));
    MAPFILE_RETURN_IF_ERROR(
        os::Pwrite(out.get(), copy, buffer.data(), n, at - from));
    at += n;
  }
  MAPFILE_RETURN_IF_ERROR(os::Fsync(out.get(), copy));
  return out.Close();
}

// The directory a log PATH names (itself, or a segment's parent).
absl::StatusOr<std::string> LogDir(const std::string& path) {
  struct stat st;
  MAPFILE_ASSIGN_OR_RETURN(os::Fd fd, OpenInput(path, &st));
  if (S_ISDIR(st.st_mode)) return path;
  MAPFILE_ASSIGN_OR_RETURN(FileReader f, FileReader::Open(path));
  if (f.header().kind != ContainerKind::kLogSegment &&
      f.header().kind != ContainerKind::kBlobSegment) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", path, "\" is a ", KindName(f.header().kind),
        "; this command works on logs (a log directory or a segment)"));
  }
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
}

// Opens the log in `dir` as its writer (the flock excludes a live writer);
// the library recovers the tail as AppendLog::Open does. `segment` is the
// log's last segment: a file the writer creates (the next segment after a
// sealed last one; LOCK, if it is missing) gets its permission bits rather
// than the default 0644. Rewritten segments keep their own.
absl::StatusOr<std::unique_ptr<internal::LogStore>> OpenWriter(
    const std::string& dir, const std::string& segment,
    const TypeFingerprint& type, internal::FrameKind frames, int level) {
  LogOptions options;
  options.mode = OpenMode::kReadWrite;
  options.compression_level = level;
  MAPFILE_ASSIGN_OR_RETURN(struct stat last, os::Stat(segment));
  options.permissions = last.st_mode & 0777;
  return internal::LogStore::Open(dir, options, type, /*writer=*/true, frames);
}

// `compress` and `decompress`: rewrites every sealed segment of the log
// that is not yet in the wanted form, through the library (checksums
// checked; temporary file, fsync, rename, directory fsync).
int RewriteSegments(const ReadOptions& o, int level, bool compress) {
  absl::StatusOr<std::string> dir = LogDir(o.path);
  if (!dir.ok()) return Fail(o, dir.status());
  TypeFingerprint type;
  internal::FrameKind frames;
  absl::StatusOr<internal::RecoveryPlan> plan =
      PlanRecovery(*dir, &type, &frames);
  if (!plan.ok()) return Fail(o, plan.status());
  if (plan->report.bytes_cut > 0) {
    return Fail(o, absl::FailedPreconditionError(absl::StrCat(
                       "\"", *dir, "\" has a torn tail; run `mapfile recover` "
                       "first")));
  }
  absl::StatusOr<std::unique_ptr<internal::LogStore>> log =
      OpenWriter(*dir, plan->segment, type, frames, level);
  if (!log.ok()) return Fail(o, log.status());
  // Listed after Open: a sealed last segment has a successor now.
  absl::StatusOr<std::vector<SegmentName>> names = ListSegments(*dir);
  if (!names.ok()) return Fail(o, names.status());
  const char* const verb = compress ? "compress" : "decompress";
  json done = json::array();
  Progress progress(absl::StrCat(verb, " ", *dir), names->size());
  for (size_t i = 0; i + 1 < names->size(); ++i) {
    const SegmentName& name = (*names)[i];
    absl::StatusOr<FileReader> f = FileReader::Open(name.path);
    if (!f.ok()) return Fail(o, f.status());
    if (((f->header().segment_flags & kSegmentCompressed) != 0) == compress) {
      continue;
    }
    absl::Status s = compress ? (*log)->Compress(name.first)
                              : (*log)->Decompress(name.first);
    if (!s.ok()) return Fail(o, s);
    absl::StatusOr<FileReader> after = FileReader::Open(name.path);
    if (!after.ok()) return Fail(o, after.status());
    done.push_back({{"segment", name.path},
                    {"bytes_before", f->size()},
                    {"bytes_after", after->size()}});
    if (!o.json) {
      std::cout << absl::StrFormat("%s: %d -> %d bytes\n", Escape(name.path),
                                   f->size(), after->size());
    }
    progress.Update(i + 1);
  }
  if (o.json) {
    Print({{"path", *dir}, {compress ? "compressed" : "decompressed", done}});
  }
  if (!o.json && done.empty()) {
    std::cout << absl::StrFormat("no sealed segment to %s\n", verb);
  }
  return kExitOk;
}

}  // namespace

int RunInfo(const ReadOptions& o) {
  struct stat st;
  absl::StatusOr<os::Fd> fd = OpenInput(o.path, &st);
  if (!fd.ok()) return Fail(o, fd.status());
  if (S_ISDIR(st.st_mode)) {
    absl::StatusOr<std::vector<SegmentName>> names = ListSegments(o.path);
    if (!names.ok()) return Fail(o, names.status());
    absl::Status damage;
    if (IsBlobLog(*names)) {
      const json j = BlobLogInfo(o.path, *names, &damage);
      o.json ? Print(j) : PrintBlobLogInfo(j);
      Report(damage);
      return ExitCodeOf(damage);
    }
    const json j = LogInfo(o.path, *names, &damage);
    o.json ? Print(j) : PrintLogInfo(j);
    Report(damage);
    return ExitCodeOf(damage);
  }
  absl::StatusOr<FileReader> f = FileReader::Open(o.path);
  if (!f.ok()) return Fail(o, f.status());
  const json j = FileInfo(*f);
  o.json ? Print(j) : PrintFileInfo(j);
  Report(f->commit().status());
  return ExitCodeOf(f->commit().status());
}

int RunVerify(const ReadOptions& o) {
  std::string kind;
  Verdict v = VerifyBlobLog(o.path, &kind);
  if (kind.empty()) v = Verify(o.path, &kind);
  const json& findings = v.findings;
  Report(v.error);
  if (o.json) {
    json j = {{"path", o.path},
              {"ok", findings.empty() && v.error.ok()},
              {"records_checked", v.records},
              {"bytes_checked", v.bytes},
              {"findings", findings},
              {"warnings", v.warnings}};
    if (!kind.empty()) j["kind"] = kind;
    if (!v.error.ok()) {
      j["error"] = {{"code", absl::StatusCodeToString(v.error.code())},
                    {"message", std::string(v.error.message())}};
    }
    Print(j);
  } else if (v.error.ok() || !findings.empty()) {
    if (findings.empty()) {
      std::cout << absl::StrFormat(
          "%s: OK%s: %s, %d records (%d bytes) checked\n", Escape(o.path),
          v.warnings.empty() ? "" : ", with a warning", kind, v.records,
          v.bytes);
    } else {
      std::cout << absl::StrFormat("%s: DAMAGED: %d problem%s%s\n",
                                   Escape(o.path), findings.size(),
                                   findings.size() == 1 ? "" : "s",
                                   findings.size() >= kMaxFindings
                                       ? " (stopped at the limit)"
                                       : "");
    }
    for (const json& f : findings) {
      std::cout << absl::StrFormat(
          "  segment %s, offset %d, sequence %s: %s\n",
          Escape(f["segment"].get<std::string>()), f["offset"].get<uint64_t>(),
          f["sequence"].is_null() ? "-" : f["sequence"].dump(),
          Escape(f["problem"].get<std::string>()));
    }
    for (const json& w : v.warnings) {
      std::cout << absl::StrFormat(
          "  warning: segment %s, offset %d, sequence %d: %s\n",
          Escape(w["segment"].get<std::string>()), w["offset"].get<uint64_t>(),
          w["sequence"].get<uint64_t>(),
          Escape(w["problem"].get<std::string>()));
    }
  }
  if (!v.error.ok()) return kExitError;
  return findings.empty() ? kExitOk : kExitDamage;
}

int RunSchema(const ReadOptions& o) {
  absl::StatusOr<std::unique_ptr<Records>> records = Records::Open(o.path);
  if (!records.ok()) return Fail(o, records.status());
  const TypeFingerprint& type = (*records)->type();
  if (o.json) {
    Print({{"path", o.path},
           {"type", TypeJson(type)},
           {"fields", FieldsJson(type)}});
    return kExitOk;
  }
  std::cout << absl::StrFormat("%s: %s", Escape(o.path),
                               Escape((*records)->Describe()));
  if (type.fields.empty()) {
    std::cout << ", no field schema (its type lists no MAPFILE_FIELDS)\n";
    return kExitOk;
  }
  std::cout << absl::StrFormat(", %d field%s\n", type.fields.size(),
                               type.fields.size() == 1 ? "" : "s");
  // Names are identifiers (DecodeHeader checked), types our own words.
  struct Row {
    std::string name, type;
    uint64_t offset, size;
  };
  std::vector<Row> rows = {{"name", "type", 0, 0}};
  for (const FieldInfo& f : type.fields) {
    rows.push_back({f.name, f.TypeName(), f.offset, f.size()});
  }
  for (const Gap& g : Gaps(type)) rows.push_back({"(gap)", "", g.offset, g.size});
  std::sort(rows.begin() + 1, rows.end(), [](const Row& a, const Row& b) {
    return a.offset < b.offset;
  });
  size_t name_width = 0, type_width = 0;
  for (const Row& r : rows) {
    name_width = std::max(name_width, r.name.size());
    type_width = std::max(type_width, r.type.size());
  }
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    std::cout << absl::StrFormat(
        "  %-*s  %-*s  %6s  %6s\n", name_width, r.name, type_width, r.type,
        i == 0 ? "offset" : absl::StrCat(r.offset),
        i == 0 ? "size" : absl::StrCat(r.size));
  }
  return kExitOk;
}

// Whether records print through their schema (fields.h) rather than as hex.
bool Typed(const Records& r, const RecordOutput& o) {
  return o.csv || (!o.hex && !r.type().fields.empty());
}

absl::Status EmitTyped(Records& r, uint64_t seq, FieldPrinter& printer,
                       std::string& buffer) {
  MAPFILE_RETURN_IF_ERROR(r.Payload(seq, &buffer));
  printer.Add(seq, reinterpret_cast<const std::byte*>(buffer.data()));
  return absl::OkStatus();
}

int RunDump(const DumpOptions& o) {
  absl::StatusOr<std::unique_ptr<Records>> records = Records::Open(o.path);
  if (!records.ok()) return Fail(o, records.status());
  Records& r = **records;
  const uint64_t first = r.first(), next = r.next();
  auto range = Range(o, first, next);
  if (!range.ok()) return Fail(o, range.status());
  absl::StatusOr<RawSink> sink =
      o.raw ? RawSink::Open(o.output, o.path)
            : absl::StatusOr<RawSink>(RawSink());
  if (!sink.ok()) return Fail(o, sink.status());
  if (!o.raw && Typed(r, o)) {
    const RecordFormat format = o.csv    ? RecordFormat::kCsv
                                : o.json ? RecordFormat::kJson
                                         : RecordFormat::kColumns;
    if (format == RecordFormat::kColumns) {
      std::cout << absl::StrFormat("%s: %s, records [%d, %d) of [%d, %d)\n",
                                   Escape(o.path), Escape(r.Describe()),
                                   range->first, range->second, first, next);
    }
    FieldPrinter printer(r.type(), r.byte_order(), format, std::cout);
    std::string buffer;
    absl::Status status;
    for (uint64_t i = range->first; status.ok() && i < range->second; ++i) {
      status = EmitTyped(r, i, printer, buffer);
    }
    printer.Flush();
    if (!status.ok()) return Fail(o, status);
    return kExitOk;
  }
  if (!o.json && !o.raw) {
    std::cout << absl::StrFormat("%s: %s, records [%d, %d) of [%d, %d)\n",
                                 Escape(o.path), Escape(r.Describe()),
                                 range->first, range->second, first, next);
  }
  json list = json::array();
  absl::Status status;
  for (uint64_t i = range->first; status.ok() && i < range->second; ++i) {
    status = r.Emit(i, o.json ? &list : nullptr, o.raw ? &*sink : nullptr);
  }
  if (status.ok()) status = sink->Close();
  if (!status.ok()) return Fail(o, status);
  if (o.json) {
    Print({{"path", o.path},
           {"records_of", r.Describe()},
           {"from", range->first},
           {"to", range->second},
           {"records", list}});
  }
  return kExitOk;
}

int RunTail(const TailOptions& o) {
  absl::StatusOr<std::unique_ptr<Records>> records = Records::Open(o.path);
  if (!records.ok()) return Fail(o, records.status());
  Records& r = **records;
  const uint64_t first = r.first();
  uint64_t next = std::max(first, r.next() - std::min(o.lines, r.next()));
  absl::Time idle_since = absl::Now();
  json line;
  const bool typed = Typed(r, o);
  FieldPrinter printer(r.type(), r.byte_order(),
                       o.csv    ? RecordFormat::kCsv
                       : o.json ? RecordFormat::kJson
                                : RecordFormat::kColumns,
                       std::cout);
  std::string buffer;
  while (true) {
    for (const uint64_t end = r.next(); next < end; ++next) {
      if (typed) {
        absl::Status s = EmitTyped(r, next, printer, buffer);
        if (!s.ok()) return Fail(o, s);
        idle_since = absl::Now();
        continue;
      }
      absl::Status s = r.Emit(next, o.json ? &line : nullptr, nullptr);
      if (!s.ok()) return Fail(o, s);
      // --json: one object per line (JSON Lines), as records arrive.
      if (o.json) {
        std::cout << line.dump(-1, ' ', true, json::error_handler_t::replace)
                  << '\n';
      }
      idle_since = absl::Now();
    }
    printer.Flush();
    std::cout << std::flush;
    if (!o.follow) return kExitOk;
    absl::Duration wait = absl::Milliseconds(500);
    if (o.timeout_seconds > 0) {
      wait = std::min(wait, absl::Seconds(o.timeout_seconds) -
                                (absl::Now() - idle_since));
      if (wait <= absl::ZeroDuration()) return kExitOk;
    }
    absl::Status s = r.Wait(next, wait);
    if (!s.ok() && !absl::IsDeadlineExceeded(s)) return Fail(o, s);
  }
}

int RunRecover(const RecoverOptions& o) {
  absl::StatusOr<std::string> dir = LogDir(o.path);
  if (!dir.ok()) return Fail(o, dir.status());
  TypeFingerprint type;
  internal::FrameKind frames;
  absl::StatusOr<internal::RecoveryPlan> plan =
      PlanRecovery(*dir, &type, &frames);
  if (!plan.ok()) return Fail(o, plan.status());
  const RecoveryReport& planned = plan->report;
  const std::string copy =
      o.save.empty() ? absl::StrCat(plan->segment, ".cut") : o.save;
  json j = {{"path", *dir},
            {"segment", plan->segment},
            {"committed", plan->committed},
            {"kept_after_commit", planned.records_kept},
            {"cut_offset", plan->cut_offset},
            {"bytes_to_cut", planned.bytes_cut},
            {"records_to_cut", planned.records_cut},
            {"written", false}};
  const bool cut = planned.bytes_cut > 0;
  // The newest slot on disk counts more records than recovery keeps: a
  // commit torn by a power loss, which recovery falls back from (and
  // rewrites, so that it no longer wins).
  uint64_t newest = plan->committed;
  if (absl::StatusOr<FileReader> f = FileReader::Open(plan->segment);
      f.ok() && f->commit().ok()) {
    newest = f->commit()->count;
  }
  const bool torn = newest > plan->committed;
  j["torn_commit"] = torn;
  if (!o.json) {
    std::cout << absl::StrFormat(
        "%s: %d committed records in the active segment %s, %d more with "
        "valid checksums after the commit\n",
        Escape(*dir), plan->committed, Escape(plan->segment),
        planned.records_kept);
    if (torn) {
      std::cout << absl::StrFormat(
          "torn commit: the newest commit (%d records) was torn by a power "
          "loss; recovery falls back to the commit before it (%d records)%s\n",
          newest, plan->committed,
          o.yes ? " and rewrites the torn one" : "");
    }
    std::cout << (cut ? absl::StrFormat(
                            "torn tail: %d bytes from offset %d %s\n",
                            planned.bytes_cut, plan->cut_offset,
                            o.yes ? "are cut" : "would be cut")
                      : "nothing to cut\n");
  }
  if ((cut || torn || planned.records_kept > 0) && o.yes) {
    absl::Status s =
        cut ? SaveCopy(plan->segment, plan->cut_offset,
                       plan->cut_offset + planned.bytes_cut, copy)
            : absl::OkStatus();
    absl::StatusOr<std::unique_ptr<internal::LogStore>> log =
        s.ok() ? OpenWriter(*dir, plan->segment, type, frames, 3)
               : absl::StatusOr<std::unique_ptr<internal::LogStore>>(s);
    if (!log.ok()) return Fail(o, log.status());
    // What recovery kept is committed (a writer's Open leaves that to its
    // first Sync).
    if (absl::Status synced = (*log)->Sync(); !synced.ok()) {
      return Fail(o, synced);
    }
    const RecoveryReport& report = (*log)->recovery();
    j["written"] = true;
    if (cut) j["copy"] = copy;
    j["records_kept"] = report.records_kept;
    j["records_cut"] = report.records_cut;
    j["bytes_cut"] = report.bytes_cut;
    if (!o.json) {
      std::cout << absl::StrFormat(
          "recovered: %d records kept, %d records (%d bytes) cut%s\n",
          report.records_kept, report.records_cut, report.bytes_cut,
          cut ? absl::StrCat("; the cut bytes are in ", Escape(copy)) : "");
    }
  } else if (cut && !o.json) {
    std::cout << "run again with --yes to cut it (a copy is kept in "
              << Escape(copy) << ")\n";
  } else if ((torn || planned.records_kept > 0) && !o.json) {
    std::cout << "run again with --yes (or open the log for writing and "
                 "Sync) to make the recovery durable\n";
  }
  if (o.json) Print(j);
  return kExitOk;
}

int RunCompress(const CompressOptions& o) {
  return RewriteSegments(o, o.level, /*compress=*/true);
}

int RunDecompress(const ReadOptions& o) {
  return RewriteSegments(o, 3, /*compress=*/false);
}

}  // namespace cli
}  // namespace mapfile
