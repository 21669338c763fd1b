"""The ``legacyconv`` command: inspect, convert, migrate, check (a thin layer over the Python API).

Exit codes: 0 success; 1 ``check`` found values out of tolerance; 2 bad input or usage (an
unreadable, corrupt or pickled file, an unsupported layer, a bad spec, an existing output
without ``--force``, a missing optional dependency, a file over the resource limits or linking
outside itself); 3 an internal error (a bug; ``--debug`` shows the traceback); 130, 143, 129
stopped by SIGINT, SIGTERM, SIGHUP (the temporary output is removed first).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shutil
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import Any

from ._errors import LegacyconvError
from .io import example_files
from .io.limits import read_limits

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_MISMATCH", "EXIT_OK", "main"]

EXIT_OK, EXIT_MISMATCH, EXIT_BAD_INPUT, EXIT_INTERNAL = 0, 1, 2, 3

_EXIT_CODES = """\
exit codes:
  0  success
  1  check: some values are out of tolerance
  2  bad input or usage: unreadable, corrupt or pickled file, unsupported layer, bad spec,
     existing output without --force, missing optional dependency
  3  internal error (a bug in legacyconv; --debug shows the traceback)
  129, 130, 143  stopped by SIGHUP, SIGINT (Ctrl-C), SIGTERM; no partial output is left"""

_MAIN_EPILOG = f"""\
examples:
  legacyconv inspect legacyconv/examples/keras1_theano_lenet.h5
  legacyconv migrate legacyconv/examples/keras1_theano_lenet.h5 -o lenet.keras
  legacyconv check lenet.keras legacyconv/examples/keras1_theano_lenet_reference.npz
  legacyconv convert lasagne_params.npz params_tf.npz --spec spec.json
  legacyconv examples            (where the bundled example files are)

