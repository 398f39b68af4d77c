# Copyright 2026 The mapfile Authors.
"""Read mapfile files (docs/FORMAT.md) as numpy arrays.

    import mapfile
    q = mapfile.load("quotes.vec")        # read-only, zero-copy
    q["bid"].mean(); q.dtype.names
    log = mapfile.open_log("quotes.log")  # committed records, as LogReader
    len(log); log.first_seq; log.next_seq
    log[5]                                # numpy.void record
    log.to_numpy(0, 1000)                 # structured array [start, stop)
    for part in log.segments(): ...       # one array per segment
    blobs = mapfile.open_log("events")    # a BlobLog directory
    blobs[7]                              # bytes

An independent reader of the file format in pure Python and numpy (no
compiled extension): python/README.md says why. What the C++ readers
(MappedVector<const T>, LogReader<T>, BlobReader) would not return, this module does not
return: headers, commit slots and record checksums are checked by the same
rules, and a failure raises mapfile.Error naming the file and the cause.
"""

import mmap
import os
import stat

import numpy as np

from . import _blob
from . import _format
from . import _native
from ._format import Field, FormatError

__all__ = ["BlobLog", "Error", "Field", "Header", "Log", "load", "open_log", "header"]
__version__ = "0.1.0"

MAX_SEGMENT_SIZE = 1 << 36
Header = _format.Header
_BLOB_TYPE = _format.TypeFingerprint(_blob.TYPE_NAME, 1, 1, 1, [])


class Error(Exception):
    """A mapfile file could not be read. `code` is the C++ library's status
    code name for the same failure ("DataLoss", "FailedPrecondition",
    "InvalidArgument", "NotFound", ...); `path` the file."""

    def __init__(self, message, code="Unknown", path=None):
        super().__init__(message)
        self.code = code
        self.path = path


def _error(call, path, cause, code):
    return Error("%s('%s'): %s" % (call, path, cause), code, path)


def _map(path, call):
    """(mmap or None for an empty file, size) of a regular file, read-only."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as e:
        raise _error(call, path, "open: %s" % e.strerror, "NotFound") from None
    except OSError as e:
        raise _error(call, path, "open: %s" % e.strerror, "InvalidArgument") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _error(call, path, "not a regular file", "InvalidArgument")
        if st.st_size == 0:
            return None, 0
        try:
            m = mmap.mmap(fd, st.st_size, mmap.MAP_SHARED, mmap.PROT_READ)
        except (OSError, ValueError) as e:
            raise _error(call, path, "mmap: %s" % e, "Internal") from None
        return m, st.st_size
    finally:
        os.close(fd)


def _decode(buffer, path, call):
    try:
        if buffer is None or len(buffer) < _format.HEADER_SIZE:
            return _format.decode_header(b"" if buffer is None else buffer[:], path)
        return _format.decode_header(_format.stable_page(buffer), path)
    except FormatError as e:
        raise Error("%s('%s'): %s" % (call, path, e), e.kind, path) from None
    except _native.NativeError as e:
        raise _error(call, path, str(e), "FailedPrecondition") from None


def _dtype(h, dtype, path, call):
    """The records' dtype: the caller's (its itemsize must be sizeof(T)), or
    the schema's, or V{size}."""
    if dtype is None:
        return _format.schema_dtype(h)
    dt = np.dtype(dtype)
    if dt.itemsize != h.type.size:
        raise _error(call, path, "dtype %s is %d bytes; the file holds %s"
                     % (dt, dt.itemsize, h.type), "FailedPrecondition")
    return dt


def header(path):
    """The decoded header of a vector file or a log segment (a Header:
    kind, type with its fields, record_alignment, data_offset, slots, ...)."""
    m, _ = _map(path, "mapfile.header")
    try:
        return _decode(m, path, "mapfile.header")
    finally:
        if m is not None:
            m.close()


