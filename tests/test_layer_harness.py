"""Every layer class glassnet.layers exports, through one harness
(glassnet.testing.run_layer_test): float64 gradient check, the book's
forward/backward, the tape, the config round trip, the model files and ONNX.

A new layer is a class, its formula, and one line in LAYERS:
(factory, input shape with the batch axis, input dtype[, options]). A factory
is ``M(cls, *args, **kwargs)``; options are run_layer_test's keyword
arguments, plus ``xfail`` (the precise bug that makes the case fail)."""

import numpy as np
import pytest

from glassnet import layers as L
from glassnet.layers import Layer
from glassnet.testing import run_layer_test


class M:
    """A factory: ``M(L.Dense, 3, activation="relu")()`` makes a new layer;
    arguments that are factories themselves (a wrapper's inner layer) are
    made anew for each layer too. Its repr is the test's id."""

    def __init__(self, cls, *args, **kwargs):
        self.cls, self.args, self.kwargs = cls, args, kwargs

    def __call__(self):
        make = (lambda a: a() if isinstance(a, M) else a)
        return self.cls(*map(make, self.args), **{k: make(v) for k, v in self.kwargs.items()})

    def __repr__(self):
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.cls.__name__}({', '.join(parts)})"


F, I = "float32", "int32"
# sequences with padded (all-zero) steps: what Masking is for
PADDED = np.random.default_rng(5).normal(size=(2, 4, 3)).astype(F)
PADDED[0, 2:] = 0
PADDED[1, :1] = 0
# the gradient check away from the padded steps: there the layer is not
# differentiable (a_t = x_t · [x_t ≠ mask_value]; Keras's gradient there is 0)
UNPADDED = np.random.default_rng(6).normal(size=(2, 4, 3))

