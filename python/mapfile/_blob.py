# Copyright 2026 The mapfile Authors.
"""The frame layer of a blob log segment (docs/FORMAT.md, "Blob log
segments"), written from docs/FORMAT.md alone: a frame's header and
checksum, the offset index (where each frame starts) and its NAME.idx file.

Pure functions over bytes-like buffers; mapfile.BlobLog (in __init__.py)
puts them together as BlobReader does. Every outcome is the C++ frame
layer's (mapfile/internal/blob_format.h): a frame it refuses, this module
refuses, and an index file it ignores, this module ignores.
"""

import numpy as np

from . import _native

MAX_BLOB_SIZE = 1 << 30
FRAME_HEADER = 16
ALIGNMENT = 8
INDEX_MAGIC = b"MFBLOBIX"
INDEX_OVERHEAD = 40           # magic, first, count, length; checksum
CONTROL_SIZE = 64             # the control block before the first frame
DATA_OFFSET = 4096
RECORD_ALIGNMENT = 8
MAX_SEGMENT_SIZE = 1 << 36
MOST_EXPANSION = (128 << 10) // 4   # zstd: at most 128 KiB from a 4-byte block
TYPE_NAME = "mapfile.blob"

# What a frame at some offset is (FrameCheck).
VALID = "is valid"
SHORT = "runs past the end of the segment's frames"
BAD_LENGTH = "has a length above the maximum or non-zero flags"
BAD_CHECKSUM = "fails its checksum"


def frame_size(length):
    """Bytes of the frame of a `length`-byte record."""
    return FRAME_HEADER + (length + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _u(buf, at, n):
    return int.from_bytes(buf[at:at + n], "little")


def peek(buf, base, at, limit):
    """(check, length) of the frame `at` bytes into the frame area that
    starts at `base` in `buf` and holds `limit` bytes: its header only."""
    if at > limit or limit - at < FRAME_HEADER:
        return SHORT, 0
    f = base + at
    n = _u(buf, f + 8, 4)
    if n > MAX_BLOB_SIZE or _u(buf, f + 12, 4) != 0:
        return BAD_LENGTH, 0
    if limit - at < frame_size(n):
        return SHORT, 0
    return VALID, n


def check(buf, base, at, limit, seq):
    """peek, then the checksum: XXH3-64 of the length, flags and payload,
    seeded with the sequence number `seq`."""
    result, n = peek(buf, base, at, limit)
    if result != VALID:
        return result, n
    f = base + at
    with memoryview(buf) as mv:
        view = mv[f + 8:f + FRAME_HEADER + n]
        try:
            digest = _native.xxh3_64(view, seq)
        finally:
            view.release()
    if _u(buf, f, 8) != digest:
        return BAD_CHECKSUM, n
    return VALID, n


class Index:
    """Where each frame of one segment starts (BlobIndex): starts[i] for
    record i, and starts[-1] the end of the last indexed frame."""

    __slots__ = ("starts",)

    def __init__(self, starts=None):
        self.starts = [0] if starts is None else starts

    @property
    def count(self):
        return len(self.starts) - 1

    @property
    def bytes(self):
        return self.starts[-1]

    def truncate(self, count):
        del self.starts[count + 1:]

    def extend(self, buf, base, limit, first, count, verify):
        """Indexes frames after the last one, until `count` are indexed;
        stops at the first that is not valid and returns what it is."""
        starts = self.starts
        while len(starts) - 1 < count:
            at = starts[-1]
            seq = first + len(starts) - 1
            result, n = (check(buf, base, at, limit, seq) if verify
                         else peek(buf, base, at, limit))
            if result != VALID:
                return result
            starts.append(at + frame_size(n))
        return VALID


def decode_index(data, first, count, length):
    """The Index in NAME.idx's bytes `data` if it describes a segment from
    `first` of `count` records in `length` frame bytes; else (None, why)."""
    if (count > length // FRAME_HEADER or (count == 0) != (length == 0) or
            len(data) != INDEX_OVERHEAD + 8 * count):
        return None, "is %d bytes; %d records need %d" % (len(data), count,
                                                          INDEX_OVERHEAD + 8 * count)
    body = len(data) - 8
    if data[:8] != INDEX_MAGIC or _u(data, body, 8) != _native.xxh3_64(data[:body]):
        return None, "bad magic or checksum"
    if _u(data, 8, 8) != first or _u(data, 16, 8) != count or _u(data, 24, 8) != length:
        return None, "describes another segment"
    starts = np.frombuffer(data, dtype="<u8", count=count, offset=32).astype(np.uint64)
    if count:
        # Each start: the first 0, then at least a frame header after the
        # one before (compared before subtracting: no unsigned wrap), a
        # multiple of 8, and a frame header's room before `length`.
        end = np.uint64(length)
        previous = starts[:-1]
        following = starts[1:]
        if (int(starts[0]) != 0 or np.any(following < previous) or
                np.any(following - previous < np.uint64(FRAME_HEADER)) or
                np.any(starts % np.uint64(ALIGNMENT) != 0) or np.any(starts > end) or
                np.any(end - starts < np.uint64(FRAME_HEADER))):
            return None, "a frame does not start at a frame boundary"
    return Index(starts.tolist() + [length]), None


def check_compressed_commit(image, count, compressed_length):
    """None if a compressed segment's image of `image` bytes (control block
    and frames) can hold `count` records and come from `compressed_length`
    zstd bytes; else why not (CheckCompressedBlobCommit). Checked before
    anything is allocated from the header."""
    if (image < CONTROL_SIZE or image > MAX_SEGMENT_SIZE or
            (image - CONTROL_SIZE) // FRAME_HEADER < count or
            (image - CONTROL_SIZE) % ALIGNMENT != 0):
        return ("holds %d bytes uncompressed; %d records need at least %d + %d each, "
                "and a segment at most %d" % (image, count, CONTROL_SIZE, FRAME_HEADER,
                                              MAX_SEGMENT_SIZE))
    if compressed_length == 0 or image // MOST_EXPANSION > compressed_length:
        return "%d compressed bytes cannot hold %d bytes" % (compressed_length, image)
    return None

