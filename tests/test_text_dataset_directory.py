"""keras.utils.text_dataset_from_directory: Keras 3's file order, shuffle, split,
label modes and errors; the Deep Learning with Python chapter 11 pipeline on it;
and, where real Keras is installed, the same files in each subset as Keras's."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.keras.utils import text_dataset_from_directory


@pytest.fixture
def reviews(tmp_path):
    """aclImdb's layout: train/{neg,pos}/<id>_<stars>.txt, 12 files a class, plus a
    file that is not .txt and a hidden folder (both ignored)."""
    root = tmp_path / "train"
    words = {"neg": "awful boring dull", "pos": "great wonderful fun"}
    for label, text in words.items():
        (root / label).mkdir(parents=True)
        for i in range(12):
            (root / label / f"{i}_{i % 5 + 1}.txt").write_text(
                f"review {label} {i}: {text} 한국어 끝", encoding="utf-8")
    (root / "notes.md").write_text("not a review")
    (root / ".cache").mkdir()
    return root


def _texts(dataset):
    """Every text of a pass, decoded (they come as TensorFlow's: bytes)."""
    out = []
    for element in dataset:
        x = element[0] if isinstance(element, tuple) else element
        values = np.asarray(x).reshape(-1).tolist()
        assert all(isinstance(v, bytes) for v in values)
        out += [v.decode("utf-8", errors="replace") for v in values]
    return out


def test_files_in_keras_order_with_labels_from_the_folders(reviews, capsys):
    ds = text_dataset_from_directory(reviews, shuffle=False, batch_size=5)
    assert "Found 24 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["neg", "pos"]
    batches = list(ds)
    assert [len(np.asarray(x)) for x, _ in batches] == [5, 5, 5, 5, 4]
    texts, labels = _texts(ds), np.concatenate([np.asarray(y) for _, y in batches])
    names = sorted(f"{i}_{i % 5 + 1}.txt" for i in range(12))   # sorted as strings: 0, 1, 10, 11, 2
    expected = [f"review {c} {int(n.split('_')[0])}: " for c in ("neg", "pos") for n in names]
    assert [t[:len(e)] for t, e in zip(texts, expected)] == expected
    assert labels.dtype == np.int32 and labels.tolist() == [0] * 12 + [1] * 12
    assert texts[0].endswith("한국어 끝")                         # read as UTF-8


def test_shuffle_split_and_subsets_follow_keras(reviews, capsys):
    """The list is shuffled once with NumPy's RandomState(seed), as Keras's, and the
    last 20% of it is the validation subset: the same seed on both calls gives two
    parts that do not overlap and cover every file."""
    ordered = _texts(text_dataset_from_directory(reviews, shuffle=False, verbose=False))
    expected = list(ordered)
    np.random.RandomState(7).shuffle(expected)
    train = text_dataset_from_directory(reviews, validation_split=0.2, subset="training",
                                        seed=7)
    val = text_dataset_from_directory(reviews, validation_split=0.2, subset="validation",
                                      seed=7)
    out = capsys.readouterr().out
    assert "Using 20 files for training." in out and "Using 4 files for validation." in out
    assert sorted(_texts(train)) == sorted(expected[:20])
    assert sorted(_texts(val)) == sorted(expected[20:])
    both_train, both_val = text_dataset_from_directory(reviews, validation_split=0.2,
                                                       subset="both", seed=7, verbose=False)
    assert _texts(both_val) == expected[20:]                    # validation: not reshuffled
    assert sorted(_texts(both_train)) == sorted(expected[:20])
    first, second = _texts(both_train), _texts(both_train)
    assert first != second and sorted(first) == sorted(second)  # each pass reshuffles
    labels = {t: y for x, ys in text_dataset_from_directory(reviews, seed=1, verbose=False)
              for t, y in zip(np.asarray(x).tolist(), np.asarray(ys).tolist())}
    assert all(label == (1 if b" pos " in text else 0) for text, label in labels.items())


def test_label_modes_max_length_class_names_and_no_labels(reviews):
    x, y = next(iter(text_dataset_from_directory(reviews, label_mode="categorical",
                                                 shuffle=False, verbose=False)))
    assert np.asarray(y).dtype == np.float32 and np.asarray(y).shape == (24, 2)
    np.testing.assert_array_equal(np.asarray(y)[[0, 12]], [[1, 0], [0, 1]])
    x, y = next(iter(text_dataset_from_directory(reviews, label_mode="binary", shuffle=False,
                                                 max_length=28, verbose=False)))
    assert np.asarray(y).shape == (24, 1) and np.asarray(y)[12, 0] == 1.0
    # 28 bytes: "review neg 0: awful boring " is 27, then the first byte of "d"
    assert np.asarray(x)[0] == b"review neg 0: awful boring d"
    cut = next(iter(text_dataset_from_directory(reviews, shuffle=False, max_length=37,
                                                verbose=False)))[0]
    # bytes, as TensorFlow's substr cuts them: here inside 국 (3 bytes in UTF-8)
    assert np.asarray(cut)[0] == "review neg 0: awful boring dull 한국어 끝".encode()[:37]
    vectorize = keras.layers.TextVectorization()
    vectorize.adapt(text_dataset_from_directory(reviews / "neg", labels=None, max_length=26,
                                                verbose=False))          # ASCII only
    vocabulary = vectorize.get_vocabulary()
    assert {"review", "neg", "awful", "boring", "borin"} <= set(vocabulary)  # 10: cuts it
    assert "dull" not in vocabulary
    picked = text_dataset_from_directory(reviews, class_names=["pos", "neg"], shuffle=False,
                                         verbose=False)
    assert picked.class_names == ["pos", "neg"]
    assert np.asarray(next(iter(picked))[1])[:12].tolist() == [0] * 12   # pos first
    texts_only = text_dataset_from_directory(reviews / "pos", labels=None, batch_size=None,
                                             shuffle=False, verbose=False)
    first = next(iter(texts_only))
    assert not isinstance(first, tuple) and np.asarray(first).item().startswith(b"review pos 0:")
    assert texts_only.class_names is None
    given = text_dataset_from_directory(reviews, labels=[i % 3 for i in range(24)],
                                        shuffle=False, verbose=False)
    assert given.class_names == ["0", "1", "2"]


@pytest.mark.parametrize("kwargs, message", [
    ({"label_mode": "sparse"}, "`label_mode` argument must be one of"),
    ({"validation_split": 0.2}, "If `subset` is set, `validation_split` must be set"),
    ({"subset": "training"}, "If `subset` is set, `validation_split` must be set"),
    ({"validation_split": 0.2, "subset": "training"}, "you must provide a `seed`"),
    ({"validation_split": 1.5, "subset": "training", "seed": 1}, "must be between 0 and 1"),
    ({"validation_split": 0.2, "subset": "train", "seed": 1}, '`subset` must be either'),
    ({"labels": [0, 1]}, "Expected the lengths of `labels` to match"),
    ({"labels": "folders"}, "`labels` argument should be a list/tuple"),
    ({"class_names": ["pos", "happy"]}, "did not match the names of the subdirectories"),
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"format": "grain"}, "format='grain' is not implemented"),
])
def test_bad_arguments_get_keras_errors(reviews, kwargs, message):
    error = NotImplementedError if "format" in kwargs else ValueError
    with pytest.raises(error, match=message.replace("(", r"\(").replace("[", r"\[")):
        text_dataset_from_directory(reviews, verbose=False, **kwargs)


