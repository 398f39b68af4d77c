# Copyright 2026 The mapfile Authors.
"""Tests of the Python reader against files written by the C++ library.

tests/sample_writer (Bazel: //tests:sample_writer; CMake: sample_writer)
writes the files, and reads them back as MappedVector<const Sample> and
LogReader<Sample> do: the reference. The `mapfile` tool gives the CLI's
JSON and CSV. Their paths come from $MAPFILE_SAMPLE_WRITER and $MAPFILE_CLI
(scripts/test.sh sets them).

    MAPFILE_SAMPLE_WRITER=... MAPFILE_CLI=... python3 -m pytest python/tests
"""

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

import mapfile

WRITER = os.environ.get("MAPFILE_SAMPLE_WRITER", "")
CLI = os.environ.get("MAPFILE_CLI", "")
SYMBOLS = [b"AAPL", b"MSFT", b'A,B"C', b"LONGNAME"]
FIELDS = ("time", "price", "symbol", "sizes", "ratio", "delta", "small", "port",
          "tiny", "flags", "active", "side", "id", "raw")


def expected(i):
    """tests/sample_record.h MakeSample(i), field by field."""
    return {
        "time": 1700000000 + i,
        "price": 100 + i * 0.25,
        "symbol": SYMBOLS[i % 4],
        "sizes": [i % 2**32, (2 * i) % 2**32],
        "ratio": float(np.float32(i) / np.float32(4)),
        "delta": -i,
        "small": -(i % 300),
        "port": i % 65536,
        "tiny": -(i % 128),
        "flags": i % 256,
        "active": i % 2 == 1,
        "side": 2 if i % 2 else 1,
        "id": 2**64 - 1 - i,
        "raw": [(i + k) % 256 for k in range(4)],
    }


def python_value(record, name):
    v = record[name]
    if isinstance(v, np.ndarray):
        return [int(x) for x in v]
    if isinstance(v, bytes):
        return v
    return v.item()


def run(*args):
    return subprocess.run([WRITER] + [str(a) for a in args], check=True,
                          capture_output=True, text=True).stdout


def reference(path):
    """(first, next, first damaged or None) as the C++ readers see `path`,
    or an error string."""
    p = subprocess.run([WRITER, "read", path], capture_output=True, text=True)
    out = p.stdout.strip()
    if p.returncode != 0:
        return "error"
    first, nxt, bad = out.split()
    return int(first), int(nxt), None if bad == "-" else int(bad)


def python_view(path):
    """The same triple, as the Python reader sees `path`."""
    try:
        if os.path.isdir(path):
            log = mapfile.open_log(path)
            bad = None
            for seq in range(log.first_seq, log.next_seq):
                try:
                    log[seq]
                except mapfile.Error:
                    bad = seq
                    break
            return log.first_seq, log.next_seq, bad
        return 0, len(mapfile.load(path)), None
    except mapfile.Error:
        return "error"


def put(path, offset, data):
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def get(path, offset, n):
    with open(path, "rb") as f:
        f.seek(offset)
        return f.read(n)


def reseal(path, slot=None):
    """Recomputes the header checksum (and slot `slot`'s): a hostile header
    that passes every checksum."""
    page = bytearray(get(path, 0, 4096))
    put(path, 3960, mapfile._native.xxh3_64(bytes(page[:3960])).to_bytes(8, "little"))
    if slot is not None:
        at = 3968 + 64 * slot
        put(path, at + 56, mapfile._native.xxh3_64(bytes(page[at:at + 56])).to_bytes(8, "little"))


STRIDE = 72          # Sample: 64 bytes + checksum, 8-aligned
FRAMES_AT = 4096 + 64


def frame_offset(seq, first=0):
    return FRAMES_AT + (seq - first) * STRIDE


# ------------------------------------------------------------ blob logs

def payload(seq, n):
    """tests/sample_writer.cc BlobPayload(seq, n)."""
    return ((seq * 131 + np.arange(n, dtype=np.uint64) * 7) & 0xff).astype(np.uint8).tobytes()


def blob_reference(path):
    """(first, next, first bad or None, bytes before it) as BlobReader sees
    the blob log `path` (sample_writer blobread), or "error"."""
    p = subprocess.run([WRITER, "blobread", path], capture_output=True, text=True)
    if p.returncode != 0:
        return "error"
    first, nxt, bad, n = p.stdout.split()
    return int(first), int(nxt), None if bad == "-" else int(bad), int(n)


