"""Migrate a legacy model: frontend → graph → target (:func:`migrate`).

A frontend (:mod:`legacyconv.frontends`, chosen by sniffing the file) reads the legacy model into
a :class:`~legacyconv.graph.Graph`; unsupported layers are refused there, before TensorFlow is
imported. The target (:mod:`legacyconv.targets`, chosen by the output extension: ``.keras``)
emits the new model from stock layers and writes it atomically, with the sidecar ``check`` uses
to compare layer by layer. ``--export-savedmodel`` adds a TensorFlow SavedModel for serving.

:func:`migrate_keras1` is the earlier entry point (a Keras 3 model from a Keras-1 file), kept as
a thin alias.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass, field
from typing import Any

from ._errors import LegacyconvError, UnsupportedLayerError
from .io._atomic import PathLike, check_output_dir, check_output_path

__all__ = [
    "INPUT_LAYOUTS",
    "Migration",
    "UnsupportedLayerError",
    "migrate",
    "migrate_keras1",
    "migrate_lasagne",
    "save_keras_model",
]

INPUT_LAYOUTS = ("nhwc", "nchw")


@dataclass
class Migration:
    """What :func:`migrate` did: the graph, the target's build (``built.model``), the files written."""

    graph: Any
    target: str
    built: Any
    written: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def model(self) -> Any:
        """The migrated framework model (a ``keras.Model``, an ``onnx.ModelProto``)."""
        return getattr(self.built, "model", self.built)

    def runner(self) -> Any:
        """The target's runner on the in-memory model (what :func:`legacyconv.check` accepts)."""
        from .targets import TARGETS

        return TARGETS[self.target].load().runner(self.built)


def _check_layout(input_layout: str) -> None:
    if not (isinstance(input_layout, str) and input_layout in INPUT_LAYOUTS):
        raise LegacyconvError(
            f"input_layout must be one of {{'nhwc', 'nchw'}}. Received: input_layout={input_layout!r}"
        )


def migrate(
    model: PathLike,
    output: PathLike | None = None,
    *,
    weights: PathLike | None = None,
    input_layout: str | None = None,
    export_savedmodel: PathLike | None = None,
    force: bool = False,
    target: str | None = None,
    expose_layers: bool = False,
    unroll_rnn: bool = False,
) -> Migration:
    """Migrate a legacy model file to a framework model that computes what Theano computed.

    Parameters
    ----------
    model : path
        A Keras 1.x / 2.0–2.2 (Theano) ``model.save()`` HDF5 file or ``to_json()`` architecture.
    output : path, optional
        Where to write the new model; its extension chooses the target (``.keras``). Without it
        the model is only built (in memory). ``.onnx`` writes an ONNX model (NCHW, like Theano).
    weights : path, optional
        The ``save_weights()`` file of a JSON architecture.
    input_layout : {'nhwc', 'nchw'}, optional
        The Keras model's image input layout (default ``'nhwc'``; ``'nchw'`` takes the legacy
        arrays unchanged). An ONNX model always takes the legacy arrays (``'nchw'``).
    export_savedmodel : path, optional
        Also export a TensorFlow SavedModel into this directory (``model.export``) for serving.
    force : bool, optional
        Overwrite existing outputs (never the inputs).
    target : str, optional
        The target name when ``output`` is None (default ``'keras'``).
    expose_layers : bool, optional
        ONNX target: a graph output per legacy layer, named after it.
    unroll_rnn : bool, optional
        ONNX target: recurrent layers step by step instead of ``LSTM``/``GRU``/``RNN`` (for
        runtimes that ignore their ``activations``).

    Returns
    -------
    Migration
        ``.model``, ``.graph``, ``.written`` and ``.runner()`` for :func:`legacyconv.check`.

    Raises
    ------
    UnsupportedLayerError
        A layer or argument that cannot be reproduced, named with its class (before TensorFlow
        is imported).
    LegacyconvError
        Unreadable or inconsistent files, an output that exists without ``force`` or is an input.

    Examples
    --------
    >>> from legacyconv.io import example_files
    >>> result = migrate(example_files()["keras1_theano_lenet.h5"])
    >>> result.model.input.shape, result.model.output.shape
    ((None, 28, 28, 1), (None, 10))
    """
    from .frontends import load_graph

    inputs = [model] + ([weights] if weights is not None else [])
    chosen = _choose_target(output, target, input_layout, export_savedmodel, force, inputs)
    graph = load_graph(model, weights=weights)  # refuses unsupported layers before TensorFlow loads
    return _emit(
        graph, chosen, output, input_layout, export_savedmodel, force, expose_layers, unroll_rnn, inputs
    )


