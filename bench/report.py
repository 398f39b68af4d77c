#!/usr/bin/python3
# Copyright 2026 The mapfile Authors.
"""Turns Google Benchmark JSON (bench/run) into bench/RESULTS.md and plots.

  bench/report.py RESULTS_DIR OUT_MD PLOTS_DIR

RESULTS_DIR holds <binary>.json (--benchmark_out_format=json, with
repetitions) and machine.txt ("key: value" lines). Every figure is the
median over the repetitions; ratios compare benchmarks of the same run.
"""

import glob
import json
import os
import sys

try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: E402
except ImportError:  # --log-write needs no plots; main() does
    plt = None

UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
PUSH = "BM_PushBack<{}, k{}>"
WAKE = "BM_{}Wakeup/tmpfs:{}/iterations:1000/manual_time"
PERCENTILES = ("p50", "p90", "p99", "p999", "max")
SIZES = (8, 64, 4096)
BACKENDS = ("Memcpy", "StdReused", "StdReserved", "Std", "FileWarm", "FileWarmAppend",
            "FilePopulate", "FileReserved", "File", "Scratch", "BoostWarm",
            "Boost")


def load(results_dir):
    """{binary: {name: median row}}, {name: [per-repetition ns]}."""
    medians, reps = {}, {}
    for path in sorted(glob.glob(os.path.join(results_dir, "*.json"))):
        rows = json.load(open(path)).get("benchmarks", [])
        binary = os.path.basename(path)[:-len(".json")]
        table = medians.setdefault(binary, {})
        for row in rows:
            name = row.get("run_name", row["name"])
            if row.get("error_occurred"):
                continue
            if row.get("run_type") == "aggregate":
                if row.get("aggregate_name") == "median":
                    table[name] = row
            else:
                table.setdefault(name, row)  # used when there is no median
                reps.setdefault(name, []).append(ns(row))
    return medians, reps


def ns(row):
    return row["real_time"] * UNIT_NS[row.get("time_unit", "ns")]


def find(medians, name):
    for table in medians.values():
        if name in table:
            return table[name]
    return None


def human(x, unit):
    for scale, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}"


def human_time(t):
    for scale, unit in ((1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1, "ns")):
        if t >= scale:
            return f"{t / scale:.3g} {unit}"
    return f"{t:.3g} ns"


