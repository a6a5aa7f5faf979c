"""Tests of radlib.quality against independent computations (the source of each expected
value is named in the test), and the sanity ladder."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from radlib.quality import (
    METRICS,
    align_metrics,
    compute_corr_diff,
    compute_detection_auc,
    compute_ks,
    compute_ks_per_feature,
    compute_mmd2,
    compute_wasserstein,
    compute_wasserstein_per_feature,
    quality_metrics,
    sampling_floor,
    sanity_ladder,
)

METRIC_PARAMS = {"detection_folds": 5, "mmd_max_rows": 1000}


def correlated_sample(n_rows: int, n_features: int, seed: int, correlation: float = 0.4) -> np.ndarray:
    """Radiomics-like standardised data: skewed (log-normal) features with a common factor."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=(n_rows, 1))
    latent = np.sqrt(correlation) * factor + np.sqrt(1 - correlation) * rng.normal(size=(n_rows, n_features))
    skewed = np.exp(0.5 * latent)
    return (skewed - skewed.mean(axis=0)) / skewed.std(axis=0)


@pytest.fixture
def tied_samples():
    """Unequal sizes, rounded values (many ties within and between samples), shifted columns."""
    rng = np.random.default_rng(7)
    real = np.round(rng.normal(size=(60, 6)), 1)
    synth = np.round(rng.normal(loc=np.linspace(0, 1, 6), scale=1.3, size=(45, 6)), 1)
    return real, synth


def test_wasserstein_matches_scipy_per_feature(tied_samples):
    real, synth = tied_samples
    expected = [stats.wasserstein_distance(real[:, j], synth[:, j]) for j in range(real.shape[1])]  # scipy
    np.testing.assert_allclose(compute_wasserstein_per_feature(real, synth), expected, rtol=1e-12, atol=1e-14)
    assert compute_wasserstein(real, synth) == pytest.approx(np.mean(expected), rel=1e-12)


def test_ks_matches_scipy_per_feature(tied_samples):
    real, synth = tied_samples
    expected = [stats.ks_2samp(real[:, j], synth[:, j]).statistic for j in range(real.shape[1])]  # scipy
    np.testing.assert_allclose(compute_ks_per_feature(real, synth), expected, rtol=1e-12, atol=1e-14)
    assert compute_ks(real, synth) == pytest.approx(np.mean(expected), rel=1e-12)


def test_marginal_metrics_match_scipy_on_continuous_data():
    real, synth = correlated_sample(80, 5, seed=1), correlated_sample(70, 5, seed=2) * 1.2
    expected_w = [stats.wasserstein_distance(real[:, j], synth[:, j]) for j in range(5)]  # scipy
    expected_ks = [stats.ks_2samp(real[:, j], synth[:, j]).statistic for j in range(5)]  # scipy
    np.testing.assert_allclose(compute_wasserstein_per_feature(real, synth), expected_w, rtol=1e-12)
    np.testing.assert_allclose(compute_ks_per_feature(real, synth), expected_ks, rtol=1e-12)


def mmd2_by_double_loop(real: np.ndarray, synth: np.ndarray) -> float:
    """MMD² V-statistic written out pair by pair, independently of radlib.quality."""
    pooled = [tuple(row) for row in np.vstack([real, synth])]
    distances = [math.dist(pooled[i], pooled[j]) for i in range(len(pooled)) for j in range(i + 1, len(pooled))]
    bandwidth = float(np.median([d for d in distances if d > 0]))

    def kernel_mean(a, b):
        return sum(math.exp(-(math.dist(x, y) ** 2) / (2 * bandwidth**2)) for x in a for y in b) / (len(a) * len(b))

    return kernel_mean(real, real) + kernel_mean(synth, synth) - 2 * kernel_mean(real, synth)


def test_mmd2_matches_double_loop():
    real = np.array([[0.0, 1.0], [1.0, 0.5], [2.0, 2.0], [0.5, -1.0]])
    synth = np.array([[1.0, 1.0], [3.0, 0.0], [0.0, 0.0]])
    assert compute_mmd2(real, synth, seed=0) == pytest.approx(mmd2_by_double_loop(real, synth), rel=1e-12)


