// Copyright 2026 The mapfile Authors.
//
// mapfile: inspect, verify, dump, follow, recover and (de)compress mapfile
// files.
//
//   mapfile <command> [options] PATH
//
// This file only parses the command line (CLI11); commands.cc does the
// work. Help goes to stdout, errors to stderr; exit codes are in
// commands.h and docs/CLI.md.

#include <cstdio>
#include <exception>
#include <new>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "mapfile/format.h"
#include "tools/commands.h"

namespace {

// Keep in step with project(VERSION) in CMakeLists.txt and MODULE.bazel
// (cli_test checks the CMake one).
constexpr char kVersion[] = "0.1.0";

using mapfile::cli::ReadOptions;

CLI::App* AddRead(CLI::App& app, const char* name, const char* description,
                  ReadOptions& options) {
  CLI::App* command = app.add_subcommand(name, description);
  command->add_option("PATH", options.path,
                      "a vector file, a log segment or a log directory")
      ->required();
  command->add_flag("--json", options.json,
                    "print one JSON document (fields: docs/CLI.md)");
  return command;
}

// --hex and --csv, shared by dump, tail and follow.
void AddRecordOutput(CLI::App* command, mapfile::cli::RecordOutput& output,
                     CLI::Option* raw) {
  CLI::Option* hex = command->add_flag(
      "--hex", output.hex, "hex even when the file has a field schema");
  CLI::Option* csv = command->add_flag(
      "--csv", output.csv, "CSV with a header row (one column per field)");
  csv->excludes(hex);
  csv->excludes(command->get_option("--json"));
  if (raw != nullptr) csv->excludes(raw);
}

int Run(int argc, char** argv) {
  namespace cli = mapfile::cli;
  CLI::App app(
      "mapfile: inspect, verify, dump and follow mapfile files (vectors, log "
      "segments, log directories). Exit codes: 0 ok, 1 damage found, 2 usage "
      "or I/O error.",
      "mapfile");
  app.set_version_flag("--version",
                       absl::StrCat("mapfile ", kVersion, " (file format ",
                                    mapfile::kFormatMajor, ".",
                                    mapfile::kFormatMinor, ")"));
  app.require_subcommand(1, 1);

  ReadOptions info, verify;
  AddRead(app, "info",
          "kind, record type, counts, commit slots, sizes; for a log, also "
          "its temporary and retired segments",
          info);
  AddRead(app, "verify",
          "check every header and record checksum (read-only); exit 1 if "
          "damage is found",
          verify);

  ReadOptions schema;
  AddRead(app, "schema",
          "the record type's fields (name, type, offset, size), from "
          "MAPFILE_FIELDS",
          schema);

  cli::DumpOptions dump;
  CLI::App* d = AddRead(app, "dump",
                        "records as named columns (a file with a field "
                        "schema), as hex, as CSV, or raw",
                        dump);
  d->add_option("--from", dump.from, "first sequence number (vector: index)")
      ->check(CLI::NonNegativeNumber);
  CLI::Option* to = d->add_option("--to", dump.to, "stop before this one")
                        ->check(CLI::NonNegativeNumber);
  d->add_option("--count", dump.count, "at most this many records")
      ->check(CLI::NonNegativeNumber)
      ->excludes(to);
  CLI::Option* raw =
      d->add_flag("--raw", dump.raw, "the records' bytes, back to back");
  d->add_option("-o,--output", dump.output, "write --raw bytes to this file")
      ->needs(raw);
  AddRecordOutput(d, dump, raw);

  cli::TailOptions tail, follow;
  for (auto [name, options] : {std::pair{"tail", &tail}, {"follow", &follow}}) {
    CLI::App* t = AddRead(
        app, name,
        name == std::string("tail")
            ? "the last records; with -f, then new ones as they are committed"
            : "print new records as a writer commits them (tail -f)",
        *options);
    t->add_option("-n,--lines", options->lines,
                  "print the last N records first (default 10; follow: 0)")
        ->check(CLI::NonNegativeNumber);
    if (options == &tail) t->add_flag("-f,--follow", tail.follow, "keep going");
    AddRecordOutput(t, *options, nullptr);
    t->add_option("--timeout", options->timeout_seconds,
                  "stop after this many seconds without a new record")
        ->check(CLI::NonNegativeNumber);
  }
  follow.lines = 0;

  cli::RecoverOptions recover;
  CLI::App* r = AddRead(app, "recover",
                        "show the torn tail of a log that Open would cut; "
                        "with --yes, cut it (keeping a copy)",
                        recover);
  r->add_flag("-y,--yes", recover.yes, "cut (otherwise only show)");
  r->add_option("--save", recover.save,
                "where to keep the cut bytes (default: SEGMENT.cut)");

  cli::CompressOptions compress;
  CLI::App* c = AddRead(app, "compress",
                        "rewrite the sealed segments of a log as zstd", compress);
  c->add_option("--level", compress.level, "zstd level (default 3)")
      ->check(CLI::Range(1, 22));
  ReadOptions decompress;
  AddRead(app, "decompress",
          "rewrite the compressed segments of a log uncompressed", decompress);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? cli::kExitOk : cli::kExitError;
  }
  const std::string command = app.get_subcommands().front()->get_name();
  if (command == "info") return cli::RunInfo(info);
  if (command == "schema") return cli::RunSchema(schema);
  if (command == "verify") return cli::RunVerify(verify);
  if (command == "dump") return cli::RunDump(dump);
  if (command == "tail") return cli::RunTail(tail);
  if (command == "recover") return cli::RunRecover(recover);
  if (command == "compress") return cli::RunCompress(compress);
  if (command == "decompress") return cli::RunDecompress(decompress);
  follow.follow = true;
  return cli::RunTail(follow);
}

}  // namespace

// Out of memory (or any exception the library's own functions do not turn
// into a Status) ends the command with an error message and exit code 2,
// never std::terminate.
int main(int argc, char** argv) {
  try {
    return Run(argc, argv);
  } catch (const std::bad_alloc& e) {
    std::fputs("mapfile: out of memory (std::bad_alloc)\n", stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mapfile: %s\n", e.what());
  } catch (...) {
    std::fputs("mapfile: unexpected exception\n", stderr);
  }
  return mapfile::cli::kExitError;
}
