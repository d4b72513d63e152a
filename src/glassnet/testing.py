"""One harness every layer passes: :func:`run_layer_test` (Keras's
``run_layer_test``).

Given a layer (or a function that makes one) and an input shape, it checks
the layer every way glassnet uses it:

``gradients``   backward against the central difference, in float64
                (:func:`glassnet.gradcheck.check_gradients`): every trainable
                weight and every float input;
``book``        the layer alone, the book's way: ``forward(x, training=True)``
                builds it, ``backward`` gives ∂L/∂x of x's shape and fills
                ``grad_<weight>`` for each trainable weight; an eager call
                ``layer(x)`` gives a ``glassnet.Tensor`` equal to
                ``forward(x, training=False)``;
``tape``        under a ``GradientTape`` the layer is one node, and the tape's
                gradients of Σ layer(x) · upstream (weights, float inputs) are
                ``backward``'s (less the regularizers' gradients: as in
                TensorFlow, a penalty is in the tape's loss only if added there);
``config``      ``from_config(get_config())`` (also through JSON and
                ``layers.deserialize``) makes the same layer, which with the
                same weights gives the same output;
``files``       in a model, ``.keras``, ``.h5`` and ``.safetensors``
                (``load_model``), and ``.weights.h5`` / ``.safetensors``
                weights (``load_weights`` into a fresh model), give the same
                predictions;
``onnx``        ``model.export(format="onnx")`` run by onnxruntime gives the
                same predictions. ``onnx="<reason>"`` states that glassnet
                refuses to export the layer: the harness then checks that the
                export really raises NotImplementedError, so a layer that does
                export is never skipped.

It returns a report, ``{"layer", "checked", "skipped", "gradients"}``, and
raises AssertionError naming the layer and the check on a failure::

    >>> from glassnet import layers
    >>> report = run_layer_test(layers.Dense(3), (2, 4), files=False, onnx=False)
    >>> report["checked"]
    ['book', 'gradients', 'tape', 'config']
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile

import numpy as np

__all__ = ["run_layer_test"]

_FILE_TOLERANCE = 1e-6
_ONNX_TOLERANCE = 1e-5


def run_layer_test(layer_or_factory, input_shape, *, input_dtype="float32", x=None,
                   expected_output_shape=None, onnx=True, files=True, seed=0,
                   tmp_dir=None, grad_tolerance=1e-6, int_range=(0, 10), gradient_x=None):
    """Check one layer (see the module's docstring); returns the report.

    ``layer_or_factory``: an unbuilt layer, or a function of no arguments
    that returns a new one (the harness makes copies with ``from_config``
    either way). ``input_shape``: the input's shape with the batch axis
    (``(2, 5)``), or a list of them for a layer of several inputs (merges).
    ``input_dtype``: "float32", or an integer type for token ids (drawn from
    ``int_range``; they have no input gradient). ``x``: the input to use
    instead of random numbers. ``expected_output_shape``: the output's shape
    with the batch axis. ``onnx``: True (must export and match), False (not
    checked) or a string, the reason glassnet refuses the export (checked to
    raise). ``files``: whether to check the model files (in ``tmp_dir``, else
    a temporary folder). ``grad_tolerance``: the largest relative error of a
    gradient. ``gradient_x``: the input of the gradient check, where ``x``
    sits where the layer is not differentiable (Masking's padded steps: the
    numerical derivative sees x · [x ≠ mask], Keras's gradient is 0 there).
    """
    from glassnet.layers.base import Layer

    if isinstance(layer_or_factory, Layer):
        if layer_or_factory.built:
            raise ValueError("run_layer_test takes an unbuilt layer (or a factory): the "
                             "first forward must build it")
        layer = layer_or_factory
    elif callable(layer_or_factory):
        layer = layer_or_factory()
        if not isinstance(layer, Layer):
            raise TypeError(f"run_layer_test: the factory returned {type(layer).__name__}, "
                            f"not a Layer")
    else:
        raise TypeError(f"run_layer_test takes a layer or a function that makes one; "
                        f"received {type(layer_or_factory).__name__}")
    rng = np.random.default_rng(seed)
    several = isinstance(input_shape, list)
    shapes = [tuple(s) for s in input_shape] if several else [tuple(input_shape)]
    if x is None:
        xs = [_random_input(rng, s, input_dtype, int_range) for s in shapes]
    else:
        xs = [np.asarray(v) for v in (x if several else [x])]
    report = {"layer": f"{type(layer).__name__} {layer.name!r}", "checked": [], "skipped": {},
              "gradients": {}}
    harness = _Harness(layer, xs, several, rng, seed, report)
    harness.book(expected_output_shape)
    harness.gradients(grad_tolerance, gradient_x)
    harness.tape(grad_tolerance)
    harness.config()
    if files or onnx:
        folder = tmp_dir
        with contextlib.ExitStack() as stack:
            if folder is None:
                folder = stack.enter_context(tempfile.TemporaryDirectory())
            folder = os.fspath(folder)
            if files:
                harness.files(folder)
            else:
                report["skipped"]["files"] = "files=False"
            harness.onnx(folder, onnx)
    else:
        report["skipped"]["files"] = "files=False"
        report["skipped"]["onnx"] = "onnx=False"
    return report


def _random_input(rng, shape, dtype, int_range):
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return rng.integers(int_range[0], int_range[1], size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def _is_int(array):
    return np.asarray(array).dtype.kind in "iu"


class _Harness:
    def __init__(self, layer, xs, several, rng, seed, report):
        self.layer, self.xs, self.several = layer, xs, several
        self.rng, self.seed, self.report = rng, seed, report
        self.kind = type(layer)

    # ------------------------------------------------------------ helpers
    @contextlib.contextmanager
    def check(self, name):
        """Run one check: any failure becomes an AssertionError naming the
        layer and the check."""
        try:
            yield
        except Exception as error:  # noqa: BLE001 - every failure is reported the same way
            raise AssertionError(f"{self.report['layer']}: check {name!r} failed: "
                                 f"{type(error).__name__}: {error}") from error
        self.report["checked"].append(name)

    def inputs(self, dtype=None):
        """The input (one array, or a list), floats in ``dtype``."""
        xs = [v if dtype is None or _is_int(v) else v.astype(dtype) for v in self.xs]
        return xs if self.several else xs[0]

    def copy(self, dtype=None):
        """A new layer of the same config (in ``dtype``), unbuilt."""
        config = self.layer.get_config()
        if dtype is not None:
            config = {**config, "dtype": dtype}
        return self.kind.from_config(config)

    def built_copy(self, dtype=None):
        """A new layer with this layer's weights."""
        layer = self.copy(dtype)
        layer.forward(self.inputs(str(layer.dtype)), training=False)
        layer.set_weights(self.layer.get_weights())
        return layer

    def upstream(self, shape):
        """A fixed random ∂L/∂output: the loss is Σ output · upstream."""
        return self.rng.normal(size=shape)

    # ------------------------------------------------------------ checks
    def book(self, expected_output_shape):
        layer = self.layer
        with self.check("book"):
            x = self.inputs(str(layer.dtype))
            out = layer.forward(x, training=True)
            assert layer.built, "forward(x, training=True) did not build the layer"
            outs = out if isinstance(out, list) else [out]
            for o in outs:
                assert isinstance(o, np.ndarray), f"forward returned {type(o).__name__}"
            if expected_output_shape is not None:
                assert tuple(out.shape) == tuple(expected_output_shape), \
                    f"output shape {out.shape}; expected {tuple(expected_output_shape)}"
            declared = layer.compute_output_shape(
                [(None,) + v.shape[1:] for v in self.xs] if self.several
                else (None,) + self.xs[0].shape[1:])
            assert tuple(declared)[1:] == tuple(out.shape)[1:], \
                f"compute_output_shape gives {declared}; forward gave {out.shape}"
            assert out.dtype == layer.dtype, f"output dtype {out.dtype}; layer {layer.dtype}"
            dx = layer.backward(np.ones_like(out))
            dxs = dx if self.several else [dx]
            assert isinstance(dxs, (list, tuple)) and len(dxs) == len(self.xs), \
                f"backward returned {type(dx).__name__}, not one gradient per input"
            for i, (g, v) in enumerate(zip(dxs, self.xs)):
                if _is_int(v):
                    continue  # token ids have no gradient
                assert g is not None and np.shape(g) == v.shape, \
                    f"backward's ∂L/∂x[{i}] has shape {np.shape(g)}; x has {v.shape}"
                assert np.all(np.isfinite(g)), "backward gave a non-finite ∂L/∂x"
            for variable in layer.trainable_weights:
                owner = variable._owner if variable._owner is not None else layer
                grad = getattr(owner, "grad_" + variable.name, None)
                assert grad is not None, \
                    f"no grad_{variable.name} for the trainable weight {variable.path!r}"
                assert np.shape(grad) == variable.shape, \
                    f"grad_{variable.name} has shape {np.shape(grad)}; the weight " \
                    f"{variable.shape}"
                assert np.all(np.isfinite(grad)), f"grad_{variable.name} is not finite"
            # weights away from their initial values (zero biases, unit
            # gammas): every later check then sees distinct numbers
            layer.set_weights([w + 0.1 * self.rng.normal(size=w.shape).astype(w.dtype)
                               for w in layer.get_weights()])
            from glassnet.tensor import Tensor

            called = layer(x)
            want = layer.forward(x, training=False)
            called = called if isinstance(called, list) else [called]
            want = want if isinstance(want, list) else [want]
            for c, w in zip(called, want):
                assert isinstance(c, Tensor), \
                    f"an eager call returned {type(c).__name__}, not a glassnet.Tensor"
                np.testing.assert_array_equal(c.numpy(), w, err_msg="layer(x) differs from "
                                              "layer.forward(x, training=False)")
            self.output_shape = out.shape

    def gradients(self, tolerance, gradient_x=None):
        from glassnet.gradcheck import check_gradients

        with self.check("gradients"):
            self.upstream_grad = self.upstream(self.output_shape)
            x = self.inputs() if gradient_x is None else gradient_x
            errors = check_gradients(self.layer, x, y=self.upstream_grad, seed=self.seed)
            self.report["gradients"] = errors
            n_weights = len(self.layer.trainable_weights)
            n_inputs = sum(not _is_int(v) for v in self.xs)
            assert len(errors) == n_weights + n_inputs, \
                f"check_gradients checked {sorted(errors)}; expected {n_weights} weights " \
                f"and {n_inputs} inputs"
            bad = {k: e for k, e in errors.items() if not e < tolerance}
            assert not bad, f"relative errors above {tolerance}: {bad}"

    def tape(self, tolerance):
        import glassnet
        from glassnet.gradcheck import _frozen_randomness

        with self.check("tape"):
            layer = self.built_copy("float64")
            x = self.inputs("float64")
            upstream = self.upstream_grad
            reset = _frozen_randomness([layer], self.seed)  # the same dropout mask twice
            saved = glassnet.utils.rng()
            try:
                reset()
                layer.forward(x, training=True)
                dx = layer.backward(upstream)
                dxs = dx if self.several else [dx]
                # backward adds each regularizer's gradient (the book's loss has the
                # penalty); the tape's loss, Σ layer(x) · upstream, does not
                want = [np.array(v.grad, copy=True) - (0 if v.regularizer is None else
                                                       v.regularizer.gradient(v.value))
                        for v in layer.trainable_weights]
                tensors = [glassnet.constant(v) for v in (x if self.several else [x])]
                reset()
                with glassnet.GradientTape() as tape:
                    floats = [t for t in tensors if not _is_int(t)]
                    tape.watch(floats)
                    y = layer(tensors if self.several else tensors[0], training=True)
                    loss = glassnet.reduce_sum(y * upstream)
                sources = list(layer.trainable_weights) + floats
                got = tape.gradient(loss, sources)
            finally:
                glassnet.utils._generator = saved
            want += [g for g, v in zip(dxs, self.xs) if not _is_int(v)]
            names = [v.path for v in layer.trainable_weights] + \
                [f"input {i}" for i, v in enumerate(self.xs) if not _is_int(v)]
            for name, g, w in zip(names, got, want):
                assert g is not None, f"the tape gives no gradient for {name}"
                assert isinstance(g, glassnet.Tensor), \
                    f"the tape's gradient for {name} is {type(g).__name__}, not a Tensor"
                assert g.dtype == np.float64, f"the tape's gradient for {name} is {g.dtype}"
                np.testing.assert_allclose(g.numpy(), w, rtol=tolerance, atol=1e-12,
                                           err_msg=f"the tape's gradient for {name} is not "
                                           f"backward's")

    def config(self):
        from glassnet import layers

        with self.check("config"):
            config = self.layer.get_config()
            again = json.loads(json.dumps(config))
            clone = self.kind.from_config(again)
            assert type(clone) is self.kind
            assert clone.get_config() == config, \
                f"from_config(get_config()).get_config() differs:\n{clone.get_config()}\n" \
                f"!=\n{config}"
            x = self.inputs(str(clone.dtype))
            clone.forward(x, training=False)
            clone.set_weights(self.layer.get_weights())
            np.testing.assert_allclose(_arrays(clone.forward(x, training=False)),
                                       _arrays(self.layer.forward(x, training=False)),
                                       rtol=0, atol=0, err_msg="the clone's output differs")
            # what load_model does: by class name (a layer of your own: layers.register)
            revived = layers.deserialize(json.loads(json.dumps(layers.serialize(self.layer))))
            assert revived.get_config() == config, "deserialize(serialize(layer)) differs"

    # ------------------------------------------------------------ models
    def model(self):
        """The layer (a copy with the same weights) in a model: Sequential
        with an Input, or functional for several inputs."""
        from glassnet import keras

        layer = self.copy()
        inputs = [keras.Input(v.shape[1:], dtype=str(v.dtype) if _is_int(v) else None)
                  for v in self.xs]
        if self.several:
            model = keras.Model(inputs, layer(inputs))
        else:
            model = keras.Sequential([inputs[0], layer])
        layer.set_weights(self.layer.get_weights())
        return model

    def files(self, folder):
        from glassnet import load_model

        with self.check("files"):
            model = self.model()
            x = self.inputs()
            want = model.predict(x, verbose=0)
            np.testing.assert_allclose(want, _arrays(self.layer.forward(self.inputs(
                "float32"), training=False)), rtol=1e-6, atol=1e-6,
                err_msg="the model's predict differs from the layer's forward")
            stem = os.path.join(folder, f"harness_{self.layer.name}")
            for extension in (".keras", ".h5", ".safetensors"):
                path = stem + extension
                model.save(path)
                loaded = load_model(path)
                assert [type(v).__name__ for v in loaded.layers] == \
                    [type(v).__name__ for v in model.layers], f"{extension}: other layers"
                _same(loaded.predict(x, verbose=0), want, f"load_model({extension})")
            for extension in (".weights.h5", ".safetensors"):
                path = stem + "_weights" + extension
                model.save_weights(path)
                fresh = self.model()
                fresh.set_weights([np.zeros_like(w) for w in fresh.get_weights()])
                fresh.load_weights(path)
                _same(fresh.predict(x, verbose=0), want, f"load_weights({extension})")

    def onnx(self, folder, onnx):
        if onnx is False:
            self.report["skipped"]["onnx"] = "onnx=False"
            return
        try:
            import onnx as _onnx  # noqa: F401 - the exporter's own dependency
        except ImportError:
            self.report["skipped"]["onnx"] = "the onnx package is not installed"
            return
        path = os.path.join(folder, f"harness_{self.layer.name}.onnx")
        if isinstance(onnx, str):  # glassnet refuses it: check that it does
            with self.check("onnx refused"):
                try:
                    self.model().export(path, format="onnx", verbose=False)
                except NotImplementedError:
                    pass
                else:
                    raise AssertionError(f"the export was expected to be refused ({onnx}), "
                                         f"but it succeeded: test it (onnx=True)")
            self.report["skipped"]["onnx"] = onnx
            return
        try:
            import onnxruntime
        except ImportError:
            self.report["skipped"]["onnx"] = "onnxruntime is not installed"
            return
        with self.check("onnx"):
            model = self.model()
            model.export(path, format="onnx", verbose=False)
            session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
            types = {"tensor(int64)": np.int64, "tensor(int32)": np.int32,
                     "tensor(float)": np.float32}
            specs = session.get_inputs()
            assert len(specs) == len(self.xs), \
                f"{len(specs)} ONNX inputs; the model has {len(self.xs)}"
            feed = {spec.name: v.astype(types[spec.type]) for spec, v in zip(specs, self.xs)}
            got = session.run(None, feed)
            want = model.predict(self.inputs(), verbose=0)
            want = want if isinstance(want, list) else [want]
            assert len(got) == len(want), f"{len(got)} ONNX outputs; predict gives {len(want)}"
            for a, b in zip(got, want):
                np.testing.assert_allclose(a, b, rtol=_ONNX_TOLERANCE, atol=_ONNX_TOLERANCE,
                                           err_msg="onnxruntime differs from predict")


def _arrays(out):
    return np.asarray(out) if not isinstance(out, list) else [np.asarray(o) for o in out]


def _same(got, want, what):
    np.testing.assert_allclose(got, want, rtol=_FILE_TOLERANCE, atol=_FILE_TOLERANCE,
                               err_msg=f"{what} predicts differently")