def test_mmd2_is_zero_for_a_copy_and_respects_the_row_cap():
    real = correlated_sample(50, 4, seed=3)
    assert compute_mmd2(real, real.copy(), seed=0) == 0.0
    synth = correlated_sample(50, 4, seed=4) + 0.5
    uncapped = compute_mmd2(real, synth, seed=0)
    assert compute_mmd2(real, synth, seed=0, max_rows=50) == uncapped
    capped = compute_mmd2(real, synth, seed=1, max_rows=20)
    assert capped == compute_mmd2(real, synth, seed=1, max_rows=20)
    assert capped != uncapped
    # The capped value is the double-loop value on the seeded subsample of 20 rows per side.
    rng = np.random.default_rng(1)
    real_rows = np.sort(rng.choice(50, size=20, replace=False))
    synth_rows = np.sort(rng.choice(50, size=20, replace=False))
    assert capped == pytest.approx(mmd2_by_double_loop(real[real_rows], synth[synth_rows]), rel=1e-12)


def test_corr_diff_by_hand():
    # Real: x2 = 2 x1 and x3 = 5 - x1, so r12 = 1, r13 = -1, r23 = -1.
    real = np.array([[1.0, 2.0, 4.0], [2.0, 4.0, 3.0], [3.0, 6.0, 2.0], [4.0, 8.0, 1.0]])
    # Synthetic: x1 = (1, 2, 3, 4), x2 = (1, 3, 2, 4), x3 constant.
    # r12: deviations (-1.5, -0.5, 0.5, 1.5) and (-1.5, 0.5, -0.5, 1.5); cross products
    # 2.25 - 0.25 - 0.25 + 2.25 = 4; sums of squares 5 and 5; r12 = 4 / 5 = 0.8.
    # x3 is constant, so r13 = r23 = 0 by the module's rule.
    synth = np.array([[1.0, 1.0, 5.0], [2.0, 3.0, 5.0], [3.0, 2.0, 5.0], [4.0, 4.0, 5.0]])
    # Mean over the 3 pairs: (|1 - 0.8| + |-1 - 0| + |-1 - 0|) / 3 = 2.2 / 3.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the constant column must not raise a 0/0 warning
        assert compute_corr_diff(real, synth) == pytest.approx(2.2 / 3, rel=1e-12)


def test_corr_diff_of_a_single_feature_is_undefined():
    assert math.isnan(compute_corr_diff(np.ones((5, 1)) * np.arange(5)[:, None], np.arange(5.0)[:, None]))


def test_detection_auc_near_half_for_one_distribution():
    aucs = [
        compute_detection_auc(correlated_sample(200, 8, seed=10 + s), correlated_sample(200, 8, seed=20 + s), seed=s)
        for s in range(3)
    ]
    assert abs(np.mean(aucs) - 0.5) < 0.08, aucs


def test_detection_auc_near_one_for_different_distributions():
    real = correlated_sample(150, 8, seed=11)
    # Every feature moved by 3 SD: with 8 features at correlation 0.4 the Mahalanobis
    # distance is 3 * sqrt(8 / (1 + 7 * 0.4)) = 4.4, a Gaussian Bayes AUC of Phi(4.4 / sqrt(2)) > 0.999.
    synth = correlated_sample(150, 8, seed=12) + 3.0
    assert compute_detection_auc(real, synth, seed=0) > 0.95


def test_detection_auc_of_a_copy_is_exactly_half():
    real = correlated_sample(120, 6, seed=13)
    real[5] = real[17]  # a duplicated patient must not break it
    assert compute_detection_auc(real, real.copy(), seed=0) == 0.5


def test_detection_auc_of_a_collapsed_sample():
    # All synthetic rows copy one real row: every near-copy falls into one fold, so the
    # folds fall back to an even spread, and the collapse is easy to detect.
    real = correlated_sample(100, 6, seed=14)
    synth = np.repeat(real[:1], 100, axis=0)
    assert compute_detection_auc(real, synth, seed=0) > 0.9


def test_detection_auc_is_deterministic_per_seed_and_checks_folds():
    real, synth = correlated_sample(60, 4, seed=15), correlated_sample(60, 4, seed=16)
    assert compute_detection_auc(real, synth, seed=3) == compute_detection_auc(real, synth, seed=3)
    with pytest.raises(ValueError, match="at least 5 rows per sample"):
        compute_detection_auc(real, synth[:4], seed=0, n_folds=5)
    with pytest.raises(ValueError, match="at least 2 folds"):
        compute_detection_auc(real, synth, seed=0, n_folds=1)


