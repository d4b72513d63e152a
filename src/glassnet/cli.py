"""The ``glassnet`` command.

    glassnet train [--dataset fashion-mnist] [--hidden 256,128] [--epochs 15] ...
    glassnet compare --activations sigmoid,tanh,relu
    glassnet compare --dataset tweets --models simplernn,lstm,gru
    glassnet export runs/<run>/model.safetensors model.onnx --check
    glassnet evaluate runs/<run>/model.safetensors
    glassnet predict runs/<run>/model.safetensors shoe.png shirt.jpg
    glassnet plot activations [--names sigmoid,tanh,relu] [--derivatives] [--out FILE]
    glassnet plot neuron --weights 0.5,0.5 --bias -0.7 --activation step [--out FILE]
    glassnet plot history RUN_DIR
    glassnet plot gradient-flow RUN_DIR          (a run trained with --inspect)
    glassnet plot layer-activations [MODEL] [--activation sigmoid --stddev 1]

Heavy imports (matplotlib) happen inside the command that needs them, so
``glassnet --help`` answers at once.
"""

from __future__ import annotations

import argparse
import sys

import glassnet


def _float_list(text):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers like 0.5,-1; received {text!r}") from None


def _plot_activations(args):
    from glassnet import plot

    plot.activations(args.names, derivatives=args.derivatives, path=args.out)
    return args.out


def _plot_neuron(args):
    from glassnet import plot

    node = glassnet.Neuron(args.weights, args.bias, args.activation)
    corners = [(0, 0), (1, 0), (0, 1), (1, 1)] if args.corners else None
    plot.neuron(node, x1_range=args.range, x2_range=args.range, points=corners, path=args.out)
    return args.out


def _model_file(text):
    """A model file; a run folder (``glassnet train``'s) means its model.safetensors."""
    import os

    if os.path.isdir(text):
        inside = os.path.join(text, "model.safetensors")
        if not os.path.isfile(inside):
            raise argparse.ArgumentTypeError(f"{text!r} is a folder without a "
                                             f"model.safetensors; give a model file")
        return inside
    return text


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more; received {value}")
    return value


def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers like 256,128; received {text!r}") from None
    if any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"layer sizes must be positive; received {text!r}")
    return values


def _names(text):
    return [v.strip() for v in text.split(",") if v.strip()]


def _config(args):
    from glassnet.recipes import TrainConfig

    return TrainConfig(dataset=args.dataset, hidden=tuple(args.hidden),
                       activation=args.activation, initializer=args.initializer,
                       optimizer=args.optimizer, lr=args.lr, schedule=args.schedule,
                       epochs=_epochs(args), batch_size=args.batch_size, dropout=args.dropout,
                       validation_split=args.validation_split, limit=args.limit,
                       seed=args.seed, data_path=args.data_path, model=args.model,
                       units=args.units)


def _epochs(args):
    if args.epochs is not None:
        return args.epochs
    if args.model in ("simplernn", "lstm", "gru", "transformer"):
        return args.rnn_epochs
    return args.cnn_epochs if args.model == "cnn" else args.mlp_epochs


def _apply_threads(args):
    if getattr(args, "threads", None):
        glassnet.set_num_threads(args.threads)


def _train(args):
    from glassnet import recipes

    _apply_threads(args)
    metrics = recipes.train(_config(args), out=args.out, verbose=0 if args.quiet else 1,
                            log=(lambda *a: None) if args.quiet else print,
                            inspect=args.inspect, tensorboard=args.tensorboard)
    if metrics.get("diverged"):  # the run folder is kept to look at, but it is no success
        print(f"glassnet: error: training diverged. {metrics['diverged']}", file=sys.stderr)
        return 3


