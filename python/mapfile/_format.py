# Copyright 2026 The mapfile Authors.
"""The header page of docs/FORMAT.md, decoded and validated in Python.

Written from docs/FORMAT.md alone (the C++ side is include/mapfile/format.h
and mapfile/format.cc): every check of "Validation of an untrusted header"
and of "The field schema", in the same order, with the same outcome. A
header this module accepts is one the C++ DecodeHeader accepts, and the
other way round; tests/test_mapfile.py holds them to it on files written by
the C++ library, intact, damaged and hostile.
"""

import struct

import numpy as np

from . import _native

HEADER_SIZE = 4096
FORMAT_MAJOR = 1
MAGIC = b"MAPFILE\0"
CHECKSUM_AT = 3960
SLOT_AT = 3968
SLOT_SIZE = 64
SLOT_CHECKSUM_AT = 56
MAX_TYPE_NAME = 64
MAX_RECORD_ALIGNMENT = 65536
MAX_TYPE_SIZE = 1 << 24
SCHEMA_AT = 200
FIELDS_AT = 208
MAX_SCHEMA_BYTES = CHECKSUM_AT - FIELDS_AT
MAX_FIELDS = 256
MAX_FIELD_NAME = 64

KIND_VECTOR = 1
KIND_LOG_SEGMENT = 2
KIND_BLOB_SEGMENT = 3
KIND_NAMES = {KIND_VECTOR: "vector", KIND_LOG_SEGMENT: "log segment",
              KIND_BLOB_SEGMENT: "blob log segment"}

FLAG_SCHEMA = 1
REQUIRED_FLAGS = 0xFFFF0000
KNOWN_FLAGS = FLAG_SCHEMA
SEGMENT_SEALED = 1
SEGMENT_COMPRESSED = 2

FIELD_ARRAY = 1
FIELD_ENUM = 2

# type code -> (name, numpy kind, element bytes)
FIELD_TYPES = {
    1: ("bool", "?", 1),
    2: ("int8", "i1", 1),
    3: ("int16", "i2", 2),
    4: ("int32", "i4", 4),
    5: ("int64", "i8", 8),
    6: ("uint8", "u1", 1),
    7: ("uint16", "u2", 2),
    8: ("uint32", "u4", 4),
    9: ("uint64", "u8", 8),
    10: ("float32", "f4", 4),
    11: ("float64", "f8", 8),
    12: ("char", "S", 1),
    13: ("bytes", "u1", 1),
}
TEXT = 12
BYTES = 13


