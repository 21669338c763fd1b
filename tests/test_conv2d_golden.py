"""conv2d, the deprecated nnet.conv.conv2d, conv3d and get_conv_output_shape against real
Theano 1.0.5 (golden), on the numpy engine; the scipy and tensorflow engines have their own files."""

from __future__ import annotations

import pytest

import legacyconv

from golden import as_tuples, assert_matches_theano, cases, output_shape_cases

OPS = {
    "conv2d": legacyconv.conv2d,
    "legacy_conv2d": legacyconv.nnet.conv.conv2d,
    "conv3d": legacyconv.conv3d,
}
CASES = cases(*OPS)


def test_golden_file_has_the_cases():
    names = {c["op"] for c in CASES}
    assert names == set(OPS) and len(CASES) >= 150


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_matches_theano(case):
    fn = OPS[case["op"]]
    assert_matches_theano(fn, case)


HINTS = [c for c in cases("conv2d") if c["name"].startswith("conv2d_hints/") and "error" in c]


@pytest.mark.parametrize("case", HINTS, ids=[c["name"] for c in HINTS])
def test_contradicting_hint_names_both_shapes(case):
    with pytest.raises(
        legacyconv.LegacyconvError,
        match=r"shape hint does not match the array: \w+_shape=\(.*\) but \w+\.shape=\(",
    ):
        legacyconv.conv2d(*case["inputs"], **case["kwargs"])


@pytest.mark.parametrize("case", output_shape_cases(), ids=str)
def test_output_shape(case):
    got = legacyconv.get_conv_output_shape(
        case["image_shape"],
        case["kernel_shape"],
        as_tuples(case["border_mode"]),
        tuple(case["subsample"]),
        tuple(case["filter_dilation"]),
    )
    assert got == tuple(case["output_shape"])
    assert legacyconv.nnet.abstract_conv.get_conv_output_shape is legacyconv.get_conv_output_shape


@pytest.mark.parametrize(
    "image, kernel, mode, sub, expected",
    [
        ((None, 3, 224, 224), (96, 3, 11, 11), "valid", (4, 4), (None, 96, 54, 54)),
        ((2, None, None, 10), (4, None, 3, 3), "half", (1, 2), (2, 4, None, 5)),
        ((2, 3, 10, 10), (4, 3, 3, 3), (1, (2, 0)), (1, 1), (2, 4, 10, 10)),
    ],
)
def test_output_shape_none_passes_through(image, kernel, mode, sub, expected):
    # expected by Theano's formula: (n + pad_l + pad_r - k) // s + 1, None stays None
    assert legacyconv.get_conv_output_shape(image, kernel, mode, sub) == expected
