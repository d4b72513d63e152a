"""Keras 2's text tokenizer (``keras.preprocessing.text``): ``Tokenizer``,
``text_to_word_sequence``, ``one_hot``, ``hashing_trick`` and
``tokenizer_from_json``, with tf.keras 2's semantics exactly.

    >>> from glassnet.keras.preprocessing.text import Tokenizer
    >>> tokenizer = Tokenizer(oov_token="<OOV>")
    >>> tokenizer.fit_on_texts(["the cat sat", "the dog sat down"])
    >>> tokenizer.word_index
    {'<OOV>': 1, 'the': 2, 'sat': 3, 'cat': 4, 'dog': 5, 'down': 6}
    >>> tokenizer.texts_to_sequences(["the bird sat"])
    [[2, 1, 3]]

The rules, as Keras 2's:

* a text is lower-cased (``lower``), every character of ``filters``
  becomes ``split``, and it is split on ``split`` (empty pieces dropped);
  ``char_level=True`` makes every character a token; a text given as a list
  is taken as its tokens;
* ``word_index`` ranks words by count, most frequent first, ties in order
  of first appearance; index 0 is never used; ``oov_token`` (if given) is 1;
* ``num_words`` keeps the indices below ``num_words`` (the
  ``num_words - 1`` most frequent words) in sequences and matrices; the
  vocabulary itself (``word_index``) keeps every word;
* a word not kept becomes ``oov_token``'s index, or is dropped without one.

Whitespace-separated languages work as they are (Korean eojeol, for
example); for Chinese or Japanese text, split it first, or pass
``char_level=True`` or an ``analyzer``.
"""

from __future__ import annotations

import collections
import hashlib
import json
import warnings

import numpy as np

__all__ = ["Tokenizer", "text_to_word_sequence", "one_hot", "hashing_trick",
           "tokenizer_from_json"]

FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(input_text, filters=FILTERS, lower=True, split=" "):
    """The words of ``input_text``: lower-cased, the ``filters`` characters
    turned into ``split``, split on ``split``, empty pieces dropped.

        >>> text_to_word_sequence("This is a sample sentence.")
        ['this', 'is', 'a', 'sample', 'sentence']
    """
    if lower:
        input_text = input_text.lower()
    input_text = input_text.translate(str.maketrans({c: split for c in filters}))
    return [piece for piece in input_text.split(split) if piece]


def hashing_trick(text, n, hash_function=None, filters=FILTERS, lower=True, split=" ",
                  analyzer=None):
    """Each word's ``hash_function(word) % (n - 1) + 1`` (Python's ``hash``
    by default, which changes between runs; ``"md5"`` is stable)."""
    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(word):
            return int(hashlib.md5(word.encode(), usedforsecurity=False).hexdigest(), 16)
    if analyzer is None:
        seq = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    else:
        seq = analyzer(text)
    return [(hash_function(w) % (n - 1) + 1) for w in seq]


def one_hot(input_text, n, filters=FILTERS, lower=True, split=" ", analyzer=None):
    """``hashing_trick`` with Python's ``hash``: word ids in [1, n), not unique."""
    return hashing_trick(input_text, n, hash_function=hash, filters=filters, lower=lower,
                         split=split, analyzer=analyzer)


