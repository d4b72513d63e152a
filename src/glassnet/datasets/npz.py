"""Reading ``.npz`` files without unpickling.

Keras's ``imdb.npz`` and ``reuters.npz`` keep their texts as NumPy object
arrays of Python lists of word ids, and NumPy can store those only as a
pickle stream. Pickle is a small program for a virtual machine that may call
any Python function (``os.system`` included), so glassnet never hands one to
``pickle``. Instead :func:`parse_pickle` reads the stream itself, opcode by
opcode, building plain data (ints, strings, bytes, tuples, lists, dicts) and
recording, never making, the calls of NumPy's three array-rebuilding names
(protocol 2's ``_codecs.encode(text, "latin1")``, its way of writing bytes,
becomes those bytes); any other name is refused.
:func:`read_object_array` then accepts exactly one shape of value: "a 1-D
object array whose items are lists of integers" (and
:func:`glassnet.datasets.cifar10.read_batch` "a dict of a uint8 array and
integer labels"). Anything else is a ValueError naming the file.

Numeric members are read by ``numpy.lib.format.read_array(allow_pickle=False)``.
"""

from __future__ import annotations

import io
import struct
import zipfile

import numpy as np

__all__ = ["load_npz", "read_object_array", "parse_pickle"]

_ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"),
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("_codecs", "encode")}  # protocol 2's way to write bytes; recorded, never called
_MAX_MEMBER = 1 << 30  # 1 GiB uncompressed per member


class _Global:
    def __init__(self, module, name):
        self.module, self.name = module, name


class _Call:
    """A call the stream asks for, recorded, never made."""

    def __init__(self, function, args):
        self.function, self.args, self.state = function, args, None


_MARK = object()


def read_object_array(data, where):
    """The list of lists of ints that a NumPy object array's pickle stream
    (``data``, bytes after the .npy header) describes."""
    def fail(message):
        raise ValueError(f"{where}: {message}; not an array of integer lists (glassnet "
                         f"never unpickles: only integer lists are read from a pickle "
                         f"stream)")

    return _items(parse_pickle(data, fail), fail)