# (what, numerator, denominator, metric, target, higher_is_better)
# metric: "items" or "bytes" per second, or "time". The ratio is
# numerator/denominator of that metric.
def checks():
    rows = []
    for size in SIZES:
        for std, what in (("StdReserved", "reserved, new"),
                          ("StdReused", "reserved, refilled")):
            rows.append((f"push_back {size} B, resident pages: MappedVector / "
                         f"std::vector ({what})", PUSH.format(size, "FileWarm"),
                         PUSH.format(size, std), "items",
                         0.8 if size == 64 else None, True))
    for kind in ("Warm", ""):
        rows.append((f"push_back 64 B, {'resident' if kind else 'fresh'} "
                     "file: MappedVector / Boost.Interprocess",
                     PUSH.format(64, "File" + kind),
                     PUSH.format(64, "Boost" + kind), "items", 3.0, True))
    for size in SIZES:
        for backend, what in (("FileWarm", "push_back"),
                              ("FileWarmAppend", "append")):
            rows.append((f"{what} {size} B into resident pages / memcpy",
                         PUSH.format(size, backend),
                         PUSH.format(size, "Memcpy"), "bytes", 0.5, True))
    for backend, what in (("File", "growing"), ("FileReserved", "reserve(n)"),
                          ("FilePopulate", "reserve(n) + populate")):
        rows.append((f"push_back 64 B, fresh file ({what}) / memcpy",
                     PUSH.format(64, backend), PUSH.format(64, "Memcpy"),
                     "bytes", None, True))
    rows.append(("random read operator[]: MappedVector / std::vector (time)",
                 "BM_RandomRead_MappedVector", "BM_RandomRead_StdVector",
                 "time", 1.1, False))
    for n in (1, 1000):
        rows.append((f"Sync after {n} record(s) / msync+fdatasync (time)",
                     f"BM_Sync/records:{n}/how:0/real_time",
                     f"BM_Sync/records:{n}/how:1/real_time", "time", 1.2,
                     False))
        rows.append((f"Sync after {n} record(s) / pwrite+fdatasync (time)",
                     f"BM_Sync/records:{n}/how:0/real_time",
                     f"BM_Sync/records:{n}/how:2/real_time", "time", None,
                     False))
    rows.append(("group commit: Sync after 1000 / after 1 record (time)",
                 "BM_Sync/records:1000/how:0/real_time",
                 "BM_Sync/records:1/how:0/real_time", "time", None, False))
    rows.append(("MappedFile::Sync one page / msync+fdatasync (time)",
                 "BM_SyncOnePage/how:0/real_time",
                 "BM_SyncOnePage/how:1/real_time", "time", 1.2, False))
    rows.append(("Open 1 GiB / Open 1 MiB (time)", "BM_Open/bytes:1073741824",
                 "BM_Open/bytes:1048576", "time", 2.0, False))
    rows.append(("AppendLog::Append 64 B / LMDB put", "BM_LogAppend<64>",
                 "BM_LmdbPut<64>", "items", 5.0, True))
    rows.append(("AppendLog::Append 64 B / write(2), 1 MiB buffer",
                 "BM_LogAppend<64>", "BM_Write2Buffered<64>", "items", 1.0,
                 True))
    rows.append(("AppendLog::AppendBatch 64 B / memcpy", "BM_LogAppendBatch<64>",
                 PUSH.format(64, "Memcpy"), "bytes", None, True))
    for size in (64, 1024):
        rows.append((f"AppendLog::Append {size} B / LevelDB put (sync=false)",
                     f"BM_LogAppend<{size}>", f"BM_LevelDbPut<{size}>",
                     "items", None, True))
    rows.append(("AppendLog::Read random 64 B / pread(2) (time)",
                 "BM_LogRead_Random", "BM_LogRead_Pread", "time", None, False))
    rows.append(("LogReader::Read random 64 B / pread(2) (time)",
                 "BM_LogReaderRead_Random", "BM_LogRead_Pread", "time", None,
                 False))
    rows.append(("AppendLog Append+Sync / pwrite+fdatasync, 64 B (time)",
                 "BM_LogAppendSync/records:1", "BM_PwriteSync/how:0", "time",
                 1.2, False))
    rows.append(("group commit: AppendLog Sync of 1000 / of 1 record (time)",
                 "BM_LogAppendSync/records:1000", "BM_LogAppendSync/records:1",
                 "time", None, False))
    for what, name in (("AppendLog::Open", "BM_LogOpen"),
                       ("LogReader::Open", "BM_LogReaderOpen")):
        rows.append((f"{what} 10^7 / 10^3 records (time)",
                     f"{name}/records:10000000", f"{name}/records:1000",
                     "time", 2.0, False))
    rows.append(("recovery: Open after a torn tail of 1000 records / clean "
                 "Open (time)", "BM_LogRecover/tail:1000",
                 "BM_LogOpen/records:1000", "time", None, False))
    rows.append(("recovery: torn tail of 10^5 / 10^3 records (time)",
                 "BM_LogRecover/tail:100000", "BM_LogRecover/tail:1000",
                 "time", None, False))
    for fs, label in ((1, "tmpfs"), (0, "disk")):
        rows.append((f"WaitFor / 1 ms polling, p50 wake-up on {label} (time)",
                     WAKE.format("WaitFor", fs), WAKE.format("Poll", fs),
                     "counter:p50_us", None, False))
    rows.append(("pretouch: Append 64 B into a new log, on / off",
                 "BM_LogAppendPretouch<64>/pretouch:4194304",
                 "BM_LogAppendPretouch<64>/pretouch:0", "items", 2.0, True))
    rows.append(("pretouch: push_back into a new file, on / off",
                 "BM_PushBackPretouch/pretouch:4194304",
                 "BM_PushBackPretouch/pretouch:0", "bytes", 2.0, True))
    for size in (100, 1024, 65536):
        rows.append((f"BlobLog::Append {size} B / framed write(2), 1 MiB "
                     "buffer", f"BM_BlobAppend<{size}>",
                     f"BM_Write2Framed<{size}>", "bytes",
                     None if size == 100 else 0.9, True))
        rows.append((f"BlobLog::Append {size} B / LevelDB log (sync=false)",
                     f"BM_BlobAppend<{size}>", f"BM_LevelDbLog<{size}>",
                     "bytes", 5.0, True))
    rows.append(("BlobReader::Read random 1 KiB / pread(2) (time)",
                 "BM_BlobRead_Random", "BM_BlobRead_Pread", "time", 0.5,
                 False))
    rows.append(("fresh page: MADV_POPULATE_WRITE + store / write fault",
                 "BM_FreshPage/populate:1", "BM_FreshPage/populate:0", "items",
                 None, True))
    return rows


