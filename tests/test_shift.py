"""Tests of radlib.shift: label-blind, sized and seeded as configured, really shifted, and site-folds."""

from __future__ import annotations

import dataclasses
import inspect
import itertools

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
    simulate_external_folds,
    split_external,
)

SHIFT = {
    "strategy": "site",
    "folds": 5,
    "external_fraction": 0.3,
    "n_components": 5,
    "n_clusters": 3,
    "severity": 0.1,
}


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
    assert list(inspect.signature(simulate_external_folds).parameters) == ["X", "config_or_params", "seed"]
    X = gaussian_features()
    y = (np.nan_to_num(X[:, 0]) > np.nanmedian(X[:, 0])).astype(int)
    with pytest.raises(TypeError):
        split_external(X, SHIFT, 0, y=y)
    with pytest.raises(TypeError):
        split_external(X, y, SHIFT, 0)
    with pytest.raises(TypeError):
        simulate_external_folds(X, SHIFT, 0, y=y)


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
    assert result.fold == 0
    assert result.strategy == offline_config["shift"]["strategy"]
    assert (result.split_seed, result.shift_seed) == (derive_seed(21, "split"), derive_seed(21, "acquisition_shift"))
    internal, external = split_external(X, offline_config, result.split_seed)
    assert np.array_equal(result.internal_idx, internal) and np.array_equal(result.external_idx, external)
    expected = acquisition_shift(X[external], offline_config["shift"]["severity"], result.shift_seed, X[internal])
    np.testing.assert_array_equal(result.X_external_shifted, expected)
    unshifted = simulate_external(X, shift_params(severity=0.0), seed=21)
    np.testing.assert_array_equal(unshifted.X_external_shifted, X[unshifted.external_idx])


# --- Site-folds (shift.folds) -------------------------------------------------------------------------------------