def test_quality_metrics_keys_values_and_parameter_forms(offline_config):
    real, synth = correlated_sample(80, 5, seed=17), correlated_sample(80, 5, seed=18) * 1.1
    values = quality_metrics(real, synth, seed=4, config_or_params=METRIC_PARAMS)
    assert list(values) == list(METRICS)
    assert values["wasserstein"] == compute_wasserstein(real, synth)
    assert values["ks"] == compute_ks(real, synth)
    assert values["mmd2"] == compute_mmd2(real, synth, seed=4, max_rows=1000)
    assert values["corr_diff"] == compute_corr_diff(real, synth)
    assert values["detection_auc"] == compute_detection_auc(real, synth, seed=4, n_folds=5)
    # A Config and its full parameter mapping give the same values (the profile's defaults).
    assert quality_metrics(real, synth, 4, METRIC_PARAMS) == values
    assert quality_metrics(real, synth, 4, offline_config.params) == values
    with pytest.raises(KeyError, match="mmd_max_rows"):
        quality_metrics(real, synth, 4, {"detection_folds": 5})


def test_align_metrics_measures_distance_from_ideal():
    values = {"wasserstein": 0.2, "ks": 0.1, "mmd2": 0.05, "corr_diff": 0.3, "detection_auc": 0.38, "other": 1.0}
    aligned = align_metrics(values)
    assert aligned == {
        "wasserstein": 0.2,
        "ks": 0.1,
        "mmd2": 0.05,
        "corr_diff": 0.3,
        "detection_auc": pytest.approx(0.12),
    }
    assert {name: info.ideal for name, info in METRICS.items()}["detection_auc"] == 0.5


@pytest.mark.parametrize(
    "real, synth, message",
    [
        (np.zeros(5), np.zeros((5, 1)), "2-D"),
        (np.zeros((5, 2)), np.zeros((5, 3)), "features"),
        (np.array([[0.0, np.nan], [1.0, 1.0]]), np.zeros((2, 2)), "NaN"),
        (np.zeros((1, 2)), np.zeros((5, 2)), "at least 2 rows"),
    ],
)
def test_bad_inputs_raise(real, synth, message):
    with pytest.raises(ValueError, match=message):
        compute_wasserstein(real, synth)


@pytest.mark.parametrize("seed", [0, 1])
def test_sanity_ladder_is_ordered_for_every_metric(seed):
    real = correlated_sample(200, 8, seed=30 + seed)
    ladder = sanity_ladder(real, seed=seed)
    assert list(ladder) == ["copy", "small_noise", "shuffled", "pure_noise"]
    assert all(rung.shape == real.shape for rung in ladder.values())
    scores = {name: align_metrics(quality_metrics(real, rung, seed, METRIC_PARAMS)) for name, rung in ladder.items()}
    for metric, info in METRICS.items():
        copy, small_noise, shuffled, pure_noise = (scores[rung][metric] for rung in ladder)
        assert copy == 0.0, metric  # the copy sits exactly at the ideal
        assert copy < small_noise, metric
        if info.scope == "marginal":
            # A column permutation keeps each column's values: an exact tie by construction.
            assert shuffled == small_noise, metric
        else:
            assert small_noise < shuffled, metric
        assert shuffled < pure_noise, metric


def test_sanity_ladder_is_deterministic_per_seed():
    real = correlated_sample(30, 3, seed=40)
    first, again, other = sanity_ladder(real, 1), sanity_ladder(real, 1), sanity_ladder(real, 2)
    assert all(np.array_equal(first[name], again[name]) for name in first)
    assert not np.array_equal(first["pure_noise"], other["pure_noise"])


def test_sampling_floor_is_the_metrics_of_two_stratified_halves():
    # Expected values: quality_metrics on the halves built by hand from the same permutations.
    rng = np.random.default_rng(3)
    real = rng.normal(size=(41, 4))
    y = np.r_[np.zeros(20, int), np.ones(21, int)]
    floor = sampling_floor(real, y, seed=9, config_or_params=METRIC_PARAMS)
    perm = np.random.default_rng(9)
    first = np.zeros(41, bool)
    for label in (0, 1):
        rows = perm.permutation(np.flatnonzero(y == label))
        first[rows[: (len(rows) + 1) // 2]] = True
    assert first.sum() == 21 and y[first].sum() == 11  # 10 + 11 of 20 + 21: proportions kept
    expected = quality_metrics(real[first], real[~first], 9, METRIC_PARAMS)
    assert floor == {f"floor_{name}": value for name, value in expected.items()}


def test_sampling_floor_shrinks_with_the_sample_size():
    # The floor is sampling noise: 4x the rows gives about half the mean KS (KS ~ 1/sqrt(n)).
    rng = np.random.default_rng(4)
    small, large = rng.normal(size=(100, 6)), rng.normal(size=(1600, 6))
    ks_small = sampling_floor(small, np.arange(100) % 2, 1, METRIC_PARAMS)["floor_ks"]
    ks_large = sampling_floor(large, np.arange(1600) % 2, 1, METRIC_PARAMS)["floor_ks"]
    assert ks_large < 0.5 * ks_small
