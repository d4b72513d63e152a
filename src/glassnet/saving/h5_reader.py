"""Reading an HDF5 file from elsewhere, with the HDF5 library kept at arm's
length.

The HDF5 C library can loop forever or crash the interpreter on some corrupt
files (a fuzz test found both). So a file that did not come from glassnet is
read in a forked child process: the child walks the whole file with h5py,
refuses what a Keras file never holds (external or soft links, virtual or
externally stored datasets, non-numeric data), and sends back a snapshot,
a JSON description of the groups and attributes followed by the raw bytes of
the arrays, through a pipe. Nothing is pickled. A child that crashes, hangs or
sends garbage becomes a ValueError naming the file. Where ``fork`` does not
exist (Windows) the walk runs in this process.

The snapshot answers the few questions the Keras readers ask: ``key in
group``, ``group[key]`` (with ``a/b/c`` paths), ``group.keys()``,
``group.attrs``, ``group.name`` and a dataset's ``value``.
"""

from __future__ import annotations

import io
import json
import os
import struct
import time

import numpy as np

from glassnet.saving.files import FileFormatError, check_global_heaps

__all__ = ["read_h5", "Group", "Dataset"]

MAX_BYTES = 4 << 30
CHILD_SECONDS = 10  # how long the child may take, plus a second per 20 MB of file


class Dataset:
    def __init__(self, name, value):
        self.name, self.value = name, value


class Group:
    def __init__(self, name, attrs):
        self.name, self.attrs, self._children = name, attrs, {}

    def keys(self):
        return list(self._children)

    def _find(self, key):
        node = self
        for part in [p for p in str(key).split("/") if p]:
            if not isinstance(node, Group) or part not in node._children:
                return None
            node = node._children[part]
        return node

    def __contains__(self, key):
        return self._find(key) is not None

    def __getitem__(self, key):
        node = self._find(key)
        if node is None:
            raise KeyError(f"{self.name.rstrip('/')}/{key}")
        return node


class BadAttribute:
    """An attribute the child could not read as text or numbers."""

    def __init__(self, reason):
        self.reason = reason


# ------------------------------------------------------------ the child's walk
def _walk(f):
    """(description, blobs) of every group, attribute and dataset in ``f``."""
    import h5py

    blobs, total = [], [0]
    nodes = []

    def array(value):
        value = np.array(value, order="C", copy=None)  # a 0-d weight stays 0-d
        total[0] += value.nbytes
        if total[0] > MAX_BYTES:
            raise FileFormatError(f"holds more than {MAX_BYTES >> 30} GB of arrays")
        blobs.append(value.tobytes())
        return {"dtype": value.dtype.str, "shape": list(value.shape), "blob": len(blobs) - 1}

    def attribute(value):
        if isinstance(value, bytes):
            try:
                return {"str": value.decode("utf-8")}
            except UnicodeDecodeError:
                return {"bad": "not UTF-8 text"}
        if isinstance(value, str):
            return {"str": value}
        value = np.asarray(value)
        if value.dtype.kind in "SUO":
            items = []
            for item in value.reshape(-1).tolist():
                if isinstance(item, bytes):
                    try:
                        item = item.decode("utf-8")
                    except UnicodeDecodeError:
                        return {"bad": "not UTF-8 text"}
                if not isinstance(item, str):
                    return {"bad": f"holds {type(item).__name__}"}
                items.append(item)
            return {"strs": items}
        if value.dtype.kind in "fiub" and value.dtype.fields is None:
            return {"array": array(value)}
        return {"bad": f"has dtype {value.dtype}"}

    def attrs_of(obj):
        out = {}
        for key in obj.attrs.keys():
            try:
                out[key] = attribute(obj.attrs[key])
            except (OSError, ValueError, TypeError, KeyError, RuntimeError) as error:
                out[key] = {"bad": f"unreadable ({error})"}
        return out

    def visit(group, name):
        nodes.append({"kind": "group", "name": name, "attrs": attrs_of(group)})
        for key in group.keys():
            link = group.get(key, getlink=True)
            where = f"{name.rstrip('/')}/{key}"
            if isinstance(link, h5py.ExternalLink):
                raise FileFormatError(f"{where} is an external link to {link.filename!r}; "
                                      f"links out of the file are refused")
            if isinstance(link, h5py.SoftLink):
                raise FileFormatError(f"{where} is a soft link; a Keras file has none")
            child = group[key]
            if isinstance(child, h5py.Group):
                visit(child, where)
            elif isinstance(child, h5py.Dataset):
                if child.is_virtual:
                    raise FileFormatError(f"{where} is a virtual dataset (it reads other "
                                          f"files); refused")
                if child.external:
                    raise FileFormatError(f"{where} keeps its data in external files; "
                                          f"refused")
                if child.dtype.kind not in "fiub" or child.dtype.fields is not None:
                    raise FileFormatError(f"{where} has dtype {child.dtype}; weights are "
                                          f"numbers")
                nodes.append({"kind": "dataset", "name": where, "attrs": attrs_of(child),
                              **array(child[()])})
            else:
                raise FileFormatError(f"{where} is neither a group nor a dataset")

    visit(f, "/")
    return nodes, blobs