class FormatError(Exception):
    """A header that fails validation. `kind` names the C++ status code."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def _u(data, at, n):
    return int.from_bytes(data[at:at + n], "little")


def _is_identifier(name):
    if not name:
        return False
    for i, c in enumerate(name):
        alpha = ("a" <= c <= "z") or ("A" <= c <= "Z") or c == "_"
        if not alpha and not (i > 0 and "0" <= c <= "9"):
            return False
    return True


class Field:
    """One field of the schema, as MAPFILE_FIELDS recorded it."""

    __slots__ = ("name", "type", "flags", "offset", "count")

    def __init__(self, name, type_code, flags, offset, count):
        self.name = name
        self.type = type_code
        self.flags = flags
        self.offset = offset
        self.count = count

    @property
    def element_size(self):
        return FIELD_TYPES[self.type][2]

    @property
    def size(self):
        return self.element_size * self.count

    @property
    def type_name(self):
        """"float64", "char[8]", "uint32[2]", "uint8 (enum)": as C++ says."""
        name = FIELD_TYPES[self.type][0]
        if self.flags & FIELD_ARRAY:
            name += "[%d]" % self.count
        if self.flags & FIELD_ENUM:
            name += " (enum)"
        return name

    def __eq__(self, other):
        return (isinstance(other, Field) and
                (self.name, self.type, self.flags, self.offset, self.count) ==
                (other.name, other.type, other.flags, other.offset, other.count))

    def __ne__(self, other):
        return not self == other

    def __str__(self):
        size = self.size
        return "%s: %s at offset %d (%d %s)" % (
            self.name, self.type_name, self.offset, size,
            "byte" if size == 1 else "bytes")

    def __repr__(self):
        return "Field(%s)" % self


class TypeFingerprint:
    __slots__ = ("name", "version", "size", "alignment", "fields")

    def __init__(self, name, version, size, alignment, fields):
        self.name = name
        self.version = version
        self.size = size
        self.alignment = alignment
        self.fields = fields

    def __str__(self):
        layout = "(%d bytes, align %d)" % (self.size, self.alignment)
        if not self.name:
            return "an undeclared type " + layout
        return '"%s" v%d %s' % (self.name, self.version, layout)


class CommitSlot:
    __slots__ = ("sequence", "count", "length")

    def __init__(self, sequence, count, length):
        self.sequence = sequence
        self.count = count
        self.length = length


class Header:
    """A decoded, validated header page."""

    def __init__(self):
        self.format_major = 0
        self.format_minor = 0
        self.kind = 0
        self.byte_order = 1
        self.flags = 0
        self.type = None
        self.record_alignment = 0
        self.data_offset = 0
        self.first_sequence = 0
        self.segment_flags = 0
        self.uncompressed_length = 0
        self.slots = [None, None]

    @property
    def kind_name(self):
        return KIND_NAMES.get(self.kind, "kind %d" % self.kind)


def _validate_fields(fields, record_size):
    """ValidateFields of format.cc; raises ValueError(message)."""
    if len(fields) > MAX_FIELDS:
        raise ValueError("the schema has %d fields; at most %d" % (len(fields), MAX_FIELDS))
    names = {}
    total = 0
    for i, f in enumerate(fields):
        which = "field %d" % (i + 1)
        if len(f.name) > MAX_FIELD_NAME or not _is_identifier(f.name):
            raise ValueError("%s's name is not an identifier of 1 to %d bytes" % (which, MAX_FIELD_NAME))
        named = '%s "%s"' % (which, f.name)
        if f.type not in FIELD_TYPES:
            raise ValueError("%s has unknown type %d" % (named, f.type))
        if f.flags & ~(FIELD_ARRAY | FIELD_ENUM):
            raise ValueError("%s has unknown flags %d" % (named, f.flags))
        if f.count == 0:
            raise ValueError("%s has count 0" % named)
        if f.offset + f.size > record_size:
            raise ValueError("%s (%d bytes at offset %d) ends past the %d-byte record"
                             % (named, f.size, f.offset, record_size))
        if f.name in names:
            raise ValueError("%s has the name of field %d" % (named, names[f.name] + 1))
        names[f.name] = i
        total += 12 + len(f.name)
    if total > MAX_SCHEMA_BYTES:
        raise ValueError("the schema needs %d bytes; the header holds %d"
                         % (total, MAX_SCHEMA_BYTES))


def _decode_schema(p, record_size):
    n = _u(p, SCHEMA_AT, 2)
    length = _u(p, SCHEMA_AT + 2, 2)
    if n == 0 or n > MAX_FIELDS:
        raise ValueError("schema field count %d is not in [1, %d]" % (n, MAX_FIELDS))
    if length > MAX_SCHEMA_BYTES:
        raise ValueError("schema length %d exceeds the %d-byte area" % (length, MAX_SCHEMA_BYTES))
    fields = []
    at = 0
    for i in range(n):
        which = "schema field %d" % (i + 1)
        if length - at < 12:
            raise ValueError("%s runs past the schema's %d bytes" % (which, length))
        e = FIELDS_AT + at
        k = p[e + 10]
        if k == 0 or k > MAX_FIELD_NAME or length - at < 12 + k:
            raise ValueError("%s's name length %d is not in [1, %d] or runs past the schema"
                             % (which, k, MAX_FIELD_NAME))
        if p[e + 11 + k] != 0:
            raise ValueError("%s's name is not NUL-terminated" % which)
        name = bytes(p[e + 11:e + 11 + k]).decode("latin-1")
        fields.append(Field(name, p[e + 8], p[e + 9], _u(p, e, 4), _u(p, e + 4, 4)))
        at += 12 + k
    if at != length:
        raise ValueError("schema length %d disagrees with its fields' %d bytes" % (length, at))
    _validate_fields(fields, record_size)
    return fields


def _validate_type(t, record_alignment):
    if t.size == 0:
        raise ValueError("type size is 0")
    if t.size > MAX_TYPE_SIZE:
        raise ValueError("type size %d is larger than %d bytes" % (t.size, MAX_TYPE_SIZE))
    if len(t.name) > MAX_TYPE_NAME:
        raise ValueError("type name is longer than %d" % MAX_TYPE_NAME)
    if t.alignment == 0 or t.alignment & (t.alignment - 1) or t.alignment > MAX_RECORD_ALIGNMENT:
        raise ValueError("type alignment %d is not a power of two <= %d"
                         % (t.alignment, MAX_RECORD_ALIGNMENT))
    if (record_alignment == 0 or record_alignment & (record_alignment - 1) or
            record_alignment > MAX_RECORD_ALIGNMENT or record_alignment < t.alignment):
        raise ValueError("record alignment %d is not a power of two in [%d, %d]"
                         % (record_alignment, t.alignment, MAX_RECORD_ALIGNMENT))
    _validate_fields(t.fields, t.size)


def _corrupt(path, what):
    return FormatError("DataLoss", "mapfile header of '%s': %s" % (path, what))


def read_slots(page):
    """Both commit slots of a header page: a CommitSlot or None (invalid)."""
    slots = [None, None]
    for i in range(2):
        s = page[SLOT_AT + SLOT_SIZE * i:SLOT_AT + SLOT_SIZE * (i + 1)]
        seq, count, length = struct.unpack_from("<QQQ", s, 0)
        stored = _u(s, SLOT_CHECKSUM_AT, 8)
        if stored == _native.xxh3_64(bytes(s[:SLOT_CHECKSUM_AT])) and seq != 0 and (seq & 1) == i:
            slots[i] = CommitSlot(seq, count, length)
    return slots


def stable_page(buffer):
    """A private copy of the header page at the start of `buffer` (a
    mapping a writer may be changing): the slots are copied again until
    neither sequence word changed during the copy, as the C++ reader does."""
    page = bytearray(buffer[:HEADER_SIZE])
    for _ in range(64):
        now = bytes(buffer[SLOT_AT:SLOT_AT + 8]) + bytes(buffer[SLOT_AT + SLOT_SIZE:SLOT_AT + SLOT_SIZE + 8])
        if now == bytes(page[SLOT_AT:SLOT_AT + 8]) + bytes(page[SLOT_AT + SLOT_SIZE:SLOT_AT + SLOT_SIZE + 8]):
            break
        page[SLOT_AT:HEADER_SIZE] = buffer[SLOT_AT:HEADER_SIZE]
    return bytes(page)


def decode_header(data, path):
    """DecodeHeader of docs/FORMAT.md over the file's first bytes `data`."""
    if len(data) < HEADER_SIZE:
        raise _corrupt(path, "the file is %d bytes, shorter than the %d-byte header"
                       % (len(data), HEADER_SIZE))
    p = bytes(data[:HEADER_SIZE])
    if p[:8] != MAGIC:
        raise FormatError("InvalidArgument",
                          "'%s' is not a mapfile file (no \"MAPFILE\" magic)" % path)
    h = Header()
    h.format_major = _u(p, 8, 2)
    h.format_minor = _u(p, 10, 2)
    if h.format_major != FORMAT_MAJOR:
        raise FormatError("FailedPrecondition",
                          "%s has format version %d.%d; this library reads version %d.x"
                          % (path, h.format_major, h.format_minor, FORMAT_MAJOR))
    if _u(p, 14, 2) != 1:
        raise _corrupt(path, "unknown checksum algorithm %d" % _u(p, 14, 2))
    if _u(p, CHECKSUM_AT, 8) != _native.xxh3_64(p[:CHECKSUM_AT]):
        raise _corrupt(path, "header checksum mismatch")
    h.kind = _u(p, 12, 2)
    h.byte_order = p[16]
    h.flags = _u(p, 20, 4)
    version = _u(p, 28, 4)
    size = _u(p, 32, 8)
    alignment = _u(p, 40, 8)
    h.record_alignment = _u(p, 48, 8)
    h.data_offset = _u(p, 56, 8)
    name_length = p[64]
    if _u(p, 24, 4) != HEADER_SIZE:
        raise _corrupt(path, "header size %d is not %d" % (_u(p, 24, 4), HEADER_SIZE))
    if name_length > MAX_TYPE_NAME:
        raise _corrupt(path, "type name length %d exceeds %d" % (name_length, MAX_TYPE_NAME))
    name = p[72:72 + name_length].decode("utf-8", "backslashreplace")
    unknown = h.flags & REQUIRED_FLAGS & ~KNOWN_FLAGS
    if unknown:
        raise FormatError("FailedPrecondition",
                          "'%s' (format %d.%d) needs features this library does not have "
                          "(required flags 0x%08x); use a newer mapfile"
                          % (path, h.format_major, h.format_minor, unknown))
    fields = []
    if h.flags & FLAG_SCHEMA:
        if size == 0 or size > MAX_TYPE_SIZE:
            raise _corrupt(path, "type size %d is not in [1, %d]" % (size, MAX_TYPE_SIZE))
        try:
            fields = _decode_schema(p, size)
        except ValueError as e:
            raise _corrupt(path, str(e)) from None
    h.type = TypeFingerprint(name, version, size, alignment, fields)
    try:
        _validate_type(h.type, h.record_alignment)
    except ValueError as e:
        raise _corrupt(path, str(e)) from None
    if (h.data_offset < HEADER_SIZE or h.data_offset > HEADER_SIZE + MAX_RECORD_ALIGNMENT or
            h.data_offset % h.record_alignment != 0):
        raise _corrupt(path, "data offset %d is not an aligned offset after the header"
                       % h.data_offset)
    h.first_sequence = _u(p, 136, 8)
    h.segment_flags = _u(p, 144, 4)
    h.uncompressed_length = _u(p, 152, 8)
    h.slots = read_slots(p)
    return h


