#!/usr/bin/env python3
# Copyright 2026 The mapfile Authors.
"""The Python reader and the CLI's CSV export, measured on real files.

    bazel build -c opt //tests:sample_writer //tools:mapfile
    PYTHONPATH=python /usr/bin/python3 bench/python_bench.py \\
        --writer bazel-bin/tests/sample_writer --cli bazel-bin/tools/mapfile \\
        --dir /var/tmp --dir /dev/shm

For each directory (the file system measured), it writes with the C++
library (tests/sample_writer, 64-byte tests/sample_record.h records):

- a 1 MiB and a 1 GiB vector: time of `mapfile.load(path)` plus reading
  element 0's price, the page cache warm and cold (the file's pages evicted
  with posix_fadvise(DONTNEED) first); load maps, it does not read, so the
  two sizes should cost the same;
- a log of about --log-mib MiB (64 MiB segments): `Log.to_numpy()` the first
  time (every record's XXH3 checked, then copied), the second time (copy
  only: checksums are checked once), against `numpy.fromfile` of the same
  file bytes (no checks, no framing) and the C++ reader is not involved;
- `mapfile dump --csv` of the 1 GiB vector's first --csv-records records to
  /dev/null: records/s and output MB/s.

Every file is deleted afterwards. The figures replace the section between
the markers in bench/RESULTS.md (bench/report.py keeps it).
"""

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import mapfile

BEGIN = "<!-- python_bench: begin -->"
END = "<!-- python_bench: end -->"


def evict(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def first_element(path):
    start = time.perf_counter()
    a = mapfile.load(path)
    x = float(a["price"][0])
    elapsed = time.perf_counter() - start
    assert x == 100.0
    return elapsed, len(a)


def median_of(f, n):
    return statistics.median(f() for _ in range(n))


def fstype(d):
    out = subprocess.run(["df", "--output=fstype", d], capture_output=True, text=True).stdout
    return out.split()[-1]


def bench_dir(d, args):
    work = tempfile.mkdtemp(prefix="mapfile-pybench-", dir=d)
    rows = []
    try:
        small = os.path.join(work, "small.vec")
        big = os.path.join(work, "big.vec")
        subprocess.run([args.writer, "big", small, str(1 << 20)], check=True)
        subprocess.run([args.writer, "big", big, str(args.vector_mib << 20)], check=True)
        for name, path in (("1 MiB", small), ("%d MiB" % args.vector_mib, big)):
            warm = median_of(lambda: first_element(path)[0], 9)
            def cold():
                evict(path)
                return first_element(path)[0]
            cold_t = median_of(cold, 9)
            n = first_element(path)[1]
            rows.append(("`mapfile.load` + first element, %s vector (%d records), warm" % (name, n),
                         "%.0f µs" % (warm * 1e6)))
            rows.append(("`mapfile.load` + first element, %s vector, cold (pages evicted)" % name,
                         "%.0f µs" % (cold_t * 1e6)))

        # CSV export of the CLI.
        n = args.csv_records
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        p = subprocess.run([args.cli, "dump", "--csv", "--count", str(n), big],
                           stdout=subprocess.PIPE, check=True)
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows.append(("`mapfile dump --csv`, %d records of 14 fields (16 columns), into a pipe" % n,
                     "%.0f k records/s, %.0f MB/s of CSV (%.2f s; %.2f s of CPU)"
                     % (n / elapsed / 1e3, len(p.stdout) / elapsed / 1e6, elapsed, cpu)))
        os.unlink(small)
        os.unlink(big)

        # A log of about log_mib MiB.
        log = os.path.join(work, "log")
        records = (args.log_mib << 20) // 72
        subprocess.run([args.writer, "log", log, str(records), str(64 << 20)], check=True)
        l = mapfile.open_log(log)
        start = time.perf_counter()
        a = l.to_numpy()
        first = time.perf_counter() - start
        assert len(a) == records and (a["time"][-1] == 1700000000 + records - 1)
        del a

        def again():
            start = time.perf_counter()
            b = l.to_numpy()
            elapsed = time.perf_counter() - start
            del b
            return elapsed
        second = median_of(again, 3)
        names = sorted(f for f in os.listdir(log) if f.endswith(".seg"))
        firsts = [int(f[:20]) for f in names] + [records]
        # The same bytes the log's records occupy: each segment's header,
        # control block and committed frames (not the last one's free room).
        used = [4096 + 64 + (firsts[i + 1] - firsts[i]) * 72 for i in range(len(names))]

        def fromfile():
            start = time.perf_counter()
            for f, n in zip(names, used):
                np.fromfile(os.path.join(log, f), dtype=np.uint8, count=n)
            return time.perf_counter() - start
        ff = median_of(fromfile, 3)
        mib = sum(used) / (1 << 20)
        rows.append(("`Log.to_numpy()`, %d records (%.0f MiB of frames), first call: checksums + copy"
                     % (records, mib), "%.2f s (%.0f MiB/s, %.2f M records/s)"
                     % (first, mib / first, records / first / 1e6)))
        rows.append(("`Log.to_numpy()`, same log, again (checksums already checked): copy only",
                     "%.2f s (%.0f MiB/s)" % (second, mib / second)))
        rows.append(("`numpy.fromfile` of the same bytes of the segment files (no checks, no framing)",
                     "%.2f s (%.0f MiB/s)" % (ff, mib / ff)))
    finally:
        shutil.rmtree(work)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writer", required=True)
    parser.add_argument("--cli", required=True)
    parser.add_argument("--dir", action="append", required=True)
    parser.add_argument("--vector-mib", type=int, default=1024)
    parser.add_argument("--log-mib", type=int, default=1024)
    parser.add_argument("--csv-records", type=int, default=1000000)
    parser.add_argument("--results", default=os.path.join(os.path.dirname(__file__), "RESULTS.md"))
    args = parser.parse_args()

    modules = []
    for m in ("xxhash", "zstandard"):
        try:
            __import__(m)
            modules.append(m)
        except ImportError:
            modules.append(m + " (missing: ctypes)")
    lines = [BEGIN, "## Python reader and CSV export (bench/python_bench.py)", "",
             "Written by `bench/python_bench.py`, not by bench/run (which keeps this section). "
             "Median of 9 runs (load), 3 (fromfile, to_numpy again: the first of them pays the page faults of a fresh output array), single runs (to_numpy first, CSV). "
             "Python %s, numpy %s, %s; %s; run %s." % (
                 platform.python_version(), np.__version__, ", ".join(modules),
                 "load average %.2f" % os.getloadavg()[0],
                 time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())), ""]
    for d in args.dir:
        print("bench/python_bench.py: %s" % d, file=sys.stderr)
        rows = bench_dir(d, args)
        lines += ["### %s (%s)" % (d, fstype(d)), "", "| what | figure |", "|---|---|"]
        lines += ["| %s | %s |" % r for r in rows]
        lines.append("")
    lines.append(END)
    section = "\n".join(lines) + "\n"
    print(section)
    text = open(args.results).read() if os.path.exists(args.results) else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(args.results, "w").write(text)


if __name__ == "__main__":
    main()