# Version 1's simulate_external (commit 696ebd3, before site-folds existed), run on
# gaussian_features(n_rows=20, n_features=3, seed=7) with SHIFT: (strategy, seed, external rows, their shifted
# features). Recompute them only from that commit's radlib/shift.py, never from the current code.
V1_SPLITS = [
    (
        "site",
        0,
        [3, 7, 14, 15, 16, 17],
        [
            [26.33415730058723, 15.335641364445479, 39.00192010176959],
            [32.993356016902304, 6.40217078318496, 35.684020516983054],
            [17.900444374961868, 14.532501954947488, 39.87437801380514],
            [17.594607643834514, 16.4409276447201, 37.00620520115351],
            [33.8053511603693, 18.67311925948622, 36.85742821330395],
            [23.38309214238482, 11.505010595787134, 37.176126661578024],
        ],
    ),
    (
        "site",
        1,
        [3, 14, 15, 16, 17, 18],
        [
            [22.410611163990627, 18.131878580723324, 35.32404119715736],
            [14.407839469467318, 17.17676718377205, 36.12236306089091],
            [14.117630215655185, 19.44630981233731, 33.49790973916704],
            [29.500046063261497, 22.100882139668137, 33.36177489462925],
            [19.610337912455332, 13.576406565043392, 33.6533923304796],
            [24.32753188893374, 22.03030702192332, 31.900347851147348],
        ],
    ),
    (
        "random",
        0,
        [3, 5, 7, 16, 17, 19],
        [
            [26.176276779741688, 15.325787898989528, 39.05129216704389],
            [43.45567667657209, 12.43411421136385, 32.73446912376804],
            [32.835475496056766, 6.3923173177290105, 35.73339258225735],
            [33.64747063952376, 18.66326579403027, 36.906800278578245],
            [23.22521162153928, 11.495157130331183, 37.22549872685232],
            [45.789049440257216, 17.64804895187846, 32.892683140658825],
        ],
    ),
    (
        "random",
        1,
        [3, 5, 8, 10, 11, 14],
        [
            [22.454371488908507, 18.13945141378938, 35.266949765717165],
            [38.85083810001853, 14.700608215892103, 29.48689106578807],
            [31.348216927476138, 18.768033195140063, 26.758111628837685],
            [23.50766745189665, 14.148533938775183, 30.438444238570927],
            [14.166236898256143, 21.915682230455847, 25.810528135788807],
            [14.451599794385197, 17.184340016838107, 36.06527162945072],
        ],
    ),
    (
        "cluster",
        0,
        [0, 3, 4, 5, 6, 7, 9, 10, 14, 15, 16, 17, 18],
        [
            [27.9911690200637, 13.365531315856808, 33.72914493669483],
            [26.302771554404394, 15.227808521820682, 38.98228558993149],
            [43.9640896406286, 9.426871449156076, 33.97728280134089],
            [43.5821714512348, 12.336134834195004, 32.66546254665564],
            [12.363882362444814, 9.730050884913243, 29.64095138172153],
            [32.961970270719476, 6.2943379405601645, 35.664386005144955],
            [30.72054245056442, 15.074310866964815, 34.4355541722968],
            [27.412786448824203, 11.871903530560655, 33.70538157183972],
            [17.869058628779033, 14.424669112322691, 39.85474350196704],
            [17.563221897651683, 16.333094802095307, 36.986570689315414],
            [33.77396541418647, 18.565286416861426, 36.83779370146585],
            [23.351706396201987, 11.397177753162337, 37.156492149739925],
            [28.32291653822489, 18.505940817414334, 35.24065143984034],
        ],
    ),
    (
        "cluster",
        1,
        [1, 2, 8, 11, 12, 13, 19],
        [
            [29.566764603074258, 17.50173544796305, 26.180717804797844],
            [27.648524494228543, 23.96978941348137, 25.93773986434875],
            [31.35192041196241, 18.738186390095763, 26.775963875214845],
            [14.169940382742416, 21.885835425411546, 25.828380382165967],
            [17.360144923197023, 19.252896399877443, 28.14063845231004],
            [32.858410570313396, 23.121627652247494, 29.90656606274176],
            [41.06868494824828, 20.871289531785624, 29.64951328569706],
        ],
    ),
]
# ... and on gaussian_features(n_rows=60, n_features=6, seed=8), which has 10 missing values: the external rows.
# fmt: off
V1_EXTERNAL_ROWS = [
    ("site", 2, [1, 3, 5, 9, 11, 12, 18, 19, 25, 27, 28, 31, 32, 35, 39, 46, 56, 57]),
    ("site", 3, [1, 5, 7, 9, 10, 11, 12, 18, 19, 20, 26, 30, 31, 32, 36, 38, 49, 51]),
    ("random", 2, [6, 13, 15, 19, 24, 25, 27, 36, 37, 39, 41, 42, 47, 49, 50, 52, 55, 59]),
    ("random", 3, [1, 3, 15, 20, 23, 24, 25, 27, 30, 31, 32, 35, 38, 39, 41, 50, 55, 58]),
    ("cluster", 2, [0, 1, 4, 7, 8, 10, 12, 13, 14, 16, 17, 20, 21, 22, 23, 24, 25, 27, 29, 30, 33, 34, 36, 37, 38,
                    39, 40, 42, 43, 44, 46, 47, 48, 49, 52, 53, 54, 55, 58, 59]),
    ("cluster", 3, [4, 12, 13, 21, 23, 24, 25, 27, 33, 37, 39, 40, 43, 46, 47, 48, 52, 53, 54, 55]),
]
# fmt: on


def assert_same_split(a: ExternalSplit, b: ExternalSplit) -> None:
    for field in dataclasses.fields(ExternalSplit):
        np.testing.assert_array_equal(getattr(a, field.name), getattr(b, field.name), err_msg=field.name)


