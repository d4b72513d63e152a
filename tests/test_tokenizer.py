"""keras.preprocessing.text: Keras 2's Tokenizer. The expected values were
worked out by hand from tf.keras 2's text.py (tf_keras/preprocessing/text.py)
on small corpora: counts, ranks (ties in order of first appearance), the
oov_token at 1, num_words keeping indices below it."""

import json
import math

import numpy as np
import pytest

from glassnet import keras
from glassnet.keras.preprocessing.text import (Tokenizer, hashing_trick, one_hot,
                                               text_to_word_sequence, tokenizer_from_json)

CORPUS = ["The cat sat on the mat.", "The dog sat on the log!", "Cats and dogs."]
INDEX = {"the": 1, "sat": 2, "on": 3, "cat": 4, "mat": 5, "dog": 6, "log": 7, "cats": 8,
         "and": 9, "dogs": 10}


def fitted(**kwargs):
    tokenizer = Tokenizer(**kwargs)
    tokenizer.fit_on_texts(CORPUS)
    return tokenizer


def test_namespace():
    assert keras.preprocessing.text.Tokenizer is Tokenizer
    assert keras.preprocessing.sequence.pad_sequences is keras.utils.pad_sequences


def test_text_to_word_sequence():
    assert text_to_word_sequence("Hello, World! It's  fine\ttoday.") == \
        ["hello", "world", "it's", "fine", "today"]
    assert text_to_word_sequence("A,b;C d", filters=";", split=",") == ["a", "b", "c d"]
    assert text_to_word_sequence("Keep CASE", lower=False) == ["Keep", "CASE"]
    assert text_to_word_sequence("나는 학교에 간다.") == ["나는", "학교에", "간다"]


def test_fit_counts_and_ranks():
    tokenizer = fitted()
    assert tokenizer.word_index == INDEX
    assert list(tokenizer.word_index) == list(INDEX)  # the order too
    assert tokenizer.index_word == {i: w for w, i in INDEX.items()}
    assert list(tokenizer.word_counts.items()) == [
        ("the", 4), ("cat", 1), ("sat", 2), ("on", 2), ("mat", 1), ("dog", 1), ("log", 1),
        ("cats", 1), ("and", 1), ("dogs", 1)]
    assert tokenizer.document_count == 3
    assert dict(tokenizer.word_docs) == {"the": 2, "cat": 1, "sat": 2, "on": 2, "mat": 1,
                                         "dog": 1, "log": 1, "cats": 1, "and": 1, "dogs": 1}
    assert dict(tokenizer.index_docs) == {1: 2, 2: 2, 3: 2, 4: 1, 5: 1, 6: 1, 7: 1, 8: 1,
                                          9: 1, 10: 1}
    assert tokenizer.num_words is None


def test_texts_to_sequences_num_words_and_oov():
    assert fitted().texts_to_sequences(["the cat and the bird", "dogs sat"]) == \
        [[1, 4, 9, 1], [10, 2]]  # unknown words dropped
    limited = fitted(num_words=5)
    assert limited.word_index == INDEX  # the vocabulary keeps every word
    assert limited.texts_to_sequences(["the cat and the bird", "dogs sat"]) == [[1, 4, 1], [2]]
    oov = fitted(num_words=5, oov_token="<OOV>")
    assert oov.word_index == {"<OOV>": 1, **{w: i + 1 for w, i in INDEX.items()}}
    sequences = oov.texts_to_sequences(["the cat and the bird", "dogs sat"])
    assert sequences == [[2, 1, 1, 2, 1], [1, 3]]
    assert oov.sequences_to_texts(sequences) == ["the <OOV> <OOV> the <OOV>", "<OOV> sat"]
    assert oov.sequences_to_texts([[4, 99, 2]]) == ["on <OOV> the"]
    assert fitted().sequences_to_texts([[1, 4, 99, 9]]) == ["the cat and"]
    assert list(fitted().texts_to_sequences_generator(["mat"])) == [[5]]


def test_korean_text():
    text = "경마장에 있는 말이 뛰고 있다\n그의 말이 법이다\n가는 말이 고와야 오는 말이 곱다\n"
    tokenizer = Tokenizer()
    tokenizer.fit_on_texts([text])
    assert tokenizer.word_index == {"말이": 1, "경마장에": 2, "있는": 3, "뛰고": 4, "있다": 5,
                                    "그의": 6, "법이다": 7, "가는": 8, "고와야": 9, "오는": 10,
                                    "곱다": 11}
    tokenizer = Tokenizer(oov_token="OOV")
    tokenizer.fit_on_texts(["나는 학교에 간다.", "나는 집에 간다!", "학교에 친구가 있다"])
    assert tokenizer.word_index == {"OOV": 1, "나는": 2, "학교에": 3, "간다": 4, "집에": 5,
                                    "친구가": 6, "있다": 7}
    assert tokenizer.texts_to_sequences(["친구가 학교에 간다", "나는 도서관에 간다"]) == \
        [[6, 3, 4], [2, 1, 4]]


