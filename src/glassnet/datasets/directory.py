"""``keras.utils.text_dataset_from_directory``: a folder of ``.txt`` files as a
``tf.data.Dataset`` of (texts, labels), with Keras 3's rules.

    main_directory/
        class_a/  a_text_1.txt  a_text_2.txt ...
        class_b/  b_text_1.txt ...

gives batches of texts from ``class_a`` and ``class_b`` with labels 0 and 1
(the subfolders in sorted order). Keras's rules, kept here:

- the files are found in sorted order: class by class, then folder by
  folder, then file by file;
- with ``shuffle`` (the default) the list is shuffled once with ``seed``
  (NumPy's RandomState, as Keras), and the dataset shuffles again on every
  pass, in a buffer of 8 batches;
- ``validation_split`` keeps the last fraction of that shuffled list for
  ``subset="validation"`` and the rest for ``"training"``, so the same seed
  on both calls gives two parts that do not overlap;
- ``label_mode``: "int" (int32 class indices), "categorical" (float32 one-hot),
  "binary" (float32 of shape (1,), two classes only) or None (texts only);
- ``max_length`` cuts each file to its first max_length bytes.

The texts come as TensorFlow gives them: string tensors whose ``.numpy()`` is
bytes (the file's own bytes), which TextVectorization reads as UTF-8. One
difference: the files are read when the dataset is made, not as it is
iterated.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["text_dataset_from_directory"]

LABEL_MODES = ("int", "categorical", "binary", None)
SUBSETS = ("training", "validation", "both", None)


def text_dataset_from_directory(directory, labels="inferred", label_mode="int",
                                class_names=None, batch_size=32, max_length=None, shuffle=True,
                                seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True, format="tf"):
    """A ``tf.data.Dataset`` of (texts, labels) from the ``.txt`` files under
    ``directory`` (see the module's doc); with ``subset="both"``, the
    training and the validation datasets. Each has ``class_names``."""
    if format != "tf":
        raise NotImplementedError(f"text_dataset_from_directory: format={format!r} is not "
                                  f"implemented in glassnet; the datasets are tf.data's ('tf')")
    _check(directory, labels, label_mode, class_names, batch_size, validation_split, subset,
           shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = np.random.randint(1e6)
    paths, labels, class_names = _index(directory, labels, class_names, follow_links, verbose)
    if label_mode == "binary" and len(class_names) != 2:
        raise ValueError(f'When passing `label_mode="binary"`, there must be exactly 2 '
                         f"class_names. Received: class_names={class_names}")
    if shuffle:
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(labels)
    buffer = batch_size * 8 if batch_size is not None else 1024
    made = {}
    for part in (("training", "validation") if subset == "both" else (subset,)):
        part_paths, part_labels = _split(paths, labels, validation_split, part, verbose)
        if not part_paths:
            kind = f"{part} " if subset == "both" else ""
            raise ValueError(f"No {kind}text files found in directory {directory}. "
                             f"Allowed format: .txt")
        again = shuffle and not (subset == "both" and part == "validation")  # Keras's rule
        made[part] = _dataset(part_paths, part_labels, label_mode, len(class_names or ()),
                              max_length, again, buffer, seed, batch_size, class_names)
    return [made["training"], made["validation"]] if subset == "both" else made[subset]


def _check(directory, labels, label_mode, class_names, batch_size, validation_split, subset,
           shuffle, seed):
    if not os.path.isdir(directory):
        raise ValueError(f"text_dataset_from_directory: {directory!r} is not a directory")
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(f"`labels` argument should be a list/tuple of integer labels, of "
                             f"the same size as the number of text files in the target "
                             f'directory, or "inferred", or None. Received: labels={labels!r}')
        if class_names:
            raise ValueError(f'You can only pass `class_names` if `labels="inferred"`. '
                             f"Received: labels={labels!r}, and class_names={class_names!r}")
    if label_mode not in LABEL_MODES:
        raise ValueError(f'`label_mode` argument must be one of "int", "categorical", '
                         f'"binary", or None. Received: label_mode={label_mode!r}')
    if batch_size is not None and (isinstance(batch_size, bool) or
                                   not isinstance(batch_size, (int, np.integer)) or
                                   batch_size < 1):
        raise ValueError(f"text_dataset_from_directory: batch_size must be a positive integer "
                         f"or None; received {batch_size!r}")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"`validation_split` must be between 0 and 1, received: "
                         f"{validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError("If `subset` is set, `validation_split` must be set, and inversely.")
    if subset not in SUBSETS:
        raise ValueError(f'`subset` must be either "training", "validation" or "both", '
                         f"received: {subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError("If using `validation_split` and shuffling the data, you must provide "
                         "a `seed` argument, to make sure that there is no overlap between "
                         "the training and validation subset.")


def _files(folder, follow_links):
    """The .txt files under ``folder``, folder by folder and name by name (sorted)."""
    for root, _, names in sorted(os.walk(folder, followlinks=follow_links),
                                 key=lambda walked: walked[0]):
        for name in sorted(names):
            if name.lower().endswith(".txt"):
                yield os.path.join(root, name)


def _index(directory, labels, class_names, follow_links, verbose):
    if labels == "inferred":
        folders = [name for name in sorted(os.listdir(directory))
                   if os.path.isdir(os.path.join(directory, name)) and not name.startswith(".")]
        if class_names is not None:
            if not set(class_names) <= set(folders):
                raise ValueError(f"The `class_names` passed did not match the names of the "
                                 f"subdirectories of the target directory. Expected: "
                                 f"{folders} (or a subset of it), but received: "
                                 f"class_names={class_names}")
            folders = list(class_names)   # the order given
    else:
        if class_names is not None:
            raise ValueError("When `labels=None` (no labels), argument `class_names` cannot be "
                             "specified." if labels is None else "When argument `labels` is "
                             "specified, argument `class_names` cannot be specified (the "
                             "`class_names` will be the sorted list of labels).")
        folders = [""]
    paths, found = [], []
    for index, folder in enumerate(folders):
        files = list(_files(os.path.join(directory, folder), follow_links))
        paths += files
        found += [index] * len(files)
    if labels == "inferred":
        labels = np.array(found, dtype=np.int32)
        names = folders
    elif labels is None:
        names = None
    else:
        if len(labels) != len(paths):
            raise ValueError(f"Expected the lengths of `labels` to match the number of files in "
                             f"the target directory. len(labels) is {len(labels)} while we "
                             f"found {len(paths)} files in directory {directory}.")
        labels = np.asarray(labels)
        names = [str(label) for label in sorted(set(labels.tolist()))]
    if verbose:
        print(f"Found {len(paths)} files." if labels is None else
              f"Found {len(paths)} files belonging to {len(names)} classes.")
    return paths, labels, names


def _split(paths, labels, validation_split, subset, verbose):
    if not validation_split:
        return paths, labels
    count = int(validation_split * len(paths))
    if subset == "training":
        if verbose:
            print(f"Using {len(paths) - count} files for training.")
        return paths[:len(paths) - count], None if labels is None else labels[:len(paths) - count]
    if verbose:
        print(f"Using {count} files for validation.")
    return paths[len(paths) - count:], None if labels is None else labels[len(paths) - count:]


def _read(path, max_length):
    """A file's bytes: the first ``max_length`` of them (all without it)."""
    with open(path, "rb") as handle:
        return handle.read() if max_length is None else handle.read(max_length)


def _dataset(paths, labels, label_mode, classes, max_length, shuffle, buffer, seed,
             batch_size, class_names):
    from glassnet.data import Dataset

    texts = np.empty(len(paths), dtype=object)   # bytes objects: no fixed-width copy of the longest
    texts[:] = [_read(path, max_length) for path in paths]
    if label_mode is None:
        dataset = Dataset.from_tensor_slices(texts)
    else:
        if label_mode == "binary":
            targets = np.asarray(labels, dtype=np.float32)[:, None]
        elif label_mode == "categorical":
            targets = np.eye(classes, dtype=np.float32)[np.asarray(labels)]
        else:
            targets = np.asarray(labels)
        dataset = Dataset.from_tensor_slices((texts, targets))
    if shuffle:
        dataset = dataset.shuffle(buffer, seed=seed)
    if batch_size is not None:
        dataset = dataset.batch(batch_size)
    dataset.class_names = class_names
    return dataset
