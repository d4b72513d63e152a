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
