"""What every model file shares: atomic writes, telling formats apart, and
reading zip and HDF5 files that came from elsewhere without trusting them.

A file from elsewhere can be truncated, corrupt or hostile. So:

* a zip member must be one of the names the format has (no ``../`` paths)
  and at most a set size, counted while reading, not taken from its header
  (no zip bombs);
* an HDF5 file may hold only groups and plain numeric datasets: external
  links, soft links, external storage and virtual datasets are refused, and
  so are object dtypes; the HDF5 library reads it in a child process, which
  may crash or hang on a corrupt file without taking this one along
  (:mod:`glassnet.saving.h5_reader`);
* every failure is a ValueError that names the file and what was wrong.
"""

from __future__ import annotations

import errno
import os
import tempfile

__all__ = ["atomic_write", "sniff", "FileFormatError", "read_zip", "check_global_heaps",
           "open_h5", "h5_group", "h5_array", "h5_arrays", "h5_text"]

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


class FileFormatError(ValueError):
    """A model file that is corrupt, truncated, hostile or of another kind."""


def atomic_write(path, write, make_folder=False):
    """Call ``write(temp_path)``, then rename the temp file to ``path``: a
    failing write leaves the old file as it was and no temporary file. A
    missing folder is an error (FileNotFoundError, as Keras's ``save``), unless
    ``make_folder`` (a data cache, ModelCheckpoint's folder, as Keras makes them)."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "it is a folder; give a file name (inside it)",
                                path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        if not make_folder:
            raise FileNotFoundError(f"Cannot write {path!r}: the folder {folder!r} does not "
                                    f"exist (create it first)")
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise OSError(f"Cannot create the folder {folder!r} for {path!r}: "
                          f"{error.strerror or error}") from None
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.",
                                        suffix=".partial", dir=folder)
    except OSError as error:
        raise OSError(f"Cannot write {path!r}: {error.strerror or error} (is {folder!r} "
                      f"writable?)") from None
    os.close(handle)
    try:
        write(temp)
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        # (the old file's, or 0666 less the umask)
        try:
            mode = os.stat(path).st_mode & 0o777
        except OSError:
            mask = os.umask(0)
            os.umask(mask)
            mode = 0o666 & ~mask
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.remove(temp)
        raise


def sniff(path):
    """``"zip"``, ``"hdf5"``, ``"safetensors"`` or None, from the file's first
    bytes (not its name)."""
    with open(path, "rb") as f:
        head = f.read(9)
    if head.startswith(ZIP_MAGIC):
        return "zip"
    if head.startswith(HDF5_MAGIC):
        return "hdf5"
    if len(head) == 9 and head[8:9] == b"{":  # 8-byte header length, then JSON
        return "safetensors"
    return None


# a member above BOMB_SIZE that unpacks to more than BOMB_RATIO times its packed size is
# refused unread: float weights pack to about 1.1 to 1, a JSON config to about 10 to 1
BOMB_SIZE = 16 << 20
BOMB_RATIO = 100


def read_zip(path, limits):
    """The members of the zip at ``path`` as bytes: {name: bytes}. ``limits``
    maps each allowed member name to its largest size in bytes; any other
    member (a directory entry aside) is refused, as is a member that reads
    longer than its limit or fails its CRC."""
    import zipfile

    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
            zipfile.LargeZipFile, OverflowError) as error:  # "zip file version 25.5" ...
        raise FileFormatError(f"{path!r} is not a readable zip file (corrupt or truncated?): "
                              f"{error}") from None
    members = {}
    with archive:
        infos = archive.infolist()
        if len(infos) > 64:
            raise FileFormatError(f"{path!r} has {len(infos)} zip members; a model file has "
                                  f"{len(limits)}")
        for info in infos:
            name = info.filename
            if name.endswith("/") and info.file_size == 0 and name.strip("/") in ("assets", ):
                continue
            if name not in limits:
                raise FileFormatError(f"{path!r} holds a zip member {name!r} that a model file "
                                      f"does not have (expected only "
                                      f"{', '.join(sorted(limits))})")
            if name in members:
                raise FileFormatError(f"{path!r} holds the zip member {name!r} twice")
            limit = limits[name]
            if info.file_size > limit:
                raise FileFormatError(f"{path!r}: the member {name!r} is {info.file_size} bytes; "
                                      f"at most {limit} are accepted")
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size > BOMB_SIZE and ratio > BOMB_RATIO:
                raise FileFormatError(
                    f"{path!r}: the member {name!r} claims {info.file_size:,} bytes packed into "
                    f"{info.compress_size:,} ({ratio:,.0f} to 1): a zip bomb? Weights and "
                    f"configs do not pack like that; nothing of it was read")
            try:
                with archive.open(info) as member:  # streamed, never past its declared size
                    chunks, size, cap = [], 0, min(info.file_size, limit)
                    while True:
                        chunk = member.read(min(1 << 20, cap + 1 - size))
                        if not chunk:
                            break
                        chunks.append(chunk)
                        size += len(chunk)
                        if size > cap:
                            break
                    data = b"".join(chunks)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError,
                    RuntimeError, zipfile.LargeZipFile) as error:
                raise FileFormatError(f"{path!r}: cannot read the member {name!r} (corrupt or "
                                      f"truncated?): {error}") from None
            except Exception as error:  # zlib.error and other decompressor failures
                raise FileFormatError(f"{path!r}: cannot read the member {name!r}: "
                                      f"{type(error).__name__}: {error}") from None
            if len(data) > min(info.file_size, limit):
                raise FileFormatError(f"{path!r}: the member {name!r} unpacks to more than "
                                      f"the {min(info.file_size, limit)} bytes it declares "
                                      f"(a zip bomb?)")
            members[name] = data
    return members


def check_global_heaps(data, path):
    """Walk every global heap collection ("GCOL": where HDF5 keeps
    variable-length strings, as Keras's names and configs) and refuse one
    whose objects do not add up to its size. The HDF5 library itself can
    loop forever on such a heap, so it is checked before h5py opens the
    file."""
    import struct

    start = data.find(b"GCOL")
    while start != -1:
        if start + 16 <= len(data) and data[start + 4] == 1:  # version 1: a real heap
            (size,) = struct.unpack_from("<Q", data, start + 8)
            end = start + size
            if size < 4096 or end > len(data):
                raise FileFormatError(f"{path!r}: a global heap at byte {start} claims "
                                      f"{size} bytes, past the end of the file (corrupt or "
                                      f"truncated?)")
            at = start + 16
            while at + 16 <= end:
                index, _, _, length = struct.unpack_from("<HHIQ", data, at)
                span = 16 + ((length + 7) // 8) * 8
                if index == 0:  # the free space: exactly the rest of the collection
                    if length != end - at:
                        raise FileFormatError(f"{path!r}: the global heap at byte {start} is "
                                              f"corrupt (its objects and free space do not "
                                              f"add up to its size)")
                    at = end
                    break
                if at + span > end:
                    raise FileFormatError(f"{path!r}: the global heap at byte {start} is "
                                          f"corrupt (object {index} overruns it)")
                at += span
            if not 0 <= end - at < 16:  # a full heap may end in a few spare bytes
                raise FileFormatError(f"{path!r}: the global heap at byte {start} is corrupt "
                                      f"(its objects do not add up to its size)")
        start = data.find(b"GCOL", start + 4)


def open_h5(source, path):
    """A read-only snapshot of the HDF5 file ``source`` (a path or bytes),
    taken at arm's length from the HDF5 library (see
    :mod:`glassnet.saving.h5_reader`); ``path`` names the file in errors."""
    from glassnet.saving.h5_reader import read_h5

    return read_h5(source, path)


def h5_group(parent, key, path):
    """``parent[key]`` as a group, or a ValueError naming the file when it is
    missing or not a group."""
    from glassnet.saving.h5_reader import Group

    node = parent._find(key) if isinstance(parent, Group) else None
    if node is None:
        raise FileFormatError(f"{path!r} has no group {parent.name.rstrip('/')}/{key}")
    if not isinstance(node, Group):
        raise FileFormatError(f"{path!r}: {node.name} is not a group")
    return node


def h5_array(group, key, path):
    """The dataset ``group[key]`` as a NumPy array, or a ValueError naming
    the file."""
    from glassnet.saving.h5_reader import Dataset

    node = group._find(key)
    if node is None:
        raise FileFormatError(f"{path!r} has no dataset {group.name.rstrip('/')}/{key}")
    if not isinstance(node, Dataset):
        raise FileFormatError(f"{path!r}: {node.name} is not a dataset")
    return node.value


def h5_arrays(group, path):
    """The datasets named "0", "1", ... in ``group``, in order (Keras's
    ``vars`` groups)."""
    keys = group.keys()
    if sorted(keys, key=lambda k: (len(k), k)) != [str(i) for i in range(len(keys))]:
        raise FileFormatError(f"{path!r}: {group.name} holds {sorted(keys)[:5]}; expected "
                              f"datasets named 0, 1, ...")
    return [h5_array(group, str(i), path) for i in range(len(keys))]


def h5_text(value, path, what):
    """An HDF5 attribute (bytes, str, or an array of them) as str / list of
    str."""
    import numpy as np

    from glassnet.saving.h5_reader import BadAttribute

    if isinstance(value, BadAttribute):
        raise FileFormatError(f"{path!r}: {what} {value.reason}")

    def one(item):
        if isinstance(item, bytes):
            try:
                return item.decode("utf-8")
            except UnicodeDecodeError:
                raise FileFormatError(f"{path!r}: {what} is not UTF-8 text") from None
        if isinstance(item, (str, np.str_)):
            try:  # h5py hands undecodable bytes back as surrogates
                str(item).encode("utf-8")
            except UnicodeEncodeError:
                raise FileFormatError(f"{path!r}: {what} is not UTF-8 text") from None
            return str(item)
        raise FileFormatError(f"{path!r}: {what} holds {type(item).__name__}, not text")

    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "SUO" and value.size:
            raise FileFormatError(f"{path!r}: {what} is not a list of names")
        return [one(v) for v in value.reshape(-1).tolist()]
    return one(value)
