"""Sequences of different lengths made one array: ``pad_sequences``."""

from __future__ import annotations

import numpy as np

__all__ = ["pad_sequences"]


def pad_sequences(sequences, maxlen=None, dtype="int32", padding="pre", truncating="pre",
                  value=0.0):
    """Pad (and cut) a list of sequences to one length, as Keras does: the
    result is an array of shape (len(sequences), maxlen) (plus any trailing
    axes the items share). Keras's defaults: pad and cut at the start
    (``"pre"``), so the end of each text, the words nearest the answer,
    stays; pad with 0; int32.

        >>> pad_sequences([[1], [2, 3], [4, 5, 6]])
        array([[0, 0, 1],
               [0, 2, 3],
               [4, 5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, padding="post")
        array([[1, 0],
               [2, 3],
               [5, 6]], dtype=int32)
        >>> pad_sequences([[1], [2, 3], [4, 5, 6]], maxlen=2, truncating="post", value=-1)
        array([[-1,  1],
               [ 2,  3],
               [ 4,  5]], dtype=int32)

    ``maxlen`` defaults to the longest sequence's length.
    """
    for argument, choice in (("padding", padding), ("truncating", truncating)):
        if choice not in ("pre", "post"):
            raise ValueError(f"pad_sequences: {argument} must be 'pre' or 'post'; received "
                             f"{choice!r}")
    if not hasattr(sequences, "__len__") or isinstance(sequences, (str, bytes)):
        raise ValueError(f"pad_sequences: sequences must be a list of sequences; received "
                         f"{type(sequences).__name__}")
    lengths, sample_shape = [], None
    for i, item in enumerate(sequences):
        if not hasattr(item, "__len__") or isinstance(item, (str, bytes)):
            raise ValueError(f"pad_sequences: sequences must be a list of sequences; item {i} "
                             f"is {type(item).__name__} {item!r:.40}")
        lengths.append(len(item))
        if sample_shape is None and len(item):
            sample_shape = np.asarray(item).shape[1:]
    sample_shape = sample_shape or ()
    if maxlen is None:
        maxlen = max(lengths, default=0)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: maxlen must be an integer >= 0 or None; received "
                         f"{maxlen!r}")
    dtype = np.dtype(dtype)
    if isinstance(value, str) and dtype.kind not in "OSU":
        raise ValueError(f"pad_sequences: value {value!r} is a string but dtype is {dtype}; "
                         f"use dtype=object for strings")
    out = np.full((len(sequences), int(maxlen)) + tuple(sample_shape), value, dtype=dtype)
    if maxlen == 0:
        return out
    for i, item in enumerate(sequences):
        if not len(item):
            continue
        kept = item[-maxlen:] if truncating == "pre" else item[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != tuple(sample_shape):
            raise ValueError(f"pad_sequences: the items of sequence {i} have shape "
                             f"{kept.shape[1:]}; the first sequence's have "
                             f"{tuple(sample_shape)}")
        if padding == "post":
            out[i, :len(kept)] = kept
        else:
            out[i, maxlen - len(kept):] = kept
    return out