def metric(row, kind):
    if kind == "time":
        return ns(row)
    if kind.startswith("counter:"):
        return row.get(kind[len("counter:"):])
    return row.get(f"{kind}_per_second")


def ratio_table(medians):
    out = ["| what | ratio | target | numerator | denominator |",
           "|---|---|---|---|---|"]
    for what, num, den, kind, target, higher in checks():
        a, b = find(medians, num), find(medians, den)
        if a is None or b is None or not metric(a, kind) or not metric(b, kind):
            continue
        r = metric(a, kind) / metric(b, kind)
        goal = "-"
        if target is not None:
            met = r >= target if higher else r <= target
            goal = f"{'>=' if higher else '<='} {target:g}: " + (
                "met" if met else "**missed**")
        show = human_time if kind == "time" else (
            (lambda x: f"{x:.3g} µs") if kind.startswith("counter:") else (
            lambda x: human(x, "B/s" if kind == "bytes" else "/s")))
        out.append(f"| {what} | {r:.2f}x | {goal} | {show(metric(a, kind))} "
                   f"`{num}` | {show(metric(b, kind))} `{den}` |")
    return out


def absolute_tables(medians):
    out = []
    for binary, table in medians.items():
        out += ["", f"### {binary}", "",
                "| benchmark | time (median) | CPU | items/s | bytes/s |",
                "|---|---|---|---|---|"]
        for name, row in table.items():
            cpu = row["cpu_time"] * UNIT_NS[row.get("time_unit", "ns")]
            items, by = row.get("items_per_second"), row.get("bytes_per_second")
            out.append(f"| `{name}` | {human_time(ns(row))} | {human_time(cpu)} "
                       f"| {human(items, '/s') if items else ''} "
                       f"| {human(by, 'B/s') if by else ''} |")
    return out


def wakeup_cases(medians):
    """[(label, median row)] of the wake-up benchmarks that ran."""
    cases = []
    for how, what in (("WaitFor", "WaitFor"), ("Poll", "1 ms polling")):
        for fs, where in ((1, "tmpfs"), (0, "disk")):
            row = find(medians, WAKE.format(how, fs))
            if row is not None:
                cases.append((f"{what}, {where}", row))
    return cases


def wakeup_table(medians):
    out = ["| reader waits by | " + " | ".join(PERCENTILES) +
           " | from Sync() return, p50 | Sync p50 | idle reader CPU |",
           "|---|" + "---|" * (len(PERCENTILES) + 3)]
    for label, row in wakeup_cases(medians):
        us = lambda name: (human_time(row.get(name, 0) * 1e3)
                           if row.get(name, 0) >= 0 else
                           f"{row[name]:.3g} µs")
        cells = [us(p + "_us") for p in PERCENTILES]
        out.append(f"| {label} | " + " | ".join(cells) +
                   f" | {us('ret_p50_us')} | {us('sync_p50_us')}"
                   f" | {row.get('idle_cpu_pct', 0):.2g} % |")
    return out if len(out) > 2 else []


