"""inspect.why_none (which of TensorFlow's reasons made a gradient None) and
plot.tape (what one or several tapes recorded, drawn as a graph)."""

import numpy as np
import pytest
from PIL import Image

import glassnet as tf
from glassnet import keras, plot
from glassnet.inspect import why_none


def reason(tape, target, source):
    """tape.gradient(target, source) is None; why_none's two lines."""
    integer = any(getattr(v, "dtype", np.dtype("f")).kind in "iub" for v in (target, source))
    if integer:  # TensorFlow's warning, then None
        with pytest.warns(UserWarning, match="must be floating"):
            assert tape.gradient(target, source) is None
    else:
        assert tape.gradient(target, source) is None
    text = why_none(tape, target, source)
    first, todo = text.split("\n")
    assert todo.startswith("What to do: ")
    return first, todo


# ---------------------------------------------------------------- why_none: the sources


def test_integer_source():
    v = tf.Variable(3)  # int32: read under a tape, not watched
    with tf.GradientTape() as tape:
        y = tf.cast(v, tf.float32) * 2.0
    first, todo = reason(tape, y, v)
    assert first.startswith("the source is an integer (int32) tensor")
    assert "integers have no gradient" in first and "tf.cast" in todo and "3.0" in todo

    x = tf.constant(10)
    with tf.GradientTape() as tape:
        with pytest.warns(UserWarning, match="must be floating"):
            tape.watch(x)
        y = x * x
    first, _ = reason(tape, y, x)
    assert "integer (int32)" in first


def test_non_trainable_variable_and_frozen_layer():
    v = tf.Variable(2.0, trainable=False, name="counter")
    with tf.GradientTape() as tape:
        y = v * v
    first, todo = reason(tape, y, v)
    assert first.startswith("the source is a non-trainable Variable ('counter'")
    assert "trainable=False" in first and "tape.watch(v)" in todo
    # watched by hand, the same variable has a gradient (and no reason is invented)
    with tf.GradientTape() as tape:
        tape.watch(v)
        y = v * v
    assert float(tape.gradient(y, v)) == 4.0
    assert why_none(tape, y, v).startswith("the gradient is not None")

    layer = keras.layers.Dense(2, name="frozen_dense")
    x = tf.ones((3, 4))
    layer(x)
    layer.trainable = False
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x))
    first, todo = reason(tape, loss, layer.kernel)
    assert "'frozen_dense/kernel'" in first and "frozen" in first
    assert "layer.trainable = True" in todo


def test_plain_tensor_never_watched():
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(x * x)
    first, todo = reason(tape, y, x)
    assert first.startswith("the source is a plain Tensor that this tape never watched")
    assert "only trainable Variables" in first and "tape.watch(x)" in todo
    with tf.GradientTape() as tape:  # the fix works
        tape.watch(x)
        y = tf.reduce_sum(x * x)
    assert np.allclose(tape.gradient(y, x), [2.0, 4.0])


def test_variable_replaced_by_a_tensor():
    """TensorFlow's guide: `x = x + 1` in a training loop makes x a Tensor."""
    x = tf.Variable(2.0)
    grads, reasons = [], []
    for _ in range(2):
        with tf.GradientTape() as tape:
            y = x + 1
        grads.append(tape.gradient(y, x))
        reasons.append(why_none(tape, y, x))
        x = x + 1  # should be x.assign_add(1)
    assert float(grads[0]) == 1.0 and grads[1] is None
    assert reasons[0].startswith("the gradient is not None")
    assert "`v = v + 1` replaced it with a Tensor" in reasons[1]
    assert "v.assign_add(1)" in reasons[1]