def parse_pickle(data, fail):
    """The value a pickle stream describes, built from plain data only:
    ints, bools, None, str, bytes, tuples, lists and dicts, with NumPy's
    array-rebuilding names recorded as ``_Global`` and their calls as
    ``_Call`` (never made). Anything else calls ``fail(message)``, which
    raises. The caller checks the value's shape."""
    stack, memo, marks = [], {}, []
    pos, end = 0, len(data)
    unpack_from = struct.unpack_from

    while pos < end:
        op = data[pos]
        pos += 1
        if op == 0x4B:                                     # K: BININT1
            stack.append(data[pos])
            pos += 1
        elif op == 0x4D:                                   # M: BININT2
            stack.append(data[pos] | data[pos + 1] << 8)
            pos += 2
        elif op == 0x4A:                                   # J: BININT
            stack.append(unpack_from("<i", data, pos)[0])
            pos += 4
        elif op == 0x8A:                                   # LONG1
            n = data[pos]
            stack.append(int.from_bytes(data[pos + 1:pos + 1 + n], "little", signed=True))
            pos += 1 + n
        elif op == 0x28:                                   # ( MARK
            marks.append(len(stack))
        elif op == 0x65:                                   # e APPENDS
            if not marks:
                fail("APPENDS without a mark")
            at = marks.pop()
            items = stack[at:]
            del stack[at:]
            if not stack or not isinstance(stack[-1], list):
                fail("APPENDS to something that is not a list")
            stack[-1].extend(items)
        elif op == 0x61:                                   # a APPEND
            item = stack.pop()
            if not stack or not isinstance(stack[-1], list):
                fail("APPEND to something that is not a list")
            stack[-1].append(item)
        elif op == 0x5D:                                   # ] EMPTY_LIST
            stack.append([])
        elif op == 0x7D:                                   # } EMPTY_DICT
            stack.append({})
        elif op in (0x6C, 0x64):                           # l LIST, d DICT
            if not marks:
                fail("LIST or DICT without a mark")
            at = marks.pop()
            items = stack[at:]
            del stack[at:]
            if op == 0x6C:
                stack.append(items)
            else:
                if len(items) % 2:
                    fail("DICT of an odd number of items")
                stack.append(_dict(items[0::2], items[1::2], fail))
        elif op in (0x73, 0x75):                           # s SETITEM, u SETITEMS
            if op == 0x73:
                if len(stack) < 3:
                    fail("SETITEM without a key and value")
                items = stack[-2:]
                del stack[-2:]
            else:
                if not marks:
                    fail("SETITEMS without a mark")
                at = marks.pop()
                items = stack[at:]
                del stack[at:]
            if not stack or not isinstance(stack[-1], dict) or len(items) % 2:
                fail("SETITEMS on something that is not a dict")
            stack[-1].update(_dict(items[0::2], items[1::2], fail))
        elif op == 0x29:                                   # ) EMPTY_TUPLE
            stack.append(())
        elif op in (0x85, 0x86, 0x87):                     # TUPLE1/2/3
            n = op - 0x84
            if len(stack) < n:
                fail("a tuple of missing values")
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif op == 0x74:                                   # t TUPLE
            if not marks:
                fail("TUPLE without a mark")
            at = marks.pop()
            items = tuple(stack[at:])
            del stack[at:]
            stack.append(items)
        elif op in (0x71, 0x72, 0x94):                     # BINPUT, LONG_BINPUT, MEMOIZE
            if op == 0x71:
                key = data[pos]
                pos += 1
            elif op == 0x72:
                key = unpack_from("<I", data, pos)[0]
                pos += 4
            else:
                key = len(memo)
            if not stack:
                fail("memo of an empty stack")
            memo[key] = stack[-1]
        elif op in (0x68, 0x6A):                           # BINGET, LONG_BINGET
            if op == 0x68:
                key = data[pos]
                pos += 1
            else:
                key = unpack_from("<I", data, pos)[0]
                pos += 4
            if key not in memo:
                fail(f"memo entry {key} used before it was made")
            stack.append(memo[key])
        elif op == 0x80:                                   # PROTO
            pos += 1
        elif op == 0x95:                                   # FRAME
            pos += 8
        elif op in (0x43, 0x42, 0x8E, 0x55, 0x54, 0x58, 0x8C, 0x8D):  # bytes and strings
            if op in (0x43, 0x55, 0x8C):
                n, pos = data[pos], pos + 1
            elif op in (0x8E, 0x8D):
                n, pos = unpack_from("<Q", data, pos)[0], pos + 8
            else:
                n, pos = unpack_from("<I", data, pos)[0], pos + 4
            raw = bytes(data[pos:pos + n])
            pos += n
            if op in (0x43, 0x42, 0x8E):                   # bytes
                stack.append(raw)
            elif op in (0x58, 0x8C, 0x8D):                 # unicode text, as UTF-8
                try:
                    stack.append(raw.decode("utf-8", "surrogatepass"))
                except UnicodeDecodeError:
                    fail("text that is not UTF-8")
            else:                                          # Python 2's str (8-bit)
                stack.append(raw.decode("latin-1"))
        elif op == 0x63:                                   # c GLOBAL
            stop = data.find(b"\n", pos)
            stop2 = data.find(b"\n", stop + 1)
            if stop < 0 or stop2 < 0:
                fail("a broken GLOBAL")
            module = bytes(data[pos:stop]).decode("latin-1")
            name = bytes(data[stop + 1:stop2]).decode("latin-1")
            pos = stop2 + 1
            stack.append(_global(module, name, fail))
        elif op == 0x93:                                   # STACK_GLOBAL
            if len(stack) < 2 or not all(isinstance(v, str) for v in stack[-2:]):
                fail("a broken STACK_GLOBAL")
            name, module = stack.pop(), stack.pop()
            stack.append(_global(module, name, fail))
        elif op == 0x52:                                   # R REDUCE: recorded, not called
            if len(stack) < 2 or not isinstance(stack[-2], _Global) or \
                    not isinstance(stack[-1], tuple):
                fail("a call of something other than NumPy's array rebuilding")
            args = stack.pop()
            function = stack.pop()
            if function.name == "encode":  # protocol 2's bytes: text.encode("latin1")
                if len(args) != 2 or not isinstance(args[0], str) or \
                        args[1] not in ("latin1", "latin-1"):
                    fail("a _codecs.encode of something other than latin-1 text")
                stack.append(args[0].encode("latin-1"))
            else:
                stack.append(_Call(function, args))
        elif op == 0x62:                                   # b BUILD
            state = stack.pop()
            if not stack or not isinstance(stack[-1], _Call):
                fail("BUILD on something other than an array or dtype")
            stack[-1].state = state
        elif op == 0x88:                                   # NEWTRUE
            stack.append(True)
        elif op == 0x89:                                   # NEWFALSE
            stack.append(False)
        elif op == 0x4E:                                   # N NONE
            stack.append(None)
        elif op == 0x2E:                                   # . STOP
            if len(stack) != 1:
                fail("a stream that leaves more than one value")
            return stack[0]
        else:
            fail(f"pickle opcode {bytes([op])!r} at byte {pos - 1}")
    fail("a stream without STOP")