LAYERS = [
    # core
    (M(L.Dense, 3), (2, 4), F),
    (M(L.Dense, 3, activation="relu"), (3, 4), F),
    (M(L.Dense, 3, activation="tanh", use_bias=False), (2, 4), F),
    (M(L.Dense, 4, activation="softmax"), (2, 5), F),
    (M(L.Dense, 2, activation="sigmoid"), (2, 3, 4), F),
    (M(L.Dense, 3, kernel_regularizer="l2", bias_regularizer="l1"), (2, 4), F),
    (M(L.Activation, "relu"), (2, 5), F),
    (M(L.Activation, "gelu"), (2, 3, 4), F),
    (M(L.Activation, "softmax"), (2, 5), F),
    (M(L.Activation, "step"), (2, 5), F),  # ONNX: Greater + Cast
    (M(L.Dropout, 0.5, seed=1), (3, 6), F),
    (M(L.Dropout, 0.3), (2, 3, 4), F),
    (M(L.GaussianNoise, 0.3, seed=2), (3, 6), F),
    (M(L.GaussianNoise, 0.1), (2, 3, 4), F),
    # the penalty's gradient in backward; the float64 check adds activity_loss()
    (M(L.ActivityRegularization, l1=0.1, l2=0.2), (3, 5), F),
    (M(L.ActivityRegularization, l2=0.5), (2, 3, 4), F),
    (M(L.Flatten), (2, 3, 4), F),
    (M(L.Reshape, (2, 6)), (2, 3, 4), F),
    (M(L.Reshape, (-1, 2)), (2, 3, 4), F),
    (M(L.Rescaling, 0.5, offset=0.1), (2, 5), F),
    (M(L.Identity), (2, 5), F),
    (M(L.Masking), (2, 4, 3), F, {"x": PADDED, "gradient_x": UNPADDED}),
    (M(L.Masking, mask_value=1.0), (2, 4, 3), F, {"x": PADDED + 1, "gradient_x": UNPADDED}),
    # activation layers
    (M(L.Softmax), (2, 5), F),
    (M(L.Softmax, axis=1), (2, 3, 4), F),
    (M(L.Softmax, axis=2), (2, 2, 3, 2), F),
    (M(L.ReLU), (2, 5), F),
    (M(L.ReLU, max_value=1.0, negative_slope=0.1), (3, 6), F),
    (M(L.ReLU, threshold=0.5), (3, 6), F,
     {"onnx": "ONNX export of ReLU with threshold is not implemented"}),
    (M(L.LeakyReLU, 0.2), (2, 5), F),
    (M(L.ELU, 1.3), (2, 5), F),
    # merges: a list of inputs
    (M(L.Add), [(2, 4), (2, 4)], F),
    (M(L.Add), [(2, 3), (2, 3), (2, 3)], F),
    (M(L.Subtract), [(2, 4), (2, 4)], F),
    (M(L.Multiply), [(2, 4), (2, 4)], F),
    (M(L.Average), [(2, 4), (2, 4)], F),
    (M(L.Maximum), [(2, 4), (2, 4)], F),
    (M(L.Minimum), [(2, 3, 2), (2, 3, 2)], F),
    (M(L.Concatenate), [(2, 3), (2, 4)], F),
    (M(L.Concatenate, axis=1), [(2, 2, 3), (2, 1, 3)], F),
    # attention: [query, value(, key)]. Without biases here: the key's bias has an exact zero
    # gradient (the softmax ignores a shift per row), which the relative error cannot check;
    # test_attention.py checks every weight with biases
    (M(L.MultiHeadAttention, 2, 3, use_bias=False), [(2, 4, 5), (2, 3, 6)], F,
     {}),
    (M(L.MultiHeadAttention, 1, 4, value_dim=2, output_shape=3, use_bias=False),
     [(2, 3, 4), (2, 5, 4), (2, 5, 3)], F),
    (M(L.Attention), [(2, 4, 5), (2, 3, 5)], F),
    (M(L.Attention, use_scale=True, score_mode="concat"), [(2, 4, 5), (2, 3, 6), (2, 3, 5)], F),
    (M(L.AdditiveAttention), [(2, 4, 5), (2, 3, 5)], F),
    # convolution and pooling
    (M(L.Conv2D, 3, 3), (2, 5, 5, 2), F),
    (M(L.Conv2D, 3, 3, strides=2, padding="same", activation="relu"), (2, 5, 5, 2), F,
     {"expected_output_shape": (2, 3, 3, 3)}),
    (M(L.Conv2D, 2, (2, 3), strides=(1, 2), use_bias=False), (2, 4, 5, 1), F),
    (M(L.Conv2D, 2, 2, padding="same", activation="sigmoid"), (2, 3, 4, 2), F),
    (M(L.Conv1D, 3, 3), (2, 6, 2), F),
    (M(L.Conv1D, 3, 2, strides=2, padding="same", activation="tanh"), (2, 5, 2), F),
    (M(L.Conv1D, 2, 3, padding="causal"), (2, 5, 2), F, {"expected_output_shape": (2, 5, 2)}),
    (M(L.MaxPooling2D), (2, 4, 4, 2), F),
    (M(L.MaxPooling2D, 3, strides=2, padding="same"), (2, 5, 5, 2), F),
    (M(L.MaxPooling2D, 2, padding="same"), (2, 5, 3, 1), F),
    (M(L.AveragePooling2D), (2, 4, 4, 2), F),
    (M(L.AveragePooling2D, (2, 3), strides=1, padding="same"), (2, 3, 4, 2), F),
    (M(L.MaxPooling1D), (2, 6, 3), F),
    (M(L.MaxPooling1D, 3, strides=2, padding="same"), (2, 5, 3), F),
    (M(L.AveragePooling1D), (2, 6, 3), F),
    (M(L.AveragePooling1D, 2, strides=1, padding="same"), (2, 5, 3), F),
    (M(L.GlobalAveragePooling2D), (2, 3, 3, 2), F),
    (M(L.GlobalAveragePooling2D, keepdims=True), (2, 3, 3, 2), F),
    (M(L.GlobalMaxPooling2D), (2, 3, 3, 2), F),
    (M(L.GlobalMaxPooling2D, keepdims=True), (2, 3, 3, 2), F),
    (M(L.GlobalAveragePooling1D), (2, 4, 3), F),
    (M(L.GlobalMaxPooling1D), (2, 4, 3), F),
    (M(L.GlobalMaxPooling1D, keepdims=True), (2, 4, 3), F),
    (M(L.ZeroPadding2D), (2, 3, 3, 2), F),
    (M(L.ZeroPadding2D, ((1, 0), (2, 1))), (2, 3, 3, 2), F),
    (M(L.UpSampling2D), (2, 2, 3, 2), F),
    (M(L.UpSampling2D, (1, 3)), (2, 2, 2, 1), F),
    (M(L.Conv2DTranspose, 3, 3), (2, 4, 4, 2), F, {"expected_output_shape": (2, 6, 6, 3)}),
    (M(L.Conv2DTranspose, 2, 3, strides=2), (2, 3, 4, 2), F,
     {"expected_output_shape": (2, 7, 9, 2)}),
    (M(L.Conv2DTranspose, 3, 3, padding="same"), (2, 4, 3, 2), F),
    (M(L.Conv2DTranspose, 3, 3, strides=2, padding="same", activation="relu"), (2, 3, 4, 2),
     F, {"expected_output_shape": (2, 6, 8, 3)}),
    (M(L.Conv2DTranspose, 2, (3, 2), strides=2, output_padding=1, use_bias=False),
     (2, 3, 3, 1), F, {"expected_output_shape": (2, 8, 7, 2)}),
    (M(L.Conv2DTranspose, 2, 3, strides=(2, 3), padding="same", output_padding=(1, 2),
       activation="sigmoid"), (2, 3, 3, 2), F, {"expected_output_shape": (2, 6, 9, 2)}),
    (M(L.Conv2DTranspose, 2, 2, strides=2, padding="same", kernel_regularizer="l2"),
     (2, 3, 3, 2), F),
    (M(L.Conv2DTranspose, 2, 1, strides=2), (2, 3, 3, 2), F,
     {"expected_output_shape": (2, 6, 6, 2)}),
    (M(L.Cropping2D, 1), (2, 4, 5, 2), F, {"expected_output_shape": (2, 2, 3, 2)}),
    (M(L.Cropping2D, ((1, 0), (0, 2))), (2, 4, 5, 2), F),
    (M(L.RepeatVector, 3), (2, 4), F, {"expected_output_shape": (2, 3, 4)}),
    # normalization
    (M(L.BatchNormalization), (3, 4), F),
    (M(L.BatchNormalization, center=False, momentum=0.9), (2, 3, 3, 2), F),
    (M(L.BatchNormalization, scale=False), (2, 3, 4), F),
    (M(L.LayerNormalization), (2, 5), F),
    (M(L.LayerNormalization, scale=False, epsilon=1e-5), (2, 3, 4), F),
    # embedding: token ids, no input gradient
    (M(L.Embedding, 10, 3), (2, 5), I),
    (M(L.Embedding, 10, 4, mask_zero=True), (3, 4), I),
    # recurrent
    (M(L.SimpleRNN, 3), (2, 4, 3), F),
    (M(L.SimpleRNN, 3, return_sequences=True, go_backwards=True), (2, 4, 3), F),
    (M(L.SimpleRNN, 2, activation="relu", use_bias=False), (2, 3, 2), F),
    (M(L.LSTM, 3), (2, 4, 3), F),
    (M(L.LSTM, 2, return_sequences=True), (2, 3, 2), F),
    (M(L.LSTM, 2, return_sequences=True, go_backwards=True), (2, 3, 2), F),
    (M(L.LSTM, 2, dropout=0.3, recurrent_dropout=0.2, seed=3), (2, 3, 2), F),
    (M(L.LSTM, 2, kernel_regularizer="l2", recurrent_regularizer="l1"), (2, 3, 2), F),
    (M(L.GRU, 3), (2, 4, 3), F),
    (M(L.GRU, 2, return_sequences=True, go_backwards=True), (2, 3, 2), F),
    (M(L.GRU, 2, activation="relu", recurrent_activation="hard_sigmoid"), (2, 3, 2), F),
    # wrappers
    (M(L.Bidirectional, M(L.LSTM, 2)), (2, 3, 2), F, {"expected_output_shape": (2, 4)}),
    (M(L.Bidirectional, M(L.GRU, 2, return_sequences=True), merge_mode="sum"), (2, 3, 2), F),
    (M(L.Bidirectional, M(L.SimpleRNN, 2), merge_mode="ave"), (2, 3, 2), F),
    (M(L.TimeDistributed, M(L.Dense, 3, activation="relu")), (2, 3, 4), F),
    (M(L.TimeDistributed, M(L.Embedding, 10, 2)), (2, 3, 4), I),
    (M(L.TimeDistributed, M(L.Conv2D, 2, 2)), (2, 2, 3, 3, 1), F),
]

