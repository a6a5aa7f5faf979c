"""Tests of radlib.analysis.bootstrap: the weighted cluster bootstrap equals the statistics of expanded resamples.

Each expected value names its independent source: scipy, statsmodels, scikit-learn, numpy's
least squares, or a hand calculation written out in the test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from radlib.analysis import bootstrap


def test_bootstrap_engine_equals_statistics_on_expanded_resamples():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=12).round(1), rng.normal(size=12).round(1)  # rounding makes ties
    w = bootstrap.cluster_counts(np.repeat(np.arange(4), 3), n_boot=5, seed=1)
    rho = bootstrap.weighted_spearman(x, y, w)
    label = y > 0
    auc = bootstrap.weighted_auc(x, label, w)
    for b in range(5):
        counts = w[b].astype(int)
        xe, ye, le = np.repeat(x, counts), np.repeat(y, counts), np.repeat(label, counts)
        assert rho[b] == pytest.approx(stats.spearmanr(xe, ye).statistic)  # scipy
        if le.any() and not le.all():
            assert auc[b] == pytest.approx(roc_auc_score(le, xe))  # scikit-learn
    # Clusters travel together: all three members of a cluster get the same count.
    assert (w.reshape(5, 4, 3) == w.reshape(5, 4, 3)[:, :, :1]).all()


def test_percentile_interval_matches_numpy_and_skips_undefined_resamples():
    values = np.array([0.1, np.nan, 0.4, 0.2, np.inf, 0.3, 0.5])
    low, high, used = bootstrap.percentile_interval(values, alpha=0.5)
    # numpy's linear percentiles of the 5 finite values: 25% -> 0.2, 75% -> 0.4.
    assert (low, high, used) == (pytest.approx(0.2), pytest.approx(0.4), 5)
    assert np.isnan(bootstrap.percentile_interval(np.array([np.nan]), alpha=0.05)[0])