def _dict(keys, values, fail):
    if not all(isinstance(k, (str, bytes, int)) and not isinstance(k, bool) for k in keys):
        fail("a dict key that is not a string or an integer")
    return dict(zip(keys, values))


def _global(module, name, fail):
    if (module, name) not in _ALLOWED:
        fail(f"it asks for {module}.{name}, which glassnet refuses")
    return _Global(module, name)


def _items(array, fail):
    """The object array's items, checked: a 1-D array of lists of ints."""
    if not isinstance(array, _Call) or array.function.name != "_reconstruct":
        fail("the stream does not rebuild an array")
    state = array.state
    if not (isinstance(state, tuple) and len(state) == 5):
        fail("an array without its state")
    _, shape, dtype, _, items = state
    if not (isinstance(dtype, _Call) and dtype.function.name == "dtype"
            and dtype.args[:1] == ("O8",)):
        fail("an array that is not of dtype object")
    if not (isinstance(shape, tuple) and len(shape) == 1 and isinstance(items, list)
            and len(items) == shape[0]):
        fail("an array that is not 1-D, or whose size does not match its items")
    for item in items:
        if type(item) is not list or not all(type(v) is int for v in item):
            fail("an item that is not a list of integers")
    return items


def _read_member(raw, where):
    fp = io.BytesIO(raw)
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise ValueError(f"{where}: unsupported .npy version {version}")
    if dtype.hasobject:
        items = read_object_array(raw[fp.tell():], where)
        out = np.empty(len(items), dtype=object)
        out[:] = items
        return out
    fp.seek(0)
    return np.lib.format.read_array(fp, allow_pickle=False)


def load_npz(path):
    """{member name: array} of an ``.npz`` file, numeric members as NumPy
    reads them, object members through :func:`read_object_array`. Errors
    name the file."""
    arrays = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                if info.file_size > _MAX_MEMBER:
                    raise ValueError(f"{path}: member {info.filename} is {info.file_size} "
                                     f"bytes, more than glassnet reads")
                with archive.open(info) as member:
                    raw = member.read(_MAX_MEMBER + 1)
                where = f"{path} ({info.filename})"
                try:
                    arrays[info.filename[:-4]] = _read_member(raw, where)
                except (ValueError, IndexError, struct.error) as error:
                    if str(path) in str(error):
                        raise
                    raise ValueError(f"{where}: not a readable array ({error})") from None
    except (zipfile.BadZipFile, EOFError, OSError, struct.error, IndexError) as error:
        raise ValueError(f"{path}: not a readable .npz file ({error})") from None
    return arrays
