#!/usr/bin/env python3
"""Draw the migration guide's figures (needs matplotlib and TensorFlow: ``pip install -e ".[all,docs]"``).

    python scripts/make_guide_figures.py            # writes migration_guide/figures/*.png

``impulse_response.png`` (chapter 3): the response of a 5x5 image holding a single 1 to an
asymmetric 3x3 kernel, through Theano's ``conv2d`` (``legacyconv.conv2d``) with
``filter_flip=True`` and ``False``, and through ``tf.nn.conv2d`` with the kernel converted by
``layouts.theano_kernel_to_tf`` with and without the flip. Chapter 3 computes and asserts the
same numbers.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np

import legacyconv
from legacyconv import layouts, padding

FIGURES = Path(__file__).resolve().parent.parent / "migration_guide" / "figures"

# panel titles
INPUT = "input: a single 1"
KERNEL = "Theano kernel w[0, 0]"
THEANO_FLIP = "Theano conv2d\nfilter_flip=True (default)"
THEANO_NO_FLIP = "Theano conv2d\nfilter_flip=False"
TF_CONVERTED = "tf.nn.conv2d\ntheano_kernel_to_tf(w)"
TF_UNFLIPPED = "tf.nn.conv2d\ntheano_kernel_to_tf(w, filter_flip=False)"


def impulse_responses() -> dict[str, np.ndarray]:
    """The 2-D arrays the impulse-response figure shows, by panel title."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    x = np.zeros((1, 1, 5, 5), np.float32)  # NCHW: one image, one channel
    x[0, 0, 2, 2] = 1.0
    w = np.arange(1.0, 10.0, dtype=np.float32).reshape(1, 1, 3, 3)  # (out, in, rows, cols)
    tf_pad = padding.tf_padding("half", w.shape, input_shape=x.shape)

    def tf_conv(kernel: np.ndarray) -> np.ndarray:
        y = tf.nn.conv2d(layouts.nchw_to_nhwc(x), kernel, strides=1, padding=tf_pad)
        return layouts.nhwc_to_nchw(y.numpy())[0, 0]

    unflipped_kernel = layouts.theano_kernel_to_tf(w, filter_flip=False)
    return {
        INPUT: x[0, 0],
        KERNEL: w[0, 0],
        THEANO_FLIP: legacyconv.conv2d(x, w, border_mode="half")[0, 0],
        THEANO_NO_FLIP: legacyconv.conv2d(x, w, border_mode="half", filter_flip=False)[0, 0],
        TF_CONVERTED: tf_conv(layouts.theano_kernel_to_tf(w)),
        TF_UNFLIPPED: tf_conv(unflipped_kernel),
    }


def draw_impulse_response(path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = impulse_responses()
    order = [[INPUT, THEANO_FLIP, THEANO_NO_FLIP], [KERNEL, TF_CONVERTED, TF_UNFLIPPED]]
    fig, axes = plt.subplots(2, 3, figsize=(9.0, 7.0), layout="constrained")
    for row, titles in zip(axes, order):
        for ax, title in zip(row, titles):
            arr = panels[title]
            ax.imshow(arr, cmap="Blues", vmin=0, vmax=1.4 * arr.max())
            for (i, j), v in np.ndenumerate(arr):
                if v:
                    ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=11)
            ax.set_title(title, fontsize=10)
            ax.set_xticks(range(arr.shape[1]))
            ax.set_yticks(range(arr.shape[0]))
            ax.tick_params(labelsize=8)
    fig.suptitle(
        "Impulse response: a true convolution (Theano's default) reproduces the kernel,\n"
        "a cross-correlation (TensorFlow) rotates it by 180°, unless the kernel is flipped when converted",
        fontsize=10,
    )
    fig.get_layout_engine().set(h_pad=0.15)
    path.parent.mkdir(parents=True, exist_ok=True)
    # No 'Software' metadata: the file only changes when the picture does.
    fig.savefig(path, dpi=72, metadata={"Software": None})
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outdir", type=Path, default=FIGURES, help=f"default: {FIGURES}")
    args = parser.parse_args()
    path = args.outdir / "impulse_response.png"
    draw_impulse_response(path)
    print(f"wrote {path} ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
