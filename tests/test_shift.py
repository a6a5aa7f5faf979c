"""Tests of radlib.shift: label-blind, sized and seeded as configured, and really shifted."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from radlib.config import CHOICES, derive_seed
from radlib.shift import (
    STRATEGIES,
    ExternalSplit,
    acquisition_shift,
    simulate_external,
    split_external,
)

SHIFT = {"strategy": "site", "external_fraction": 0.3, "n_components": 5, "n_clusters": 3, "severity": 0.1}


def shift_params(**changes) -> dict:
    return {**SHIFT, **changes}


def gaussian_features(n_rows: int = 300, n_features: int = 30, seed: int = 0) -> np.ndarray:
    """Real-looking features: three correlated blocks, unequal scales and offsets, a few NaN."""
    rng = np.random.default_rng(seed)
    factors = rng.normal(size=(n_rows, 3))
    loadings = np.zeros((3, n_features))
    for block in range(3):
        loadings[block, block * n_features // 3 : (block + 1) * n_features // 3] = rng.uniform(
            0.5, 0.9, n_features // 3
        )
    X = factors @ loadings + 0.5 * rng.normal(size=(n_rows, n_features))
    X = X * rng.uniform(0.5, 20, n_features) + rng.uniform(-5, 100, n_features)
    X[rng.random(X.shape) < 0.02] = np.nan
    return X


def internal_vs_external_auc(X: np.ndarray, external_idx: np.ndarray, seed: int = 0) -> float:
    """Cross-validated AUC of a logistic regression telling external from internal patients."""
    is_external = np.isin(np.arange(len(X)), external_idx).astype(int)
    filled = np.where(np.isnan(X), np.nanmedian(X, axis=0), X)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)
    return float(np.mean(cross_val_score(model, filled, is_external, cv=folds, scoring="roc_auc")))


def test_strategies_match_the_profile_schema():
    assert set(STRATEGIES) == set(CHOICES["shift.strategy"])


def test_split_cannot_take_a_label():
    # No label parameter exists, so the outcome cannot reach the split ...
    assert list(inspect.signature(split_external).parameters) == ["X", "config_or_params", "seed"]
    assert list(inspect.signature(simulate_external).parameters) == ["X", "config_or_params", "seed"]
    X = gaussian_features()
    y = (np.nan_to_num(X[:, 0]) > np.nanmedian(X[:, 0])).astype(int)
    with pytest.raises(TypeError):
        split_external(X, SHIFT, 0, y=y)
    with pytest.raises(TypeError):
        split_external(X, y, SHIFT, 0)


def separated_sites(seed: int = 0) -> np.ndarray:
    """Three well-separated groups of 60, 80 and 100 patients in 10 features."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=10, size=(3, 10))
    return np.vstack([centre + rng.normal(size=(size, 10)) for centre, size in zip(centres, (60, 80, 100))])


@pytest.mark.parametrize("strategy, X", [("site", gaussian_features(seed=1)), ("cluster", separated_sites())])
def test_split_depends_only_on_the_features_of_each_patient(strategy, X):
    # ... and the site is a function of the patients' features: listing the patients in
    # another order (carrying any label along) selects the same patients. (k-means
    # starts from rows picked by position, so `cluster` is tested where its clusters are
    # unambiguous; on overlapping groups another row order can find another partition.)
    order = np.random.default_rng(5).permutation(len(X))
    _, external = split_external(X, shift_params(strategy=strategy), seed=3)
    _, external_reordered = split_external(X[order], shift_params(strategy=strategy), seed=3)
    assert set(order[external_reordered]) == set(external)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_split_sizes_and_partition(strategy):
    X = gaussian_features(n_rows=201)
    internal, external = split_external(X, shift_params(strategy=strategy), seed=0)
    assert np.array_equal(np.sort(np.r_[internal, external]), np.arange(len(X)))
    assert np.array_equal(internal, np.sort(internal)) and np.array_equal(external, np.sort(external))
    if strategy == "cluster":
        # whole clusters: at least the fraction (unless capped), never everything
        assert 0 < len(internal) and 0.3 * 201 <= len(external) < 201
    else:
        assert len(external) == 60  # 0.3 * 201 = 60.3, rounded half up


def test_site_split_with_fewer_features_than_components():
    X = gaussian_features(n_rows=40, n_features=3)
    internal, external = split_external(X, shift_params(n_components=5), seed=0)
    assert (len(internal), len(external)) == (28, 12)


def test_split_size_rounds_half_up():
    X = gaussian_features(n_rows=10)
    assert len(split_external(X, shift_params(strategy="random", external_fraction=0.25), 0)[1]) == 3  # 2.5 -> 3


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_split_is_deterministic_per_seed(strategy):
    X = gaussian_features(seed=2)
    params = shift_params(strategy=strategy)
    first = split_external(X, params, seed=11)
    again = split_external(X, params, seed=11)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    others = [split_external(X, params, seed=s)[1] for s in (12, 13, 14)]
    assert any(not np.array_equal(first[1], other) for other in others)