def _walk_bytes(data, path):
    """The snapshot as bytes: 8-byte header length, JSON, then the blobs."""
    import h5py

    try:
        with h5py.File(io.BytesIO(data), "r") as f:
            nodes, blobs = _walk(f)
    except FileFormatError as error:
        return _message({"error": str(error)})
    except Exception as error:  # h5py: OSError, OverflowError, KeyError, ...
        return _message({"error": f"is not a readable HDF5 file (corrupt or truncated?): "
                                  f"{type(error).__name__}: {error}"})
    sizes = [len(b) for b in blobs]
    return _message({"nodes": nodes, "sizes": sizes}) + b"".join(blobs)


def _message(header):
    text = json.dumps(header).encode("utf-8")
    return struct.pack("<Q", len(text)) + text


# ------------------------------------------------------------ the parent
def _parse(payload, path):
    if len(payload) < 8:
        raise FileFormatError(f"{path!r}: the HDF5 reader sent nothing back")
    (length,) = struct.unpack_from("<Q", payload)
    try:
        header = json.loads(payload[8:8 + length])
    except ValueError:
        raise FileFormatError(f"{path!r}: the HDF5 reader sent garbage back") from None
    if "error" in header:
        raise FileFormatError(f"{path!r}: {header['error']}")
    offsets, at = [], 8 + length
    for size in header["sizes"]:
        offsets.append(at)
        at += size
    if at != len(payload):
        raise FileFormatError(f"{path!r}: the HDF5 reader's answer was cut short")

    def value_of(spec):
        dtype = np.dtype(spec["dtype"])
        start = offsets[spec["blob"]]
        count = int(np.prod(spec["shape"], dtype=np.int64))
        flat = np.frombuffer(payload, dtype=dtype, count=count, offset=start)
        return flat.reshape(spec["shape"]).copy()

    def attrs_of(raw):
        out = {}
        for key, spec in raw.items():
            if "str" in spec:
                out[key] = spec["str"]
            elif "strs" in spec:
                out[key] = np.array(spec["strs"], dtype=object)
            elif "array" in spec:
                out[key] = value_of(spec["array"])
            else:
                out[key] = BadAttribute(spec.get("bad", "unreadable"))
        return out

    root = None
    for node in header["nodes"]:
        name = node["name"]
        attrs = attrs_of(node["attrs"])
        made = Group(name, attrs) if node["kind"] == "group" else Dataset(name, value_of(node))
        if name == "/":
            root = made
            continue
        parent_name, _, key = name.rpartition("/")
        parent = root._find(parent_name) if parent_name else root
        parent._children[key] = made
    return root


def read_h5(source, path):
    """A snapshot (a :class:`Group`) of the HDF5 file ``source`` (a path or
    bytes); ``path`` names the file in errors."""
    if isinstance(source, (bytes, bytearray)):
        data = bytes(source)
    else:
        with open(source, "rb") as f:
            data = f.read()
    if not data.startswith(b"\x89HDF\r\n\x1a\n"):
        raise FileFormatError(f"{path!r}: not an HDF5 file")
    check_global_heaps(data, path)  # the commonest hang, refused without a child
    if not hasattr(os, "fork"):
        return _parse(_walk_bytes(data, path), path)
    return _parse(_in_child(data, path), path)


def _in_child(data, path):
    import select
    import signal
    import warnings

    read_end, write_end = os.pipe()
    # Python 3.12+ (DeprecationWarning) and JAX (RuntimeWarning, from its at-fork hook) warn
    # that a threaded process forks: the child runs only h5py and NumPy code, then _exit()s
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called",
                                category=RuntimeWarning)
        pid = os.fork()
    if pid == 0:  # the child: walk, write, and leave without running any cleanup
        code = 1
        try:
            os.close(read_end)
            payload = _walk_bytes(data, path)
            view = memoryview(payload)
            while view:
                view = view[os.write(write_end, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + CHILD_SECONDS + len(data) / 20e6  # 4 MB: 0.05 s needed
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(pid, signal.SIGKILL)
                raise FileFormatError(f"{path!r}: reading it did not finish (the HDF5 library "
                                      f"hangs on this file: corrupt?)")
            ready, _, _ = select.select([read_end], [], [], left)
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        raise FileFormatError(f"{path!r}: the HDF5 library crashed reading it (signal "
                              f"{os.WTERMSIG(status)}): the file is corrupt")
    if os.WEXITSTATUS(status) != 0:
        raise FileFormatError(f"{path!r}: the HDF5 reader failed on it")
    return b"".join(chunks)