def load(path, dtype=None):
    """The committed records of a MappedVector file, as a read-only numpy
    array that shares memory with the file's mapping (no copy).

    The dtype comes from the field schema in the header (MAPFILE_FIELDS),
    or is raw `V{size}` bytes without one; `dtype=` overrides it (its
    itemsize must be the record size). The array sees the records committed
    when it was made (the newest valid commit slot, as a C++ reader).
    """
    call = "mapfile.load"
    m, size = _map(path, call)
    h = _decode(m, path, call)
    if h.kind != _format.KIND_VECTOR:
        raise _error(call, path, "holds a %s; asked for a vector (use "
                     "mapfile.open_log on its directory)" % h.kind_name,
                     "FailedPrecondition")
    try:
        c = _format.latest_commit(h, size, path)
    except FormatError as e:
        raise Error("%s('%s'): %s" % (call, path, e), e.kind, path) from None
    dt = _dtype(h, dtype, path, call)
    # The ndarray keeps the mmap alive; mapped PROT_READ, it is read-only.
    return np.ndarray(shape=(c.count,), dtype=dt, buffer=m, offset=h.data_offset)


class _Layout:
    """LogLayout of mapfile/internal/log_format.h."""

    def __init__(self, t):
        def round_up(x, m):
            return (x + m - 1) // m * m
        self.payload = t.size
        self.alignment = max(8, t.alignment)
        self.checksum_at = round_up(t.size, 8)
        self.stride = round_up(self.checksum_at + 8, self.alignment)
        self.control_size = round_up(64, self.alignment)
        self.data_offset = round_up(_format.HEADER_SIZE, self.alignment)


def _segment_name(first):
    return "%020d.seg" % first


def _parse_segment_name(name):
    if len(name) != 24 or not name.endswith(".seg"):
        return None
    digits = name[:20]
    if not all("0" <= c <= "9" for c in digits):
        return None
    value = int(digits)
    return value if value < (1 << 64) else None


class _Segment:
    """A segment file of either log: what the directory listing says of it."""

    def __init__(self, first, path):
        self.first = first
        self.path = path
        self.count = 0          # committed records
        self.live = False       # the last segment


class _TypedSegment(_Segment):
    def __init__(self, first, path):
        super().__init__(first, path)
        self.records = None     # ndarray of `count` records (strided view)
        self.frames = None      # buffer holding the frames (mmap or bytes)
        self.frames_at = 0      # offset of frame 0 in `frames`
        self.verified = 0       # frames [0, verified) passed their checksum
        self.mmap = None

    @property
    def loaded(self):
        return self.records is not None

    def unload(self):
        self.records = None


def _close(m):
    if m is not None:
        m.close()


def _previous_count(h, c):
    """NewestCommitFrom of log_format.h: the records of the commit before
    `c` (its other slot, if older and no larger), else 0."""
    other = h.slots[(c.sequence & 1) ^ 1]
    return other.count if (other is not None and other.sequence < c.sequence and
                           other.count <= c.count) else 0


def _decompress(m, offset, length, size, corrupt):
    """The `size` bytes of the zstd frame m[offset:offset + length]; a frame
    that does not declare or inflate to exactly that is corrupt(why)."""
    frame = m[offset:offset + length]
    try:
        if _native.zstd_content_size(frame) != size:
            raise corrupt("its zstd frame does not declare %d bytes of content" % size)
        data = _native.zstd_decompress(frame, size)
    except _native.NativeError as e:
        raise corrupt(str(e)) from None
    if len(data) != size:
        raise corrupt("decompresses to %d bytes, not %d" % (len(data), size))
    return data