{_EXIT_CODES}"""


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, like every other bad input
        self.print_usage(sys.stderr)
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message}\n")


def _sub(subparsers: Any, name: str, help: str, description: str, epilog: str) -> argparse.ArgumentParser:
    return subparsers.add_parser(
        name,
        help=help,
        description=description,
        epilog=f"{epilog}\n\n{_EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _limit_options(p: argparse.ArgumentParser) -> None:
    from .io.limits import ENV_MAX_BYTES, ENV_MAX_RATIO

    p.add_argument(
        "--max-bytes",
        metavar="SIZE",
        help=f"most bytes the arrays of one input file may declare, e.g. 8GiB (default: ${ENV_MAX_BYTES} or 4GiB)",
    )
    p.add_argument(
        "--max-ratio",
        metavar="R",
        help=f"refuse an array of 1 MiB or more that stores less than 1/R of its size (default: ${ENV_MAX_RATIO} or 1000)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``legacyconv`` command."""
    from . import __version__

    parser = _Parser(
        prog="legacyconv",
        description="Migrate Theano-era weights and Keras-1 models to TensorFlow, and prove the numbers did not change.",
        epilog=_MAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"legacyconv {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an internal error and TensorFlow's start-up messages",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = _sub(
        sub,
        "inspect",
        "show what a weight file holds",
        "List every array (or Keras-1 layer) of FILE: shape, dtype, role (conv kernel, bias, dense "
        "kernel, ...), the layout it is in, the source (Keras version and dim ordering, or Lasagne-style "
        "positional arr_0...) and any non-finite values.",
        "examples:\n"
        "  legacyconv inspect model.h5\n"
        "  legacyconv inspect params.npz --spec-template json > spec.json\n"
        "  legacyconv inspect model.h5 --json",
    )
    p.add_argument("file", metavar="FILE", help=".npz or HDF5 (.h5) weight or Keras-1 model file")
    _limit_options(p)
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON description instead of the table")
    out.add_argument(
        "--spec-template",
        choices=("json", "toml"),
        help="print a spec for `convert --spec` to start from (roles guessed where the file does not say)",
    )

    p = _sub(
        sub,
        "convert",
        "re-lay every weight between Theano and TensorFlow layouts",
        "Convert the weights in IN and write them to OUT (.npz, or .h5/.hdf5). To TensorFlow: Theano "
        "conv kernels become HWIO, flipped when the Theano call used filter_flip=True; the rows of a "
        "dense kernel after a flatten are re-ordered to channels-last order; biases are unchanged. A "
        "Keras-1 model file says what every array is; a bare .npz needs --spec.",
        "examples:\n"
        "  legacyconv convert model.h5 weights_tf.npz\n"
        "  legacyconv convert lasagne_params.npz params_tf.h5 --spec spec.json\n"
        "  legacyconv convert weights_tf.npz weights_theano.npz --to theano --spec spec.toml\n\n"
        "spec (JSON; TOML needs Python >= 3.11 or tomli):\n"
        '  {"arrays": {"arr_0": {"role": "conv_kernel", "filter_flip": true},\n'
        '              "arr_1": {"role": "bias"},\n'
        '              "arr_2": {"role": "dense_kernel", "feature_shape": [6, 12, 12]}}}\n'
        "  roles: conv_kernel, depthwise_kernel, pointwise_kernel, dense_kernel, bias, keep",
    )
    p.add_argument("input", metavar="IN", help="weight file to read (never modified)")
    p.add_argument("output", metavar="OUT", help="file to write: .npz, .h5 or .hdf5")
    p.add_argument("--to", choices=("tf", "theano"), default="tf", help="target layout (default: tf)")
    p.add_argument("--spec", metavar="SPEC", help="JSON or TOML file giving each array's role")
    _limit_options(p)
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")

    p = _sub(
        sub,
        "migrate",
        "migrate a Keras 1 / Keras 2 (Theano) model to Keras 3",
        "Migrate a Keras model trained on Theano (Keras 1.x with dim_ordering='th', Keras 2.0-2.2 with "
        "backend='theano' and channels_first) to a channels-last Keras 3 model built from stock layers "
        "only (it loads without legacyconv), reproducing what Theano computed layer by layer. MODEL "
        "is a model.save() HDF5 file, or a model.to_json() architecture with --weights. The output "
        "extension chooses the target: .keras, or .onnx for a standard ONNX model (opset 17, NCHW like Theano, "
        "the legacy inputs as they are; for ONNX Runtime, PyTorch, TensorRT, OpenVINO). A layer that cannot "
        "be reproduced is an error naming it. With --lasagne FILE.py:FUNCTION, MODEL is the network's weight "
        "file (Lasagne's positional or named .npz, or a model-zoo pickle, read without running code) and "
        "the network is the one FUNCTION returns, built by legacyconv's Lasagne mirror from the unchanged "
        "file.\n\n" + _migrate_layer_table(),
        "examples:\n"
        "  legacyconv migrate model.h5 -o model.keras\n"
        "  legacyconv migrate model.json --weights weights.h5 -o model.keras\n"
        "  legacyconv migrate model.h5 -o model_nchw.keras --input-layout nchw --force\n"
        "  legacyconv migrate model.h5 -o model.keras --export-savedmodel served/\n"
        "  legacyconv migrate model.h5 -o model.onnx --expose-layers\n"
        "  legacyconv migrate --lasagne models/vgg.py:build_model vgg.pkl -o vgg.keras\n"
        "  legacyconv migrate --lasagne googlenet.py:build_model googlenet.pkl -o googlenet.onnx --input-shape 3,224,224",
    )
    p.add_argument(
        "model", metavar="MODEL", help="Keras model file (.h5) or architecture (.json); never modified"
    )
    _limit_options(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="OUT.keras|OUT.onnx",
        required=True,
        help="model file to write (its extension chooses the target)",
    )
    p.add_argument("--weights", metavar="W.h5", help="the save_weights() file of a JSON architecture")
    p.add_argument(
        "--lasagne",
        metavar="FILE.py:FUNCTION",
        help="migrate the Lasagne network FUNCTION returns (MODEL is then its weight file)",
    )
    p.add_argument(
        "--input-shape",
        metavar="C,H,W",
        help="--lasagne: the input shape without the batch axis, where the InputLayer leaves sizes unknown",
    )
    p.add_argument(
        "--output-layer",
        metavar="NAME",
        help="--lasagne: the output layer when FUNCTION returns a dict without a 'prob' entry",
    )
    p.add_argument(
        "--input-layout",
        choices=("nhwc", "nchw"),
        default=None,
        help="image input layout of a Keras model; nchw takes the old NCHW data as it is (default: nhwc; "
        "an ONNX model always takes NCHW)",
    )
    p.add_argument(
        "--expose-layers",
        action="store_true",
        help="ONNX: add a graph output per legacy layer, named after it (check reaches every layer without it)",
    )
    p.add_argument(
        "--unroll-rnn",
        action="store_true",
        help="ONNX: write recurrent layers step by step (MatMul) instead of LSTM/GRU/RNN, for runtimes that "
        "ignore their activations (Keras' hard_sigmoid gates)",
    )
    p.add_argument(
        "--export-savedmodel",
        metavar="DIR",
        help="also export a TensorFlow SavedModel for serving into DIR (replaced only with --force)",
    )
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")

    p = _sub(
        sub,
        "check",
        "compare a migrated model with legacy reference outputs",
        "Run MODEL on the 'input' of REFERENCE (an .npz) in batches and compare with the legacy 'output' "
        "and, where REFERENCE has them, the layer outputs 'layerNN_<layer name>' (channels-first; "
        "transposed to NHWC for the comparison). Prints max abs/rel errors per array and the first "
        "diverging layer. An element passes when |model - reference| <= atol + rtol * |reference|.",
        "examples:\n"
        "  legacyconv check model.keras reference.npz\n"
        "  legacyconv check model.keras reference.npz --rtol 1e-4 --atol 1e-5 --json report.json\n"
        "  legacyconv check model.keras reference.npz --tolerance-scale layer",
    )
    from .regression import DEFAULT_ATOL, DEFAULT_RTOL

    p.add_argument("model", metavar="MODEL", help="migrated model file (.keras or .onnx)")
    p.add_argument("reference", metavar="REFERENCE", help=".npz with input, output and layerNN_<name> arrays")
    _limit_options(p)
    p.add_argument(
        "--rtol", type=float, default=DEFAULT_RTOL, help=f"relative tolerance (default: {DEFAULT_RTOL:g})"
    )
    p.add_argument(
        "--atol", type=float, default=DEFAULT_ATOL, help=f"absolute tolerance (default: {DEFAULT_ATOL:g})"
    )
    p.add_argument(
        "--tolerance-scale",
        choices=("element", "layer"),
        default="element",
        help="'layer': an element passes when |err| <= atol * max(1, max|reference of its layer|) + "
        "rtol * |reference|, for networks with large activations (Caffe-scale); default: element",
    )
    p.add_argument("--batch-size", type=int, default=256, help="samples per forward pass (default: 256)")
    p.add_argument("--json", metavar="REPORT", help="also write a JSON report to REPORT ('-' for stdout)")
    p.add_argument("--force", action="store_true", help="overwrite REPORT if it exists")
    bar = p.add_mutually_exclusive_group()
    bar.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="always show a progress bar (needs tqdm)",
    )
    bar.add_argument(
        "--no-progress",
        dest="progress",
        action="store_false",
        help="never show a progress bar (default: shown on a terminal when tqdm is installed)",
    )

    p = _sub(
        sub,
        "examples",
        "show or copy the bundled example model",
        "The package bundles a real Keras 1.2.2 + Theano model (keras1_theano_lenet.h5) and the outputs "
        "Theano computed for a reference batch (keras1_theano_lenet_reference.npz). Without options, "
        "print their paths; with --copy, copy them into a directory.",
        "examples:\n"
        "  legacyconv examples\n"
        "  legacyconv examples --copy . && legacyconv migrate keras1_theano_lenet.h5 -o lenet.keras",
    )
    p.add_argument("--copy", metavar="DIR", help="copy the example files into DIR")
    p.add_argument("--force", action="store_true", help="overwrite files in DIR")
    return parser


