# Copyright 2026 The mapfile Authors.
"""The two library functions the format needs: XXH3-64 and zstd.

The Python modules (xxhash, zstandard) when installed; otherwise the C
libraries the C++ library links (libxxhash.so.0, libzstd.so.1), through
ctypes. Both give the same results: the format fixes the algorithms, not the
binding. MAPFILE_PY_CTYPES=1 forces the ctypes path (for tests).
"""

import ctypes
import ctypes.util
import os

_FORCE_CTYPES = os.environ.get("MAPFILE_PY_CTYPES") == "1"


class NativeError(Exception):
    """A library the format needs is missing or failed."""


def _load(names):
    for name in names:
        try:
            return ctypes.CDLL(name)
        except OSError:
            continue
    return None


_xxh3 = None
if not _FORCE_CTYPES:
    try:
        import xxhash as _xxhash_module

        def _xxh3(data, seed):
            return _xxhash_module.xxh3_64_intdigest(data, seed)

    except ImportError:
        _xxh3 = None

if _xxh3 is None:
    _lib = _load(["libxxhash.so.0", ctypes.util.find_library("xxhash") or "libxxhash.so"])
    if _lib is not None:
        _fn = _lib.XXH3_64bits_withSeed
        _fn.restype = ctypes.c_uint64
        _fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint64]

        def _xxh3(data, seed):
            buf = bytes(data)  # a copy: the slow path, when xxhash is missing
            return _fn(buf, len(buf), seed)


def xxh3_64(data, seed=0):
    """XXH3-64 of `data` (bytes-like) with `seed`, as the format uses it."""
    if _xxh3 is None:
        raise NativeError("XXH3-64 needs the xxhash module or libxxhash.so.0")
    return _xxh3(data, seed)


_zstd_decompress = None
_zstd_content_size = None
if not _FORCE_CTYPES:
    try:
        import zstandard as _zstandard

        def _zstd_content_size(frame):
            try:
                size = _zstandard.frame_content_size(frame)
            except _zstandard.ZstdError:
                return None
            return size if size >= 0 else None

        def _zstd_decompress(frame, size):
            return _zstandard.ZstdDecompressor().decompress(
                frame, max_output_size=size)

    except ImportError:
        _zstd_decompress = None

if _zstd_decompress is None:
    _zlib = _load(["libzstd.so.1", ctypes.util.find_library("zstd") or "libzstd.so"])
    if _zlib is not None:
        _zlib.ZSTD_getFrameContentSize.restype = ctypes.c_ulonglong
        _zlib.ZSTD_getFrameContentSize.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        _zlib.ZSTD_decompress.restype = ctypes.c_size_t
        _zlib.ZSTD_decompress.argtypes = [ctypes.c_void_p, ctypes.c_size_t,
                                          ctypes.c_char_p, ctypes.c_size_t]
        _zlib.ZSTD_isError.restype = ctypes.c_uint
        _zlib.ZSTD_isError.argtypes = [ctypes.c_size_t]
        _zlib.ZSTD_getErrorName.restype = ctypes.c_char_p
        _zlib.ZSTD_getErrorName.argtypes = [ctypes.c_size_t]

        def _zstd_content_size(frame):
            size = _zlib.ZSTD_getFrameContentSize(bytes(frame), len(frame))
            # ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR
            return None if size >= (1 << 64) - 2 else size

        def _zstd_decompress(frame, size):
            out = ctypes.create_string_buffer(max(size, 1))
            n = _zlib.ZSTD_decompress(out, size, bytes(frame), len(frame))
            if _zlib.ZSTD_isError(n):
                raise NativeError(_zlib.ZSTD_getErrorName(n).decode("ascii", "replace"))
            return out.raw[:n]


def zstd_content_size(frame):
    """The content size a zstd frame declares, or None."""
    if _zstd_content_size is None:
        raise NativeError("zstd needs the zstandard module or libzstd.so.1")
    return _zstd_content_size(frame)


def zstd_decompress(frame, size):
    """The content of one zstd frame of `size` declared bytes."""
    if _zstd_decompress is None:
        raise NativeError("zstd needs the zstandard module or libzstd.so.1")
    try:
        return _zstd_decompress(frame, size)
    except NativeError:
        raise
    except Exception as e:  # zstandard.ZstdError and friends
        raise NativeError(str(e)) from None
