"""The IDX format of MNIST and Fashion-MNIST, read with every check.

An IDX file is a 4-byte magic number (0, 0, dtype code, number of
dimensions), one big-endian uint32 per dimension, then the values, row-major.
Files ending in ``.gz`` are gunzipped first.
"""

from __future__ import annotations

import gzip
import os
import zlib

import numpy as np

__all__ = ["read_idx", "parse_idx", "write_idx"]

_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_CODES = {np.dtype(v).newbyteorder("=").str: k for k, v in _DTYPES.items()}


def parse_idx(data, source="<bytes>"):
    """The array stored in IDX bytes; ValueError naming ``source`` if they
    are not a complete IDX file."""
    if len(data) < 4:
        raise ValueError(f"{source}: not an IDX file: {len(data)} bytes, expected at least 4")
    zero, code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    if zero != 0 or code not in _DTYPES or not 1 <= ndim <= 4:
        raise ValueError(f"{source}: not an IDX file: magic number {data[:4].hex()} (expected "
                         f"0000 then a type code in {sorted(hex(c) for c in _DTYPES)} and "
                         f"1-4 dimensions)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{source}: truncated IDX header: {len(data)} bytes, expected "
                         f"{header}")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    dtype = _DTYPES[code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        kind = "truncated" if len(data) < expected else "has trailing bytes"
        raise ValueError(f"{source}: IDX file {kind}: dimensions {dims} of {dtype.name} need "
                         f"{expected} bytes; found {len(data)}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(
        dtype.newbyteorder("="), copy=False)


def read_idx(path):
    """Read an IDX file (``.gz`` or not) with :func:`parse_idx`'s checks."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            raw = f.read()
        data = gzip.decompress(raw) if path.endswith(".gz") else raw
    except (OSError, EOFError, zlib.error) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(f"{path}: cannot be read as a gzip file ({error}); the file is "
                         f"corrupt or truncated") from None
    return parse_idx(data, path)


def write_idx(path, array):
    """Write ``array`` as IDX (gzipped if ``path`` ends in .gz): for tests and
    for making your own data sets."""
    array = np.asarray(array)
    code = _CODES.get(array.dtype.newbyteorder("=").str)
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    header = bytes([0, 0, code, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.astype(_DTYPES[code], copy=False).tobytes()
    path = os.fspath(path)
    with open(path, "wb") as f:
        f.write(gzip.compress(data, mtime=0) if path.endswith(".gz") else data)