@pytest.mark.parametrize("strategy, seed, external, shifted", V1_SPLITS)
def test_one_fold_is_version_1_split_bit_for_bit(strategy, seed, external, shifted):
    # folds = 1 keeps version 1's design: the same external rows and the same shifted values, bit for bit,
    # so v1 results can be reproduced with the v2 engine.
    X = gaussian_features(n_rows=20, n_features=3, seed=7)
    (split,) = simulate_external_folds(X, shift_params(strategy=strategy, folds=1), seed)
    assert split.fold == 0
    assert split.external_idx.tolist() == external
    assert split.internal_idx.tolist() == sorted(set(range(20)) - set(external))
    np.testing.assert_array_equal(split.X_external_shifted, np.array(shifted))
    # One code path: simulate_external is the folds = 1 case, and ignores `folds` when called directly.
    assert_same_split(split, simulate_external(X, shift_params(strategy=strategy, folds=5), seed))


@pytest.mark.parametrize("strategy, seed, external", V1_EXTERNAL_ROWS)
def test_one_fold_keeps_version_1_rows_with_missing_values(strategy, seed, external):
    # The same on wider data with missing values, where imputation enters the site score.
    X = gaussian_features(n_rows=60, n_features=6, seed=8)
    (split,) = simulate_external_folds(X, shift_params(strategy=strategy, folds=1), seed)
    assert split.external_idx.tolist() == external


@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("n_folds", [2, 5])
def test_folds_partition_the_patients(strategy, n_folds):
    # Every patient is external exactly once per repetition, and each internal set is the other folds.
    X = gaussian_features(n_rows=203)
    splits = simulate_external_folds(X, shift_params(strategy=strategy, folds=n_folds), seed=4)
    assert [split.fold for split in splits] == list(range(n_folds))
    assert np.array_equal(np.sort(np.concatenate([split.external_idx for split in splits])), np.arange(len(X)))
    for split in splits:
        assert len(split.external_idx) > 0
        assert np.array_equal(split.external_idx, np.sort(split.external_idx))
        assert np.array_equal(split.internal_idx, np.setdiff1d(np.arange(len(X)), split.external_idx))
        assert split.X_external_shifted.shape == (len(split.external_idx), X.shape[1])