def test_numpy_source():
    a = np.array([1.0, 2.0], dtype=np.float32)
    w = tf.Variable([1.0, 1.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(w * tf.constant(a))  # the op reads a copy, not `a`
    first, todo = reason(tape, y, a)
    assert first.startswith("the source is a ndarray, not a tensor or variable")
    assert "tf.Variable(x)" in todo


# ---------------------------------------------------------------- why_none: the target


def test_target_left_the_tape_through_numpy():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = np.exp(x * 2.0)  # NumPy: an array, not a tensor
    assert not isinstance(y, tf.Tensor)
    first, todo = reason(tape, y, x)
    assert first.startswith("the target is a NumPy array, not a Tensor")
    assert "np.*" in first and ".numpy()" in first and "tf.exp" in todo

    with tf.GradientTape() as tape:
        y = (x * 2.0).numpy().sum()
    first, _ = reason(tape, y, x)
    assert "not a Tensor" in first

    with tf.GradientTape() as tape:
        y = float(x * 2.0)
    first, _ = reason(tape, y, x)
    assert first.startswith("the target is a Python float, not a Tensor")


def test_target_not_recorded():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        z = x * 2.0
    y = z * 3.0  # after the `with` block
    first, todo = reason(tape, y, x)
    assert first.startswith("the target was not recorded on this tape:")
    assert "outside the tape's `with` block" in first and "stop_recording" in first
    assert "recorded nothing" not in first

    with tf.GradientTape() as tape:
        with tape.stop_recording():
            y = x * 2.0
    first, _ = reason(tape, y, x)
    assert first.startswith("the target was not recorded on this tape (this tape recorded "
                            "nothing at all)")


def test_stop_gradient_blocks_the_path():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.stop_gradient(x * x) + 1.0
    first, todo = reason(tape, y, x)
    assert first.startswith("the target depends on the source only through tf.stop_gradient")
    assert "multiply, stop_gradient, add" in first and "remove tf.stop_gradient" in todo


def test_target_does_not_depend_on_the_source():
    x = tf.Variable(1.0, name="x")
    w = tf.Variable(2.0, name="w")
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(w * 3.0)
        unused = x * 2.0  # read, but not on the target's path
    first, todo = reason(tape, y, x)
    assert first.startswith("the target does not depend on the source")
    assert "The source was read by multiply, but those do not lead to the target" in first
    assert "computed through multiply, reduce_sum from 'w'" in first
    assert "unconnected_gradients='zero'" in todo
    assert unused is not None

    z = tf.Variable(5.0, name="z")
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(w * 3.0)
        z.numpy()  # read off the tape
    first, _ = reason(tape, y, z)
    assert "No recorded op or layer read the source (variable 'z' ())" in first


def test_gradient_not_none_names_the_path():
    x = tf.Variable(1.5)
    w = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(w * x + 1.0)
    assert float(tape.gradient(y, x)) == 2.0
    text = why_none(tape, y, x)
    assert text.startswith("the gradient is not None: the target depends on the source "
                           "through 3 recorded nodes (multiply → add → reduce_sum)")


def test_after_the_non_persistent_tape_was_used_and_on_a_persistent_one():
    x = tf.constant([1.0, 2.0])
    w = tf.Variable([0.5, 0.5])
    cases = {}
    for persistent in (False, True):
        with tf.GradientTape(persistent=persistent) as tape:
            tape.watch(x)
            h = x * w
            y = tf.reduce_sum(tf.stop_gradient(h) + x)
        before = {name: why_none(tape, y, s) for name, s in (("x", x), ("w", w))}
        assert tape.records() and tape.watched_ids()
        assert np.allclose(tape.gradient(y, x), [1.0, 1.0])
        assert len(tape.records()) == 4 and id(x) in tape.watched_ids()
        after = {name: why_none(tape, y, s) for name, s in (("x", x), ("w", w))}
        assert before == after
        cases[persistent] = after
    assert cases[False] == cases[True]
    assert cases[False]["x"].startswith("the gradient is not None")
    assert cases[False]["w"].startswith("the target depends on the source only through "
                                        "tf.stop_gradient")
    with pytest.raises(RuntimeError, match="only be used to compute one"):
        tape_used = tf.GradientTape()
        with tape_used:
            y = w * 2.0
        tape_used.gradient(y, w)
        tape_used.gradient(y, w)


def test_one_source_at_a_time():
    w = tf.Variable(1.0)
    with tf.GradientTape() as tape:
        y = w * 2.0
    with pytest.raises(TypeError, match="give one source"):
        why_none(tape, y, [w])
    assert "why_none" in __import__("glassnet.inspect", fromlist=["x"]).__all__


# ---------------------------------------------------------------- plot.tape


def node_patches(fig, kind=None):
    return [p for p in fig.axes[0].patches if (p.get_gid() or "").startswith(
        "node:" + (kind or ""))]


def texts(fig):
    return [t.get_text() for t in fig.axes[0].texts]


def legend_texts(fig):
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_plot_one_tape_ops_layer_and_variables(tmp_path):
    layer = keras.layers.Dense(3, name="probe")
    x, target = tf.ones((4, 5)), tf.zeros((4, 3))
    layer(x)
    with tf.GradientTape() as tape:
        out = layer(x)
        loss = tf.reduce_mean(tf.square(out - target))
    assert tape.gradient(loss, layer.kernel) is not None  # used: the records remain
    records = tape.records()
    assert [r["name"] for r in records] == ["Dense 'probe'", "subtract", "square",
                                            "reduce_mean"]
    fig = plot.tape(tape, path=tmp_path / "one.png")
    shown = texts(fig)
    assert "Dense 'probe'\nin (4, 5)" in shown
    assert {"subtract", "square", "reduce_mean"} <= set(shown)
    assert "probe/kernel\n(5, 3)" in shown and "probe/bias\n(3,)" in shown
    assert {"(4, 3)", "()"} <= set(shown)  # the shapes the arrows carry
    assert len(node_patches(fig)) == len(records) + 2  # the records and the two variables
    assert len(node_patches(fig, "layer")) == 1 and len(node_patches(fig, "variable")) == 2
    assert len(node_patches(fig, "op")) == 3
    assert legend_texts(fig) == ["layer call", "op", "watched variable"]
    assert not [p for p in fig.axes[0].patches if (p.get_gid() or "").startswith("tape:")]
    arrows = [c for c in fig.axes[0].texts if type(c).__name__ == "Annotation"]
    assert len(arrows) == 2 + 3  # kernel, bias -> Dense; Dense -> subtract -> square -> mean
    with Image.open(tmp_path / "one.png") as picture:
        assert picture.size[0] == 1200 and 150 < picture.size[1] < 1200


def gan(watch_all=True):
    gen = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"),
                            keras.layers.Dense(6)])
    disc = keras.Sequential([keras.Input((6,)), keras.layers.Dense(1)])
    rng = np.random.default_rng(0)
    noise = tf.constant(rng.normal(size=(5, 4)).astype("float32"))
    real = tf.constant(rng.normal(size=(5, 6)).astype("float32"))

    def bce(labels, logits):
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels,
                                                                      logits=logits))

    with tf.GradientTape(watch_accessed_variables=watch_all) as gen_tape, \
            tf.GradientTape(watch_accessed_variables=watch_all) as disc_tape:
        if not watch_all:
            gen_tape.watch(gen.trainable_variables)
            disc_tape.watch(disc.trainable_variables)
        generated = gen(noise, training=True)
        real_out = disc(real, training=True)
        fake_out = disc(generated, training=True)
        gen_loss = bce(tf.ones_like(fake_out), fake_out)
        disc_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out),
                                                                fake_out)
    gen_grads = gen_tape.gradient(gen_loss, gen.trainable_variables)
    disc_grads = disc_tape.gradient(disc_loss, disc.trainable_variables)
    assert all(g is not None for g in gen_grads + disc_grads)
    return gen, disc, gen_tape, disc_tape