class _SegmentLog:
    """What Log and BlobLog share: the directory's segment list and its
    refresh, the committed range [first_seq, next_seq), bounds, lookup and
    the errors that name the call and the directory. Subclasses give _NAME,
    _SEGMENT, _expect(h), _most() and _load(seg, call)."""

    def _fail(self, call, cause, code, path=None):
        return Error("mapfile.%s.%s('%s'): %s" % (self._NAME, call, self._dir, cause), code,
                     path or self._dir)

    def _format_error(self, call, seg, e):
        return Error("mapfile.%s.%s('%s'): %s" % (self._NAME, call, self._dir, e), e.kind,
                     seg.path)

    def _decode_segment(self, seg, call):
        """(mapping, size, header) of `seg`, whose header must be of the log's
        kind and type and agree with the segment's name."""
        name = "mapfile.%s.%s" % (self._NAME, call)
        m, size = _map(seg.path, name)
        h = _decode(m, seg.path, name)
        kind, want, alignment, data_offset = self._expect(h)
        try:
            _format.check_compatible(h, kind, want, seg.path)
        except FormatError as e:
            _close(m)
            raise self._format_error(call, seg, e) from None
        if (h.first_sequence != seg.first or h.record_alignment != alignment or
                h.data_offset != data_offset):
            _close(m)
            raise self._fail(call, "log segment '%s': header says first record %d, alignment %d, "
                             "data at %d; its name and type say %d, %d, %d"
                             % (seg.path, h.first_sequence, h.record_alignment, h.data_offset,
                                seg.first, alignment, data_offset),
                             "DataLoss", seg.path)
        return m, size, h

    def _latest_commit(self, m, size, h, seg, call):
        try:
            return _format.latest_commit(h, size, seg.path)
        except FormatError as e:
            _close(m)
            raise self._format_error(call, seg, e) from None

    def _check_count(self, seg, count, call):
        most = self._most()
        if count > most:
            raise self._fail(call, "log segment '%s' claims %d records; a segment holds at most %d"
                             % (seg.path, count, most), "DataLoss", seg.path)

    def _scan(self):
        """The directory's segments, oldest first, the last one live; those
        already known are kept (but the live one is looked at again)."""
        try:
            names = os.listdir(self._dir)
        except FileNotFoundError:
            raise self._fail("open", "no such directory", "NotFound") from None
        except NotADirectoryError:
            raise self._fail("open", "not a directory", "InvalidArgument") from None
        except OSError as e:
            raise self._fail("open", e.strerror, "InvalidArgument") from None
        firsts = sorted(f for f in (_parse_segment_name(n) for n in names) if f is not None)
        if not firsts:
            raise self._fail("open", "no log segments (*.seg) yet", "NotFound")
        old = {s.first: s for s in self._segments}
        segments = []
        for first in firsts:
            seg = old.get(first)
            if seg is None or seg.live:  # the live one is looked at again
                seg = self._SEGMENT(first, os.path.join(self._dir, _segment_name(first)))
            segments.append(seg)
        segments[-1].live = True
        return segments

    def _set_counts(self, segments):
        """A sealed segment holds the records up to the next one's first."""
        for i in range(len(segments) - 1):
            s = segments[i]
            s.live = False
            count = segments[i + 1].first - s.first
            self._check_count(s, count, "open")
            if s.loaded and s.count != count:
                s.unload()
            s.count = count

    def _read_type(self, seg):
        """The header of `seg`, whose type and byte order the log takes."""
        m, _, h = self._decode_segment(seg, "open")
        _close(m)
        self._type = h.type
        self._endian = "big" if h.byte_order == 2 else "little"
        return h

    @property
    def first_seq(self):
        return self._segments[0].first

    @property
    def next_seq(self):
        """One past the last committed record."""
        last = self._segments[-1]
        return last.first + last.count

    def __len__(self):
        return self.next_seq - self.first_seq

    def _find(self, seq):
        lo, hi = 0, len(self._segments)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._segments[mid].first <= seq:
                lo = mid
            else:
                hi = mid
        return self._segments[lo]

    def _segment_of(self, seq):
        """The loaded segment holding record `seq`; IndexError outside
        [first_seq, next_seq)."""
        if seq < self.first_seq or seq >= self.next_seq:
            raise IndexError("mapfile.%s('%s')[%d]: outside the log's [%d, %d)"
                             % (self._NAME, self._dir, seq, self.first_seq, self.next_seq))
        seg = self._find(seq)
        self._load(seg, "read")
        return seg

    def _bounds(self, start, stop, call):
        first, nxt = self.first_seq, self.next_seq
        start = first if start is None else int(start)
        stop = nxt if stop is None else int(stop)
        if start < first or stop > nxt or start > stop:
            raise IndexError("mapfile.%s('%s').%s(%d, %d): outside the log's [%d, %d)"
                             % (self._NAME, self._dir, call, start, stop, first, nxt))
        return start, stop

    def _parts(self, start, stop):
        """(segment, lo, hi) of each loaded segment holding records of
        [lo, hi), the part of [start, stop) (default: all) it holds."""
        start, stop = self._bounds(start, stop, "segments")
        for seg in list(self._segments):
            lo = max(start, seg.first)
            hi = min(stop, seg.first + seg.count)
            if lo >= hi:
                continue
            self._load(seg, "segments")
            yield seg, lo, hi

    def __iter__(self):
        for part in self.segments():
            for record in part:
                yield record


