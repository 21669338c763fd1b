"""``lasagne.layers.helper``: walk a network and run it eagerly.

:func:`get_all_layers` is Lasagne's depth-first walk, so layer indices, parameter order and
``get_all_param_values`` positions are Lasagne's exactly.
"""

from __future__ import annotations

import inspect
import warnings
from collections import deque
from difflib import get_close_matches
from itertools import chain
from typing import Any

import numpy as np

from ..._errors import LegacyconvError
from ..utils import SharedParam, unique
from .base import Layer, MergeLayer

__all__ = [
    "count_params",
    "get_all_layers",
    "get_all_param_values",
    "get_all_params",
    "get_output",
    "get_output_shape",
    "set_all_param_values",
]


def get_all_layers(layer: Any, treat_as_input: Any = None) -> list[Any]:
    """Every layer below ``layer`` (or a list of layers), inputs first, in Lasagne's order.

    >>> from legacyconv.lasagne.layers import InputLayer, DenseLayer
    >>> l_in = InputLayer((None, 3), name="in")
    >>> [l.name for l in get_all_layers(DenseLayer(l_in, 2, name="fc"))]
    ['in', 'fc']
    """
    try:
        queue = deque(layer)
    except TypeError:
        queue = deque([layer])
    seen: set[int] = set()
    done: set[int] = set()
    result = []
    if treat_as_input is not None:
        seen.update(id(t) for t in treat_as_input)
    while queue:
        layer = queue[0]
        if layer is None:
            queue.popleft()
        elif id(layer) not in seen:
            seen.add(id(layer))
            if hasattr(layer, "input_layers"):
                queue.extendleft(reversed(layer.input_layers))
            elif hasattr(layer, "input_layer"):
                queue.appendleft(layer.input_layer)
        else:
            queue.popleft()
            if id(layer) not in done:
                result.append(layer)
                done.add(id(layer))
    return result