def _quiet_tensorflow(debug: bool) -> None:
    # TensorFlow's C++ start-up chatter would bury our one-line messages. --debug, or the
    # user's own TF_CPP_MIN_LOG_LEVEL, lets it through untouched.
    if debug or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from ._tf import import_tensorflow_quietly

    import_tensorflow_quietly()


def _warn(message: str) -> None:
    print(f"legacyconv: warning: {message}", file=sys.stderr)


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .io import load_weights

    wf = load_weights(args.file)
    if args.spec_template:
        from .convert import spec_template

        print(spec_template(wf, args.spec_template))
        _warn(
            "the spec template suggests roles from shapes where the file does not record them: check each "
            'one, and replace every "FILL IN" value (convert refuses them)'
        )
    elif args.json:
        print(json.dumps(wf.to_dict(), indent=2))
    else:
        print(wf.summary())
    return EXIT_OK


def _cmd_convert(args: argparse.Namespace) -> int:
    from .convert import convert_weights
    from .io import check_output_path, load_weights, save_weights

    inputs = [args.input] + ([args.spec] if args.spec else [])
    check_output_path(args.output, force=args.force, inputs=inputs)
    wf = load_weights(args.input)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        converted = convert_weights(wf, to=args.to, spec=args.spec)
    for w in caught:
        _warn(str(w.message))
    save_weights(converted, args.output, force=args.force, inputs=inputs)
    roles: dict[str, int] = {}
    for info in converted.info.values():
        roles[info.role] = roles.get(info.role, 0) + 1
    detail = ", ".join(f"{n} {r.replace('_', ' ')}" for r, n in roles.items())
    print(f"wrote {args.output}: {len(converted.arrays)} arrays in the {args.to} layout ({detail})")
    return EXIT_OK