def plot_wakeup(medians, path):
    cases = wakeup_cases(medians)
    if not cases:
        return False
    fig, ax = plt.subplots(figsize=(8, 5))
    for label, row in cases:
        ax.plot(PERCENTILES, [row.get(p + "_us", 0) for p in PERCENTILES],
                marker="o", label=label,
                linestyle="-" if label.startswith("WaitFor") else "--")
    ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
    ax.text(0, 55, "target p50 < 50 µs", fontsize=8, color="grey")
    ax.set_yscale("log")
    ax.set_xlabel("percentile of 1000 wake-ups (median over repetitions)")
    ax.set_ylabel("µs from the writer's Sync() to the reader's wake-up")
    ax.set_title("LogReader wake-up in another process: WaitFor vs polling")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_throughput(medians, path):
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = plt.get_cmap("tab20").colors
    for i, backend in enumerate(BACKENDS):
        points = [(s, find(medians, PUSH.format(s, backend))) for s in SIZES]
        points = [(s, r["bytes_per_second"] / 1e9) for s, r in points if r]
        mapfile = backend.startswith(("File", "Scratch"))  # others: peers
        if points:
            ax.plot(*zip(*points), marker="o", label=backend, color=colors[i],
                    linestyle="-" if mapfile else "--")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(SIZES, [f"{s} B" for s in SIZES])
    ax.set_xlabel("record size")
    ax.set_ylabel("GB/s (median)")
    ax.set_title("push_back of 8 MiB: MappedVector (solid) vs peers (dashed)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_latency(reps, path):
    labels = {"BM_Sync/records:{}/how:0/real_time": "MappedVector::Sync",
              "BM_Sync/records:{}/how:1/real_time": "msync+fdatasync",
              "BM_Sync/records:{}/how:2/real_time": "pwrite+fdatasync"}
    data, names = [], []
    for n in (1, 1000):
        for pattern, label in labels.items():
            if pattern.format(n) in reps:
                data.append([t / 1e3 for t in reps[pattern.format(n)]])
                names.append(f"{label}\n{n} record{'s' if n > 1 else ''}")
    for name, label in (("BM_LogAppendSync/records:1", "AppendLog\nAppend+Sync"),
                        ("BM_Write2Fdatasync", "write+\nfdatasync")):
        if name in reps:
            data.append([t / 1e3 for t in reps[name]])
            names.append(label)
    if not data:
        return False
    fig, ax = plt.subplots(figsize=(10, 5))
    ax.boxplot(data)
    ax.set_xticks(range(1, len(names) + 1), names, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("µs per durable write (repetitions)")
    ax.set_title("Durability latency, 64 B records")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# bench/log_write_benchmark.cc: (figure, log, baseline, target) per file
# system, Open to close; the ratio is of wall times (lower: log faster).
LOG_WRITE = (
    ("Open + 2M x 64 B Append + close, fresh log, default options",
     "BM_LogOpenAppendClose", "BM_Write2Frames", "<= 1.1"),
    ("same, retention recycling segments (steady state)",
     "BM_LogRecycle", "BM_Write2Frames", "<= 0.9"),
    ("same, with a Sync() before each TruncateBefore",
     "BM_LogRecycleSynced", "BM_Write2Frames", "(<= 0.9)"),
    ("same, Sync() every 10,000 records",
     "BM_LogSyncEvery", "BM_PwriteFdatasync", "<= 1.1"),
    ("AppendBatch of 1000 x 64 B, open to close",
     "BM_LogAppendBatch", "BM_Memcpy", "report"),
)


def log_write_table(medians, reps):
    """The log write path, file systems side by side (median and best)."""
    def times(name):
        return reps.get(name + "/iterations:1/manual_time", [])
    systems = sorted({n.split("/")[1] for n in reps
                      if n.startswith("BM_Write2Frames/")})
    if not systems:
        return []
    head = "| figure | baseline | target | " + " | ".join(
        f"{fs}: log / baseline ms (median, best) | {fs} ratio" for fs in systems) + " |"
    out = [head, "|" + "---|" * (3 + 2 * len(systems))]
    for what, log, base, target in LOG_WRITE:
        cells = []
        for fs in systems:
            a, b = times(f"{log}/{fs}"), times(f"{base}/{fs}")
            if not a or not b:
                cells += ["-", "-"]
                continue
            ma, mb = sorted(a)[len(a) // 2] / 1e6, sorted(b)[len(b) // 2] / 1e6
            ba, bb = min(a) / 1e6, min(b) / 1e6
            cells += [f"{ma:.0f} / {mb:.1f} ({ba:.0f} / {bb:.1f})",
                      f"**{ma / mb:.2f}x** (best {ba / bb:.2f}x)"]
        out.append(f"| {what} | `{base}` | {target} | " + " | ".join(cells) + " |")
    for fs in systems:
        row = find(medians, f"BM_LogAppendWorst/{fs}/iterations:1/manual_time")
        if row and "worst_us" in row:
            # The floor: the same timed loop without Append (BM_SpinWorst),
            # what preemption and interrupts alone make of the worst.
            spin = find(medians, f"BM_SpinWorst/{fs}/iterations:1/manual_time")
            floor = ""
            if spin and "worst_us" in spin:
                floor = (f"; the loop without Append: worst "
                         f"{spin['worst_us']:.0f} µs, "
                         f"{spin.get('over_200us', 0):.0f} over 200 µs")
            # The flush's floor: the loop with write(2) of the log's flush
            # size (BM_Write2Worst), a first write into fresh memory.
            w2 = find(medians, f"BM_Write2Worst/{fs}/iterations:1/manual_time")
            if w2 and "worst_us" in w2:
                floor += (f"; with write(2) of the flush size: worst "
                          f"{w2['worst_us']:.0f} µs, "
                          f"{w2.get('over_200us', 0):.0f} over 200 µs")
            over = (f", {row['over_200us']:.0f} appends over 200 µs"
                    if "over_200us" in row else "")
            out.append(
                f"| worst single Append of 2M, 4 MiB segments, compress_sealed "
                f"({fs}) | median Append | < 200 µs | median of the runs: worst "
                f"{row['worst_us']:.0f} µs{over}, median {row['median_ns']:.0f} ns, "
                f"p99.9 {row['p999_ns']:.0f} ns{floor} | |"
                + " |" * (2 * len(systems) - 2))
    return out


# MappedVector's write path, Open to close (bench/mapped_vector_benchmark.cc):
# (what, vector benchmark, baseline benchmark, target), per file system.
VECTOR_WRITE = (
    ("Open + 2M x 8 B push_back + close, new file, default options",
     "BM_VectorOpenPushClose<8, 0>", "BM_StdReservedPushFree<8, fresh>",
     "<= 1.25"),
    ("Open + 2M x 64 B push_back + close, new file, default options",
     "BM_VectorOpenPushClose<64, 0>", "BM_StdReservedPushFree<64, fresh>",
     "<= 1.25"),
    ("same as 8 B, pretouch = 4 MiB",
     "BM_VectorOpenPushClose<8, 4 MiB>", "BM_StdReservedPushFree<8, fresh>",
     "report"),
    ("same as 64 B, pretouch = 4 MiB",
     "BM_VectorOpenPushClose<64, 4 MiB>", "BM_StdReservedPushFree<64, fresh>",
     "report"),
)


def vector_write_table(medians):
    """The vector write path, file systems side by side (wall and CPU)."""
    systems = sorted({n.split("/")[1] for t in medians.values() for n in t
                      if n.startswith("BM_VectorOpenPushClose<")})
    if not systems:
        return []
    head = "| figure | baseline | target | " + " | ".join(
        f"{fs}: vector / std::vector ms (CPU) | {fs} ratio (CPU)"
        for fs in systems) + " |"
    out = [head, "|" + "---|" * (3 + 2 * len(systems))]
    for what, vec, base, target in VECTOR_WRITE:
        cells = []
        for fs in systems:
            a = find(medians, f"{vec}/{fs}/manual_time")
            b = find(medians, f"{base}/{fs}/manual_time")
            if not a or not b:
                cells += ["-", "-"]
                continue
            unit_a = UNIT_NS[a.get("time_unit", "ns")] / 1e6
            unit_b = UNIT_NS[b.get("time_unit", "ns")] / 1e6
            wa, wb = a["real_time"] * unit_a, b["real_time"] * unit_b
            # cpu_ms: the timed part's CPU time (the cpu_time column also
            # counts the untimed removal of the previous file).
            ca = a.get("cpu_ms", a["cpu_time"] * unit_a)
            cb = b.get("cpu_ms", b["cpu_time"] * unit_b)
            cells += [f"{wa:.1f} / {wb:.1f} ({ca:.1f} / {cb:.1f})",
                      f"**{wa / wb:.2f}x** ({ca / cb:.2f}x)"]
        out.append(f"| {what} | `{base}` | {target} | " + " | ".join(cells) + " |")
    return out


def main():
    results_dir, out_md, plots_dir = sys.argv[1:4]
    medians, reps = load(results_dir)
    os.makedirs(plots_dir, exist_ok=True)
    rel = os.path.relpath(plots_dir, os.path.dirname(os.path.abspath(out_md)))
    plot_throughput(medians, os.path.join(plots_dir, "push_back.png"))
    has_latency = plot_latency(reps, os.path.join(plots_dir, "sync_latency.png"))
    has_wakeup = plot_wakeup(medians, os.path.join(plots_dir, "wakeup.png"))
    machine = open(os.path.join(results_dir, "machine.txt")).read().strip()
    lines = ["# Benchmark results", "",
             "Written by `bench/run` (bench/report.py); do not edit by hand, "
             "except the section of earlier runs, which it keeps. "
             "Every figure is the median of the repetitions; each ratio "
             "compares two benchmarks of the same run.", "", "## Machine", "",
             "```", machine, "```", "", "## Ratios (targets of issue 9)", ""]
    lines += ratio_table(medians)
    lines += ["", "## Plots", "", f"![push_back throughput]({rel}/push_back.png)"]
    if has_latency:
        lines += ["", f"![durability latency]({rel}/sync_latency.png)"]
    if has_wakeup:
        lines += ["", f"![wake-up latency]({rel}/wakeup.png)"]
    wake = wakeup_table(medians)
    if wake:
        lines += ["", "## Reader wake-up (bench/reader_benchmark.cc)", "",
                  "From the writer's `Sync()` call to the reader's return "
                  "(on disk this includes the flush; \"from Sync() return\" "
                  "excludes it and is negative when the reader woke first). "
                  "Idle reader CPU: over 200 ms with nothing appended.", ""]
        lines += wake
    log_write = log_write_table(medians, reps)
    if log_write:
        lines += ["", "## Log write path, Open to close (bench/log_write_benchmark.cc)",
                  "", "Each file system of `MAPFILE_BENCH_DIRS` side by side; "
                  "ratio = log / baseline wall time (lower: the log is faster), "
                  "median of the repetitions (and of the best ones).", ""]
        lines += log_write
    vector_write = vector_write_table(medians)
    if vector_write:
        lines += ["", "## Vector write path, Open to close "
                  "(bench/mapped_vector_benchmark.cc)", "",
                  "Each file system of `MAPFILE_BENCH_DIRS` side by side; "
                  "ratio = vector / std::vector (reserve(n), fresh memory) "
                  "wall time, median of the repetitions (CPU time of the "
                  "writing thread in brackets).", ""]
        lines += vector_write
    old = open(out_md).read() if os.path.exists(out_md) else ""

    def kept(name):
        # A block between <!-- name: begin --> and <!-- name: end --> of the
        # file this run replaces: sections that are not this script's.
        begin, end = f"<!-- {name}: begin -->", f"<!-- {name}: end -->"
        if begin in old and end in old:
            return ["", old[old.index(begin):old.index(end) + len(end)]]
        return []

    lines += kept("history")  # the earlier runs, written by hand
    lines += ["", "## Absolute figures"] + absolute_tables(medians)
    lines += kept("python_bench")  # bench/python_bench.py's section
    open(out_md, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--log-write":
        # One section from a log_write_benchmark JSON, for a run of that
        # benchmark alone: bench/report.py --log-write results.json
        med, rep = load(os.path.dirname(os.path.abspath(sys.argv[2])) or ".")
        print("\n".join(log_write_table(med, rep)))
    elif len(sys.argv) == 3 and sys.argv[1] == "--vector-write":
        # The same for a mapped_vector_benchmark JSON:
        # bench/report.py --vector-write results.json
        med, rep = load(os.path.dirname(os.path.abspath(sys.argv[2])) or ".")
        print("\n".join(vector_write_table(med)))
    else:
        main()