class Log(_SegmentLog):
    """The committed records of an AppendLog directory, as LogReader<T>
    sees them: every segment's commit and every record's checksum honoured,
    and in the active segment the torn-newest-commit rule (a newest commit
    whose new records do not all verify counts for nothing).

    A snapshot as of open_log() or the last refresh(): first_seq and
    next_seq do not move until refresh() looks for news.
    """

    _NAME = "Log"
    _SEGMENT = _TypedSegment

    def __init__(self, directory, dtype=None):
        self._dir = directory
        self._user_dtype = dtype
        self._segments = []
        self._type = None
        self.refresh()

    # ------------------------------------------------------------ layout

    def _expect(self, h):
        want = self._type if self._type is not None else h.type
        layout = _Layout(want)
        return _format.KIND_LOG_SEGMENT, want, layout.alignment, layout.data_offset

    def _most(self):
        return (MAX_SEGMENT_SIZE - self._layout.control_size) // self._layout.stride

    def _frame_valid(self, seg, i):
        L = self._layout
        at = seg.frames_at + i * L.stride
        stored = int.from_bytes(seg.frames[at + L.checksum_at:at + L.checksum_at + 8], self._endian)
        view = memoryview(seg.frames)[at:at + L.payload]
        try:
            return stored == _native.xxh3_64(view, seg.first + i)
        finally:
            view.release()

    def _load(self, seg, call):
        """Maps (or decompresses) `seg` and fixes its committed count, as
        LogStore::Load does."""
        if seg.records is not None:
            return
        L = self._layout
        m, size, h = self._decode_segment(seg, call)
        c = self._latest_commit(m, size, h, seg, call)
        compressed = bool(h.segment_flags & _format.SEGMENT_COMPRESSED)
        capacity = 0
        sealed = False
        if not compressed:
            if size >= L.data_offset + L.control_size:
                capacity = (size - L.data_offset - L.control_size) // L.stride
            sealed_word = int.from_bytes(m[L.data_offset + 12:L.data_offset + 16], self._endian) \
                if capacity > 0 else 0
            sealed = bool(h.segment_flags & _format.SEGMENT_SEALED) or sealed_word != 0
        if seg.live:
            seg.count = c.count
        if c.count != seg.count or (not compressed and (c.count > capacity or
                                                        c.length != c.count * L.stride)):
            raise self._fail(call, "log segment '%s' commits %d records in %d bytes; the log "
                             "expects %d of %d bytes (at most %d)"
                             % (seg.path, c.count, c.length, seg.count, L.stride, capacity),
                             "DataLoss", seg.path)
        if compressed:
            self._inflate(seg, m, h, c, call)
            m.close()
        else:
            seg.mmap = m
            seg.frames = m
            seg.frames_at = L.data_offset + L.control_size
            if seg.live:
                if not sealed:
                    seg.count = self._last_whole_commit(seg, h, c)
                published = int.from_bytes(m[L.data_offset:L.data_offset + 8], self._endian)
                seg.count = max(seg.count, min(published, capacity))
        seg.records = np.ndarray(shape=(seg.count,), dtype=self.dtype, buffer=seg.frames,
                                 offset=seg.frames_at, strides=(L.stride,))

    def _last_whole_commit(self, seg, h, c):
        """LastWholeCommit of mapfile/append_log.cc with NewestCommitFrom of
        log_format.h: the newest commit stands only if every record it added
        verifies; else the commit before it."""
        start = _previous_count(h, c)
        for i in range(start, c.count):
            if not self._frame_valid(seg, i):
                return start
        return c.count

    def _inflate(self, seg, m, h, c, call):
        L = self._layout

        def corrupt(what):
            return self._fail(call, "compressed log segment '%s': %s" % (seg.path, what),
                              "DataLoss", seg.path)
        self._check_count(seg, c.count, call)
        length = L.control_size + c.count * L.stride
        if h.uncompressed_length != length:
            raise corrupt("holds %d bytes uncompressed; %d records need %d"
                          % (h.uncompressed_length, c.count, length))
        if c.length < c.count * 4:
            raise corrupt("%d compressed bytes cannot hold %d records (at least 4 bytes each)"
                          % (c.length, c.count))
        data = _decompress(m, L.data_offset, c.length, length, corrupt)
        seg.frames = data
        seg.frames_at = L.control_size
        for i in range(seg.count):
            if not self._frame_valid(seg, i):
                raise corrupt("record %d fails its checksum after decompression" % (seg.first + i))
        seg.verified = seg.count

    # ------------------------------------------------------------ public

    def refresh(self):
        """Looks for news: new segments, records committed since, segments
        removed by retention (LogReader does this on every call)."""
        segments = self._scan()
        last = segments[-1]
        if self._type is None:
            # The layout bounds the sealed segments' counts: read it first.
            h = self._read_type(last)
            self._layout = _Layout(h.type)
            self._checksum_dtype = np.dtype(">u8" if h.byte_order == 2 else "<u8")
            self.dtype = _dtype(h, self._user_dtype, self._dir, "mapfile.open_log")
        self._set_counts(segments)
        self._segments = segments
        self._load(last, "open")

    @property
    def type(self):
        """The record type (name, version, size, alignment, fields)."""
        return self._type

    def _check_range(self, seg, i, n, call):
        """DataLoss unless frames [i, i + n) of `seg` verify (each frame is
        checked once while the verified frames stay a prefix)."""
        end = i + n
        if seg.verified >= end:
            return
        start = max(i, seg.verified) if seg.verified >= i else i
        L = self._layout
        xxh3 = _native.xxh3_64
        chunk = 1 << 20  # frames per pass: bounds the digest array
        with memoryview(seg.frames) as mv:
            for lo in range(start, end, chunk):
                hi = min(end, lo + chunk)
                at = seg.frames_at + lo * L.stride
                stored = np.ndarray(shape=(hi - lo,), dtype=self._checksum_dtype,
                                    buffer=seg.frames, offset=at + L.checksum_at,
                                    strides=(L.stride,))
                seq = seg.first + lo
                digests = np.fromiter(
                    (xxh3(mv[a:a + L.payload], seq + k)
                     for k, a in enumerate(range(at, at + (hi - lo) * L.stride, L.stride))),
                    dtype=np.uint64, count=hi - lo)
                bad = np.flatnonzero(digests != stored)
                if len(bad):
                    raise self._fail(call, "record %d in '%s' fails its checksum"
                                     % (seq + int(bad[0]), seg.path), "DataLoss", seg.path)
        if start == seg.verified:
            seg.verified = end

    def __getitem__(self, seq):
        """Record `seq` (a read-only numpy.void). IndexError outside
        [first_seq, next_seq); mapfile.Error if it is damaged."""
        seq = int(seq)
        seg = self._segment_of(seq)
        i = seq - seg.first
        self._check_range(seg, i, 1, "read")
        return seg.records[i]

    def segments(self, start=None, stop=None):
        """One read-only array per segment, of its records in [start,
        stop) (default: all). Uncompressed segments are views of the file's
        mapping (no copy); compressed ones are decompressed once."""
        for seg, lo, hi in self._parts(start, stop):
            self._check_range(seg, lo - seg.first, hi - lo, "segments")
            yield seg.records[lo - seg.first:hi - seg.first]

    def to_numpy(self, start=None, stop=None):
        """Records [start, stop) (default: all) as one structured array (a
        copy: frames are not contiguous records)."""
        start, stop = self._bounds(start, stop, "to_numpy")
        out = np.empty(stop - start, dtype=self.dtype)
        # Copied as whole records (opaque bytes of the record size), which
        # numpy does as one strided memcpy loop; a field-by-field copy of a
        # structured dtype is many times slower.
        raw = out.view("V%d" % self._layout.payload)
        at = 0
        for part in self.segments(start, stop):
            raw[at:at + len(part)] = part.view(raw.dtype)
            at += len(part)
        return out

    def __repr__(self):
        return "<mapfile.Log '%s' of %s, records [%d, %d)>" % (
            self._dir, self._type, self.first_seq, self.next_seq)


