"""Write attention_layers.npz with real Keras (run in a side venv with TensorFlow
and Keras 3): Attention (dot, scaled; concat) and AdditiveAttention on a query, a
value and a key, with the query's and the value's masks and the causal mask: their
weights, outputs and scores."""

import pathlib

import keras
import numpy as np

HERE = pathlib.Path(__file__).parent / "3.15.1"
rng = np.random.default_rng(1)
q = rng.normal(size=(2, 4, 5)).astype("float32")
v = rng.normal(size=(2, 4, 6)).astype("float32")
k = rng.normal(size=(2, 4, 5)).astype("float32")
q_mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]], bool)
v_mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
out = dict(q=q, v=v, k=k, q_mask=q_mask, v_mask=v_mask)
cases = {"dot": keras.layers.Attention(use_scale=True),
         "concat": keras.layers.Attention(use_scale=True, score_mode="concat"),
         "additive": keras.layers.AdditiveAttention()}
for name, layer in cases.items():
    layer.build([q.shape, v.shape, k.shape])
    weights = [w * 0.7 + 0.1 for w in layer.get_weights()]   # away from the initial ones
    layer.set_weights(weights)
    o, s = layer([q, v, k], mask=[q_mask, v_mask], return_attention_scores=True,
                 use_causal_mask=True)
    out.update({f"{name}_out": np.asarray(o), f"{name}_scores": np.asarray(s),
                **{f"{name}_w{i}": w for i, w in enumerate(weights)}})
np.savez(HERE / "attention_layers.npz", **out)
print(keras.__version__, {n: [w.shape for w in l.get_weights()] for n, l in cases.items()})
