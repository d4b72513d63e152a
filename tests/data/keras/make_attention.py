"""Write attention.keras/.npz with real Keras (run in a side venv with TensorFlow
and Keras 3): MultiHeadAttention on its own (a query, a value, an attention mask,
the scores), with a causal mask, and in a model after Embedding(mask_zero=True):
its predictions, its file, and its weights after one SGD train_on_batch."""

import pathlib

import keras
import numpy as np

HERE = pathlib.Path(__file__).parent / "3.15.1"
rng = np.random.default_rng(0)
keras.utils.set_random_seed(0)
out = {}
# on its own: query (2, 4, 5), value (2, 3, 6), a mask of what each query step may see
mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4)
q = rng.normal(size=(2, 4, 5)).astype("float32")
v = rng.normal(size=(2, 3, 6)).astype("float32")
mask = rng.random((2, 4, 3)) > 0.3
mask[1, 2] = False                       # a query step that sees nothing
o, scores = mha(q, v, attention_mask=mask, return_attention_scores=True)
out.update(q=q, v=v, mask=mask, out=np.asarray(o), scores=np.asarray(scores),
           **{f"layer{i}": w for i, w in enumerate(mha.get_weights())})
# self-attention with the causal mask, key given separately
causal = keras.layers.MultiHeadAttention(num_heads=2, key_dim=2, output_shape=7)
k = rng.normal(size=(2, 4, 3)).astype("float32")
oc, sc = causal(q, q, key=k, use_causal_mask=True, return_attention_scores=True)
out.update(k=k, causal_out=np.asarray(oc), causal_scores=np.asarray(sc),
           **{f"causal{i}": w for i, w in enumerate(causal.get_weights())})
# in a model: padded tokens, Embedding(mask_zero=True) → self-attention → average → Dense
tokens = rng.integers(1, 20, size=(4, 6))
tokens[0, 4:] = 0
tokens[2, 2:] = 0
y = rng.normal(size=(4, 1)).astype("float32")
inputs = keras.Input((6,), dtype="int32")
e = keras.layers.Embedding(20, 8, mask_zero=True)(inputs)
a = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)(e, e)
model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling1D()(a)))
before = model.get_weights()
predictions = model.predict(tokens, verbose=0)
model.save(HERE / "attention.keras")
model.compile(keras.optimizers.SGD(0.1), "mse")
model.train_on_batch(tokens, y)
out.update(tokens=tokens, y=y, predictions=predictions,
           **{f"before{i}": w for i, w in enumerate(before)},
           **{f"after{i}": w for i, w in enumerate(model.get_weights())})
np.savez(HERE / "attention.npz", **out)
print(keras.__version__, [w.shape for w in before])
