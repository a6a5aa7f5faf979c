"""Tests of radlib.formatting: the expected strings are written out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from radlib.formatting import interval, number, p_value, signed, value_range


@pytest.mark.parametrize("missing", [None, float("nan"), math.inf, -math.inf, np.nan])
def test_missing_values_print_as_n_a(missing):
    assert number(missing) == "n/a"
    assert signed(missing) == "n/a"
    assert p_value(missing) == "n/a"
    assert interval(missing, 0.1) == "[no CI]"
    assert interval(0.1, missing) == "[no CI]"


def test_number_and_signed():
    assert number(0.07719) == "0.077"
    assert number(0.07719, 2) == "0.08"
    assert number(3, 1) == "3.0"
    assert signed(0.012) == "+0.012"
    assert signed(-0.0051, 4) == "-0.0051"
    assert number(np.float64(0.5), sign=True) == "+0.500"


def test_p_value_threshold():
    assert p_value(0.0009) == "< 0.001"
    assert p_value(0.001) == "0.001"
    assert p_value(0.04567) == "0.046"
    assert p_value(1.0, 2) == "1.00"


def test_interval_and_value_range():
    assert interval(-0.0083, -0.0019, 4) == "[-0.0083, -0.0019]"
    assert value_range(-0.03, 0.1) == "-0.03 to +0.10"
    assert value_range(0.3, 0.3) == "+0.30"
    assert value_range(0.25, 0.5, digits=1, sign=False) == "0.2 to 0.5"
    assert value_range(np.nan, np.nan) == "n/a"