def _migrate_layer_table() -> str:
    """The supported legacy layer classes, from the frontends' translator registry."""
    import textwrap

    from .frontends import FRONTENDS, supported_layers

    lines = []
    for major in (1, 2):
        names = ", ".join(supported_layers(major))
        description = FRONTENDS[f"keras{major}"].description
        lines.append(textwrap.fill(f"{description}: {names}", 100, subsequent_indent="  "))
    return "supported layers:\n" + "\n".join(lines)


def _shape_arg(text: str | None) -> tuple[int, ...] | None:
    """``"3,224,224"`` -> ``(3, 224, 224)``."""
    if text is None:
        return None
    try:
        shape = tuple(int(v) for v in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if not shape or any(v < 1 for v in shape):
        raise LegacyconvError(
            f"--input-shape must be positive integers separated by commas, e.g. 3,224,224. Received: {text!r}"
        )
    return shape


def _cmd_migrate(args: argparse.Namespace) -> int:
    import numpy as np

    from .io import check_output_path

    inputs = [args.model] + ([args.weights] if args.weights else [])
    check_output_path(args.output, force=args.force, inputs=inputs)
    _quiet_tensorflow(args.debug)
    from .migrate import migrate, migrate_lasagne

    options = dict(
        input_layout=args.input_layout,
        export_savedmodel=args.export_savedmodel,
        force=args.force,
        expose_layers=args.expose_layers,
        unroll_rnn=args.unroll_rnn,
    )
    if args.lasagne:
        if args.weights:
            raise LegacyconvError("with --lasagne, MODEL is the weight file: --weights is not used")
        result = migrate_lasagne(
            args.lasagne,
            args.model,
            args.output,
            input_shape=_shape_arg(args.input_shape),
            output_layer=args.output_layer,
            **options,
        )
    else:
        if args.input_shape or args.output_layer:
            raise LegacyconvError("--input-shape and --output-layer apply to --lasagne networks only")
        result = migrate(args.model, args.output, weights=args.weights, **options)
    bad = [
        f"{node.name}/{key}"
        for node in result.graph.nodes.values()
        for key, w in node.weights.items()
        if np.asarray(w).dtype.kind == "f" and not np.all(np.isfinite(w))
    ]
    if bad:
        _warn(f"{len(bad)} weight array(s) hold NaN or Inf: {', '.join(bad)}")
    for note in result.notes:
        _warn(note)
    from .targets import TARGETS

    describe = getattr(TARGETS[result.target].load(), "describe", None)
    if describe is not None:
        print(f"wrote {args.output}: {describe(result.built)}, from {len(result.graph.nodes)} graph nodes")
        return EXIT_OK
    model = result.model
    shapes = lambda ts: ", ".join(str(tuple(t.shape)) for t in ts)  # noqa: E731
    print(
        f"wrote {args.output}: Keras 3 model with {len(model.layers)} layers from "
        f"{len(result.graph.nodes)} graph nodes, input {shapes(model.inputs)}, output {shapes(model.outputs)}"
    )
    for extra in result.written[1:]:
        print(f"wrote {extra}: TensorFlow SavedModel (serving)")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    from .io import atomic_write, check_output_path

    if args.json and args.json != "-":
        check_output_path(args.json, force=args.force, inputs=[args.model, args.reference])
    _quiet_tensorflow(args.debug)
    from .regression import check

    report = check(
        args.model,
        args.reference,
        rtol=args.rtol,
        atol=args.atol,
        batch_size=args.batch_size,
        progress=args.progress,
        tolerance_scale=args.tolerance_scale,
    )
    text = json.dumps(report.to_dict(), indent=2)
    if args.json == "-":
        print(report.table(), file=sys.stderr)
        print(text)
    else:
        print(report.table())
        if args.json:

            def write(tmp: str) -> None:
                with open(tmp, "w", encoding="utf8") as fh:
                    fh.write(text + "\n")

            atomic_write(args.json, write, force=args.force, inputs=[args.model, args.reference])
    return EXIT_OK if report.passed else EXIT_MISMATCH


def _cmd_examples(args: argparse.Namespace) -> int:
    files = example_files()
    missing = [p for p in files.values() if not os.path.isfile(p)]
    if missing:
        raise LegacyconvError(f"the bundled example files are missing from this installation: {missing}")
    if not args.copy:
        for path in files.values():
            print(path)
        return EXIT_OK
    from .io import atomic_write

    if not os.path.isdir(args.copy):
        raise LegacyconvError(f"--copy needs an existing directory. Received: {args.copy}")
    for name, path in files.items():
        target = os.path.join(args.copy, name)
        atomic_write(target, functools.partial(shutil.copyfile, path), force=args.force, inputs=[path])
        print(target)
    return EXIT_OK


_COMMANDS = {
    "inspect": _cmd_inspect,
    "convert": _cmd_convert,
    "migrate": _cmd_migrate,
    "check": _cmd_check,
    "examples": _cmd_examples,
}


#: The longest message line the command prints for an error (the prefix included).
MAX_MESSAGE = 300


def _one_line(exc: BaseException, room: int = MAX_MESSAGE - 40) -> str:
    """The exception's message on one line, shortened to ``room`` characters (the command's
    prefix takes the rest of :data:`MAX_MESSAGE`)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= room else text[: room - 3] + "..."


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised like KeyboardInterrupt so that every ``finally`` and the atomic
    writer's clean-up run before the command exits with 128 + the signal number."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: Any) -> None:
    raise _Terminated(signum)


@contextlib.contextmanager
def _signals_raise() -> Any:
    """SIGTERM and SIGHUP raise :class:`_Terminated` while a command runs (main thread only)."""
    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        signum = getattr(signal, name, None)
        if signum is None:
            continue
        try:
            previous[signum] = signal.signal(signum, _raise_terminated)
        except ValueError:  # not the main thread: leave the handlers to the caller
            break
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``legacyconv`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit code.

    >>> main(["inspect", "does-not-exist.npz"])
    2
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with _signals_raise():
            limits = {k: getattr(args, k, None) for k in ("max_bytes", "max_ratio")}
            with read_limits(**limits):
                return _COMMANDS[args.command](args)
    except _Terminated as exc:
        name = signal.Signals(exc.signum).name
        print(f"legacyconv: terminated by {name}; no partial output was left", file=sys.stderr)
        return 128 + exc.signum
    except BrokenPipeError:  # `legacyconv inspect FILE | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except (LegacyconvError, NotImplementedError, ImportError, OSError) as exc:
        print(f"legacyconv {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("legacyconv: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"legacyconv {args.command}: internal error ({type(exc).__name__}): {_one_line(exc, 150)}; "
            "run with --debug for the traceback and please report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
