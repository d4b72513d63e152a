"""The training engine: compile / fit / evaluate / predict / *_on_batch, for
every model (Sequential is the chain case of the same graph).

One training step on a batch (x, y) is the whole of deep learning:

    outputs = the graph's nodes run in order        (forward, training=True)
    loss, g = Σ per-output losses, ∂loss/∂outputs
    the nodes run in reverse, each one's backward    (gradients summed where a
                                                      tensor fans out)
    optimizer.apply(params, grads)

The plan is the engine's own business; no layer's public method changes:

1. All trainable weights live in one float32 vector (each Variable's values a
   view into it) and all gradients in another, so the optimizer updates
   everything in a few in-place passes.
2. When an output layer ends in softmax (or sigmoid) and its loss is
   cross-entropy on probabilities, the loss is computed from the logits z,
   and backward starts from ∂loss/∂z = p - y (exact and stable).
3. A Conv2D (relu or linear) whose output only a MaxPooling2D reads runs with
   it as one fused step (glassnet/layers/fused.py): the same numbers, 4x less
   work.
4. Backward runs only where a gradient is needed: from the losses down to the
   last layer with trainable weights (not for a Rescaling at the bottom, not
   for the data itself, unless ``model.input_gradient_wanted``).
5. A layer used at several places (a shared layer) keeps what each call's
   forward remembered, and its weight gradients are summed over the calls.

The package, a file per concern:

    runner.py    the ONE forward/backward walk over the graph (masks, shared
                 layers); fit, the tape (a model under a tape is one node whose
                 backward is this walk), inspect and gradcheck all call it
    plan.py      what the walk runs: a Step per node, fusions as objects with
                 ``applies()`` and a runner, which backward steps can be skipped
    params.py    the packed weight and gradient vectors
    data.py      checking and batching x, y and sample weights
    compiled.py  compile's losses and metrics, and the loss of a batch
    loops.py     Keras's loops: compile, fit, evaluate, predict, *_on_batch
"""

from glassnet.engine.loops import Engine

__all__ = ["Engine"]
