"""MultiHeadAttention (issue 25): Keras 3's layer, checked against real Keras
(fixtures written by tests/data/keras/make_attention.py), against PyTorch's
nn.MultiheadAttention, and by a float64 gradient check of every weight."""

import pathlib

import numpy as np
import pytest

import glassnet as gn
from glassnet import keras
from glassnet.gradcheck import numerical_gradient, relative_error

FIXTURES = pathlib.Path(__file__).parent / "data" / "keras" / "3.15.1"
L = keras.layers


def _fixture():
    return np.load(FIXTURES / "attention.npz")


def _weights(data, prefix):
    return [data[f"{prefix}{i}"] for i in range(8)]


def test_the_layer_computes_what_keras_computes_with_a_mask_and_its_scores():
    d = _fixture()
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
    mha(d["q"], d["v"])                                   # build, then Keras's weights
    mha.set_weights(_weights(d, "layer"))
    out, scores = mha(d["q"], d["v"], attention_mask=d["mask"], return_attention_scores=True)
    np.testing.assert_allclose(out.numpy(), d["out"], atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), d["scores"], atol=1e-6)
    assert np.all(scores.numpy()[1, :, 2] == 0)           # a step that may see nothing: zeros


def test_causal_mask_separate_key_and_output_shape_as_keras():
    d = _fixture()
    mha = L.MultiHeadAttention(num_heads=2, key_dim=2, output_shape=7)
    mha(d["q"], d["q"], key=d["k"])
    mha.set_weights(_weights(d, "causal"))
    out, scores = mha(d["q"], d["q"], key=d["k"], use_causal_mask=True,
                      return_attention_scores=True)
    assert out.shape == (2, 4, 7)
    np.testing.assert_allclose(out.numpy(), d["causal_out"], atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), d["causal_scores"], atol=1e-6)
    assert np.all(np.triu(scores.numpy()[0, 0], 1) == 0)  # nothing from the future
    # and so an output step does not change when later steps of the value do
    later = d["q"].copy()
    later[:, 3] += 5.0
    changed = mha(d["q"], later, key=d["k"], use_causal_mask=True).numpy()
    np.testing.assert_allclose(changed[:, :3], out.numpy()[:, :3], atol=1e-6)


def test_a_keras_model_with_padding_masks_loads_predicts_and_trains_a_step_as_keras():
    d = _fixture()
    model = gn.load_model(str(FIXTURES / "attention.keras"))
    assert [type(layer).__name__ for layer in model.layers] == [
        "InputLayer", "Embedding", "MultiHeadAttention", "GlobalAveragePooling1D", "Dense"]
    for mine, theirs in zip(model.get_weights(), [d[f"before{i}"] for i in range(11)]):
        np.testing.assert_array_equal(mine, theirs)
    np.testing.assert_allclose(model.predict(d["tokens"], verbose=0), d["predictions"],
                               atol=1e-6)
    model.compile(keras.optimizers.SGD(0.1), "mse")
    model.train_on_batch(d["tokens"], d["y"])
    for mine, theirs in zip(model.get_weights(), [d[f"after{i}"] for i in range(11)]):
        np.testing.assert_allclose(mine, theirs, atol=1e-6)


def test_every_weight_passes_a_float64_gradient_check():
    """The key's bias gets an exact zero: the softmax ignores a shift of a row,
    and Q·b_k shifts each row by one number. So it is checked to be zero (to
    rounding) on both sides, and every other weight to 1e-7."""
    rng = np.random.default_rng(1)
    q, v, k = rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 3, 6)), rng.normal(size=(2, 3, 2))
    mask = rng.random((2, 4, 3)) > 0.25
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=2, output_shape=4,
                               dtype="float64", bias_initializer="glorot_uniform")
    mha(q, v, key=k, attention_mask=mask)
    upstream = rng.normal(size=(2, 4, 4))

    def loss():
        return float(np.sum(mha.forward([q, v, k, mask]) * upstream))

    out = mha.forward([q, v, k, mask], training=True)
    grads = mha.backward(upstream)
    assert grads[3] is None                               # the mask has no gradient
    for x, g in zip((q, v, k), grads):
        def of_x(value, x=x):
            saved = x.copy()
            x[...] = value
            try:
                return loss()
            finally:
                x[...] = saved
        assert relative_error(g, numerical_gradient(of_x, x.copy(), 1e-5)) < 1e-7
    for w in mha.trainable_weights:
        def of_w(value, w=w):
            saved = w.numpy()
            w.assign(value)
            try:
                return loss()
            finally:
                w.assign(saved)
        numeric = numerical_gradient(of_w, w.numpy(), 1e-5)
        if w.name == "key/bias":
            assert np.abs(w.grad).max() < 1e-12 and np.abs(numeric).max() < 1e-8
        else:
            assert relative_error(w.grad, numeric) < 1e-7, w.name
    assert out.shape == (2, 4, 4)


