"""TextVectorization: from sentences to token ids, as Keras does it.

    >>> from glassnet.layers import TextVectorization
    >>> layer = TextVectorization(max_tokens=6, output_sequence_length=4)
    >>> layer.adapt(["The cat sat.", "The dog sat!", "the end"])
    >>> layer.get_vocabulary()
    ['', '[UNK]', 'the', 'sat', 'end', 'dog']
    >>> layer(["the cat sat"]).tolist()
    [[2, 1, 3, 0]]

Each text is standardized (``"lower_and_strip_punctuation"``: A-Z to lower
case, as Keras's ``tf.strings.lower`` (Ü stays Ü), and
Keras's punctuation ``!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~'`` removed), split on
whitespace, and each token looked up: id 0 is padding (""), id 1 the unknown
token "[UNK]", then the words ``adapt`` saw, the most frequent first (ties:
the token that sorts last first, as Keras's ``np.lexsort(...)[::-1]``), at
most ``max_tokens`` ids in all. ``output_sequence_length`` pads with 0 or cuts
at the end; without it, a batch is padded to its longest text.
``output_mode="multi_hot"`` / ``"count"`` give one row of vocabulary size per
text instead (there, as in Keras, there is no padding id: "[UNK]" is 0).
"""

from __future__ import annotations

import collections
import re

import numpy as np

from glassnet.layers.base import Layer, not_implemented

__all__ = ["TextVectorization"]

PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'
_STANDARDIZE = ("lower_and_strip_punctuation", "lower", "strip_punctuation", None)
_MODES = ("int", "multi_hot", "count")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class TextVectorization(Layer):
    def __init__(self, max_tokens=None, standardize="lower_and_strip_punctuation",
                 split="whitespace", ngrams=None, output_mode="int",
                 output_sequence_length=None, pad_to_max_tokens=False, vocabulary=None,
                 idf_weights=None, sparse=False, ragged=False, encoding="utf-8", **kwargs):
        super().__init__(**kwargs)
        owner = f"TextVectorization {self.name!r}"
        if not (standardize in _STANDARDIZE or callable(standardize)):
            raise ValueError(f"{owner}: standardize must be one of {_STANDARDIZE} or a "
                             f"function; received {standardize!r}")
        if not (split in ("whitespace", "character", None) or callable(split)):
            raise ValueError(f"{owner}: split must be 'whitespace', 'character', None or a "
                             f"function; received {split!r}")
        if output_mode == "tf_idf":
            raise NotImplementedError(f"{owner}: output_mode='tf_idf' is not implemented in "
                                      f"glassnet; choose one of {_MODES}")
        if output_mode not in _MODES:
            raise ValueError(f"{owner}: output_mode must be one of {_MODES}; received "
                             f"{output_mode!r}")
        for argument, value in (("ngrams", ngrams), ("idf_weights", idf_weights)):
            not_implemented(owner, argument, value)
        for argument, value in (("sparse", sparse), ("ragged", ragged),
                                ("pad_to_max_tokens", pad_to_max_tokens)):
            not_implemented(owner, argument, value, False)
        not_implemented(owner, "encoding", encoding, "utf-8")
        for argument, value, least in (("max_tokens", max_tokens, 3),
                                       ("output_sequence_length", output_sequence_length, 1)):
            if value is not None and (isinstance(value, bool) or not isinstance(
                    value, (int, np.integer)) or value < least):
                raise ValueError(f"{owner}: {argument} must be None or an integer >= {least}; "
                                 f"received {value!r}")
        if output_sequence_length is not None and output_mode != "int":
            raise ValueError(f"{owner}: output_sequence_length applies to output_mode='int' "
                             f"only")
        self.max_tokens, self.standardize, self.split = max_tokens, standardize, split
        self.output_mode, self.output_sequence_length = output_mode, output_sequence_length
        # int mode: id 0 is padding, 1 unknown; the other modes have no padding: unknown is 0
        self._special = ["", "[UNK]"] if output_mode == "int" else ["[UNK]"]
        self._vocabulary, self._index = None, None
        self.built = True  # no weights
        if vocabulary is not None:
            self.set_vocabulary(vocabulary)

    # ------------------------------------------------------------ text to tokens
    def _batches(self, data, steps=None):
        """``data`` as batches of texts: a dataset's elements (a single text becomes
        a batch of one), else ``data`` itself."""
        from glassnet.data import Dataset

        if not isinstance(data, Dataset):
            return [data]
        batches = []
        for i, element in enumerate(data.as_numpy_iterator()):
            if steps is not None and i >= steps:
                break
            if isinstance(element, (tuple, list, dict)):
                raise ValueError(f"TextVectorization {self.name!r}.adapt takes a dataset of "
                                 f"texts only; its elements are {type(element).__name__}s "
                                 f"(map it to the texts first: dataset.map(lambda x, y: x))")
            element = np.asarray(element, dtype=object)
            batches.append(element.reshape(1) if element.ndim == 0 else element)
        return batches

    def _texts(self, data):
        if isinstance(data, str):
            raise ValueError(f"TextVectorization {self.name!r} takes a batch of texts (a "
                             f"list or array of strings); received one string. Wrap it: "
                             f"[text]")
        texts = np.asarray(data, dtype=object)
        if texts.ndim == 2 and texts.shape[1] == 1:
            texts = texts[:, 0]
        if texts.ndim != 1:
            raise ValueError(f"TextVectorization {self.name!r} takes texts of shape (batch,) "
                             f"or (batch, 1); received shape {texts.shape}")
        out = []
        for text in texts:
            if isinstance(text, bytes):
                text = text.decode("utf-8")
            if not isinstance(text, str):
                raise ValueError(f"TextVectorization {self.name!r} takes strings; received "
                                 f"{type(text).__name__} {text!r:.40}")
            out.append(text)
        return out

    def tokens(self, text):
        """One text's tokens after standardizing and splitting."""
        if callable(self.standardize):
            text = self.standardize(text)
        else:
            if self.standardize in ("lower_and_strip_punctuation", "lower"):
                text = text.translate(_ASCII_LOWER)  # as tf.strings.lower: A-Z only
            if self.standardize in ("lower_and_strip_punctuation", "strip_punctuation"):
                text = re.sub(PUNCTUATION, "", text)
        if callable(self.split):
            return list(self.split(text))
        if self.split == "whitespace":
            return text.split()
        if self.split == "character":
            return list(text)
        return [text]

    # ------------------------------------------------------------ the vocabulary
    def adapt(self, data, batch_size=None, steps=None):
        """Learn the vocabulary from ``data`` (texts, or a ``tf.data.Dataset`` of
        texts or of batches of texts, up to ``steps`` of its elements), most
        frequent first."""
        counts = collections.Counter()
        for texts in self._batches(data, steps):
            for text in self._texts(texts):
                counts.update(self.tokens(text))
        counts.pop("", None)
        counts.pop("[UNK]", None)
        ordered = sorted(counts.items(), key=lambda item: (item[1], item[0].encode("utf-8")),
                         reverse=True)
        if self.max_tokens is not None:
            ordered = ordered[:self.max_tokens - len(self._special)]
        self._set([token for token, _ in ordered])

    def set_vocabulary(self, vocabulary, idf_weights=None):
        not_implemented(f"TextVectorization {self.name!r}", "idf_weights", idf_weights)
        vocabulary = [str(v) for v in vocabulary]
        special = len(self._special)
        if vocabulary[:special] == self._special:
            vocabulary = vocabulary[special:]
        if len(set(vocabulary)) != len(vocabulary):
            repeated = sorted({v for v in vocabulary if vocabulary.count(v) > 1})
            raise ValueError(f"TextVectorization {self.name!r}: the vocabulary repeats "
                             f"{repeated[:5]}")
        if self.max_tokens is not None and len(vocabulary) + special > self.max_tokens:
            raise ValueError(f"TextVectorization {self.name!r}: a vocabulary of "
                             f"{len(vocabulary) + special} tokens (with {self._special}) is "
                             f"more than max_tokens={self.max_tokens}")
        self._set(vocabulary)

    def _set(self, learned):
        self._vocabulary = self._special + list(learned)
        self._index = {token: i for i, token in enumerate(self._vocabulary)}

    def get_vocabulary(self, include_special_tokens=True):
        if self._vocabulary is None:
            return list(self._special) if include_special_tokens else []
        return list(self._vocabulary if include_special_tokens else
                    self._vocabulary[len(self._special):])

    def vocabulary_size(self):
        return len(self.get_vocabulary())

    # ------------------------------------------------------------ running
    def __call__(self, inputs, training=None):
        return self.forward(inputs)

    def forward(self, x, training=False):
        if self._vocabulary is None:
            raise ValueError(f"TextVectorization {self.name!r} has no vocabulary: call "
                             f"adapt(texts) or pass vocabulary= first")
        index, unknown = self._index, self._index["[UNK]"]
        ids = [[index.get(token, unknown) for token in self.tokens(text)]
               for text in self._texts(x)]
        if self.output_mode != "int":
            out = np.zeros((len(ids), len(self._vocabulary)), dtype=np.float32)
            for row, sequence in zip(out, ids):
                np.add.at(row, sequence, 1)
            if self.output_mode == "multi_hot":
                np.minimum(out, 1, out=out)
            return out
        length = self.output_sequence_length or max([len(s) for s in ids] + [0])
        out = np.zeros((len(ids), length), dtype=np.int64)
        for row, sequence in zip(out, ids):
            sequence = sequence[:length]
            row[:len(sequence)] = sequence
        return out

    forward._builds = True  # texts, not arrays: no shape checks on the way in

    def backward(self, grad):
        raise NotImplementedError(f"TextVectorization {self.name!r} turns text into ids: "
                                  f"nothing trains through it")

    def build(self, input_shape=None):
        pass

    def compute_output_shape(self, input_shape):
        if self.output_mode == "int":
            return (input_shape[0], self.output_sequence_length)
        return (input_shape[0], self.vocabulary_size())

    def get_config(self):
        if callable(self.standardize) or callable(self.split):
            raise NotImplementedError(f"TextVectorization {self.name!r}: a function as "
                                      f"standardize or split cannot be saved")
        return {**super().get_config(), "max_tokens": self.max_tokens,
                "standardize": self.standardize, "split": self.split, "ngrams": None,
                "output_mode": self.output_mode,
                "output_sequence_length": self.output_sequence_length,
                "pad_to_max_tokens": False, "sparse": False, "ragged": False,
                "vocabulary": self.get_vocabulary(False) if self._vocabulary else None,
                "idf_weights": None, "encoding": "utf-8"}
