"""``keras.utils.get_file``: fetch a file once into Keras's cache, check its
checksum, and optionally unpack it, with Keras 3's arguments and semantics.

    path = keras.utils.get_file(origin="https://example.org/data.csv")
    # ~/.keras/datasets/data.csv, downloaded on the first call only

Where files go: ``cache_dir`` (default ``$KERAS_HOME``, else ``~/.keras``),
then ``cache_subdir`` (default ``datasets``), then ``fname`` (default the
last part of the URL). ``origin`` may be an http(s) or ftp URL, a
``file://`` URL, or the path of a local file (copied into the cache).

What glassnet adds to Keras's behaviour, all on the side of safety:

* a download goes to a temporary file in the cache folder and is renamed
  only once complete and (with ``file_hash``) once its checksum matches, so
  the cache never holds half a file or one with the wrong checksum; the
  error names both the expected and the received hash;
* an archive is unpacked into a temporary folder renamed when complete, and
  every member is checked first: a path leaving the folder (``../x``,
  ``/etc/x``), a link pointing out of it, or a device file is refused with a
  ValueError, and nothing is unpacked;
* a missing ``cache_dir`` is created (Keras falls back to ``/tmp/.keras``
  for a folder that does not exist yet; glassnet does so only for one it
  cannot create or write).

Like Keras 3, ``extract=True`` returns the folder it unpacked into:
``<fname>_extracted`` for ``fname="data.tar.gz"``, ``<fname>`` for an
``fname`` without a dot (the archive is then kept as ``<fname>_archive``).
An archive already unpacked there is not unpacked again unless it was
downloaded anew.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile

__all__ = ["get_file", "keras_home", "hash_file", "validate_file", "extract_archive"]

_URL_SCHEMES = ("http", "https", "ftp", "file")
TIMEOUT = 60  # seconds without a byte before a download is given up


def keras_home():
    """Keras's home folder: ``$KERAS_HOME`` if set, else ``~/.keras`` (or
    ``/tmp/.keras`` when the home folder is not writable), as Keras decides."""
    if "KERAS_HOME" in os.environ:
        return os.environ["KERAS_HOME"]
    base = os.path.expanduser("~")
    if not os.access(base, os.W_OK):
        base = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
    return os.path.join(base, ".keras")


def _hasher(algorithm, file_hash=None):
    if algorithm not in ("auto", "sha256", "md5"):
        raise ValueError(f"get_file: hash_algorithm must be 'auto', 'sha256' or 'md5'; "
                         f"received {algorithm!r}")
    if algorithm == "sha256" or (algorithm == "auto" and file_hash is not None
                                 and len(str(file_hash)) == 64):
        return hashlib.sha256()
    return hashlib.md5(usedforsecurity=False)  # Keras's legacy checksum


def hash_file(fpath, algorithm="sha256", chunk_size=65535):
    """The hex digest of a file (``"sha256"``, ``"md5"``, or ``"auto"`` =
    SHA-256), as Keras's ``hash_file``."""
    hasher = _hasher(algorithm) if isinstance(algorithm, str) else algorithm
    with open(fpath, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def validate_file(fpath, file_hash, algorithm="auto", chunk_size=65535):
    """Whether the file's checksum is ``file_hash`` (SHA-256 when it has 64
    hex digits, else MD5, for ``"auto"``)."""
    return hash_file(fpath, _hasher(algorithm, file_hash), chunk_size) == \
        str(file_hash).lower()


def _is_url(origin):
    scheme = urllib.parse.urlsplit(origin).scheme.lower()
    return scheme in _URL_SCHEMES


def _fetch(origin, temp, hasher, timeout):
    """Copy ``origin`` (a URL or a local file) into ``temp``, hashing it."""
    if _is_url(origin):
        try:
            source = urllib.request.urlopen(origin, timeout=timeout)
        except urllib.error.HTTPError as error:
            raise OSError(f"URL fetch failure on {origin}: {error.code} -- "
                          f"{error.msg}") from None
        except urllib.error.URLError as error:
            raise OSError(f"URL fetch failure on {origin}: {error.errno} -- "
                          f"{error.reason}") from None
        except (OSError, ValueError) as error:
            raise OSError(f"URL fetch failure on {origin}: {error}") from None
    elif os.path.isfile(origin):
        source = open(origin, "rb")
    else:
        raise ValueError(f"get_file: origin={origin!r} is neither a URL (http://, https://, "
                         f"ftp://, file://) nor an existing file")
    with source, open(temp, "wb") as out:
        try:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                hasher.update(chunk)
                out.write(chunk)
        except OSError as error:
            raise OSError(f"URL fetch failure on {origin}: {error}") from None


def _download(origin, target, file_hash, hash_algorithm, timeout):
    from glassnet.saving.files import atomic_write

    print(f"Downloading data from {origin}")
    hasher = _hasher(hash_algorithm, file_hash)
    name = hasher.name.upper().replace("SHA256", "SHA-256")

    def write(temp):
        _fetch(origin, temp, hasher, timeout)
        if file_hash is not None and hasher.hexdigest() != str(file_hash).lower():
            if os.path.isfile(target):  # a stale copy with the wrong checksum goes too
                os.remove(target)
            raise ValueError(f"Incomplete or corrupted file detected: the {name} file hash of "
                             f"{origin} is {hasher.hexdigest()}, not the expected "
                             f"{file_hash}. The file was not kept.")

    atomic_write(target, write, make_folder=True)  # the cache folder, as Keras makes it


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None,
             cache_subdir="datasets", hash_algorithm="auto", extract=False,
             archive_format="auto", cache_dir=None, force_download=False):
    """The local path of ``origin``'s file, downloaded into the cache on the
    first call (Keras 3's ``keras.utils.get_file``; see the module docstring).

    With ``file_hash`` (SHA-256, or MD5 of 32 hex digits) a cached copy with
    another checksum is downloaded again, and a download with another
    checksum is a ValueError that keeps nothing. ``extract=True`` unpacks a
    .tar, .tar.gz, .tar.bz2 or .zip archive and returns its folder."""
    if origin is None:
        raise ValueError('Please specify the "origin" argument (URL of the file to download).')
    origin = os.fspath(origin)
    if cache_dir is None:
        cache_dir = keras_home()
    if md5_hash is not None and file_hash is None:
        file_hash, hash_algorithm = md5_hash, "md5"
    _hasher(hash_algorithm, file_hash)  # a bad algorithm fails before any download
    base = os.path.expanduser(os.fspath(cache_dir))
    try:
        os.makedirs(base, exist_ok=True)
        writable = os.access(base, os.W_OK)
    except OSError:
        writable = False
    if not writable:
        base = os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(),
                            ".keras")
    datadir = os.path.join(base, os.fspath(cache_subdir))
    os.makedirs(datadir, exist_ok=True)

    provided = fname
    fname = os.fspath(fname) if fname is not None else None
    if not fname:
        fname = os.path.basename(urllib.parse.urlsplit(origin).path if _is_url(origin)
                                 else origin)
        if not fname:
            raise ValueError(f"Can't parse the file name from the origin provided: "
                             f"'{origin}'. Please specify the `fname` argument.")
    elif os.sep in fname:
        raise ValueError(f"Paths are no longer accepted as the `fname` argument. To specify "
                         f"the file's parent directory, use the `cache_dir` argument. "
                         f"Received: fname={fname}")

    extraction_dir = None
    if extract or untar:
        if provided and "." in fname:
            target = os.path.join(datadir, fname)
            extraction_dir = os.path.join(datadir, f"{fname[:fname.find('.')]}_extracted")
        else:
            extraction_dir = os.path.join(datadir, fname)
            target = os.path.join(datadir, f"{fname}_archive")
    else:
        target = os.path.join(datadir, fname)

    download = force_download or not os.path.exists(target)
    if not download and file_hash is not None and \
            not validate_file(target, file_hash, hash_algorithm):
        print(f"A local file was found, but it seems to be incomplete or outdated because "
              f"its {_hasher(hash_algorithm, file_hash).name} file hash does not match the "
              f"original value of {file_hash} so we will re-download the data.")
        download = True
    if download:
        _download(origin, target, file_hash, hash_algorithm, TIMEOUT)

    if extraction_dir is None:
        return target
    if untar:
        archive_format = "tar"
    if download or not os.path.isdir(extraction_dir):
        if not extract_archive(target, extraction_dir, archive_format):
            warnings.warn(f"Could not extract archive {target} (not a "
                          f"{' or '.join(_formats(archive_format)) or 'known'} archive)",
                          stacklevel=2)
    return extraction_dir