def latest_commit(h, file_size, path):
    """LatestCommit: the newest valid slot, checked against the file."""
    a, b = h.slots
    if a is None and b is None:
        raise _corrupt(path, "both commit slots are invalid")
    c = a if (b is None or (a is not None and a.sequence > b.sequence)) else b
    if h.kind == KIND_VECTOR and (c.length % h.type.size != 0 or
                                  c.length // h.type.size != c.count):
        raise _corrupt(path, "commit %d says %d records in %d bytes" % (c.sequence, c.count, c.length))
    if file_size < h.data_offset or file_size - h.data_offset < c.length:
        raise _corrupt(path, "commit %d holds %d bytes after offset %d but the file is %d bytes (truncated?)"
                       % (c.sequence, c.length, h.data_offset, file_size))
    return c


def check_compatible(h, kind, want, path):
    """CheckCompatible against the type `want` (a TypeFingerprint)."""
    def fail(holds, asked):
        return FormatError("FailedPrecondition", "%s holds %s; asked for %s" % (path, holds, asked))
    if h.kind != kind:
        raise fail("a " + h.kind_name, "a " + KIND_NAMES.get(kind, "kind %d" % kind))
    have = h.type
    names_differ = have.name and want.name and (have.name != want.name or have.version != want.version)
    if names_differ or have.size != want.size or have.alignment != want.alignment:
        raise fail(str(have), str(want))
    if not have.fields or not want.fields:
        return
    for i in range(max(len(have.fields), len(want.fields))):
        def field(fields):
            if i < len(fields):
                return 'field %d "%s"' % (i + 1, fields[i])
            return "no field %d" % (i + 1)
        if i >= len(have.fields) or i >= len(want.fields) or have.fields[i] != want.fields[i]:
            raise fail("%s with %s" % (have, field(have.fields)),
                       "%s with %s" % (want, field(want.fields)))


def byte_order_prefix(h):
    """The numpy byte-order character of the records."""
    if h.byte_order == 1:
        return "<"
    if h.byte_order == 2:
        return ">"
    raise _corrupt("", "byte order %d" % h.byte_order)


def schema_dtype(h, itemsize=None):
    """The numpy dtype of the records: named fields at their offsets (the
    gaps stay padding), itemsize sizeof(T) or `itemsize` (a log frame's
    stride, for zero-copy views of frames). Without a schema: V{size}."""
    t = h.type
    size = t.size if itemsize is None else itemsize
    if not t.fields:
        if itemsize is None:
            return np.dtype("V%d" % t.size)
        return np.dtype({"names": ["f0"], "formats": ["V%d" % t.size],
                         "offsets": [0], "itemsize": size})
    order = byte_order_prefix(h)
    names, formats, offsets = [], [], []
    for f in t.fields:
        kind = FIELD_TYPES[f.type][1]
        if f.type == TEXT:
            fmt = np.dtype("S%d" % f.count)
        elif f.type == BYTES:
            fmt = np.dtype(("u1", (f.count,)))
        elif f.flags & FIELD_ARRAY:
            fmt = np.dtype((order + kind, (f.count,)))
        else:
            fmt = np.dtype(order + kind)
        names.append(f.name)
        formats.append(fmt)
        offsets.append(f.offset)
    return np.dtype({"names": names, "formats": formats, "offsets": offsets,
                     "itemsize": size})