def test_plot_gan_step_two_tapes(tmp_path):
    gen, disc, gen_tape, disc_tape = gan()
    records = gen_tape.records()
    assert [r["name"] for r in records] == [r["name"] for r in disc_tape.records()]
    fig = plot.tape({"generator": gen_tape, "discriminator": disc_tape},
                    path=tmp_path / "gan.png")
    shown = texts(fig)
    layer_boxes = [t for t in shown if t.startswith("Sequential")]
    assert sum(f"'{disc.name}'" in t for t in layer_boxes) == 2  # called on real and on fake
    assert sum(f"'{gen.name}'" in t for t in layer_boxes) == 1
    assert f"Sequential\n'{gen.name}'\nin (5, 4)" in shown
    assert shown.count("reduce_mean") == 3 and shown.count("log1p") == 3
    for v in gen.trainable_variables + disc.trainable_variables:
        assert f"{v.path}\n{tuple(v.shape)}" in shown
    # the same forward pass on both tapes: one box per record, marked by both
    assert len(node_patches(fig)) == len(records) + 6
    marks = [p.get_gid() for p in fig.axes[0].patches if (p.get_gid() or "").startswith("tape:")]
    assert marks.count("tape:generator") == marks.count("tape:discriminator") == \
        len(records) + 6
    assert shown[-2] == "What the tapes recorded (generator, discriminator)"
    assert shown[-1].startswith(f"{len(records)} recorded nodes, 6 watched variables")
    legend = legend_texts(fig)
    assert {"recorded by generator", "recorded by discriminator", "arrow on all tapes"} <= \
        set(legend)
    assert not any(t.endswith(" only") for t in legend)
    with Image.open(tmp_path / "gan.png") as picture:
        width, height = picture.size
        pixels = np.asarray(picture.convert("L"))
    assert width == 1200 and 400 < height < 1400
    assert 0.01 < (pixels < 128).mean() < 0.3  # boxes, text and arrows on a white page


