"""The packed weights: every trainable weight of a model lives in one
float vector, each Variable's values a view into it, and every gradient in
another, so the optimizer updates everything in a few in-place passes."""

from __future__ import annotations

import numpy as np

__all__ = ["Params"]


class Params:
    def _pack(self):
        """Move every trainable weight (and its gradient) into one contiguous
        vector, leaving each Variable a view into it. A weight another model
        packed since (a shared layer) is moved back, values kept."""
        variables = self.trainable_weights
        packed = self._packed
        if packed is not None and len(packed) == len(variables) and all(
                v is w and v._value is view for v, (w, view) in zip(variables, packed)):
            return
        if not variables:
            self._params = self._grads = np.zeros(0, dtype=self.dtype)
            self._packed, self._layout = [], []
            return
        dtypes = {v.dtype for v in variables}
        if len(dtypes) > 1:
            raise ValueError(f"Model {self.name!r} mixes weight dtypes {sorted(map(str, dtypes))}; "
                             f"give all its layers one dtype")
        dtype = dtypes.pop()
        total = sum(v.size for v in variables)
        params = np.empty(total, dtype=dtype)
        grads = np.zeros(total, dtype=dtype)
        packed, layout, offset = [], [], 0
        for v in variables:
            view = params[offset:offset + v.size].reshape(v.shape)
            view[...] = v._value
            v._value = view
            v.grad = grads[offset:offset + v.size].reshape(v.shape)
            packed.append((v, view))
            layout.append((offset, v.size))
            offset += v.size
        self._params, self._grads, self._packed, self._layout = params, grads, packed, layout