def test_char_level_lists_lower_and_repeated_fits():
    chars = Tokenizer(char_level=True)
    chars.fit_on_texts(["a b", "Ab"])  # char_level ignores filters: the space is a token
    assert chars.word_index == {"a": 1, "b": 2, " ": 3}
    assert chars.texts_to_sequences(["ba b"]) == [[2, 1, 3, 2]]
    tokens = Tokenizer()
    tokens.fit_on_texts([["Hello", "World"], ["hello"]])  # lists are tokens already
    assert tokens.word_index == {"hello": 1, "world": 2}
    cased = Tokenizer(lower=False)
    cased.fit_on_texts(["The the the"])
    assert cased.word_index == {"the": 1, "The": 2}
    again = Tokenizer()
    again.fit_on_texts(["b"])
    again.fit_on_texts(["a a"])  # counts add up; the ranks are rebuilt
    assert again.word_index == {"a": 1, "b": 2} and again.document_count == 2
    split = Tokenizer(split=",", filters="")
    split.fit_on_texts(["x,y,,x"])
    assert split.word_index == {"x": 1, "y": 2}


def test_texts_to_matrix_modes():
    tokenizer = fitted()
    texts = ["the cat the", "sat dog dog dog"]  # sequences [1, 4, 1] and [2, 6, 6, 6]
    expected = {"binary": {(0, 1): 1, (0, 4): 1, (1, 2): 1, (1, 6): 1},
                "count": {(0, 1): 2, (0, 4): 1, (1, 2): 1, (1, 6): 3},
                "freq": {(0, 1): 2 / 3, (0, 4): 1 / 3, (1, 2): 1 / 4, (1, 6): 3 / 4},
                # (1 + ln c) * ln(1 + 3 documents / (1 + documents holding the word))
                "tfidf": {(0, 1): (1 + math.log(2)) * math.log(2), (0, 4): math.log(2.5),
                          (1, 2): math.log(2), (1, 6): (1 + math.log(3)) * math.log(2.5)}}
    for mode, cells in expected.items():
        matrix = tokenizer.texts_to_matrix(texts, mode=mode)
        want = np.zeros((2, 11))  # num_words None: len(word_index) + 1 columns
        for (i, j), value in cells.items():
            want[i, j] = value
        assert matrix.dtype == np.float64
        np.testing.assert_allclose(matrix, want, rtol=1e-12)
    limited = fitted(num_words=3)
    np.testing.assert_array_equal(limited.texts_to_matrix(["the sat on cat"], mode="count"),
                                  [[0, 1, 1]])
    np.testing.assert_array_equal(limited.sequences_to_matrix([[], [2, 9]]),
                                  [[0, 0, 0], [0, 0, 1]])


def test_matrix_errors():
    with pytest.raises(ValueError, match="Specify a dimension"):
        Tokenizer().texts_to_matrix(["a"])
    with pytest.raises(ValueError, match="Fit the Tokenizer"):
        Tokenizer(num_words=4).sequences_to_matrix([[1]], mode="tfidf")
    with pytest.raises(ValueError, match="Unknown vectorization mode"):
        fitted().texts_to_matrix(["the"], mode="onehot")
    with pytest.raises(TypeError, match="Unrecognized keyword"):
        Tokenizer(vocabulary_size=10)


def test_fit_on_sequences_for_tfidf():
    tokenizer = Tokenizer(num_words=4)
    tokenizer.fit_on_sequences([[1, 2, 2], [2, 3]])
    assert tokenizer.document_count == 2 and dict(tokenizer.index_docs) == {1: 1, 2: 2, 3: 1}
    matrix = tokenizer.sequences_to_matrix([[2, 2]], mode="tfidf")
    np.testing.assert_allclose(matrix, [[0, 0, (1 + math.log(2)) * math.log(1 + 2 / 3), 0]])


def test_json_round_trip_and_keras_json():
    tokenizer = fitted(num_words=6, oov_token="<OOV>")
    config = tokenizer.get_config()
    assert json.loads(config["word_index"]) == tokenizer.word_index
    again = tokenizer_from_json(tokenizer.to_json())
    assert again.word_index == tokenizer.word_index and again.index_word == tokenizer.index_word
    assert again.num_words == 6 and again.document_count == 3
    assert again.texts_to_sequences(["the dog ate"]) == tokenizer.texts_to_sequences(
        ["the dog ate"]) == [[2, 1, 1]]
    # a JSON string as tf.keras 2 writes it (Tokenizer(num_words=3, oov_token="<OOV>")
    # fitted on ["a b a"])
    keras_json = json.dumps({"class_name": "Tokenizer", "config": {
        "num_words": 3, "filters": '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', "lower": True,
        "split": " ", "char_level": False, "oov_token": "<OOV>", "document_count": 1,
        "word_counts": '{"a": 2, "b": 1}', "word_docs": '{"b": 1, "a": 1}',
        "index_docs": '{"3": 1, "2": 1}', "index_word": '{"1": "<OOV>", "2": "a", "3": "b"}',
        "word_index": '{"<OOV>": 1, "a": 2, "b": 3}'}})
    loaded = tokenizer_from_json(keras_json)
    assert loaded.texts_to_sequences(["a b c"]) == [[2, 1, 1]]
    assert loaded.sequences_to_texts([[2, 3]]) == ["a <OOV>"]


def test_hashing_trick_and_one_hot():
    assert hashing_trick("Hello world hello", 10, hash_function="md5") == [8, 9, 8]
    ids = one_hot("the cat the", 50)
    assert len(ids) == 3 and ids[0] == ids[2] and all(1 <= i < 50 for i in ids)
    assert hashing_trick("a b", 5, hash_function=len, analyzer=str.split) == [2, 2]
