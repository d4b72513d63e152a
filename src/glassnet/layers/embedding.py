"""Embedding: token ids to vectors, the first layer of a text model."""

from __future__ import annotations

import numpy as np

from glassnet import initializers, regularizers
from glassnet.layers.base import Layer, not_implemented

__all__ = ["Embedding"]


class Embedding(Layer):
    """A lookup table: token id i becomes row i of ``embeddings``, a trained
    matrix of shape (input_dim, output_dim), as in Keras.

        a[n, t, :] = embeddings[x[n, t], :]       x: integer ids in [0, input_dim)

    It is a Dense layer on one-hot inputs (onehot(x) @ embeddings) without
    building the one-hot matrix. Backward, given g = ∂L/∂a:

        ∂L/∂embeddings[i] = Σ over the positions (n, t) where x[n, t] = i of g[n, t]

    (a row used twice gets both gradients; rows not used get 0), and the ids
    themselves have no gradient (``backward`` returns zeros of their shape).

    ``input_length`` (tf.keras 2's argument) sets the input shape, as it did
    there. ``mask_zero=True``: id 0 is padding; the output carries the mask
    x != 0, which the layers after it (SimpleRNN, LSTM, GRU,
    GlobalAveragePooling1D, ...) use to skip the padded steps, as in Keras.
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, lora_alpha=None, quantization_config=None,
                 input_length=None, **kwargs):
        if input_length is not None and "input_shape" not in kwargs and \
                "batch_input_shape" not in kwargs:
            kwargs["input_shape"] = (input_length,)
        super().__init__(**kwargs)
        owner = f"Embedding {self.name!r}"
        for argument, value in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{owner}: {argument} must be a positive integer; received "
                                 f"{value!r}")
        not_implemented(owner, "embeddings_constraint", embeddings_constraint)
        not_implemented(owner, "lora_rank", lora_rank)
        not_implemented(owner, "quantization_config", quantization_config)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.mask_zero = bool(mask_zero)
        self.ids = None
        # the table does not depend on the input's shape: made now, as Keras's build(None)
        self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                          initializer=self.embeddings_initializer,
                                          regularizer=self.embeddings_regularizer,
                                          name="embeddings")
        if weights is not None:
            self.set_weights(weights if isinstance(weights, list) else [weights])

    def build(self, input_shape):
        self._record_build(tuple(input_shape))

    def _check_shape(self, input_shape):
        """Any ids, of any shape: Keras's Embedding has no input spec (a layer
        that embeds sequences of every length, and the positions 0..n-1)."""

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def compute_mask(self, inputs, mask=None):
        """With ``mask_zero``: True where the id is not 0 (a real token)."""
        return np.asarray(inputs) != 0 if self.mask_zero else None

    def _output_masked(self, masked):
        return self.mask_zero

    def _indices(self, x):
        x = np.asarray(x)
        if x.dtype.kind == "f":
            if not np.all(np.isfinite(x)) or np.any(x != np.round(x)):
                raise ValueError(f"Embedding {self.name!r} takes integer token ids; received "
                                 f"non-integer values (dtype {x.dtype})")
        elif x.dtype.kind not in "iub":
            raise ValueError(f"Embedding {self.name!r} takes integer token ids; received "
                             f"dtype {x.dtype}")
        ids = x.astype(np.intp, copy=False)
        if ids.size and (ids.min() < 0 or ids.max() >= self.input_dim):
            bad = ids.min() if ids.min() < 0 else ids.max()
            raise ValueError(f"Embedding {self.name!r}: token id {bad} is outside "
                             f"[0, {self.input_dim}) (input_dim={self.input_dim})")
        return ids

    def forward(self, x, training=False):
        self.ids = ids = self._indices(x)
        self.input_dtype = np.asarray(x).dtype
        return self.embeddings.value[ids]               # a copy: (…, output_dim)

    def backward(self, grad):
        return self._backward(grad)

    def _backward(self, grad, input_grad=True):
        gradient = self.grad_embeddings
        ids = self.ids.reshape(-1)
        g = grad.reshape(-1, self.output_dim)
        # Σ per (id, feature): one unbuffered add over the flat table, at the cells
        # id·output_dim + feature (NumPy's add.at, fast for one axis)
        cells = np.add(ids[:, None] * self.output_dim, np.arange(self.output_dim),
                       out=np.empty(g.shape, dtype=np.intp))
        gradient[...] = 0
        np.add.at(gradient.reshape(-1), cells.reshape(-1), g.reshape(-1))
        self.add_regularization_gradients()
        if not input_grad:
            return None
        return np.zeros(self.ids.shape, dtype=grad.dtype)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": None if self.embeddings_regularizer is None else
                regularizers.serialize(self.embeddings_regularizer),
                "embeddings_constraint": None, "mask_zero": self.mask_zero}