# ------------------------------------------------------------ unpacking safely
def _formats(archive_format):
    if archive_format is None:
        return []
    if archive_format == "auto":
        return ["tar", "zip"]
    if isinstance(archive_format, str):
        return [archive_format]
    return list(archive_format)


def _inside(base, relative):
    """The resolved path of ``relative`` under ``base``, or None if it leaves it."""
    path = os.path.realpath(os.path.join(base, relative))
    try:
        return path if os.path.commonpath([path, base]) == base else None
    except ValueError:  # another drive
        return None


def _check_tar(archive, base, where):
    for member in archive.getmembers():
        destination = _inside(base, member.name)
        if destination is None:
            raise ValueError(f"{where}: refused to unpack: member {member.name!r} would be "
                             f"written outside the folder")
        if member.issym():
            target = os.path.join(os.path.dirname(destination), member.linkname)
            if _inside(base, target) is None:
                raise ValueError(f"{where}: refused to unpack: link {member.name!r} points "
                                 f"outside the folder (to {member.linkname!r})")
        elif member.islnk():
            if _inside(base, member.linkname) is None:
                raise ValueError(f"{where}: refused to unpack: hard link {member.name!r} "
                                 f"points outside the folder (to {member.linkname!r})")
        elif not (member.isfile() or member.isdir()):
            raise ValueError(f"{where}: refused to unpack: member {member.name!r} is a "
                             f"device or FIFO, not a file or folder")