def _compare(args):
    from glassnet import recipes

    _apply_threads(args)
    chosen = [(kind, values) for kind, values in (("activation", args.activations),
                                                  ("optimizer", args.optimizers),
                                                  ("initializer", args.initializers),
                                                  ("model", args.models)) if values]
    if len(chosen) > 1:
        raise ValueError("compare one thing at a time: --activations, --optimizers, "
                         "--initializers or --models")
    if args.models:
        args.model = args.models[0]  # the epochs default of that kind of model
    kind, values = chosen[0] if chosen else ("activation", ["sigmoid", "tanh", "relu"])
    rows = recipes.compare(_config(args), kind, values, out=args.out,
                           verbose=0 if args.quiet else 2, inspect=args.inspect,
                           log=(lambda *a: None) if args.quiet else print)
    if rows and rows[-1].get("interrupted_at"):
        return 130  # Ctrl-C: the table is written, but it is not the whole comparison


def _export(args):
    from glassnet import recipes

    recipes.export(args.model, args.out, check=args.check, dataset=args.dataset,
                   data_path=args.data_path)


def _playground(args):
    from glassnet import playground

    if not 0 <= args.port <= 65535:
        raise ValueError(f"--port must be 0-65535; received {args.port}")
    try:
        playground.serve(port=args.port, host=args.host, open_browser=not args.no_browser)
    except KeyboardInterrupt:
        pass


def _bench(args):
    from glassnet import bench

    bench.run_cli(args)


def _evaluate(args):
    from glassnet import recipes

    _apply_threads(args)
    recipes.evaluate(args.model, dataset=args.dataset, data_path=args.data_path)


def _predict(args):
    from glassnet import recipes

    _, failures = recipes.predict(args.model, args.images, top=args.top, dataset=args.dataset)
    return 1 if failures else 0


def _plot_history(args):
    import json
    import os

    from glassnet import plot

    metrics = os.path.join(args.run_dir, "metrics.json")
    if not os.path.isfile(metrics):
        raise ValueError(f"{args.run_dir} has no metrics.json: give a run folder that "
                         f"`glassnet train` wrote")
    with open(metrics) as f:
        data = json.load(f)
    out = args.out or os.path.join(args.run_dir, "history.png")
    plot.history(data, path=out)
    return out


def _read_run(run_dir):
    """metrics.json (from train) or compare.json (from compare) of a run folder."""
    import json
    import os

    for name in ("metrics.json", "compare.json"):
        path = os.path.join(run_dir, name)
        if os.path.isfile(path):
            try:
                with open(path) as f:
                    return name, json.load(f)
            except (OSError, ValueError) as error:
                raise ValueError(f"{path} is not readable JSON ({error})") from None
    raise ValueError(f"{run_dir} has no metrics.json or compare.json: give a run folder that "
                     f"`glassnet train` or `glassnet compare` wrote")


def _plot_gradient_flow(args):
    import os

    from glassnet import plot

    name, data = _read_run(args.run_dir)
    recorded = data.get("inspect")
    if not recorded:
        command = "train" if name == "metrics.json" else "compare"
        raise ValueError(f"{os.path.join(args.run_dir, name)} holds no recorded gradients: "
                         f"run `glassnet {command} --inspect` to record them")
    out = args.out or os.path.join(args.run_dir, "gradient_flow.png")
    plot.gradient_flow(recorded, path=out)
    return out