def _accepted_kwargs(layer: Any) -> set[str]:
    try:
        params = inspect.signature(layer.get_output_for).parameters.values()
    except (TypeError, ValueError):
        return set()
    return {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def get_output(layer_or_layers: Any, inputs: Any = None, **kwargs: Any) -> Any:
    """Compute the output of ``layer_or_layers`` for NumPy ``inputs``, eagerly.

    Parameters
    ----------
    layer_or_layers : Layer or list of Layer
    inputs : array_like or dict, optional
        One array for a network with one InputLayer, or ``{layer: array}`` (any layer: it is
        then treated as an input). An InputLayer created with an array as ``input_var`` uses it.
    deterministic : bool, optional
        True (inference): dropout and noise layers pass their input through, BatchNormLayer
        uses its stored ``mean``/``inv_std``. False (Lasagne's default, training): dropout and
        noise sample from :func:`legacyconv.lasagne.random.get_rng` (NumPy, not Theano's MRG
        streams: the masks differ from Lasagne's), BatchNormLayer normalises with the batch's
        statistics and does not update its stored averages.
    backend : {'numpy', 'scipy', 'tensorflow'}, optional
        legacyconv's engine for convolutions and pooling (default 'numpy').

    Returns
    -------
    numpy.ndarray or list of numpy.ndarray
        A list for a list (or any other iterable) of layers. Outputs that were not asked for
        are let go as soon as the last layer that reads them has run, so that a pass holds no
        more than the widest cut of the graph.

    Examples
    --------
    >>> from legacyconv.lasagne.layers import InputLayer, DenseLayer
    >>> net = DenseLayer(InputLayer((None, 3)), 2, W=np.ones((3, 2), np.float32))
    >>> get_output(net, np.ones((1, 3), np.float32), deterministic=True)
    array([[3., 3.]], dtype=float32)
    """
    from .input import InputLayer

    if isinstance(inputs, dict):
        for key in inputs:
            if key is not None and not isinstance(key, Layer):
                raise LegacyconvError(
                    f"the keys of the inputs dictionary must be layers. Received a {type(key).__name__}"
                )
    accepted = {"deterministic", "backend"}
    try:  # a list (or any iterable) of layers, or one layer
        requested: list[Any] = list(layer_or_layers)
        several = True
    except TypeError:
        requested, several = [layer_or_layers], False
    treat_as_input = list(inputs.keys()) if isinstance(inputs, dict) else []
    all_layers = get_all_layers(requested, treat_as_input)
    outputs: dict[int, Any] = {}
    free_inputs = [
        lay for lay in all_layers if isinstance(lay, InputLayer) and all(lay is not t for t in treat_as_input)
    ]
    for lay in free_inputs:
        outputs[id(lay)] = None if lay.input_var is None or not _is_data(lay.input_var) else lay.input_var
    if isinstance(inputs, dict):
        outputs.update((id(lay), np.asarray(x)) for lay, x in inputs.items())
    elif inputs is not None:
        if len(free_inputs) > 1:
            raise LegacyconvError(
                f"get_output() was called with a single input array on a network with {len(free_inputs)} "
                "input layers; give a dictionary {input_layer: array} instead"
            )
        for lay in free_inputs:
            outputs[id(lay)] = np.asarray(inputs)
    for lay in free_inputs:
        if outputs[id(lay)] is None:
            raise LegacyconvError(
                f"get_output() needs an input array for the InputLayer {lay.name or ''!r} of shape "
                f"{lay.shape}: the mirror computes eagerly, there is no symbolic input variable"
            )
        _check_input(lay, outputs[id(lay)])
    # each intermediate output is let go once its last consumer has run: the arrays then come
    # back to the allocator for the next layers, so that a pass reuses memory instead of
    # faulting in fresh pages, and the peak is what the widest cut of the graph holds
    wanted = {id(lay) for lay in requested}
    pending = [lay for lay in all_layers if id(lay) not in outputs]
    consumers: dict[int, int] = {}
    for lay in pending:
        for i in _input_layers(lay):
            consumers[id(i)] = consumers.get(id(i), 0) + 1
    for lay in pending:
        sources = _input_layers(lay)
        try:
            if isinstance(lay, MergeLayer):
                layer_inputs: Any = [outputs[id(i)] for i in sources]
            else:
                layer_inputs = outputs[id(lay.input_layer)]
        except KeyError:
            raise LegacyconvError(
                f"get_output() was called without an input array for the free-floating layer {lay!r}; "
                "give a dictionary mapping this layer to an array"
            ) from None
        outputs[id(lay)] = lay.get_output_for(layer_inputs, **kwargs)
        del layer_inputs
        accepted |= _accepted_kwargs(lay) | set(lay.get_output_kwargs)
        for i in sources:
            consumers[id(i)] -= 1
            if not consumers[id(i)] and id(i) not in wanted:
                outputs.pop(id(i), None)
    unused = set(kwargs) - accepted
    if unused:
        hints = []
        for kw in sorted(unused):
            close = get_close_matches(kw, accepted)
            hints.append(f"{kw} (perhaps you meant {close[0]})" if close else kw)
        warnings.warn("get_output() was called with unused kwargs:\n\t" + "\n\t".join(hints), stacklevel=2)
    if several:
        return [outputs[id(lay)] for lay in requested]
    return outputs[id(layer_or_layers)]


def _input_layers(layer: Any) -> list[Any]:
    """The layers whose outputs ``layer`` reads (none for an InputLayer)."""
    if isinstance(layer, MergeLayer):
        return list(layer.input_layers)
    source = getattr(layer, "input_layer", None)
    return [] if source is None else [source]


def _is_data(value: Any) -> bool:
    return isinstance(value, (np.ndarray, list, tuple, float, int))


def _check_input(layer: Any, x: np.ndarray) -> None:
    shape = layer.shape
    if x.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, x.shape)):
        raise LegacyconvError(
            f"the input array for InputLayer {layer.name or ''!r} has shape {x.shape}; the layer was "
            f"declared with shape {shape} (None = any size)"
        )