def test_plot_gan_step_each_tape_watching_its_own_model():
    gen, disc, gen_tape, disc_tape = gan(watch_all=False)
    names = {t: [r["name"] for r in t.records()] for t in (gen_tape, disc_tape)}
    assert names[gen_tape].count(f"Sequential '{disc.name}'") == 1  # only disc(generated)
    assert f"Sequential '{gen.name}'" not in names[disc_tape]
    fig = plot.tape([gen_tape, disc_tape])
    marks = [p.get_gid() for p in fig.axes[0].patches if (p.get_gid() or "").startswith("tape:")]
    assert marks.count("tape:tape 1") == len(names[gen_tape]) + 4  # its records, gen's weights
    assert marks.count("tape:tape 2") == len(names[disc_tape]) + 2
    shared = {r["name"] for r in gen_tape.records()} & {r["name"] for r in disc_tape.records()}
    assert f"Sequential '{disc.name}'" in shared
    assert len(node_patches(fig)) == len(names[gen_tape]) + len(names[disc_tape]) - \
        len([r for r in gen_tape.records() if r in disc_tape.records()]) + 6
    legend = legend_texts(fig)
    assert {"recorded by tape 1", "recorded by tape 2", "arrow on tape 1 only",
            "arrow on tape 2 only"} <= set(legend)


def test_plot_long_tape_wraps_into_bands_and_errors():
    x = tf.Variable(np.ones((2, 3), dtype="float32"), name="start")
    with tf.GradientTape() as tape:
        y = x
        for _ in range(20):
            y = tf.tanh(y) + x
        loss = tf.reduce_sum(y)
    fig = plot.tape(tape)
    assert len(tape.records()) == 41
    assert len(node_patches(fig)) == 42
    assert fig.get_figwidth() < 15  # 42 columns, folded into bands
    lefts = {round(p.get_x(), 3) for p in node_patches(fig)}
    assert len(lefts) <= 10
    assert float(tape.gradient(loss, x)[0, 0]) > 0
    with pytest.raises(ValueError, match="recorded nothing"):
        plot.tape(tf.GradientTape())
    with pytest.raises(TypeError, match="draws GradientTapes"):
        plot.tape({"a": object()})