def _plot_layer_activations(args):
    import numpy as np

    from glassnet import plot, recipes

    if args.model:
        from glassnet.models import load_model

        model = load_model(args.model)
        dataset = args.dataset or model.metadata.get("dataset") or "fashion-mnist"
        _, (x, _), _ = recipes.load_data(dataset, path=args.data_path)
        x = recipes.image_input(model, recipes._match_input(model, x[:args.samples], dataset))
        title = f"{args.model} on {len(x):,} {dataset} test images"
    else:  # the book's experiment: random inputs through a stack of fresh layers
        from glassnet import initializers, utils
        from glassnet.layers import Dense, Input
        from glassnet.models import Sequential

        initializer = args.initializer or "random_normal"
        if initializer in ("random_normal", "normal"):
            initializer = initializers.RandomNormal(stddev=args.stddev)
        utils.set_random_seed(args.seed)
        model = Sequential([Input((args.units,))] + [
            Dense(args.units, activation=args.activation, use_bias=False,
                  kernel_initializer=initializer) for _ in range(args.layers)])
        x = np.random.default_rng(args.seed).normal(size=(args.samples, args.units))
        init_name = (f"N(0, {args.stddev:g}²)" if isinstance(initializer, initializers.Initializer)
                     else initializer)
        title = (f"{args.layers} {args.activation} layers of {args.units}, weights {init_name}, "
                 f"{args.samples:,} random inputs")
    out = args.out or "layer-activations.png"
    plot.layer_activations(model, x, path=out, title=title)
    return out


# glassnet.datasets.NAMES, listed here so that `glassnet --help` imports no NumPy
# (tests/test_cli_train.py checks that the two agree)
DATASETS = ("circles", "fashion-mnist", "mnist", "moons", "spiral", "tweets", "xor")


def _plot_filters(args):
    from glassnet import plot
    from glassnet.models import load_model

    out = args.out or "filters.png"
    plot.filters(load_model(args.model), layer=args.layer, path=out)
    return out


def _plot_feature_maps(args):
    from glassnet import plot, recipes
    from glassnet.models import load_model

    model = load_model(args.model)
    pixels = recipes.read_image(args.image, tuple(model.input_shape)[1:3])
    out = args.out or "feature-maps.png"
    plot.feature_maps(model, recipes.image_input(model, pixels), layer=args.layer, path=out)
    return out


def _plot_weights(args):
    from glassnet import plot
    from glassnet.models import load_model

    out = args.out or "weights.png"
    plot.weights(load_model(args.model), path=out)
    return out


def _plot_boundary(args):
    from glassnet import plot, recipes

    if args.dataset not in ("spiral", "moons", "circles", "xor"):
        raise ValueError(f"plot boundary needs a 2-D toy data set (spiral, moons, circles, xor); "
                         f"received {args.dataset!r}")
    config = recipes.TrainConfig(dataset=args.dataset, hidden=tuple(args.hidden),
                                 activation=args.activation, optimizer="adam", lr=args.lr,
                                 epochs=args.epochs, batch_size=32, seed=args.seed,
                                 validation_split=0.0)
    data = recipes.load_data(args.dataset)
    model = recipes._fit(config, data, verbose=0)[0]
    (x, y), _, _ = data
    out = args.out or f"boundary-{args.dataset}-{args.activation}.png"
    plot.decision_boundary(model, x, y, path=out,
                           title=f"{args.dataset}, hidden {args.hidden} {args.activation}")
    return out


