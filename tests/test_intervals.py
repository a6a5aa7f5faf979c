"""Tests of radlib.intervals against scipy's and statsmodels' t-intervals."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from radlib.intervals import mean_t_interval, t_interval


def test_t_interval_matches_scipy():
    # scipy.stats.t.interval(confidence, df, loc, scale) with scale = sd / sqrt(n).
    low, high = t_interval(0.2, 0.5, 10, alpha=0.05)
    expected = stats.t.interval(0.95, 9, loc=0.2, scale=0.5 / np.sqrt(10))
    assert (low, high) == pytest.approx(expected)
    low90, high90 = t_interval(0.2, 0.5, 10, alpha=0.10)
    assert high90 - low90 < high - low


def test_mean_t_interval_matches_statsmodels_and_drops_non_finite_values():
    values = np.array([0.01, -0.03, 0.02, 0.05, np.nan, 0.00, np.inf, -0.01])
    finite = values[np.isfinite(values)]
    expected = DescrStatsW(finite).tconfint_mean(alpha=0.05)  # statsmodels, independent of scipy's path
    assert mean_t_interval(values) == pytest.approx(expected)


@pytest.mark.parametrize("n, sd", [(1, 0.3), (0, 0.3), (5, np.nan), (5, np.inf)])
def test_no_interval_without_two_values_or_a_finite_sd(n, sd):
    assert all(np.isnan(bound) for bound in t_interval(0.1, sd, n))


def test_mean_t_interval_of_fewer_than_two_finite_values():
    assert all(np.isnan(bound) for bound in mean_t_interval([0.4, np.nan]))
