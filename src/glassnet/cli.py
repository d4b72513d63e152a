"""The ``glassnet`` command.

    glassnet plot activations [--names sigmoid,tanh,relu] [--derivatives] [--out FILE]
    glassnet plot neuron --weights 0.5,0.5 --bias -0.7 --activation step [--out FILE]

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


def build_parser():
    parser = argparse.ArgumentParser(
        prog="glassnet",
        description="glassnet: a Keras-compatible deep-learning library in NumPy that you can "
                    "see through.")
    parser.add_argument("--version", action="version", version=f"glassnet {glassnet.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

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
    p.add_argument("--out", default="activations.png", help="PNG file (default: %(default)s)")
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
    p.add_argument("--out", default="neuron.png", help="PNG file (default: %(default)s)")
    p.set_defaults(run=_plot_neuron)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "range", None) is not None and len(args.range) != 2:
        parser.error(f"--range takes two numbers low,high; received {args.range}")
    try:
        written = args.run(args)
    except (ValueError, TypeError) as error:
        print(f"glassnet: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"glassnet: error: could not write {error.filename or ''}: {error.strerror}",
              file=sys.stderr)
        return 1
    if written:
        print(f"wrote {written}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