def get_output_shape(layer_or_layers: Any, input_shapes: Any = None) -> Any:
    """The output shape(s), for the declared input shapes or for ``input_shapes``.

    >>> from legacyconv.lasagne.layers import InputLayer, DenseLayer
    >>> net = DenseLayer(InputLayer((None, 3)), 2)
    >>> get_output_shape(net), get_output_shape(net, (5, 3))
    ((None, 2), (5, 2))
    """
    from .input import InputLayer

    if input_shapes is None or input_shapes == {}:
        try:
            return [lay.output_shape for lay in layer_or_layers]
        except TypeError:
            return layer_or_layers.output_shape
    treat_as_input = list(input_shapes.keys()) if isinstance(input_shapes, dict) else []
    all_layers = get_all_layers(layer_or_layers, treat_as_input)
    shapes: dict[int, Any] = {
        id(lay): lay.shape
        for lay in all_layers
        if isinstance(lay, InputLayer) and all(lay is not t for t in treat_as_input)
    }
    if isinstance(input_shapes, dict):
        shapes.update((id(lay), s) for lay, s in input_shapes.items())
    else:
        if len(shapes) > 1:
            raise LegacyconvError(
                "get_output_shape() was called with a single input shape on a network with several "
                "input layers; give a dictionary {input_layer: shape} instead"
            )
        for key in shapes:
            shapes[key] = tuple(input_shapes)
    for lay in all_layers:
        if id(lay) not in shapes:
            if isinstance(lay, MergeLayer):
                shapes[id(lay)] = lay.get_output_shape_for([shapes[id(i)] for i in lay.input_layers])
            else:
                shapes[id(lay)] = lay.get_output_shape_for(shapes[id(lay.input_layer)])
    try:
        return [shapes[id(lay)] for lay in layer_or_layers]
    except TypeError:
        return shapes[id(layer_or_layers)]


def get_all_params(layer: Any, unwrap_shared: bool = True, **tags: bool) -> list[SharedParam]:
    """Every parameter of the network, in Lasagne's order (layer order, then creation order),
    each once; filtered by tags like Lasagne (``trainable=True`` …)."""
    layers = get_all_layers(layer)
    return unique(chain.from_iterable(lay.get_params(unwrap_shared=unwrap_shared, **tags) for lay in layers))


def count_params(layer: Any, **tags: bool) -> int:
    """The number of parameter values."""
    return int(sum(np.prod(p.get_value(borrow=True).shape) for p in get_all_params(layer, **tags)))


def get_all_param_values(layer: Any, **tags: bool) -> list[np.ndarray]:
    """Copies of every parameter value, in :func:`get_all_params` order (what
    ``np.savez(f, *get_all_param_values(net))`` saved as ``arr_0, arr_1, …``)."""
    return [p.get_value() for p in get_all_params(layer, **tags)]


def set_all_param_values(layer: Any, values: Any, **tags: bool) -> None:
    """Set every parameter from ``values`` (in :func:`get_all_params` order), checking the
    count and every shape first; nothing is set when one does not fit.

    >>> from legacyconv.lasagne.layers import InputLayer, DenseLayer
    >>> net = DenseLayer(InputLayer((None, 3)), 2)
    >>> set_all_param_values(net, [np.ones((3, 2)), np.zeros(2)])
    >>> float(get_all_param_values(net)[0].sum())
    6.0
    """
    params = get_all_params(layer, **tags)
    values = list(values)
    if len(params) != len(values):
        raise LegacyconvError(f"mismatch: got {len(values)} values to set {len(params)} parameters")
    for i, (p, v) in enumerate(zip(params, values)):
        shape = np.shape(v)
        if p.shape != shape:
            raise LegacyconvError(
                f"mismatch: parameter {i} ({p.name}) has shape {p.shape} but the value to set has shape {shape}"
            )
    for p, v in zip(params, values):
        p.set_value(v)