def test_site_split_is_really_shifted():
    X = gaussian_features(seed=3)
    aucs = [internal_vs_external_auc(X, split_external(X, SHIFT, seed=s)[1]) for s in range(3)]
    assert min(aucs) > 0.8, aucs


def test_cluster_split_is_really_shifted():
    X = gaussian_features(seed=3)
    assert internal_vs_external_auc(X, split_external(X, shift_params(strategy="cluster"), seed=0)[1]) > 0.8


def test_random_split_is_not_shifted():
    X = gaussian_features(seed=3)
    aucs = [
        internal_vs_external_auc(X, split_external(X, shift_params(strategy="random"), seed=s)[1]) for s in range(5)
    ]
    assert abs(np.mean(aucs) - 0.5) < 0.1, aucs


@pytest.mark.parametrize(
    "changes, n_rows, message",
    [
        ({"external_fraction": 0.0}, 50, "strictly between 0 and 1"),
        ({"external_fraction": 1.0}, 50, "strictly between 0 and 1"),
        ({"external_fraction": 1.5}, 50, "strictly between 0 and 1"),
        ({"external_fraction": 0.1}, 4, "too few"),  # 0.4 external patients round to 0
        ({"external_fraction": 0.9}, 4, "too few"),  # 3.6 round to 4: no internal patient left
        ({"strategy": "hospital"}, 50, "allowed: site, random, cluster"),
        ({"n_components": 0}, 50, "n_components"),
        ({"strategy": "cluster", "n_clusters": 1}, 50, "n_clusters"),
    ],
)
def test_bad_split_parameters_raise(changes, n_rows, message):
    with pytest.raises(ValueError, match=message):
        split_external(gaussian_features(n_rows=n_rows), shift_params(**changes), seed=0)


def test_acquisition_shift_with_severity_zero_is_identity():
    X = gaussian_features(n_rows=40)
    shifted = acquisition_shift(X, 0.0, seed=1, scale_reference=X)
    np.testing.assert_array_equal(shifted, X)  # NaN in the same places
    assert shifted is not X


def recover_scale_and_offset(severity: float, n_features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Read a and b back: x = 0 gives b SD, x = 1 gives (1 + a) + b SD."""
    reference = np.random.default_rng(99).normal(size=(30, n_features)) * 3.0
    reference_sd = reference.std(axis=0, ddof=1)
    shifted = acquisition_shift(np.vstack([np.zeros(n_features), np.ones(n_features)]), severity, seed, reference)
    return shifted[1] - shifted[0] - 1, shifted[0] / reference_sd


def test_acquisition_shift_has_the_configured_spread():
    severity, n_features = 0.1, 4000
    scale, offset = recover_scale_and_offset(severity, n_features, seed=5)
    for draws in (scale, offset):
        assert np.std(draws) == pytest.approx(severity, rel=0.05)  # SD of an SD estimate: ~1.1 %
        assert abs(np.mean(draws)) < 4 * severity / np.sqrt(n_features)
    assert abs(np.corrcoef(scale, offset)[0, 1]) < 0.1  # drawn independently
    # Doubling the severity doubles every draw of the same seed.
    scale_2, offset_2 = recover_scale_and_offset(2 * severity, n_features, seed=5)
    np.testing.assert_allclose(scale_2, 2 * scale, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(offset_2, 2 * offset, rtol=1e-9, atol=1e-12)


def test_acquisition_shift_keeps_missing_values_and_handles_empty_reference_features():
    X = gaussian_features(n_rows=50)
    reference = X.copy()
    reference[:, 0] = np.nan  # no observed reference value: no offset, scale only
    shifted = acquisition_shift(X, 0.3, seed=2, scale_reference=reference)
    assert np.array_equal(np.isnan(shifted), np.isnan(X))
    observed = ~np.isnan(X[:, 0])
    ratios = shifted[observed, 0] / X[observed, 0]
    np.testing.assert_allclose(ratios, ratios[0])


def test_acquisition_shift_rejects_bad_input():
    X = gaussian_features(n_rows=20)
    with pytest.raises(ValueError, match="severity"):
        acquisition_shift(X, -0.1, 0, X)
    with pytest.raises(ValueError, match="same number of features"):
        acquisition_shift(X, 0.1, 0, X[:, :5])


def test_simulate_external_combines_split_and_shift(offline_config):
    X = gaussian_features(seed=4)
    result = simulate_external(X, offline_config, seed=21)
    assert isinstance(result, ExternalSplit)
    assert result.strategy == offline_config["shift"]["strategy"]
    assert (result.split_seed, result.shift_seed) == (derive_seed(21, "split"), derive_seed(21, "acquisition_shift"))
    internal, external = split_external(X, offline_config, result.split_seed)
    assert np.array_equal(result.internal_idx, internal) and np.array_equal(result.external_idx, external)
    expected = acquisition_shift(X[external], offline_config["shift"]["severity"], result.shift_seed, X[internal])
    np.testing.assert_array_equal(result.X_external_shifted, expected)
    unshifted = simulate_external(X, shift_params(severity=0.0), seed=21)
    np.testing.assert_array_equal(unshifted.X_external_shifted, X[unshifted.external_idx])