@pytest.mark.parametrize("strategy", ["site", "random"])
@pytest.mark.parametrize("n_rows, n_folds", [(203, 5), (20, 3), (10, 10)])
def test_site_and_random_fold_sizes_differ_by_at_most_one(strategy, n_rows, n_folds):
    # Quantile slabs and the random partition are near-equal by construction; K = n gives one patient per fold.
    X = gaussian_features(n_rows=n_rows, n_features=6)
    sizes = [len(s.external_idx) for s in simulate_external_folds(X, shift_params(strategy=strategy, folds=n_folds), 1)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == n_rows


def test_site_folds_are_ordered_slabs_of_the_site_score():
    # Version 1's site (golden-tested above) is the top `fraction` of the same site score, for the same split
    # seed. So if folds k..K-1 together are always v1's site of fraction (K-k)/K, fold k holds exactly the
    # scores ranked between those of the folds below and above it: every score in fold k lies below fold k+1's.
    X = gaussian_features(n_rows=200, seed=5)
    splits = simulate_external_folds(X, shift_params(folds=5), seed=9)
    for k in range(1, 5):
        upper_folds = np.concatenate([split.external_idx for split in splits[k:]])
        _, top = split_external(X, shift_params(external_fraction=(5 - k) / 5), splits[0].split_seed)
        assert set(upper_folds) == set(top), k


def test_site_folds_are_shifted_and_random_folds_are_not():
    # The lowest and highest slabs of the site score are populations apart from the rest; random folds are not.
    X = gaussian_features(seed=3)
    site = simulate_external_folds(X, SHIFT, seed=0)
    assert min(internal_vs_external_auc(X, site[k].external_idx) for k in (0, 4)) > 0.8
    random = simulate_external_folds(X, shift_params(strategy="random"), seed=0)
    aucs = [internal_vs_external_auc(X, split.external_idx) for split in random]
    assert abs(np.mean(aucs) - 0.5) < 0.1, aucs


def test_cluster_folds_are_the_k_means_sites():
    # Three well-separated groups and three folds: each fold is one whole group (n_clusters is not used).
    X = separated_sites()
    splits = simulate_external_folds(X, shift_params(strategy="cluster", folds=3, n_clusters=7), seed=0)
    groups = {frozenset(range(0, 60)), frozenset(range(60, 140)), frozenset(range(140, 240))}
    assert {frozenset(split.external_idx.tolist()) for split in splits} == groups


@pytest.mark.parametrize("strategy, X", [("site", gaussian_features(seed=1)), ("cluster", separated_sites())])
def test_folds_depend_only_on_the_features_of_each_patient(strategy, X):
    # Label-blind and order-blind: listing the patients in another order (carrying any label along) gives the same
    # patients in the same numbered folds.
    order = np.random.default_rng(5).permutation(len(X))
    params = shift_params(strategy=strategy, folds=3)
    folds = [set(split.external_idx) for split in simulate_external_folds(X, params, seed=3)]
    reordered = [set(order[split.external_idx]) for split in simulate_external_folds(X[order], params, seed=3)]
    assert reordered == folds


def linear_shift_of_each_feature(X: np.ndarray, split: ExternalSplit) -> np.ndarray:
    """Slope 1 + a_j of the shifted against the original external values, by least squares per feature."""
    original = X[split.external_idx]
    return np.array([np.polyfit(original[:, j], split.X_external_shifted[:, j], 1)[0] for j in range(X.shape[1])])


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_each_fold_draws_its_own_shift_reproducibly(strategy):
    # Each fold stands for another hospital, so the per-feature scales recovered from the data differ between
    # every pair of folds; the same seed gives the same folds and shifts, another seed others.
    X = np.random.default_rng(0).normal(size=(100, 8)) * 4 + 10
    params = shift_params(strategy=strategy, severity=0.2)
    splits = simulate_external_folds(X, params, seed=6)
    slopes = [linear_shift_of_each_feature(X, split) for split in splits]
    for j, k in itertools.combinations(range(len(splits)), 2):
        assert np.max(np.abs(slopes[j] - slopes[k])) > 0.05, (j, k)
    for k, split in enumerate(splits):
        assert split.shift_seed == derive_seed(6, "acquisition_shift", "fold", k)
        expected = acquisition_shift(X[split.external_idx], 0.2, split.shift_seed, X[split.internal_idx])
        np.testing.assert_array_equal(split.X_external_shifted, expected)
    for split, again in zip(splits, simulate_external_folds(X, params, seed=6), strict=True):
        assert_same_split(split, again)
    other = simulate_external_folds(X, params, seed=7)
    assert not np.allclose(linear_shift_of_each_feature(X, other[0]), slopes[0])


def test_folds_from_a_configuration(offline_config):
    splits = simulate_external_folds(gaussian_features(seed=4), offline_config, seed=21)
    assert len(splits) == offline_config["shift"]["folds"]


@pytest.mark.parametrize("folds", [0, -1, 21, 2.5, True])
def test_bad_number_of_folds_raises(folds):
    with pytest.raises(ValueError, match=r"shift\.folds must be an integer between 1 and the number of rows \(20\)"):
        simulate_external_folds(gaussian_features(n_rows=20), shift_params(folds=folds), seed=0)


def test_missing_folds_key_raises():
    params = {key: value for key, value in SHIFT.items() if key != "folds"}
    with pytest.raises(KeyError, match="folds"):
        simulate_external_folds(gaussian_features(n_rows=20), params, seed=0)


@pytest.mark.parametrize(
    "changes, message",
    [({"strategy": "hospital"}, "allowed: site, random, cluster"), ({"n_components": 0}, "n_components")],
)
def test_bad_fold_parameters_raise(changes, message):
    with pytest.raises(ValueError, match=message):
        simulate_external_folds(gaussian_features(n_rows=20), shift_params(**changes), seed=0)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cluster_folds_are_never_empty():
    # Three distinct patients cannot make five non-empty k-means sites: a clear error, not an empty fold.
    X = np.repeat(np.array([[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]), 4, axis=0)
    with pytest.raises(ValueError, match="k-means found only 3 non-empty sites for shift.folds = 5"):
        simulate_external_folds(X, shift_params(strategy="cluster"), seed=0)