class _BlobSegment(_Segment):
    def __init__(self, first, path):
        super().__init__(first, path)
        self.loaded = False
        self.buf = None         # the mapping, or the decompressed image
        self.base = 0           # offset of the first frame in `buf`
        self.area = 0           # bytes of the frame area
        self.capacity = 0       # records the area could hold (at most)
        self.index = None       # _blob.Index, or None: reads are DataLoss

    def unload(self):
        self.loaded = False


class BlobLog(_SegmentLog):
    """The committed records of a BlobLog directory, as BlobReader sees
    them: `log[seq]` is the record's bytes. Every segment's commit, every
    frame's checksum (seeded with its sequence number) and, in the active
    segment, the torn-newest-commit rule are honoured; a sealed segment's
    offset index (NAME.idx) is used when it describes the segment, else
    rebuilt from the frames' lengths; compressed segments are decompressed
    and every frame verified. A record BlobReader would refuse raises
    mapfile.Error ("DataLoss").

    A snapshot as of open_log() or the last refresh(), as Log.
    """

    _NAME = "BlobLog"
    _SEGMENT = _BlobSegment
    dtype = np.dtype(object)

    def __init__(self, directory):
        self._dir = directory
        self._segments = []
        self._type = None
        self.refresh()

    def _corrupt(self, call, seg, what):
        return self._fail(call, "blob log segment '%s': %s" % (seg.path, what),
                          "DataLoss", seg.path)

    def _expect(self, h):
        return (_format.KIND_BLOB_SEGMENT, _BLOB_TYPE, _blob.RECORD_ALIGNMENT,
                _blob.DATA_OFFSET)

    def _most(self):
        return (MAX_SEGMENT_SIZE - _blob.CONTROL_SIZE) // _blob.FRAME_HEADER

    def _load(self, seg, call):
        """Maps (or decompresses) `seg`, fixes its committed count and its
        index, as LogStore::Load does for blob segments."""
        if seg.loaded:
            return
        m, size, h = self._decode_segment(seg, call)
        c = self._latest_commit(m, size, h, seg, call)
        compressed = bool(h.segment_flags & _format.SEGMENT_COMPRESSED)
        sealed = not seg.live
        if not compressed:
            start = _blob.DATA_OFFSET + _blob.CONTROL_SIZE
            seg.area = size - start if size >= start else 0
            seg.capacity = seg.area // _blob.FRAME_HEADER
            sealed_word = int.from_bytes(m[_blob.DATA_OFFSET + 12:_blob.DATA_OFFSET + 16],
                                         self._endian) if seg.area > 0 else 0
            sealed = sealed or bool(h.segment_flags & _format.SEGMENT_SEALED) or sealed_word != 0
        if seg.live:
            seg.count = c.count
        fits = compressed or (c.count <= seg.capacity and c.length <= seg.area)
        if c.count != seg.count or not fits:
            m.close()
            raise self._fail(call, "log segment '%s' commits %d records in %d bytes; the log "
                             "expects %d (at most %d records in %d bytes)"
                             % (seg.path, c.count, c.length, seg.count, seg.capacity, seg.area),
                             "DataLoss", seg.path)
        if compressed:
            try:
                self._inflate(seg, m, h, c, call)
            finally:
                m.close()
        else:
            seg.buf = m
            seg.base = _blob.DATA_OFFSET + _blob.CONTROL_SIZE
            if seg.live:
                seg.index = _blob.Index()
                if not sealed:
                    seg.count = self._last_whole_commit(seg, h, c, call)
                published = int.from_bytes(m[_blob.DATA_OFFSET:_blob.DATA_OFFSET + 8],
                                           self._endian)
                seg.count = max(seg.count, min(published, seg.capacity))
                seg.index.extend(seg.buf, seg.base, seg.area, seg.first, seg.count, False)
            else:
                self._load_index(seg, c.length)
        seg.loaded = True

    def _last_whole_commit(self, seg, h, c, call):
        """LastWholeBlobCommit: the frames of the commit before the newest
        must parse (else DataLoss: committed records are never cut); the
        newest commit stands if its frames parse, verify and end exactly at
        its length, else the one before it. Indexes seg up to the result."""
        start = _previous_count(h, c)
        x = seg.index
        result = x.extend(seg.buf, seg.base, c.length, seg.first, start, False)
        if result != _blob.VALID:
            raise self._corrupt(call, seg, "committed record %d at offset %d %s"
                                % (seg.first + x.count, x.bytes, result))
        if (x.extend(seg.buf, seg.base, c.length, seg.first, c.count, True) != _blob.VALID or
                x.bytes != c.length):
            x.truncate(start)
            return start
        return c.count

    def _load_index(self, seg, length):
        """A sealed segment's index: NAME.idx if it describes the segment,
        else rebuilt from the frames' length fields (a frame that does not
        parse ends it; reads past it are DataLoss)."""
        seg.area = min(seg.area, length)
        path = os.path.join(self._dir, "%020d.idx" % seg.first)
        want = _blob.INDEX_OVERHEAD + 8 * seg.count
        try:
            with open(path, "rb") as f:
                # Only a file of the size the count implies is read.
                if (os.fstat(f.fileno()).st_size == want and
                        seg.count <= length // _blob.FRAME_HEADER):
                    data = f.read(want + 1)
                    index, _ = _blob.decode_index(data, seg.first, seg.count, length)
                    if index is not None:
                        seg.index = index
                        return
        except OSError:
            pass
        seg.index = _blob.Index()
        seg.index.extend(seg.buf, seg.base, seg.area, seg.first, seg.count, False)

    def _inflate(self, seg, m, h, c, call):
        def corrupt(what):
            return self._fail(call, "compressed blob log segment '%s': %s" % (seg.path, what),
                              "DataLoss", seg.path)
        image = h.uncompressed_length
        why = _blob.check_compressed_commit(image, c.count, c.length)
        if why is not None:
            raise corrupt(why)
        data = _decompress(m, _blob.DATA_OFFSET, c.length, image, corrupt)
        x = _blob.Index()
        result = x.extend(data, _blob.CONTROL_SIZE, image - _blob.CONTROL_SIZE, seg.first,
                          seg.count, True)
        if x.count != seg.count or x.bytes != image - _blob.CONTROL_SIZE:
            raise corrupt("record %d at offset %d %s after decompression"
                          % (seg.first + x.count, x.bytes,
                             "is past the end of the records" if result == _blob.VALID
                             else result))
        seg.buf = data
        seg.base = _blob.CONTROL_SIZE
        seg.area = image - _blob.CONTROL_SIZE
        seg.index = x

    # ------------------------------------------------------------ public

    def refresh(self):
        """Looks for news: new segments, records committed since, segments
        removed by retention (BlobReader does this on every call)."""
        segments = self._scan()
        self._set_counts(segments)
        if self._type is None:
            self._read_type(segments[-1])
        self._segments = segments
        self._load(segments[-1], "open")

    @property
    def type(self):
        """The type a blob segment's header names: "mapfile.blob" v1."""
        return self._type

    def _read(self, seg, seq, call):
        """ReadBlob: the frame the index points at must verify and end where
        the index says the next one starts."""
        i = seq - seg.first
        x = seg.index
        at = 0
        result = _blob.SHORT
        if x is not None:
            result = _blob.VALID
            if i >= x.count:
                result = x.extend(seg.buf, seg.base, seg.area, seg.first, i + 1, False)
            at = x.bytes
            if i < x.count:
                at = x.starts[i]
                end = x.starts[i + 1]
                result, n = _blob.check(seg.buf, seg.base, at, end, seq)
                if result == _blob.VALID and _blob.frame_size(n) != end - at:
                    result = _blob.SHORT
        if result != _blob.VALID:
            raise self._fail(call, "the frame of record %d in '%s' at offset %d %s"
                             % (seq, seg.path, at, result), "DataLoss", seg.path)
        begin = seg.base + at + _blob.FRAME_HEADER
        return bytes(seg.buf[begin:begin + n])

    def __getitem__(self, seq):
        """Record `seq` (bytes). IndexError outside [first_seq, next_seq);
        mapfile.Error if it is damaged."""
        seq = int(seq)
        return self._read(self._segment_of(seq), seq, "read")

    def segments(self, start=None, stop=None):
        """One numpy object array of bytes per segment, of its records in
        [start, stop) (default: all)."""
        for seg, lo, hi in self._parts(start, stop):
            out = np.empty(hi - lo, dtype=object)
            for k, seq in enumerate(range(lo, hi)):
                out[k] = self._read(seg, seq, "segments")
            yield out

    def to_numpy(self, start=None, stop=None):
        """Records [start, stop) (default: all) as one numpy object array of
        bytes (records vary in length: no fixed-size dtype holds them)."""
        start, stop = self._bounds(start, stop, "to_numpy")
        out = np.empty(stop - start, dtype=object)
        at = 0
        for part in self.segments(start, stop):
            out[at:at + len(part)] = part
            at += len(part)
        return out

    def __repr__(self):
        return "<mapfile.BlobLog '%s', records [%d, %d)>" % (
            self._dir, self.first_seq, self.next_seq)


def _log_kind(directory):
    """The container kind of the newest segment in `directory`, or None if
    it cannot be told (Log then reports why)."""
    try:
        firsts = [f for f in (_parse_segment_name(n) for n in os.listdir(directory))
                  if f is not None]
        if not firsts:
            return None
        with open(os.path.join(directory, _segment_name(max(firsts))), "rb") as f:
            page = f.read(_format.HEADER_SIZE)
        return _format.decode_header(page, directory).kind
    except (OSError, FormatError, _native.NativeError):
        return None


def open_log(directory, dtype=None):
    """The committed records of an AppendLog directory (a Log), or of a
    BlobLog directory (a BlobLog: records are bytes), told apart by the
    newest segment's container kind.

    For an AppendLog the record type is the one in the newest segment's
    header; every segment must hold the same (name, version, size,
    alignment, and schema where both have one). `dtype=` overrides the
    schema's dtype (itemsize: the record size); a blob log takes none."""
    if _log_kind(directory) == _format.KIND_BLOB_SEGMENT:
        if dtype is not None:
            raise Error("mapfile.open_log('%s'): a blob log's records are bytes; it takes "
                        "no dtype" % directory, "InvalidArgument", directory)
        return BlobLog(directory)
    return Log(directory, dtype)