# Not in LAYERS, and why:
EXCLUDED = {
    # the start of a graph (keras.Input), not a computation: no forward/backward/weights
    L.InputLayer,
    # takes strings (standardize/split are regular expressions); tests/test_text_vectorization.py
    L.TextVectorization,
}


def _param(entry):
    factory, shape, dtype, *rest = entry
    options = dict(rest[0]) if rest else {}
    xfail = options.get("xfail")
    marks = [pytest.mark.xfail(strict=True, raises=AssertionError,
                               reason=f"check {xfail[0]!r}: {xfail[1]}")] if xfail else []
    return pytest.param(factory, shape, dtype, options, marks=marks,
                        id=f"{factory!r}-{dtype}")


@pytest.mark.parametrize("factory, shape, dtype, options", [_param(e) for e in LAYERS])
def test_layer(factory, shape, dtype, options, tmp_path):
    options = dict(options)
    xfail = options.pop("xfail", None)
    try:
        report = run_layer_test(factory, shape, input_dtype=dtype, tmp_dir=tmp_path, **options)
    except AssertionError as error:
        if xfail and f"check {xfail[0]!r} failed" not in str(error):  # not the known bug
            raise RuntimeError(f"expected check {xfail[0]!r} to fail; {error}") from error
        raise
    assert report["checked"][:4] == ["book", "gradients", "tape", "config"]
    assert "files" in report["checked"]
    skipped = report["skipped"].get("onnx", "")
    missing = skipped.endswith("is not installed")  # onnx or onnxruntime: skipped cleanly
    if isinstance(options.get("onnx"), str):
        assert missing or ("onnx refused" in report["checked"] and skipped == options["onnx"])
    else:  # exported and compared: never skipped otherwise
        assert missing or "onnx" in report["checked"], report["skipped"]


