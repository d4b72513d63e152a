"""layers.TextVectorization: Keras's standardizing, splitting, vocabulary
order, padding and modes; checked against real Keras where installed."""

import numpy as np
import pytest

from glassnet import keras

TEXTS = ["The cat sat on the mat.", "The dog ate my homework!", "A cat, a dog; a bird?",
         "Don't stop — never stop", "Ünïcode Wörds are LOWERED", "", "the the the end"]


def test_vocabulary_order_ids_and_padding():
    layer = keras.layers.TextVectorization(max_tokens=8, output_sequence_length=5)
    layer.adapt(TEXTS)
    vocabulary = layer.get_vocabulary()
    assert vocabulary[:4] == ["", "[UNK]", "the", "a"]  # 6 times, 3 times
    assert len(vocabulary) == 8
    assert vocabulary[4:] == ["stop", "dog", "cat", "—"]  # ties: the last token (in UTF-8) first
    ids = layer(["the cat ate the bird", "stop"])
    assert ids.tolist() == [[2, 6, 1, 2, 1], [4, 0, 0, 0, 0]]
    assert keras.layers.TextVectorization(vocabulary=vocabulary[2:])(["a dog"]).tolist() == \
        [[3, 5]]


def test_batch_length_and_modes():
    layer = keras.layers.TextVectorization()
    layer.adapt(["a b b c c c"])
    assert layer.get_vocabulary() == ["", "[UNK]", "c", "b", "a"]
    assert layer(np.array([["c a"], ["b b b x"]])).tolist() == [[2, 4, 0, 0], [3, 3, 3, 1]]
    counts = keras.layers.TextVectorization(output_mode="count")
    counts.adapt(["a b b c c c"])
    assert counts.get_vocabulary() == ["[UNK]", "c", "b", "a"]
    np.testing.assert_array_equal(counts(["b b x"]), [[1, 0, 2, 0]])
    multi = keras.layers.TextVectorization(output_mode="multi_hot", vocabulary=["c", "b", "a"])
    np.testing.assert_array_equal(multi(["b b x"]), [[1, 0, 1, 0]])


def test_errors():
    layer = keras.layers.TextVectorization()
    with pytest.raises(ValueError, match="no vocabulary: call adapt"):
        layer(["text"])
    layer.adapt(["text"])
    with pytest.raises(ValueError, match="one string. Wrap it"):
        layer("text")
    with pytest.raises(ValueError, match="takes strings; received int"):
        layer([1, 2])
    with pytest.raises(ValueError, match="output_mode must be one of"):
        keras.layers.TextVectorization(output_mode="ints")
    with pytest.raises(NotImplementedError, match="tf_idf"):
        keras.layers.TextVectorization(output_mode="tf_idf")
    with pytest.raises(NotImplementedError, match="ngrams"):
        keras.layers.TextVectorization(ngrams=2)
    with pytest.raises(ValueError, match="more than max_tokens=3"):
        keras.layers.TextVectorization(max_tokens=3, vocabulary=["a", "b"])


@pytest.mark.parametrize("options", [{}, {"max_tokens": 9, "output_sequence_length": 6},
                                     {"standardize": "lower"}, {"standardize": None},
                                     {"split": "character", "output_sequence_length": 12},
                                     {"output_mode": "count", "max_tokens": 7},
                                     {"output_mode": "multi_hot"}])
def test_same_as_keras(options):
    pytest.importorskip("tensorflow")
    real = pytest.importorskip("keras")
    theirs = real.layers.TextVectorization(**options)
    ours = keras.layers.TextVectorization(**options)
    theirs.adapt(TEXTS)
    ours.adapt(TEXTS)
    assert ours.get_vocabulary() == theirs.get_vocabulary()
    queries = ["the cat ate the bird", "Never stop, a dog!", "nothing known here", ""]
    np.testing.assert_array_equal(ours(queries), np.asarray(theirs(queries)))