@pytest.mark.parametrize("causal", [False, True])
def test_self_attention_reads_one_input_three_ways_with_the_same_gradients(causal):
    """In self-attention (one array as query, key and value) the three projections
    are one product, x · [Wq | Wk | Wv]; the layer still returns ∂L/∂query and
    ∂L/∂value apart, equal to those of two separate copies of x, and their sum
    passes the float64 check against x."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3, 5, 6))
    mha = L.MultiHeadAttention(num_heads=2, key_dim=3, dtype="float64",
                               bias_initializer="glorot_uniform")
    mha(x, x, use_causal_mask=causal)
    upstream = rng.normal(size=(3, 5, 6))
    out_one = mha.forward([x, x])
    grads_one = mha.backward(upstream)
    weight_grads_one = [w.grad.copy() for w in mha.trainable_weights]
    out_two = mha.forward([x, x.copy()])
    grads_two = mha.backward(upstream)
    np.testing.assert_allclose(out_one, out_two, rtol=1e-13, atol=1e-13)
    for a, b in zip(grads_one, grads_two):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for a, w in zip(weight_grads_one, mha.trainable_weights):
        np.testing.assert_allclose(a, w.grad, rtol=1e-12, atol=1e-13)
    assert np.abs(grads_one[0]).max() > 1e-3 and np.abs(grads_one[1]).max() > 1e-3

    def loss(value):
        return float(np.sum(mha.forward([value, value]) * upstream))

    numeric = numerical_gradient(loss, x.copy(), 1e-5)
    assert relative_error(grads_one[0] + grads_one[1], numeric) < 1e-7


def test_the_softmax_skips_the_max_shift_only_where_that_is_exact():
    """The scores' softmax is e^s / Σ e^s without subtracting each row's max,
    except where e^s could overflow (a score above 80) or a row that may see
    something underflows (all its scores below -80): there the shifted
    softmax is used. Each case equals the float64 softmax; a row with nothing
    to see (all masked) gives zeros."""
    from glassnet.layers.attention import LARGE_NEGATIVE, _softmax_unshifted

    def reference(s, allowed):
        s = np.where(allowed, s.astype(np.float64), -np.inf)
        top = np.max(s, axis=-1, keepdims=True)
        e = np.where(allowed, np.exp(s - np.where(np.isfinite(top), top, 0)), 0)
        total = e.sum(axis=-1, keepdims=True)
        return np.divide(e, total, out=np.zeros_like(e), where=total > 0)

    rng = np.random.default_rng(5)
    allowed = rng.random((2, 3, 4, 6)) > 0.3
    allowed[0, 1, 2] = False                                  # a row with nothing to see
    empty = ~allowed.any(axis=-1, keepdims=True)
    for shift, exact in ((0.0, True), (85.0, False), (-120.0, False), (-60.0, True)):
        s = (rng.normal(size=allowed.shape) * 3 + shift).astype(np.float32)
        s[~allowed] = LARGE_NEGATIVE
        work = s.copy()
        assert _softmax_unshifted(work, empty) is exact, shift
        if exact:
            np.testing.assert_allclose(work, reference(s, allowed), rtol=2e-6, atol=1e-7)
    # and through the layer: large scores (the shifted path) equal the float64 layer
    x = rng.normal(size=(2, 6, 8)) * 40
    mask = rng.random((2, 6, 6)) > 0.3
    mask[1, 3] = False
    mha32 = L.MultiHeadAttention(num_heads=2, key_dim=4)
    mha64 = L.MultiHeadAttention(num_heads=2, key_dim=4, dtype="float64")
    mha32(x.astype(np.float32), x.astype(np.float32))
    mha64(x, x)
    mha64.set_weights([w.astype(np.float64) for w in mha32.get_weights()])
    _, a32 = mha32(x.astype(np.float32), x.astype(np.float32), attention_mask=mask,
                   return_attention_scores=True)
    _, a64 = mha64(x, x, attention_mask=mask, return_attention_scores=True)
    assert np.abs(a64.numpy()).max() > 0.99                   # large scores: near one-hot
    np.testing.assert_allclose(a32.numpy(), a64.numpy(), atol=2e-4)
    assert np.all(a32.numpy()[1, :, 3] == 0)


def test_an_empty_batch_gives_empty_outputs_and_zero_gradients():
    x = np.zeros((0, 5, 8), dtype="float32")
    mha = L.MultiHeadAttention(num_heads=2, key_dim=4)
    out, scores = mha(x, x, return_attention_scores=True)
    assert out.shape == (0, 5, 8) and scores.shape == (0, 2, 5, 5)
    mha(x, x)
    mha.forward([x, x], training=True)
    grads = mha.backward(np.zeros((0, 5, 8), dtype="float32"))
    assert [g.shape for g in grads] == [(0, 5, 8), (0, 5, 8)]
    assert all(np.all(w.grad == 0) for w in mha.trainable_weights)


def test_pytorch_multihead_attention_gives_the_same_outputs_and_gradients():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    heads, key_dim, batch, t = 2, 3, 3, 5
    e = heads * key_dim
    x = rng.normal(size=(batch, t, e)).astype(np.float32)
    mha = L.MultiHeadAttention(num_heads=heads, key_dim=key_dim,
                               bias_initializer="glorot_uniform")
    mha(x, x, use_causal_mask=True)
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    ref = torch.nn.MultiheadAttention(e, heads, batch_first=True)
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.from_numpy(np.concatenate(
            [w.reshape(e, e).T for w in (wq, wk, wv)])))
        ref.in_proj_bias.copy_(torch.from_numpy(np.concatenate(
            [b.reshape(e) for b in (bq, bk, bv)])))
        ref.out_proj.weight.copy_(torch.from_numpy(wo.reshape(e, e).T))
        ref.out_proj.bias.copy_(torch.from_numpy(bo))
    tx = torch.from_numpy(x).requires_grad_()
    future = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)   # True: may not attend
    out, weights = ref(tx, tx, tx, attn_mask=future, average_attn_weights=False)
    upstream = rng.normal(size=out.shape).astype(np.float32)
    out.backward(torch.from_numpy(upstream))
    mine, scores = mha(x, x, use_causal_mask=True, return_attention_scores=True)
    np.testing.assert_allclose(mine.numpy(), out.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), weights.detach().numpy(), atol=1e-6)
    mha(x, x, use_causal_mask=True)          # the book's way from here: forward, backward
    mha.forward([x, x], training=True)
    dq, dv = mha.backward(upstream)
    np.testing.assert_allclose(dq + dv, tx.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(mha.query_kernel.grad.reshape(e, e).T,
                               ref.in_proj_weight.grad[:e].numpy(), atol=1e-5)
    np.testing.assert_allclose(mha.value_kernel.grad.reshape(e, e).T,
                               ref.in_proj_weight.grad[2 * e:].numpy(), atol=1e-5)
    np.testing.assert_allclose(mha.output_kernel.grad.reshape(e, e).T,
                               ref.out_proj.weight.grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(mha.output_bias.grad, ref.out_proj.bias.grad.numpy(), atol=1e-5)


def test_a_transformer_block_trains_in_a_model_and_round_trips_its_file(tmp_path):
    gn.utils.set_random_seed(0)
    tokens = keras.Input((8,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(tokens)
    attended = L.MultiHeadAttention(num_heads=2, key_dim=4, dropout=0.1)(x, x)
    x = L.LayerNormalization()(L.Add()([x, attended]))
    out = L.Dense(1, activation="sigmoid")(L.GlobalAveragePooling1D()(x))
    model = keras.Model(tokens, out)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    data = rng.integers(1, 30, size=(64, 8))
    data[::3, 5:] = 0                                     # padded: the masks keep them out
    real = data > 0
    labels = (((data < 15) & real).sum(1) > real.sum(1) / 2).astype("float32")[:, None]
    history = model.fit(data, labels, epochs=15, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] * 0.7
    path = tmp_path / "block.keras"
    model.save(str(path))
    again = gn.load_model(str(path))
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0),
                               atol=1e-6)


def test_bad_arguments_and_inputs_name_the_layer_and_the_shapes():
    with pytest.raises(ValueError, match="num_heads must be a positive integer"):
        L.MultiHeadAttention(num_heads=0, key_dim=2)
    with pytest.raises(NotImplementedError, match="attention_axes=.2, 3."):
        L.MultiHeadAttention(2, 2, attention_axes=(2, 3))
    mha = L.MultiHeadAttention(2, 2, name="attend")
    q = np.zeros((2, 4, 5), "float32")
    mha(q, q)
    with pytest.raises(ValueError, match=r"'attend' was built for value of shape "
                                         r"\(None, 4, 5\); received value of shape \(None, 4, 7\)"):
        mha(q, np.zeros((2, 4, 7), "float32"))
    with pytest.raises(ValueError, match=r"attention_mask must have shape \(batch, 4, 4\)"):
        mha(q, q, attention_mask=np.ones((2, 4, 3), bool))
    with pytest.raises(TypeError, match=r"mha\(query, value"):
        L.MultiHeadAttention(2, 2)(q)


# keras.io's "Text classification with Transformer" and Deep Learning with Python's
# chapter 11, as written there; only the imports are glassnet's
KERAS_IO = '''
from glassnet import keras
from glassnet.keras import layers, ops

class TransformerBlock(layers.Layer):
    def __init__(self, embed_dim, num_heads, ff_dim, rate=0.1):
        super().__init__()
        self.att = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)
        self.ffn = keras.Sequential(
            [layers.Dense(ff_dim, activation="relu"), layers.Dense(embed_dim),]
        )
        self.layernorm1 = layers.LayerNormalization(epsilon=1e-6)
        self.layernorm2 = layers.LayerNormalization(epsilon=1e-6)
        self.dropout1 = layers.Dropout(rate)
        self.dropout2 = layers.Dropout(rate)

    def call(self, inputs):
        attn_output = self.att(inputs, inputs)
        attn_output = self.dropout1(attn_output)
        out1 = self.layernorm1(inputs + attn_output)
        ffn_output = self.ffn(out1)
        ffn_output = self.dropout2(ffn_output)
        return self.layernorm2(out1 + ffn_output)

class TokenAndPositionEmbedding(layers.Layer):
    def __init__(self, maxlen, vocab_size, embed_dim):
        super().__init__()
        self.token_emb = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)
        self.pos_emb = layers.Embedding(input_dim=maxlen, output_dim=embed_dim)

    def call(self, x):
        maxlen = ops.shape(x)[-1]
        positions = ops.arange(start=0, stop=maxlen, step=1)
        positions = self.pos_emb(positions)
        x = self.token_emb(x)
        return x + positions
'''

DLWP = '''
import glassnet as tf
from glassnet import keras
from glassnet.keras import layers

class TransformerEncoder(layers.Layer):
    def __init__(self, embed_dim, dense_dim, num_heads, **kwargs):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.dense_dim = dense_dim
        self.num_heads = num_heads
        self.attention = layers.MultiHeadAttention(
            num_heads=num_heads, key_dim=embed_dim)
        self.dense_proj = keras.Sequential(
            [layers.Dense(dense_dim, activation="relu"),
             layers.Dense(embed_dim),]
        )
        self.layernorm_1 = layers.LayerNormalization()
        self.layernorm_2 = layers.LayerNormalization()

    def call(self, inputs, mask=None):
        if mask is not None:
            mask = mask[:, tf.newaxis, :]
        attention_output = self.attention(
            inputs, inputs, attention_mask=mask)
        proj_input = self.layernorm_1(inputs + attention_output)
        proj_output = self.dense_proj(proj_input)
        return self.layernorm_2(proj_input + proj_output)

    def get_config(self):
        config = super().get_config()
        config.update({
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "dense_dim": self.dense_dim,
        })
        return config

class PositionalEmbedding(layers.Layer):
    def __init__(self, sequence_length, input_dim, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.token_embeddings = layers.Embedding(
            input_dim=input_dim, output_dim=output_dim)
        self.position_embeddings = layers.Embedding(
            input_dim=sequence_length, output_dim=output_dim)
        self.sequence_length = sequence_length
        self.input_dim = input_dim
        self.output_dim = output_dim

    def call(self, inputs):
        length = tf.shape(inputs)[-1]
        positions = tf.range(start=0, limit=length, delta=1)
        embedded_tokens = self.token_embeddings(inputs)
        embedded_positions = self.position_embeddings(positions)
        return embedded_tokens + embedded_positions

    def compute_mask(self, inputs, mask=None):
        return tf.math.not_equal(inputs, 0)

    def get_config(self):
        config = super().get_config()
        config.update({
            "output_dim": self.output_dim,
            "sequence_length": self.sequence_length,
            "input_dim": self.input_dim,
        })
        return config
'''


def _bag_of_words(n, length, vocab, seed=0):
    """Sequences, some padded, labelled by whether most real tokens are small ids."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, vocab, size=(n, length))
    x[::2, length * 2 // 3:] = 0
    real = x > 0
    return x, (((x < vocab // 5) & real).sum(1) > real.sum(1) / 5).astype("int64")


def test_keras_io_transformer_block_runs_as_written_and_learns():
    scope = {}
    exec(KERAS_IO, scope)
    gn.utils.set_random_seed(0)
    layers, keras_ = scope["layers"], scope["keras"]
    vocab_size, maxlen, embed_dim, num_heads, ff_dim = 200, 20, 32, 2, 32
    inputs = layers.Input(shape=(maxlen,))
    x = scope["TokenAndPositionEmbedding"](maxlen, vocab_size, embed_dim)(inputs)
    x = scope["TransformerBlock"](embed_dim, num_heads, ff_dim)(x)
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax")(x)
    model = keras_.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x_train, y_train = _bag_of_words(256, maxlen, vocab_size)
    history = model.fit(x_train, y_train, batch_size=32, epochs=8, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    block = model.layers[2]
    assert [type(v).__name__ for v in [block.att]] == ["MultiHeadAttention"]
    assert len(model.trainable_weights) == 2 + 8 + 4 + 4 + 4   # Keras's count of variables


def test_deep_learning_with_python_transformer_encoder_runs_as_written():
    """Chapter 11's encoder: a mask from PositionalEmbedding.compute_mask reaches
    TransformerEncoder.call (mask[:, tf.newaxis, :] as attention_mask); the model
    trains, saves and loads with custom_objects."""
    scope = {}
    exec(DLWP, scope)
    gn.utils.set_random_seed(0)
    keras_, layers = scope["keras"], scope["layers"]
    vocab_size, sequence_length, embed_dim, num_heads, dense_dim = 500, 30, 32, 2, 16
    inputs = keras_.Input(shape=(None,), dtype="int64")
    x = scope["PositionalEmbedding"](sequence_length, vocab_size, embed_dim)(inputs)
    encoded = x = scope["TransformerEncoder"](embed_dim, dense_dim, num_heads)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras_.Model(inputs, outputs)
    model.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
    assert model.count_params() == 16960 + 9616 + 33     # Keras's summary for these sizes
    x_train, y_train = _bag_of_words(256, sequence_length, vocab_size, seed=1)
    history = model.fit(x_train, y_train.astype("float32"), batch_size=32, epochs=6, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    # the padding mask reaches the attention: a padded sequence's real steps are
    # encoded as the same sequence cut to its real length
    encoder = keras_.Model(inputs, encoded)
    padded = x_train[:1]                                  # 20 real tokens, 10 of padding
    assert (padded[0, 20:] == 0).all() and (padded[0, :20] > 0).all()
    np.testing.assert_allclose(encoder.predict(padded, verbose=0)[:, :20],
                               encoder.predict(padded[:, :20], verbose=0), atol=1e-5)
    path = "encoder.keras"
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        model.save(os.path.join(folder, path))
        again = keras_.models.load_model(
            os.path.join(folder, path),
            custom_objects={"TransformerEncoder": scope["TransformerEncoder"],
                            "PositionalEmbedding": scope["PositionalEmbedding"]})
    np.testing.assert_allclose(again.predict(x_train[:8], verbose=0),
                               model.predict(x_train[:8], verbose=0), atol=1e-6)


def test_onnx_export_with_padding_and_causal_masks_runs_in_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    gn.utils.set_random_seed(0)
    tokens = keras.Input((7,), dtype="int32")
    x = L.Embedding(30, 8, mask_zero=True)(tokens)
    a, scores = L.MultiHeadAttention(num_heads=2, key_dim=4, bias_initializer="glorot_uniform")(
        x, x, use_causal_mask=True, return_attention_scores=True)
    model = keras.Model(tokens, [L.GlobalAveragePooling1D()(a), scores])
    data = np.random.default_rng(0).integers(1, 30, size=(5, 7)).astype("int32")
    data[1, 4:] = 0
    data[3, 1:] = 0
    path = model.export(str(tmp_path / "attention.onnx"), verbose=False)
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    pooled, weights = session.run(None, {session.get_inputs()[0].name: data})
    mine = model.predict(data, verbose=0)
    np.testing.assert_allclose(pooled, mine[0], atol=1e-5)
    np.testing.assert_allclose(weights, mine[1], atol=1e-6)
    assert np.all(weights[1, :, :, 4:] == 0) and np.all(np.triu(weights[0, 0], 1) == 0)


@pytest.mark.parametrize("name,make", [
    ("dot", lambda: L.Attention(use_scale=True)),
    ("concat", lambda: L.Attention(use_scale=True, score_mode="concat")),
    ("additive", lambda: L.AdditiveAttention())])
def test_attention_and_additive_attention_compute_what_keras_computes(name, make):
    """With the query's and the value's masks and the causal mask, the weights
    real Keras 3.15 had (tests/data/keras/make_attention_layers.py)."""
    d = np.load(FIXTURES / "attention_layers.npz")
    layer = make()
    layer([d["q"], d["v"], d["k"]])
    layer.set_weights([d[f"{name}_w{i}"] for i in range(len(layer.get_weights()))])
    out, scores = layer([d["q"], d["v"], d["k"]], mask=[d["q_mask"], d["v_mask"]],
                        return_attention_scores=True, use_causal_mask=True)
    np.testing.assert_allclose(out.numpy(), d[f"{name}_out"], atol=1e-5)
    np.testing.assert_allclose(scores.numpy(), d[f"{name}_scores"], atol=1e-6)
    assert np.all(out.numpy()[0, 3] == 0)                 # the query's masked step


def test_dot_attention_is_pytorchs_scaled_dot_product_attention():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    q, k, v = (rng.normal(size=(2, 5, 4)).astype(np.float32) for _ in range(3))
    layer = L.Attention(use_scale=True)
    layer([q, v, k])
    layer.set_weights([np.float32(0.5)])
    upstream = rng.normal(size=(2, 5, 4)).astype(np.float32)
    tq, tk, tv = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
    ref = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True,
                                                           scale=0.5)
    ref.backward(torch.from_numpy(upstream))
    out = layer([q, v, k], use_causal_mask=True)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), atol=1e-5)
    layer.forward([q, v, k], training=True)
    gq, gv, gk = layer.backward(upstream)
    for mine, theirs in ((gq, tq), (gv, tv), (gk, tk)):
        np.testing.assert_allclose(mine, theirs.grad.numpy(), atol=1e-5)


def test_attention_in_a_model_with_padding_masks_trains_and_saves(tmp_path):
    gn.utils.set_random_seed(0)
    tokens = keras.Input((8,), dtype="int32")
    e = L.Embedding(30, 6, mask_zero=True)(tokens)
    x = L.AdditiveAttention()([e, e])
    out = L.Dense(1, activation="sigmoid")(L.GlobalAveragePooling1D()(x))
    model = keras.Model(tokens, out)
    model.compile(keras.optimizers.Adam(0.01), "binary_crossentropy")
    data, labels = _bag_of_words(64, 8, 30)
    history = model.fit(data, labels.astype("float32"), epochs=30, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    model.save(str(tmp_path / "additive.keras"))
    again = gn.load_model(str(tmp_path / "additive.keras"))
    np.testing.assert_allclose(again.predict(data, verbose=0), model.predict(data, verbose=0),
                               atol=1e-6)


def test_the_call_flags_are_written_as_keras_writes_them_and_read_back():
    """A model's config holds each attention call as Keras's does: MultiHeadAttention's
    query and value as arguments, key=/attention_mask=/use_causal_mask= by name;
    Attention's list and its flags. (Real Keras 3.15 opens both files with the same
    predictions, to 3e-9: checked by hand with a side venv, see the closing note.)"""
    tokens = keras.Input((8,), dtype="int32")
    e = L.Embedding(30, 6, mask_zero=True)(tokens)
    a = L.Attention(use_scale=True, score_mode="concat", name="luong")([e, e],
                                                                      use_causal_mask=True)
    m = L.MultiHeadAttention(2, 3, name="heads")(e, e, key=a, use_causal_mask=True)
    model = keras.Model(tokens, L.GlobalAveragePooling1D()(m))
    nodes = {layer["name"]: layer["inbound_nodes"][0] for layer in model.get_config()["layers"]
             if layer["inbound_nodes"]}                   # the input layer has none
    assert nodes["luong"]["kwargs"] == {"use_causal_mask": True}
    assert len(nodes["luong"]["args"]) == 1 and len(nodes["luong"]["args"][0]) == 2
    assert len(nodes["heads"]["args"]) == 2
    assert set(nodes["heads"]["kwargs"]) == {"key", "use_causal_mask"}
    again = keras.Model.from_config(model.get_config())
    assert again.get_layer("luong").use_causal_mask and again.get_layer("heads").use_causal_mask
    assert again.get_layer("heads")._parts == ("query", "value", "key")


def test_inspect_attention_finds_every_head_and_plot_draws_them(tmp_path):
    """inspect.attention finds attention layers inside custom layers (keras.io's
    TransformerBlock) and in the model; the weights are what the layer computed
    (rows sum to 1 over the real steps, 0 on padding); plot.attention draws a
    heat map per head with the tokens on both axes."""
    scope = {}
    exec(KERAS_IO, scope)
    gn.utils.set_random_seed(0)
    tokens = keras.Input((6,), dtype="int32")
    x = scope["TokenAndPositionEmbedding"](6, 40, 8)(tokens)
    x = scope["TransformerBlock"](8, 2, 8)(x)
    e = L.Embedding(40, 8, mask_zero=True)(tokens)
    y = L.MultiHeadAttention(num_heads=3, key_dim=4, name="padded")(e, e)
    model = keras.Model(tokens, L.Add()([L.GlobalAveragePooling1D()(x),
                                         L.GlobalAveragePooling1D()(y)]))
    ids = np.array([[5, 6, 7, 8, 0, 0], [1, 2, 3, 4, 5, 6]], dtype="int32")
    weights = gn.inspect.attention(model, ids)
    inner = next(l for l in model.layers if type(l).__name__ == "TransformerBlock").att.name
    assert sorted(weights) == sorted([inner, "padded"])
    assert weights[inner].shape == (2, 2, 6, 6)
    assert weights["padded"].shape == (2, 3, 6, 6)
    np.testing.assert_allclose(weights["padded"][0, :, :4].sum(-1), 1, atol=1e-6)
    assert np.all(weights["padded"][0, :, :, 4:] == 0)    # nobody looks at the padding
    assert np.all(weights["padded"][0, :, 4:] == 0)       # padded steps look at nothing
    # the same numbers the layer gives when called on its own with that mask
    layer = model.get_layer("padded")
    embedding = next(l for l in model.layers if type(l).__name__ == "Embedding")
    emb, real = embedding(ids).numpy(), ids > 0
    _, alone = layer(emb, emb, attention_mask=real[:, :, None] & real[:, None, :],
                     return_attention_scores=True)
    np.testing.assert_allclose(weights["padded"], alone.numpy(), atol=1e-6)
    path = tmp_path / "attention.png"
    gn.plot.attention(weights["padded"][0], ["the", "cat", "sat", "down", "<pad>", "<pad>"],
                      path=str(path), title="one sentence")
    from test_plot_cli import assert_real_png

    assert_real_png(path)
    with pytest.raises(ValueError, match="5 tokens for 6 query steps"):
        gn.plot.attention(weights["padded"][0], ["a"] * 5)
    with pytest.raises(ValueError, match="has no attention layer"):
        gn.inspect.attention(keras.Sequential([keras.Input((3,)), L.Dense(2)]),
                             np.zeros((1, 3)))