def python_blob_view(path):
    """The same, as mapfile.open_log sees it."""
    try:
        log = mapfile.open_log(path)
        if not isinstance(log, mapfile.BlobLog):
            return "not a blob log"
        bad, n = None, 0
        for seq in range(log.first_seq, log.next_seq):
            try:
                record = log[seq]
            except mapfile.Error:
                bad = seq
                break
            if record != payload(seq, len(record)):
                bad = seq
                break
            n += len(record)
        return log.first_seq, log.next_seq, bad, n
    except mapfile.Error:
        return "error"


def blob_frames(path):
    """File offsets of the frames of the blob segment at `path`, walked by
    their length fields up to the first that does not parse."""
    data = get(path, 0, os.path.getsize(path))
    at, out = FRAMES_AT, []
    while at + 16 <= len(data):
        n = int.from_bytes(data[at + 8:at + 12], "little")
        if int.from_bytes(data[at:at + 8], "little") == 0 and n == 0:
            break
        out.append(at)
        at += 16 + (n + 7) // 8 * 8
    return out


def blob_segments(log):
    return sorted(os.path.join(log, n) for n in os.listdir(log) if n.endswith(".seg"))


@unittest.skipUnless(WRITER and os.path.exists(WRITER), "needs $MAPFILE_SAMPLE_WRITER")
class MapfileTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mapfile-py-")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    # ---------------------------------------------------------------- vectors

    def test_load_gives_every_field_kind_typed_by_the_schema(self):
        path = self.path("s.vec")
        run("vector", path, 300)
        a = mapfile.load(path)
        self.assertEqual(a.dtype.names, FIELDS)
        self.assertEqual(a.dtype.itemsize, 64)
        self.assertEqual(a.dtype["price"], np.dtype("<f8"))
        self.assertEqual(a.dtype["symbol"], np.dtype("S8"))
        self.assertEqual(a.dtype["sizes"].shape, (2,))
        self.assertEqual(a.dtype["active"], np.dtype("?"))
        self.assertEqual(len(a), 300)
        for i in (0, 1, 2, 3, 257, 299):
            want = expected(i)
            for name in FIELDS:
                self.assertEqual(python_value(a[i], name), want[name], (i, name))
        self.assertEqual(a["price"].mean(), np.mean([expected(i)["price"] for i in range(300)]))

    def test_load_is_read_only_and_shares_memory_with_the_file(self):
        path = self.path("s.vec")
        run("vector", path, 10)
        a = mapfile.load(path)
        self.assertFalse(a.flags.writeable)
        with self.assertRaises(ValueError):
            a["price"][0] = 1.0
        self.assertTrue(np.shares_memory(a["price"], a))
        # A change to the file's bytes shows in the array already made: it
        # is the mapping, not a copy.
        before = a["price"][3]
        put(path, 4096 + 3 * 64 + 8, np.float64(-7.5).tobytes())
        self.assertEqual(a["price"][3], -7.5)
        self.assertNotEqual(before, -7.5)

    def test_load_of_a_file_without_schema_gives_raw_bytes_or_the_callers_dtype(self):
        path = self.path("p.vec")
        run("plain", path, 5)
        a = mapfile.load(path)
        self.assertEqual(a.dtype, np.dtype("V64"))
        typed = mapfile.load(self.path("p.vec"), dtype=mapfile.load(self._schema_vec()).dtype)
        self.assertEqual(typed["time"][4], 1700000004)
        self.assertEqual(bytes(a[2])[:8], (1700000002).to_bytes(8, "little"))
        with self.assertRaises(mapfile.Error) as e:
            mapfile.load(path, dtype=np.int32)
        self.assertIn("dtype int32 is 4 bytes; the file holds", str(e.exception))
        self.assertEqual(e.exception.code, "FailedPrecondition")

    def _schema_vec(self):
        path = self.path("schema.vec")
        if not os.path.exists(path):
            run("vector", path, 1)
        return path

    def test_empty_vector_is_an_empty_array(self):
        path = self.path("e.vec")
        run("vector", path, 0)
        a = mapfile.load(path)
        self.assertEqual(a.shape, (0,))
        self.assertEqual(a.dtype.names, FIELDS)

    def test_errors_name_the_file_and_the_cause(self):
        cases = []
        missing = self.path("missing.vec")
        cases.append((missing, "NotFound", "open:"))
        cases.append((self.dir, "InvalidArgument", "not a regular file"))
        foreign = self.path("foreign.vec")
        with open(foreign, "wb") as f:
            f.write(b"x" * 8192)
        cases.append((foreign, "InvalidArgument", "is not a mapfile file"))
        short = self.path("short.vec")
        with open(short, "wb") as f:
            f.write(b"MAPFILE")
        cases.append((short, "DataLoss", "the file is 7 bytes, shorter than the 4096-byte header"))
        log = self.path("log")
        run("log", log, 10, 65536)
        cases.append((os.path.join(log, "%020d.seg" % 0), "FailedPrecondition",
                      "holds a log segment; asked for a vector"))
        for path, code, cause in cases:
            with self.subTest(path=path):
                with self.assertRaises(mapfile.Error) as e:
                    mapfile.load(path)
                self.assertEqual(e.exception.code, code)
                self.assertIn("mapfile.load('%s')" % path, str(e.exception))
                self.assertIn(cause, str(e.exception))
        with self.assertRaises(mapfile.Error) as e:
            mapfile.open_log(self.path("nolog"))
        self.assertEqual(e.exception.code, "NotFound")

    # ------------------------------------------------ damaged files: C++ == Python

    def test_damaged_and_hostile_vectors_read_as_the_cpp_reader_reads_them(self):
        def vector(name):
            path = self.path(name)
            run("vector", path, 100)
            return path

        def flip(path, offset):
            put(path, offset, bytes([get(path, offset, 1)[0] ^ 0x10]))

        def newest_slot(path):  # the writer's second commit is in slot 0
            return 0

        cases = {
            "intact": lambda p: None,
            "header_byte": lambda p: flip(p, 100),
            "newest_slot_torn": lambda p: flip(p, 3968 + 8),
            "both_slots_torn": lambda p: (flip(p, 3968 + 8), flip(p, 4032 + 8)),
            "truncated_data": lambda p: os.truncate(p, 4096 + 50 * 64),
            "truncated_header": lambda p: os.truncate(p, 4000),
            "major_2": lambda p: (put(p, 8, b"\x02\x00"), reseal(p)),
            "minor_9": lambda p: (put(p, 10, b"\x09\x00"), reseal(p)),
            "required_flag": lambda p: (put(p, 22, b"\x01"), reseal(p)),
            "unknown_optional_flag": lambda p: (put(p, 21, b"\x80"), reseal(p)),
            "schema_name_unterminated": lambda p: (put(p, 223, b"x"), reseal(p)),
            "schema_name_length_0": lambda p: (put(p, 218, b"\x00"), reseal(p)),
            "schema_offset_past_record": lambda p: (put(p, 208, b"\xff\xff\xff\x00"), reseal(p)),
            "schema_count_overflow": lambda p: (put(p, 212, b"\xff\xff\xff\xff"), reseal(p)),
            "schema_too_many_fields": lambda p: (put(p, 200, b"\xff\x03"), reseal(p)),
            "schema_length_lie": lambda p: (put(p, 202, b"\xff\xff"), reseal(p)),
            "schema_unknown_type": lambda p: (put(p, 216, b"\x63"), reseal(p)),
            "schema_bad_name": lambda p: (put(p, 219, b"\x1b"), reseal(p)),
            "schema_flag_cleared": lambda p: (put(p, 20, b"\x00"), reseal(p)),
            "type_size_0": lambda p: (put(p, 32, bytes(8)), reseal(p)),
            "data_offset_lie": lambda p: (put(p, 56, (4100).to_bytes(8, "little")), reseal(p)),
            "count_lie": lambda p: (put(p, 3968 + 8, (7).to_bytes(8, "little")), reseal(p, 0)),
        }
        for name, damage in cases.items():
            with self.subTest(case=name):
                path = vector(name + ".vec")
                damage(path)
                want = reference(path)
                self.assertEqual(python_view(path), want)
                if name in ("intact", "minor_9", "unknown_optional_flag", "schema_flag_cleared"):
                    self.assertEqual(want, (0, 100, None))
                elif name == "newest_slot_torn":
                    self.assertEqual(want, (0, 0, None))  # the commit before it
                else:
                    self.assertEqual(want, "error")

    def test_damaged_and_torn_logs_read_as_the_log_reader_reads_them(self):
        def commits(name):  # 100 records committed, then 50 more
            path = self.path(name)
            run("commits", path, 100, 50)
            return os.path.join(path, "%020d.seg" % 0), path

        def segmented(name, compress):
            path = self.path(name)
            run("log", path, 1000, 16384, *(["compress"] if compress else []))
            return path

        def flip(path, offset):
            put(path, offset, bytes([get(path, offset, 1)[0] ^ 0x10]))

        cases = []
        # A record of the newest commit damaged: that commit was torn by a
        # power loss (LastWholeCommit); the log ends at the commit before.
        # (After a power loss the control block's published count, stored
        # after the commit's flush, is at most the older commit's.)
        seg, log = commits("torn_newest")
        flip(seg, frame_offset(120) + 3)
        put(seg, 4096, (100).to_bytes(8, "little"))
        cases.append(("torn_newest", log, (0, 100, None)))
        # Without a power loss the published count (150) stands, as for
        # LogReader, and the damaged record is DataLoss when read.
        seg, log = commits("torn_newest_published")
        flip(seg, frame_offset(120) + 3)
        cases.append(("torn_newest_published", log, (0, 150, 120)))
        # Both: published says 100, the newest commit's first record is
        # damaged: the commit before it.
        seg, log = commits("torn_first_of_newest")
        flip(seg, frame_offset(100))
        put(seg, 4096, (0).to_bytes(8, "little"))
        cases.append(("torn_first_of_newest", log, (0, 100, None)))
        # A record of the older commit damaged: the log is whole, that one
        # record is DataLoss when read.
        seg, log = commits("damaged_older")
        flip(seg, frame_offset(50) + 3)
        cases.append(("damaged_older", log, (0, 150, 50)))
        # Its checksum damaged, not its payload: the same.
        seg, log = commits("checksum_older")
        flip(seg, frame_offset(60) + 64)
        cases.append(("checksum_older", log, (0, 150, 60)))
        # The newest slot torn: the commit before it.
        seg, log = commits("slot_torn")
        flip(seg, 3968 + 8)  # commit 3 (the second Sync) is in slot 1? find it
        cases.append(("slot_torn", log, None))
        seg, log = commits("slot_torn_b")
        flip(seg, 4032 + 8)
        cases.append(("slot_torn_b", log, None))
        # Records after the commit (not synced) are not returned.
        seg, log = commits("published_lie")
        cases.append(("intact_commits", log, (0, 150, None)))
        # Segmented logs, plain and compressed.
        for compress in (False, True):
            tag = "z" if compress else "u"
            log = segmented("intact_" + tag, compress)
            cases.append(("intact_" + tag, log, (0, 1000, None)))
            log = segmented("middle_damaged_" + tag, compress)
            first = sorted(os.listdir(log))[2]
            first_seq = int(first[:20])
            if compress:
                flip(os.path.join(log, first), 4096 + 100)
            else:
                flip(os.path.join(log, first), frame_offset(first_seq + 5, first_seq) + 1)
            cases.append(("middle_damaged_" + tag, log, (0, 1000, first_seq if compress else first_seq + 5)))
            log = segmented("gap_" + tag, compress)
            os.unlink(os.path.join(log, sorted(os.listdir(log))[3]))
            cases.append(("gap_" + tag, log, None))
            log = segmented("retention_" + tag, compress)
            for n in sorted(f for f in os.listdir(log) if f.endswith(".seg"))[:2]:
                os.unlink(os.path.join(log, n))
            cases.append(("retention_" + tag, log, None))
        # A foreign segment (a vector file named as a segment).
        log = segmented("foreign_segment", False)
        last = sorted(f for f in os.listdir(log) if f.endswith(".seg"))[-1]
        os.unlink(os.path.join(log, last))
        run("vector", os.path.join(log, last), 3)
        cases.append(("foreign_segment", log, "error"))
        # The active segment cut inside its committed frames.
        seg, log = commits("cut")
        os.truncate(seg, frame_offset(140))
        cases.append(("cut", log, "error"))
        for name, log, want in cases:
            with self.subTest(case=name):
                ref = reference(log)
                if want is not None:
                    self.assertEqual(ref, want)
                self.assertEqual(python_view(log), ref)

    def test_damage_found_by_to_numpy_and_segments_is_an_error(self):
        log = self.path("log")
        run("commits", log, 100, 50)
        put(os.path.join(log, "%020d.seg" % 0), frame_offset(70) + 2, b"\xee")
        l = mapfile.open_log(log)
        self.assertEqual(len(l), 150)
        self.assertEqual(len(l.to_numpy(0, 70)), 70)
        for call in (lambda: l.to_numpy(), lambda: list(l.segments()), lambda: l[70]):
            with self.assertRaises(mapfile.Error) as e:
                call()
            self.assertIn("record 70 in '%s" % log, str(e.exception))
            self.assertIn("fails its checksum", str(e.exception))
            self.assertEqual(e.exception.code, "DataLoss")

    # ---------------------------------------------------------------- logs

    def test_open_log_reads_every_record_across_plain_and_compressed_segments(self):
        for compress in (False, True):
            with self.subTest(compress=compress):
                log = self.path("log%d" % compress)
                run("log", log, 2000, 16384, *(["compress"] if compress else []))
                l = mapfile.open_log(log)
                self.assertEqual((l.first_seq, l.next_seq, len(l)), (0, 2000, 2000))
                self.assertEqual(l.type.name, "test.Sample")
                all_ = l.to_numpy()
                self.assertEqual(all_.dtype.names, FIELDS)
                np.testing.assert_array_equal(all_["time"], 1700000000 + np.arange(2000))
                part = l.to_numpy(150, 400)
                np.testing.assert_array_equal(part["delta"], -np.arange(150, 400))
                self.assertEqual(python_value(l[1234], "symbol"), expected(1234)["symbol"])
                for name in FIELDS:
                    self.assertEqual(python_value(l[777], name), expected(777)[name])
                parts = list(l.segments())
                self.assertGreater(len(parts), 5)
                self.assertEqual(sum(len(p) for p in parts), 2000)
                self.assertEqual(sum(1 for _ in l), 2000)
                with self.assertRaises(IndexError):
                    l[2000]
                with self.assertRaises(IndexError):
                    l.to_numpy(0, 2001)

    def test_segments_are_views_of_the_mapping_and_compressed_ones_decompress_once(self):
        log = self.path("log")
        run("log", log, 1000, 16384)
        l = mapfile.open_log(log)
        first = next(iter(l.segments()))
        self.assertFalse(first.flags.writeable)
        self.assertEqual(first.strides, (STRIDE,))
        put(os.path.join(log, "%020d.seg" % 0), frame_offset(3) + 8, np.float64(-1.5).tobytes())
        self.assertEqual(first["price"][3], -1.5)  # the file's pages, not a copy
        zlog = self.path("zlog")
        run("log", zlog, 1000, 16384, "compress")
        z = mapfile.open_log(zlog)
        a = next(iter(z.segments()))
        b = next(iter(z.segments()))
        self.assertTrue(np.shares_memory(a, b))  # decompressed once, kept

    def test_refresh_sees_records_a_writer_commits_later(self):
        log = self.path("log")
        run("commits", log, 10, 0)
        l = mapfile.open_log(log)
        self.assertEqual(len(l), 10)
        run("log", log, 30, 65536)  # appends 30
        self.assertEqual(len(l), 10)  # a snapshot until refresh()
        l.refresh()
        self.assertEqual(l.next_seq, 40)

    # ------------------------------------------------------------ blob logs

    def blob(self, name, segment, *ops, compress=False):
        path = self.path(name)
        run("blobz" if compress else "blob", path, segment, *ops)
        return path

    def test_blob_log_records_of_every_size_read_as_the_blob_reader_reads_them(self):
        # 0, 1, 4097 bytes, 1 MiB and 3 MiB (larger than the 64 KiB
        # segment: a segment of its own), in sealed, compressed and active
        # segments.
        sizes = [0, 1, 4097, 1 << 20, 10, 3 << 20, 7, 0] + [(i * 37) % 300 for i in range(400)]
        for compress in (False, True):
            with self.subTest(compress=compress):
                log = self.blob("b%d" % compress, 65536, *sizes[:8], "sync", "seal",
                                *sizes[8:], "sync", compress=compress)
                self.assertEqual(blob_reference(log), (0, len(sizes), None, sum(sizes)))
                l = mapfile.open_log(log)
                self.assertIsInstance(l, mapfile.BlobLog)
                self.assertEqual((l.first_seq, l.next_seq, len(l)), (0, len(sizes), len(sizes)))
                self.assertEqual(l.type.name, "mapfile.blob")
                for seq, n in enumerate(sizes):
                    record = l[seq]
                    self.assertIsInstance(record, bytes)
                    self.assertEqual(record, payload(seq, n), seq)
                self.assertEqual([len(r) for r in l], sizes)
                names = os.listdir(log)
                self.assertGreater(sum(n.endswith(".seg") for n in names), 5)
                self.assertGreater(sum(n.endswith(".idx") for n in names), 5)
                if compress:  # the sealed segments are zstd
                    flags = [mapfile.header(p).segment_flags for p in blob_segments(log)[:-1]]
                    self.assertTrue(all(f & 2 for f in flags), flags)
                with self.assertRaises(IndexError):
                    l[len(sizes)]

    def test_blob_to_numpy_and_segments_give_object_arrays_of_bytes(self):
        sizes = [(i * 53) % 900 for i in range(300)]
        log = self.blob("b", 16384, *sizes, "sync")
        l = mapfile.open_log(log)
        a = l.to_numpy(10, 200)
        self.assertEqual(a.dtype, np.dtype(object))
        self.assertEqual(len(a), 190)
        self.assertEqual(list(a), [payload(s, sizes[s]) for s in range(10, 200)])
        parts = list(l.segments())
        self.assertGreater(len(parts), 3)
        self.assertEqual([r for p in parts for r in p], [payload(s, n) for s, n in enumerate(sizes)])
        with self.assertRaises(IndexError):
            l.to_numpy(0, 301)
        with self.assertRaises(mapfile.Error) as e:
            mapfile.open_log(log, dtype=np.int32)
        self.assertEqual(e.exception.code, "InvalidArgument")
        with self.assertRaises(mapfile.Error) as e:
            mapfile.load(blob_segments(log)[0])
        self.assertIn("holds a blob log segment; asked for a vector", str(e.exception))
        # A damaged record: DataLoss from each of them, as from BlobReader.
        seg = blob_segments(log)[0]
        put(seg, blob_frames(seg)[5] + 20, b"\xee")
        l = mapfile.open_log(log)
        for call in (lambda: l.to_numpy(), lambda: list(l.segments()), lambda: l[5], lambda: list(l)):
            with self.assertRaises(mapfile.Error) as e:
                call()
            self.assertIn("the frame of record 5 in '%s" % seg, str(e.exception))
            self.assertIn("fails its checksum", str(e.exception))
            self.assertEqual(e.exception.code, "DataLoss")
        self.assertEqual(len(l.to_numpy(0, 5)), 5)

    def test_blob_refresh_sees_records_a_writer_commits_later(self):
        log = self.blob("b", 65536, *([100] * 10), "sync")
        l = mapfile.open_log(log)
        self.assertEqual(len(l), 10)
        run("blob", log, 65536, *([5000] * 30), "sync")
        self.assertEqual(len(l), 10)
        l.refresh()
        self.assertEqual(l.next_seq, 40)
        self.assertEqual(l[39], payload(39, 5000))

    def test_damaged_torn_and_hostile_blob_logs_read_as_the_blob_reader_reads_them(self):
        sizes_a = [(i * 37) % 300 for i in range(100)]
        sizes_b = [(i * 11) % 200 for i in range(100, 150)]

        def commits(name):  # 100 records committed, then 50 more
            log = self.blob(name, 1 << 20, *sizes_a, "sync", *sizes_b, "sync")
            seg = blob_segments(log)[0]
            return seg, log, blob_frames(seg)

        def segmented(name, compress=False):
            return self.blob(name, 16384, *[(i * 53) % 900 for i in range(600)], "sync",
                             compress=compress)

        def flip(path, offset):
            put(path, offset, bytes([get(path, offset, 1)[0] ^ 0x10]))

        def middle(log, k=2):
            seg = blob_segments(log)[k]
            first = int(os.path.basename(seg)[:20])
            return seg, first, seg[:-4] + ".idx"

        total = sum(sizes_a) + sum(sizes_b)
        cases = []
        seg, log, f = commits("intact")
        cases.append(("intact", log, (0, 150, None, total)))
        # Records appended after the last Sync (a torn tail) are not returned.
        log = self.blob("tail", 65536, 10, 20, "sync", 30, 40)
        cases.append(("torn_tail", log, (0, 2, None, 30)))
        # A payload byte of the newest commit damaged, published count at the
        # commit before (as after a power loss): that commit was torn.
        seg, log, f = commits("torn_newest")
        flip(seg, f[120] + 16 + 2)
        put(seg, 4096, (100).to_bytes(8, "little"))
        cases.append(("torn_newest", log, (0, 100, None, sum(sizes_a))))
        # Without a power loss the published count stands: record 120 is
        # DataLoss when read.
        seg, log, f = commits("torn_newest_published")
        flip(seg, f[120] + 16 + 2)
        cases.append(("torn_newest_published", log, None))
        # A record of the older commit damaged: the log is whole, that record
        # is DataLoss when read.
        seg, log, f = commits("damaged_older")
        flip(seg, f[50] + 16 + 1)
        cases.append(("damaged_older", log, (0, 150, 50, sum(sizes_a[:50]))))
        seg, log, f = commits("checksum_older")
        flip(seg, f[60])
        cases.append(("checksum_older", log, (0, 150, 60, sum(sizes_a[:60]))))
        # A length of the older commit damaged: committed frames that do not
        # parse are DataLoss, never cut.
        seg, log, f = commits("length_older")
        put(seg, f[50] + 11, b"\x7f")
        cases.append(("length_older", log, "error"))
        # A length of the newest commit damaged (published at the older): torn.
        seg, log, f = commits("length_newest")
        put(seg, f[140] + 12, b"\x01")
        put(seg, 4096, (100).to_bytes(8, "little"))
        cases.append(("length_newest", log, (0, 100, None, sum(sizes_a))))
        # A commit slot damaged: the other one; with the published count
        # reset too (a power loss), only what that slot commits.
        for slot in (0, 1):
            for published in (None, 0):
                name = "slot_torn_%d_%s" % (slot, published)
                seg, log, f = commits(name)
                flip(seg, 3968 + 64 * slot + 8)
                if published is not None:
                    put(seg, 4096, published.to_bytes(8, "little"))
                cases.append((name, log, None))
        # The active segment cut inside its committed frames.
        seg, log, f = commits("cut")
        os.truncate(seg, f[140])
        cases.append(("cut", log, "error"))
        for compress in (False, True):
            tag = "z" if compress else "u"
            sizes = [(i * 53) % 900 for i in range(600)]
            log = segmented("intact_" + tag, compress)
            cases.append(("intact_" + tag, log, (0, 600, None, sum(sizes))))
            # A damaged record of a sealed segment: DataLoss for it (for the
            # whole segment if compressed: decompression verifies every frame).
            log = segmented("middle_damaged_" + tag, compress)
            seg, first, idx = middle(log)
            if compress:
                flip(seg, 4096 + 200)
                cases.append(("middle_damaged_" + tag, log, (0, 600, first, sum(sizes[:first]))))
            else:
                flip(seg, blob_frames(seg)[5] + 16)
                cases.append(("middle_damaged_" + tag, log, (0, 600, first + 5, sum(sizes[:first + 5]))))
            # The index missing, damaged, of another size, or naming
            # another segment: rebuilt from the frames; nothing changes.
            for how in ("missing", "damaged", "short", "other_first"):
                log = segmented("index_%s_%s" % (how, tag), compress)
                seg, first, idx = middle(log)
                if how == "missing":
                    os.unlink(idx)
                elif how == "damaged":
                    flip(idx, 40)
                elif how == "short":
                    os.truncate(idx, os.path.getsize(idx) - 8)
                else:
                    data = bytearray(get(idx, 0, os.path.getsize(idx)))
                    data[8:16] = (first + 1).to_bytes(8, "little")
                    data[-8:] = mapfile._native.xxh3_64(bytes(data[:-8])).to_bytes(8, "little")
                    put(idx, 0, bytes(data))
                cases.append(("index_%s_%s" % (how, tag), log, (0, 600, None, sum(sizes))))
            # A hostile index whose checksum holds and whose starts are
            # plausible, but one lies: the frame it points at is refused.
            log = segmented("index_lie_" + tag, compress)
            seg, first, idx = middle(log, 1)
            data = bytearray(get(idx, 0, os.path.getsize(idx)))
            start3 = int.from_bytes(data[32 + 24:32 + 32], "little")
            data[32 + 24:32 + 32] = (start3 + 8).to_bytes(8, "little")
            data[-8:] = mapfile._native.xxh3_64(bytes(data[:-8])).to_bytes(8, "little")
            put(idx, 0, bytes(data))
            # (A compressed segment's index comes from the walk that verifies it.)
            want = (0, 600, None, sum(sizes)) if compress else (0, 600, first + 2, sum(sizes[:first + 2]))
            cases.append(("index_lie_" + tag, log, want))
            # A lost middle segment: DataLoss for the one before, never a gap.
            log = segmented("gap_" + tag, compress)
            os.unlink(blob_segments(log)[3])
            cases.append(("gap_" + tag, log, None))
            log = segmented("retention_" + tag, compress)
            for p in blob_segments(log)[:2]:
                os.unlink(p)
            cases.append(("retention_" + tag, log, None))
        # Hostile compressed segments (header checksum recomputed): an
        # uncompressed length its zstd frame does not declare, one above
        # any segment, one not a whole number of frames. DataLoss for that
        # segment's records, before anything is sized by the lie.
        for name, image in (("z_image_lie", lambda n: n + 8), ("z_image_huge", lambda n: 1 << 40),
                            ("z_image_odd", lambda n: n + 3)):
            log = segmented(name, True)
            seg, first, idx = middle(log)
            n = int.from_bytes(get(seg, 152, 8), "little")
            put(seg, 152, image(n).to_bytes(8, "little"))
            reseal(seg)
            sizes = [(i * 53) % 900 for i in range(600)]
            cases.append((name, log, (0, 600, first, sum(sizes[:first]))))
        # A damaged length in a sealed segment without its index: the
        # rebuilt index ends there; records from it on are DataLoss.
        log = segmented("walk_stops")
        seg, first, idx = middle(log)
        os.unlink(idx)
        put(seg, blob_frames(seg)[4] + 12, b"\x01")
        cases.append(("walk_stops", log, (0, 600, first + 4, sum([(i * 53) % 900 for i in range(first + 4)]))))
        # A typed log's segment among blob segments.
        log = segmented("foreign_segment")
        last = blob_segments(log)[-1]
        os.unlink(last)
        run("log", self.path("typed"), 3, 65536)
        shutil.copy(os.path.join(self.path("typed"), "%020d.seg" % 0), last)
        cases.append(("foreign_segment", log, "error"))
        for name, log, want in cases:
            with self.subTest(case=name):
                ref = blob_reference(log)
                if want is not None:
                    self.assertEqual(ref, want)
                self.assertEqual(python_blob_view(log), ref)

    def test_blob_log_through_ctypes_reads_the_same(self):
        sizes = [(i * 53) % 900 for i in range(300)] + [1 << 20]
        log = self.blob("b", 16384, *sizes, "sync", compress=True)
        code = ("import mapfile, sys, hashlib; l = mapfile.open_log(sys.argv[1]); "
                "print(hashlib.sha256(b''.join(l)).hexdigest(), len(l))")
        env = dict(os.environ, MAPFILE_PY_CTYPES="1")
        out = subprocess.run([sys.executable, "-c", code, log], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        import hashlib
        want = hashlib.sha256(b"".join(payload(s, n) for s, n in enumerate(sizes))).hexdigest()
        self.assertEqual(out, [want, str(len(sizes))])

    # ------------------------------------------------------------ the CLI

    @unittest.skipUnless(CLI and os.path.exists(CLI), "needs $MAPFILE_CLI")
    def test_cli_json_and_csv_and_python_give_the_same_values(self):
        vec = self.path("s.vec")
        run("vector", vec, 64)
        log = self.path("log")
        run("log", log, 500, 16384, "compress")
        for path, array in ((vec, mapfile.load(vec)), (log, mapfile.open_log(log).to_numpy())):
            out = subprocess.run([CLI, "dump", "--json", path], check=True,
                                 capture_output=True, text=True).stdout
            lines = out.splitlines()
            self.assertEqual(len(lines), len(array))
            for line, record in zip(lines, array):
                j = json.loads(line)
                for name in FIELDS:
                    value = python_value(record, name)
                    if name == "symbol":
                        value = value.decode("ascii")
                    elif name == "raw":
                        value = bytes(value).hex()
                    self.assertEqual(j[name], value, (path, j["seq"], name))
            out = subprocess.run([CLI, "dump", "--csv", path], check=True,
                                 capture_output=True, text=True).stdout
            rows = list(csv.DictReader(io.StringIO(out)))
            self.assertEqual(len(rows), len(array))
            for row, record in zip(rows, array):
                self.assertEqual(float(row["price"]), record["price"])
                self.assertEqual(int(row["id"]), int(record["id"]))
                self.assertEqual(row["symbol"].encode(), record["symbol"])
                self.assertEqual(int(row["sizes[1]"]), int(record["sizes"][1]))
                self.assertEqual(float(row["ratio"]), float(record["ratio"]))
                self.assertEqual(row["active"], "true" if record["active"] else "false")

    def test_ctypes_path_reads_the_same(self):
        log = self.path("zlog")
        run("log", log, 600, 16384, "compress")
        vec = self.path("s.vec")
        run("vector", vec, 10)
        code = ("import mapfile, sys; l = mapfile.open_log(sys.argv[1]); "
                "print(int(l.to_numpy()['id'].sum() % 1000003), len(mapfile.load(sys.argv[2])), "
                "mapfile._native._xxh3.__module__ if hasattr(mapfile._native._xxh3, '__module__') else '')")
        env = dict(os.environ, MAPFILE_PY_CTYPES="1")
        out = subprocess.run([sys.executable, "-c", code, log, vec], env=env, check=True,
                             capture_output=True, text=True).stdout.split()
        ids = mapfile.open_log(log).to_numpy()["id"]
        self.assertEqual(int(out[0]), int(ids.sum() % 1000003))
        self.assertEqual(int(out[1]), 10)


if __name__ == "__main__":
    unittest.main()