def _add_training_options(p, epochs, cnn_epochs):
    p.add_argument("--model", default="mlp",
                   choices=["mlp", "cnn", "simplernn", "lstm", "gru", "transformer"],
                   help="mlp (--hidden sizes) or cnn: Conv2D(32,3) > MaxPooling2D > "
                        "Conv2D(64,3) > MaxPooling2D > Dense(128) (default: mlp); for text "
                        "(--dataset tweets) simplernn, lstm or gru: TextVectorization > "
                        "Embedding(10000, 32, mask_zero) > the recurrent layer (--units), or "
                        "transformer: the same Embedding > a Transformer encoder block "
                        "(MultiHeadAttention, 2 heads; a feed-forward of --units)")
    p.add_argument("--units", type=int, default=32,
                   help="units of the recurrent layer (default: %(default)s)")
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS,
                   help="data set (default: %(default)s)")
    p.add_argument("--data-path", help="folder holding the data set's files")
    p.add_argument("--hidden", type=_int_list, default=[256, 128],
                   help="hidden layer sizes (default: 256,128)")
    p.add_argument("--activation", default="relu", help="hidden activation (default: relu)")
    p.add_argument("--initializer", default="glorot_uniform",
                   help="kernel initializer (default: glorot_uniform)")
    p.add_argument("--optimizer", default="adam",
                   help="adam, sgd, momentum, nesterov, rmsprop or adagrad (default: adam)")
    p.add_argument("--lr", type=float, help="learning rate (default: the optimizer's: adam "
                                            "1e-3, sgd/momentum 0.01)")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"],
                   help="learning-rate schedule (default: cosine decay to 0)")
    p.add_argument("--epochs", type=int,
                   help=f"epochs (default: {epochs}; with --model cnn: {cnn_epochs}; "
                        f"simplernn/lstm/gru/transformer: 3)")
    p.set_defaults(mlp_epochs=epochs, cnn_epochs=cnn_epochs, rnn_epochs=3)
    p.add_argument("--batch-size", type=int, default=128, help="default: %(default)s")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="dropout after each hidden layer (default: %(default)s)")
    p.add_argument("--validation-split", type=float, default=0.1,
                   help="last fraction of the training data held out (default: %(default)s)")
    p.add_argument("--limit", type=int, help="train on the first N samples only")
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--threads", type=int, help="BLAS threads (default: all cores)")
    p.add_argument("--out", help="run folder (default: runs/<date-time>)")
    p.add_argument("--quiet", action="store_true", help="print nothing")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="glassnet: a Keras-compatible deep-learning library in NumPy that you can "
                    "see through.")
    parser.add_argument("--version", action="version", version=f"glassnet {glassnet.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    p = commands.add_parser(
        "train", help="train a network on real data and save a run folder",
        description="Train a network (default: 784-256-128-10 relu MLP, Adam, batch 128, 15 "
                    "epochs (the CNN: 20), cosine learning-rate decay) on Fashion-MNIST, print "
                    "the test accuracy and the time per epoch, and write a run folder with "
                    "model.safetensors, metrics.json, history.png, confusion.png and "
                    "mistakes.png. Ctrl-C stops after the current batch and still writes it.")
    p.add_argument("--inspect", action="store_true",
                   help="also record per-layer gradient norms and activation statistics "
                        "(gradient_flow.png, activations.png, 'inspect' in metrics.json)")
    p.add_argument("--tensorboard", metavar="LOGDIR",
                   help="write TensorBoard event files to LOGDIR: loss, metrics, learning "
                        "rate, weight histograms and gradient norms per epoch (needs "
                        "tensorboardX: pip install 'glassnet[tensorboard]')")
    _add_training_options(p, epochs=15, cnn_epochs=20)
    p.set_defaults(run=_train)

    p = commands.add_parser(
        "compare", help="train the same network with different activations, optimizers "
                        "or initializers",
        description="The lesson's experiment: the same network, seed and batches, once per "
                    "variant; prints a table and writes compare.png and compare.json. "
                    "Default: --activations sigmoid,tanh,relu.")
    p.add_argument("--activations", type=_names, help="e.g. sigmoid,tanh,relu")
    p.add_argument("--optimizers", type=_names, help="e.g. sgd,momentum,adam")
    p.add_argument("--initializers", type=_names, help="e.g. random_normal,glorot_uniform,"
                                                       "he_normal")
    p.add_argument("--models", type=_names,
                   help="e.g. simplernn,lstm,gru,transformer with --dataset tweets (also "
                        "writes gradient_through_time.png for the recurrent ones)")
    p.add_argument("--inspect", action="store_true",
                   help="also record per-layer gradient norms and saturated/dead units "
                        "(inspect.png)")
    _add_training_options(p, epochs=5, cnn_epochs=5)
    p.set_defaults(run=_compare)

    p = commands.add_parser("export", help="write a saved model as ONNX",
                            description="Write a saved model (.safetensors, .keras or .h5) as "
                                        "an ONNX file (opset 17, the model's own input layout, "
                                        "dynamic batch). --check runs it in onnxruntime.")
    p.add_argument("model", type=_model_file,
                   help="a model file (.safetensors, or .keras / .h5 from Keras), or a run "
                        "folder that holds model.safetensors")
    p.add_argument("out", help="the .onnx file to write")
    p.add_argument("--check", action="store_true",
                   help="run the file in onnxruntime on test data; print the largest "
                        "difference from predict and both timings")
    p.add_argument("--dataset", help="data for --check (default: the model's)")
    p.add_argument("--data-path", help="folder holding the data set's files")
    p.set_defaults(run=_export)

    p = commands.add_parser(
        "bench", help="measure glassnet against PyTorch, onnxruntime and Keras here",
        description="Time the lessons' MLP and CNN (training epochs on Fashion-MNIST, "
                    "inference on the 10,000 test images) and an LSTM training step in "
                    "glassnet and in each installed peer (PyTorch, onnxruntime on the exported "
                    "model, Keras), at 1 thread and at all cores, in interleaved rounds; print "
                    "medians, ratios glassnet / peer and peak memory. Prints progress and the "
                    "load average on stderr.")
    from glassnet import bench  # argparse only: it imports nothing heavy

    bench.add_arguments(p)
    p.set_defaults(run=_bench)

    p = commands.add_parser(
        "playground", help="train a network live in the browser (TensorFlow Playground's page)",
        description="Start the playground's local web server, print its URL on the first "
                    "line and open it in the browser. Needs pip install "
                    "'glassnet[playground]'. Ctrl-C stops it.")
    p.add_argument("--port", type=int, default=8765, help="default: %(default)s (0: any free)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: %(default)s, this machine only)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser")
    p.set_defaults(run=_playground)

    p = commands.add_parser("evaluate", help="loss, accuracy and per-class table of a model",
                            description="Evaluate a saved model on a data set's test split.")
    p.add_argument("model", type=_model_file,
                   help="a model file (.safetensors, or .keras / .h5 from Keras), or a run "
                        "folder that holds model.safetensors")
    p.add_argument("--dataset", help="data set (default: the one the model was trained on)")
    p.add_argument("--data-path", help="folder holding the data set's files")
    p.add_argument("--threads", type=int, help="BLAS threads")
    p.set_defaults(run=_evaluate)

    p = commands.add_parser("predict", help="classify image files (or sentences) with a saved "
                                            "model",
                            description="Classify PNG/JPEG files: each is made grayscale, "
                                        "resized to the model's input and inverted when its "
                                        "background is light; prints the top classes. A text "
                                        "model (glassnet train --dataset tweets) takes "
                                        "sentences instead.")
    p.add_argument("model", type=_model_file,
                   help="a model file (.safetensors, or .keras / .h5 from Keras), or a run "
                        "folder that holds model.safetensors")
    p.add_argument("images", nargs="+", help="image files, or sentences for a text model")
    p.add_argument("--top", type=_positive_int, default=3,
                   help="classes to show, 1 or more (default: 3)")
    p.add_argument("--dataset", choices=DATASETS, default=None,
                   help="name the classes as this data set does (default: the names saved "
                        "with the model; a Keras file has none, so numbers)")
    p.set_defaults(run=_predict)

    plot_parser = commands.add_parser("plot", help="draw a picture and save it as a PNG",
                                      description="Draw a picture and save it as a PNG.")
    pictures = plot_parser.add_subparsers(dest="picture", metavar="PICTURE")
    pictures.required = True

    p = pictures.add_parser("activations", help="activation functions (and derivatives)",
                            description="Plot activation functions, and with --derivatives "
                                        "their derivatives, on x in [-6, 6].")
    p.add_argument("--names", default="step,sigmoid,tanh,relu",
                   help="comma-separated activation names (default: %(default)s)")
    p.add_argument("--derivatives", action="store_true", help="add a panel with f'(x)")
    p.add_argument("--out", default="activations.png", help="picture file, .png .svg .pdf or .jpg (default: %(default)s)")
    p.set_defaults(run=_plot_activations)

    p = pictures.add_parser("neuron", help="one 2-input node's output over the plane",
                            description="Plot a 2-input node a = f(w1*x1 + w2*x2 + b) as a "
                                        "heat map with its line z = 0.")
    p.add_argument("--weights", type=_float_list, default=[0.5, 0.5],
                   help="w1,w2 (default: 0.5,0.5)")
    p.add_argument("--bias", type=float, default=-0.7, help="b (default: %(default)s)")
    p.add_argument("--activation", default="step", help="activation name (default: %(default)s)")
    p.add_argument("--range", type=_float_list, default=[-0.5, 1.5],
                   help="low,high of both axes (default: -0.5,1.5); write a negative low as --range=-3,3")
    p.add_argument("--no-corners", dest="corners", action="store_false",
                   help="don't mark the inputs (0,0), (1,0), (0,1), (1,1)")
    p.add_argument("--out", default="neuron.png", help="picture file, .png .svg .pdf or .jpg (default: %(default)s)")
    p.set_defaults(run=_plot_neuron)

    p = pictures.add_parser("history", help="loss and accuracy curves of a training run",
                            description="Redraw history.png from a run folder's metrics.json.")
    p.add_argument("run_dir", help="a folder written by `glassnet train`")
    p.add_argument("--out", help="picture file, .png .svg .pdf or .jpg (default: RUN_DIR/history.png)")
    p.set_defaults(run=_plot_history)

    p = pictures.add_parser("gradient-flow", help="per-layer gradient norms of a run, per epoch",
                            description="Draw the gradient norm of each layer per epoch "
                                        "(log scale) from a run folder written by `glassnet "
                                        "train --inspect` or `glassnet compare --inspect` "
                                        "(one panel per variant).")
    p.add_argument("run_dir", help="a run folder with recorded gradients")
    p.add_argument("--out", help="picture file, .png .svg .pdf or .jpg (default: RUN_DIR/gradient_flow.png)")
    p.set_defaults(run=_plot_gradient_flow)

    p = pictures.add_parser("layer-activations", help="histogram of each layer's outputs",
                            description="With MODEL: each layer's outputs on test images of "
                                        "its data set. Without: the book's weight-"
                                        "initialization experiment, random inputs through "
                                        "--layers fresh Dense layers (no bias).")
    p.add_argument("model", nargs="?", type=_model_file,
                   help="a model file: .safetensors, .keras or .h5, or a run folder (optional)")
    p.add_argument("--dataset", help="with MODEL: data set (default: the model's)")
    p.add_argument("--data-path", help="folder holding the data set's files")
    p.add_argument("--samples", type=int, default=1000, help="inputs (default: %(default)s)")
    p.add_argument("--activation", default="sigmoid",
                   help="without MODEL: activation (default: %(default)s)")
    p.add_argument("--initializer", help="without MODEL: kernel initializer, e.g. "
                                         "glorot_normal, he_normal (default: random_normal "
                                         "with --stddev)")
    p.add_argument("--stddev", type=float, default=1.0,
                   help="without MODEL: std of random_normal weights (default: %(default)s)")
    p.add_argument("--layers", type=int, default=5, help="without MODEL (default: 5)")
    p.add_argument("--units", type=int, default=100, help="without MODEL (default: 100)")
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--out", help="picture file, .png .svg .pdf or .jpg (default: layer-activations.png)")
    p.set_defaults(run=_plot_layer_activations)

    p = pictures.add_parser("weights", help="histograms of a saved model's weights per layer",
                            description="Draw a histogram of each Dense/Conv2D kernel.")
    p.add_argument("model", type=_model_file,
                   help="a model file (.safetensors, or .keras / .h5 from Keras), or a run "
                        "folder that holds model.safetensors")
    p.add_argument("--out", help="picture file, .png .svg .pdf or .jpg (default: weights.png)")
    p.set_defaults(run=_plot_weights)

    p = pictures.add_parser("boundary", help="a small network's decision regions on 2-D data",
                            description="Train a small network on a 2-D toy data set and draw "
                                        "its decision regions with the training points (the "
                                        "TensorFlow Playground view).")
    p.add_argument("--dataset", default="spiral", choices=["spiral", "moons", "circles", "xor"],
                   help="default: %(default)s")
    p.add_argument("--activation", default="tanh", help="hidden activation (default: tanh)")
    p.add_argument("--hidden", type=_int_list, default=[32, 32], help="default: 32,32")
    p.add_argument("--epochs", type=int, default=60, help="default: %(default)s")
    p.add_argument("--lr", type=float, default=0.01, help="default: %(default)s")
    p.add_argument("--seed", type=int, default=0, help="default: %(default)s")
    p.add_argument("--out", help="picture file, .png .svg .pdf or .jpg (default: boundary-DATASET-ACTIVATION.png)")
    p.set_defaults(run=_plot_boundary)

    p = pictures.add_parser("filters", help="a CNN's first-layer kernels as images",
                            description="Draw the kernels of a saved CNN's Conv2D layer.")
    p.add_argument("model", type=_model_file,
                   help="a model file (.safetensors, .keras or .h5) or run folder, with a "
                        "Conv2D layer")
    p.add_argument("--layer", help="Conv2D layer name (default: the first)")
    p.add_argument("--out", help="picture file, .png .svg .pdf or .jpg (default: filters.png)")
    p.set_defaults(run=_plot_filters)

    p = pictures.add_parser("feature-maps", help="what a CNN's Conv2D layer sees in an image",
                            description="Draw a Conv2D layer's output channels for one image "
                                        "file (read as `glassnet predict` reads it).")
    p.add_argument("model", type=_model_file,
                   help="a model file (.safetensors, .keras or .h5) or run folder, with a "
                        "Conv2D layer")
    p.add_argument("image", help="a PNG or JPEG file")
    p.add_argument("--layer", help="Conv2D layer name (default: the first)")
    p.add_argument("--out", help="picture file, .png .svg .pdf or .jpg (default: feature-maps.png)")
    p.set_defaults(run=_plot_feature_maps)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "range", None) is not None and len(args.range) != 2:
        parser.error(f"--range takes two numbers low,high; received {args.range}")
    try:
        if args.command == "plot" and getattr(args, "out", None):
            from glassnet import plot

            plot.image_format(args.out)  # a name it cannot write: say so before plotting
        result = args.run(args)
    except (ValueError, TypeError) as error:
        print(f"glassnet: error: {error}", file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(f"glassnet: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        import socket

        if isinstance(error, socket.gaierror) and args.command == "playground":
            reason = error.strerror or error
            print(f"glassnet: error: cannot find the host {args.host!r} ({reason}); give an "
                  f"address of this machine, e.g. --host 127.0.0.1", file=sys.stderr)
            return 1
        if error.filename is None and args.command == "playground":       # the port
            print(f"glassnet: error: could not listen on {args.host} port {args.port}: "
                  f"{error.strerror or error}; choose another with --port N (0: any free "
                  f"port)", file=sys.stderr)
            return 1
        if error.filename is None:
            print(f"glassnet: error: {error}", file=sys.stderr)
        else:
            print(f"glassnet: error: could not write {error.filename}: "
                  f"{error.strerror or error}", file=sys.stderr)
        return 1
    except ImportError as error:  # an optional part: one line naming the pip install
        print(f"glassnet: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("glassnet: aborted", file=sys.stderr)
        return 130
    if isinstance(result, int):
        return result
    if result:
        print(f"wrote {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