def _check_zip(archive, base, where):
    for info in archive.infolist():
        if _inside(base, info.filename) is None or os.path.isabs(info.filename) or \
                info.filename.startswith(("/", "\\")):
            raise ValueError(f"{where}: refused to unpack: member {info.filename!r} would be "
                             f"written outside the folder")


def _unpack(kind, file_path, folder, where):
    base = os.path.realpath(folder)
    if kind == "tar":
        with tarfile.open(file_path) as archive:
            _check_tar(archive, base, where)
            if hasattr(tarfile, "data_filter"):  # Python 3.12, 3.11.4, 3.10.12 and later
                archive.extractall(folder, filter="data")
            else:
                archive.extractall(folder)
    else:
        with zipfile.ZipFile(file_path) as archive:
            _check_zip(archive, base, where)
            archive.extractall(folder)


def extract_archive(file_path, path=".", archive_format="auto"):
    """Unpack a tar (.tar, .tar.gz, .tar.bz2, .tar.xz) or zip archive into
    ``path``; True if it was one of ``archive_format`` (``"auto"`` = tar or
    zip), False otherwise. The members are checked before anything is
    written (see the module docstring); the folder appears complete or not
    at all."""
    file_path, path = os.fspath(file_path), os.fspath(path)
    for kind in _formats(archive_format):
        if kind == "tar":
            matches = tarfile.is_tarfile(file_path)
        elif kind == "zip":
            matches = zipfile.is_zipfile(file_path)
        else:
            raise NotImplementedError(kind)
        if not matches:
            continue
        parent = os.path.dirname(os.path.abspath(path))
        os.makedirs(parent, exist_ok=True)
        temp = tempfile.mkdtemp(prefix=f".{os.path.basename(path)}.", suffix=".partial",
                                dir=parent)
        try:
            try:
                _unpack(kind, file_path, temp, file_path)
            except (tarfile.TarError, zipfile.BadZipFile, EOFError) as error:
                raise ValueError(f"{file_path}: not a readable {kind} archive "
                                 f"({error})") from None
            if os.path.lexists(path):
                old = temp + ".old"
                os.replace(path, old)
                os.replace(temp, path)
                _remove(old)
            else:
                os.replace(temp, path)
        finally:
            if os.path.lexists(temp):
                _remove(temp)
        return True
    return False


def _remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        os.remove(path)