class Tokenizer:
    """Turns texts into sequences of word indices, or into matrices of word
    counts (Keras 2's ``keras.preprocessing.text.Tokenizer``; see the
    module docstring for its rules)."""

    def __init__(self, num_words=None, filters=FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, analyzer=None, **kwargs):
        if "nb_words" in kwargs:  # Keras 1's name
            warnings.warn("The `nb_words` argument in `Tokenizer` has been renamed "
                          "`num_words`.", stacklevel=2)
            num_words = kwargs.pop("nb_words")
        document_count = kwargs.pop("document_count", 0)
        if kwargs:
            raise TypeError("Unrecognized keyword arguments: " + str(kwargs))
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.filters = filters
        self.split = split
        self.lower = lower
        self.num_words = num_words
        self.document_count = document_count
        self.char_level = char_level
        self.oov_token = oov_token
        self.index_docs = collections.defaultdict(int)
        self.word_index = {}
        self.index_word = {}
        self.analyzer = analyzer

    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        if self.analyzer is not None:
            return self.analyzer(text)
        if not isinstance(text, str):
            raise TypeError(f"Tokenizer: a text is a string (or a list of tokens); received "
                            f"{type(text).__name__} {text!r:.60}")
        return text_to_word_sequence(text, filters=self.filters, lower=self.lower,
                                     split=self.split)

    def fit_on_texts(self, texts):
        """Count the words of ``texts`` (strings, a generator of them, or lists
        of tokens) and rebuild ``word_index`` from all counts so far. As in
        Keras, one string (not in a list) is taken as a list of one-letter
        texts: pass ``[text]``."""
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1  # in how many texts each word occurs

        counts = list(self.word_counts.items())
        counts.sort(key=lambda item: item[1], reverse=True)  # stable: ties keep their order
        vocabulary = [] if self.oov_token is None else [self.oov_token]
        vocabulary.extend(word for word, _ in counts)
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in list(self.word_docs.items()):
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Count, for ``tfidf``, in how many sequences each index occurs."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        """Each text as a list of word indices (see the module docstring)."""
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        for text in texts:
            vect = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None:
                    if num_words and i >= num_words:
                        if oov_token_index is not None:
                            vect.append(oov_token_index)
                    else:
                        vect.append(i)
                elif self.oov_token is not None:
                    vect.append(oov_token_index)
            yield vect

    def sequences_to_texts(self, sequences):
        """Each sequence of indices back to its words, joined by spaces."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        num_words = self.num_words
        oov_token_index = self.word_index.get(self.oov_token)
        for seq in sequences:
            vect = []
            for num in seq:
                word = self.index_word.get(num)
                if word is not None:
                    if num_words and num >= num_words:
                        if oov_token_index is not None:
                            vect.append(self.index_word[oov_token_index])
                    else:
                        vect.append(word)
                elif self.oov_token is not None:
                    vect.append(self.index_word[oov_token_index])
            yield " ".join(vect)

    def texts_to_matrix(self, texts, mode="binary"):
        """A (len(texts), num_words) float64 matrix; ``mode`` is "binary",
        "count", "tfidf" or "freq"."""
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """A (len(sequences), num_words) float64 matrix (num_words defaults to
        len(word_index) + 1): per row, for each index j < num_words,
        binary: 1; count: its count c; freq: c / len(sequence);
        tfidf: (1 + ln c) * ln(1 + document_count / (1 + documents with j))."""
        if mode not in _MODES:
            raise ValueError(f"Unknown vectorization mode: {mode!r}. Valid modes: "
                             f"{', '.join(_MODES)}")
        if not self.num_words:
            if self.word_index:
                num_words = len(self.word_index) + 1
            else:
                raise ValueError("Specify a dimension (`num_words` argument), or fit on some "
                                 "text data first.")
        else:
            num_words = self.num_words
        if mode == "tfidf" and not self.document_count:
            raise ValueError("Fit the Tokenizer on some data before using tfidf mode.")

        x = np.zeros((len(sequences), num_words))
        for i, seq in enumerate(sequences):
            if not seq:
                continue
            counts = collections.defaultdict(int)
            for j in seq:
                if j >= num_words:
                    continue
                counts[j] += 1
            for j, c in list(counts.items()):
                if mode == "count":
                    x[i][j] = c
                elif mode == "freq":
                    x[i][j] = c / len(seq)
                elif mode == "binary":
                    x[i][j] = 1
                else:  # tfidf, weighting scheme 2 of Wikipedia's tf-idf article
                    tf = 1 + np.log(c)
                    idf = np.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[i][j] = tf * idf
        return x

    def get_config(self):
        """The settings and the counts, the dicts as JSON strings (Keras's layout)."""
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower,
                "split": self.split, "char_level": self.char_level,
                "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts),
                "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs),
                "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs):
        """A JSON string that :func:`tokenizer_from_json` (or Keras's) reads."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()},
                          **kwargs)

    def __repr__(self):
        return (f"<Tokenizer num_words={self.num_words} oov_token={self.oov_token!r} "
                f"words={len(self.word_counts)} documents={self.document_count}>")


def tokenizer_from_json(json_string):
    """The Tokenizer that ``to_json`` wrote (glassnet's or Keras 2's)."""
    config = dict(json.loads(json_string).get("config"))
    word_counts = json.loads(config.pop("word_counts"))
    word_docs = json.loads(config.pop("word_docs"))
    index_docs = {int(k): v for k, v in json.loads(config.pop("index_docs")).items()}
    index_word = {int(k): v for k, v in json.loads(config.pop("index_word")).items()}
    word_index = json.loads(config.pop("word_index"))
    tokenizer = Tokenizer(**config)
    tokenizer.word_counts = word_counts
    tokenizer.word_docs = word_docs
    tokenizer.index_docs = index_docs
    tokenizer.word_index = word_index
    tokenizer.index_word = index_word
    return tokenizer