def test_binary_needs_two_classes_and_an_empty_folder_is_refused(reviews, tmp_path):
    (reviews / "unsup").mkdir()                    # aclImdb's third folder, here empty
    with pytest.raises(ValueError, match="exactly 2 class_names"):
        text_dataset_from_directory(reviews, label_mode="binary", verbose=False)
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="No text files found"):
        text_dataset_from_directory(tmp_path / "empty", verbose=False)
    with pytest.raises(ValueError, match="is not a directory"):
        text_dataset_from_directory(tmp_path / "missing", verbose=False)


def test_deep_learning_with_python_chapter_11_pipeline_trains(reviews):
    """Chapter 11's code on it: adapt a TextVectorization to the texts, map the
    datasets to ids, and fit; the words carry the label, so it learns them."""
    gn.utils.set_random_seed(0)
    train_ds, val_ds = text_dataset_from_directory(reviews, batch_size=8, validation_split=0.25,
                                                   subset="both", seed=1337, verbose=False)
    text_only_train_ds = train_ds.map(lambda x, y: x)
    text_vectorization = keras.layers.TextVectorization(max_tokens=100, output_mode="int",
                                                        output_sequence_length=12)
    text_vectorization.adapt(text_only_train_ds)
    int_train_ds = train_ds.map(lambda x, y: (text_vectorization(x), y), num_parallel_calls=4)
    int_val_ds = val_ds.map(lambda x, y: (text_vectorization(x), y), num_parallel_calls=4)
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = keras.layers.Embedding(100, 8)(inputs)
    x = keras.layers.GlobalAveragePooling1D()(x)
    outputs = keras.layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    model.fit(int_train_ds, validation_data=int_val_ds, epochs=15, verbose=0)
    assert model.evaluate(int_val_ds, verbose=0)[1] == 1.0
    assert "wonderful" in text_vectorization.get_vocabulary()


def test_the_same_files_in_each_subset_as_real_keras(reviews):
    keras_real = pytest.importorskip("keras")
    for subset in ("training", "validation"):
        mine = text_dataset_from_directory(reviews, validation_split=0.3, subset=subset,
                                           seed=11, verbose=False)
        theirs = keras_real.utils.text_dataset_from_directory(
            str(reviews), validation_split=0.3, subset=subset, seed=11, verbose=False)
        assert sorted(_texts(mine)) == sorted(v.decode() for x, _ in theirs
                                              for v in x.numpy().tolist())
