"""Finding a data set: the places glassnet looks, in order, and the download.

1. an explicit ``path`` (a folder of the IDX files, or Keras's ``.npz``);
2. ``$GLASSNET_DATA`` (and its ``<name>/`` subfolder);
3. the user cache (``$GLASSNET_CACHE_DIR``, else ``$XDG_CACHE_HOME/glassnet``,
   ``~/.cache/glassnet``, or the platform's cache folder), ``<name>/``;
4. the Debian package folders (``/usr/share/datasets/<name>``);
5. a download from each official mirror in turn into the cache: every file is
   written to ``<file>.partial``, its SHA-256 checked, then renamed, so the
   cache never holds a half or a wrong file.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import urllib.error
import urllib.request

import numpy as np

from glassnet.datasets.idx import read_idx

__all__ = ["DatasetSpec", "load", "cache_dir", "DatasetNotFoundError"]

KEYS = ("x_train", "y_train", "x_test", "y_test")


class DatasetNotFoundError(FileNotFoundError):
    """No place held the data set and no download succeeded."""


@dataclasses.dataclass
class DatasetSpec:
    name: str                          # "fashion-mnist"
    title: str                         # "Fashion-MNIST"
    files: dict                        # key -> (file name, sha256 of the official file)
    mirrors: list                      # base URLs, tried in order
    system_dirs: list                  # e.g. Debian's /usr/share/datasets/fashion-mnist
    debian_package: str | None = None  # the package that installs it, for the error
    npz_name: str | None = None        # Keras's single-file form, e.g. "mnist.npz"
    shapes: dict = dataclasses.field(default_factory=lambda: {
        "x_train": (60000, 28, 28), "y_train": (60000,),
        "x_test": (10000, 28, 28), "y_test": (10000,)})


def cache_dir():
    """Where downloads go."""
    if os.environ.get("GLASSNET_CACHE_DIR"):
        return os.environ["GLASSNET_CACHE_DIR"]
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.expanduser("~")
        return os.path.join(base, "glassnet", "Cache")
    if sys.platform == "darwin":
        return os.path.expanduser("~/Library/Caches/glassnet")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return os.path.join(base, "glassnet")


def _find_files(folder, spec):
    """{key: path} if ``folder`` holds all four files (.gz or not), else None."""
    found = {}
    for key, (name, _) in spec.files.items():
        for candidate in (name, name[:-3] if name.endswith(".gz") else name + ".gz"):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                found[key] = path
                break
    return found if len(found) == len(spec.files) else None


def _load_npz(path, spec):
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: data[key] for key in KEYS}
    except KeyError as error:
        raise ValueError(f"{path}: expected arrays {', '.join(KEYS)} (Keras's layout); "
                         f"missing {error}") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: not a readable .npz file ({error})") from None
    return arrays


def _check(arrays, spec, where):
    for key, expected in spec.shapes.items():
        array = arrays[key]
        if array.shape != expected or array.dtype != np.uint8:
            raise ValueError(f"{where}: {key} has shape {array.shape} and dtype {array.dtype}; "
                             f"{spec.title} has {expected} uint8")
    for key in ("y_train", "y_test"):
        if arrays[key].max() >= 10:
            raise ValueError(f"{where}: {key} holds label {arrays[key].max()}; expected 0-9")
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _read_folder(files, spec, folder, in_cache):
    try:
        arrays = {key: read_idx(path) for key, path in files.items()}
        return _check(arrays, spec, folder)
    except ValueError as error:
        if in_cache:  # never keep a bad file in glassnet's own cache
            for path in files.values():
                os.remove(path)
            raise ValueError(f"{error} (removed the cached copy; the next call downloads it "
                             f"again)") from None
        raise


def _candidates(spec, path):
    """(label, folder, is_cache) in search order."""
    places = []
    if path is not None:
        places.append(("path", os.fspath(path), False))
    if os.environ.get("GLASSNET_DATA"):
        root = os.environ["GLASSNET_DATA"]
        places += [("$GLASSNET_DATA", os.path.join(root, spec.name), False),
                   ("$GLASSNET_DATA", root, False)]
    places.append(("cache", os.path.join(cache_dir(), spec.name), True))
    places += [("system", folder, False) for folder in spec.system_dirs]
    return places


def load(spec, path=None, download=True):
    """((x_train, y_train), (x_test, y_test)) of ``spec``, from the first
    place that has it (see the module docstring)."""
    tried = []
    for label, place, in_cache in _candidates(spec, path):
        if os.path.isfile(place):
            if place.endswith(".npz"):
                return _check(_load_npz(place, spec), spec, place)
            raise ValueError(f"{place}: expected a folder of {spec.title}'s IDX files or a "
                             f"Keras .npz file")
        if spec.npz_name and os.path.isfile(os.path.join(place, spec.npz_name)):
            npz = os.path.join(place, spec.npz_name)
            return _check(_load_npz(npz, spec), spec, npz)
        files = _find_files(place, spec)
        if files:
            return _read_folder(files, spec, place, in_cache)
        state = "files missing" if os.path.isdir(place) else "no such folder"
        tried.append(f"{place} ({label}: {state})")
        if label == "path":
            raise DatasetNotFoundError(
                f"{spec.title} not found at path={place!r}: expected a folder holding "
                f"{', '.join(name for name, _ in spec.files.values())}"
                + (f" or {spec.npz_name}" if spec.npz_name else ""))
    failures = []
    if download:
        target = os.path.join(cache_dir(), spec.name)
        for mirror in spec.mirrors:
            try:
                _download_all(spec, mirror, target)
                files = _find_files(target, spec)
                return _read_folder(files, spec, target, True)
            except (OSError, ValueError, urllib.error.URLError) as error:
                failures.append(f"{mirror} ({error})")
        if os.path.isdir(target) and not os.listdir(target):
            os.rmdir(target)  # leave no trace of a failed download
    raise DatasetNotFoundError(_not_found_message(spec, tried, failures, download))


def _not_found_message(spec, tried, failures, download):
    lines = [f"{spec.title} was not found. Looked in:"]
    lines += [f"  - {place}" for place in tried]
    if download:
        lines.append("Downloading failed from every mirror:")
        lines += [f"  - {failure}" for failure in failures]
    lines.append("Get the data in one of these ways:")
    if spec.debian_package:
        lines.append(f"  - install the Debian package: apt-get install {spec.debian_package}")
    lines.append(f"  - pass path= (or set $GLASSNET_DATA to) a folder holding "
                 f"{', '.join(name for name, _ in spec.files.values())}")
    return "\n".join(lines)


def _download_all(spec, mirror, target):
    os.makedirs(target, exist_ok=True)
    for name, sha256 in spec.files.values():
        final = os.path.join(target, name)
        if os.path.isfile(final) and _sha256(final) == sha256:
            continue
        _download(mirror.rstrip("/") + "/" + name, final, sha256)


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url, final, sha256, timeout=30, algorithm="sha256"):
    """Fetch ``url`` into ``final`` through ``final.partial``, renamed only
    when its checksum (SHA-256, or ``algorithm`` such as Keras's MD5 of the
    IMDB word index) is the official one."""
    partial = final + ".partial"
    digest = hashlib.new(algorithm, usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, \
                open(partial, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            name = "SHA-256" if algorithm == "sha256" else algorithm.upper()
            raise ValueError(f"{url}: {name} {digest.hexdigest()} does not match the "
                             f"official {sha256}; discarded")
        os.replace(partial, final)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