def migrate_lasagne(
    network: str,
    weights: PathLike,
    output: PathLike | None = None,
    *,
    input_shape: Any = None,
    output_layer: str | None = None,
    input_layout: str | None = None,
    export_savedmodel: PathLike | None = None,
    force: bool = False,
    target: str | None = None,
    expose_layers: bool = False,
    unroll_rnn: bool = False,
) -> Migration:
    """Migrate a Lasagne network: its ``build_model()`` file, run unchanged by
    :mod:`legacyconv.lasagne`, with its weights, through the graph to a framework model.

    Parameters
    ----------
    network : str
        ``"path/to/file.py:build_model"``.
    weights : path
        Lasagne's positional ``.npz`` (``np.savez(f, *get_all_param_values(net))``), a named
        ``.npz``, or a model-zoo pickle (read without running code).
    output, input_layout, export_savedmodel, force, target, expose_layers, unroll_rnn
        As in :func:`migrate`.
    input_shape : tuple of int, optional
        The input shape without the batch axis, when the InputLayer leaves sizes unknown.
    output_layer : str, optional
        The output of a ``build_model()`` that returns a dict of layers (default ``'prob'``).

    Returns
    -------
    Migration
    """
    from .frontends.lasagne import load_lasagne_graph

    inputs = [weights, network.rpartition(":")[0]]
    chosen = _choose_target(output, target, input_layout, export_savedmodel, force, inputs)
    graph = load_lasagne_graph(network, weights, output_layer=output_layer, input_shape=input_shape)
    return _emit(
        graph, chosen, output, input_layout, export_savedmodel, force, expose_layers, unroll_rnn, inputs
    )


def _choose_target(
    output: PathLike | None,
    target: str | None,
    input_layout: str | None,
    export_savedmodel: PathLike | None,
    force: bool,
    inputs: list[Any],
) -> Any:
    from .targets import TARGETS, target_for

    if input_layout is not None:
        _check_layout(input_layout)
    if output is not None:
        chosen = target_for(output)
        check_output_path(output, force=force, inputs=inputs)
    else:
        name = target or "keras"
        if name not in TARGETS:
            raise LegacyconvError(f"target must be one of {sorted(TARGETS)}. Received: target={name!r}")
        chosen = TARGETS[name]
    if export_savedmodel is not None and chosen.name != "keras":
        raise LegacyconvError("export_savedmodel needs the Keras target (an output ending in .keras)")
    if export_savedmodel is not None:  # before any output is written: all of them, or none
        check_output_dir(export_savedmodel, force=force, inputs=inputs, others=[output] if output else [])
    return chosen


def _emit(
    graph: Any,
    chosen: Any,
    output: PathLike | None,
    input_layout: str | None,
    export_savedmodel: PathLike | None,
    force: bool,
    expose_layers: bool,
    unroll_rnn: bool,
    inputs: list[Any],
) -> Migration:
    """Emit ``graph`` with the ``chosen`` target and write the files asked for."""
    module = chosen.load()
    options: dict[str, Any] = {
        "input_layout": input_layout,
        "expose_layers": expose_layers or None,
        "unroll_rnn": unroll_rnn or None,
    }
    options = {k: v for k, v in options.items() if v is not None}
    accepted = inspect.signature(module.emit).parameters
    for key in options:
        if key not in accepted:
            raise LegacyconvError(f"{key} is not an option of the {chosen.name} target")
    built = module.emit(graph, **options)
    result = Migration(graph, chosen.name, built)
    for node, layer, why in getattr(built, "fallbacks", []):
        result.notes.append(f"node {node!r} uses legacyconv's own layer {layer}: {why}")
    if output is not None:
        result.written.append(module.save(built, output, force=force, inputs=inputs))
    if export_savedmodel is not None:
        result.written.append(module.export_savedmodel(built, export_savedmodel, force=force, inputs=inputs))
    return result


def migrate_keras1(source: Any, *, input_layout: str = "nhwc") -> Any:
    """Rebuild a Keras-1 (Theano) model as a channels-last Keras 3 model (a thin alias of :func:`migrate`).

    Parameters
    ----------
    source : path, WeightFile or Keras1Model
        A Keras-1 ``model.save()`` HDF5 file, or an object read from one (its ``path`` is used).
    input_layout : {'nhwc', 'nchw'}, optional
        As in :func:`migrate`.

    Returns
    -------
    keras.Model
        The migrated model; the layer producing each legacy layer's output has its name.
    """
    _check_layout(input_layout)
    path = source if isinstance(source, (str, os.PathLike)) else getattr(source, "path", None)
    if path is None:
        raise LegacyconvError(
            f"source must be a path to a Keras model file. Received: {type(source).__name__} without a path"
        )
    return migrate(path, input_layout=input_layout).model


def save_keras_model(model: Any, path: PathLike, *, force: bool = False, inputs: Any = ()) -> str:
    """Save a Keras 3 model to a ``.keras`` file atomically (refusing to overwrite without ``force``).

    ``model`` is a ``keras.Model`` or a :class:`Migration` (then the sidecar is written too).
    ``inputs`` are files that must not be overwritten (the legacy model), even with ``force``.
    """
    from .io import atomic_write

    out = os.fspath(path)
    if not out.endswith(".keras"):
        raise LegacyconvError(
            f"the migrated model is saved in Keras 3's format: the output must end in .keras. Received: {out}"
        )
    if isinstance(model, Migration):
        from .targets.keras import save

        return save(model.built, out, force=force, inputs=inputs)
    return atomic_write(out, lambda tmp: model.save(tmp), force=force, inputs=inputs, suffix=".keras")