def test_every_exported_layer_class_is_in_the_list():
    covered = {type(entry[0]()) for entry in LAYERS}
    exported = set(L._LAYERS) | {
        value for name, value in vars(L).items()
        if isinstance(value, type) and issubclass(value, Layer) and value is not Layer
        and not name.startswith("_")}
    assert exported - covered - EXCLUDED == set(), "layers missing from LAYERS"
    assert covered <= exported, "LAYERS has a class glassnet.layers does not export"
    assert EXCLUDED <= exported
    # Keras's other names are the same classes
    assert all(cls in exported for cls in L._ALIASES.values())


def test_a_failure_names_the_layer_and_the_check(tmp_path):
    class Wrong(L.Dense):
        def backward_from_z(self, grad_z, input_grad=True):
            return 2 * super().backward_from_z(grad_z, input_grad)

    with pytest.raises(AssertionError, match=r"Wrong '.*': check 'gradients' failed"):
        run_layer_test(Wrong(2), (2, 3), files=False, onnx=False)


def test_a_refusal_that_exports_fails(tmp_path):
    with pytest.raises(AssertionError, match="check 'onnx refused' failed"):
        run_layer_test(L.Dense(2), (2, 3), files=False, onnx="no reason", tmp_dir=tmp_path)


def test_a_config_that_forgets_an_argument_fails():
    class Forgetful(L.Dense):
        def get_config(self):
            return {k: v for k, v in super().get_config().items() if k != "activation"}

    with pytest.raises(AssertionError, match=r"(?s)Forgetful '.*': check 'config' failed.*"
                                             r"the clone's output differs"):
        run_layer_test(Forgetful(2, activation="tanh"), (2, 3), files=False, onnx=False)
