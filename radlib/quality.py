"""The five quality metrics of synthetic data (docs/protocol.md, step 6).

Each metric compares a synthetic sample with the real internal data in the selected,
standardised feature space (2-D float arrays, rows = patients, no missing values):

========================  ======================================  =====  ==============
key                       what                                    ideal  closer to real
========================  ======================================  =====  ==============
``wasserstein``           mean per-feature Wasserstein-1          0      lower
``ks``                    mean per-feature two-sample KS stat.    0      lower
``mmd2``                  MMD², RBF kernel, median heuristic      0      lower
``corr_diff``             mean |difference| of Pearson matrices   0      lower
``detection_auc``         cross-validated real-vs-synthetic AUC   0.5    closer to 0.5
========================  ======================================  =====  ==============

:data:`METRICS` holds these descriptions for analyses and plots, and
:func:`align_metrics` turns every value into its distance from the ideal (lower is
closer to real for all five; for the detection AUC that is ``|AUC - 0.5|``).

Why the per-feature Wasserstein and KS are computed here rather than with
``scipy.stats.wasserstein_distance`` and ``scipy.stats.ks_2samp``: both scipy functions
take one feature at a time, and ``ks_2samp`` also computes a p-value (exact for small
samples) that the metric does not use. One stable sort of the pooled sample along the
rows gives the step functions ``F_real - F_synth`` of every feature at once, from which
both statistics follow (the same formulas as scipy's). ``tests/test_quality.py`` checks
every per-feature value against scipy and ``benchmarks/quality_metrics.py`` times both.

:func:`sanity_ladder` builds synthetic sets of known, increasing distance from the real
data, to check (and show, in notebook 03) that every metric orders them.

Your own metrics: :func:`register_metric` adds a function ``f(real, synth[, seed]) -> float``
with its ideal value and orientation. :func:`quality_metrics` then computes it after the five,
so it lands in every record of the grid (one more column), and :func:`align_metrics` knows
its ideal. The five built-in metrics (:data:`METRICS`) and the composite of the analyses are
unchanged; :data:`USER_METRICS` holds the registered ones. In a parallel grid each worker
process needs the registration too: ``radlib audit --plugin`` takes care of that (see
``radlib.audit``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform
from scipy.special import ndtr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import PolynomialFeatures, StandardScaler
from threadpoolctl import threadpool_limits

from radlib.config import Config
from radlib.records import RESERVED_COLUMNS
from radlib.sections import read_section

__all__ = [
    "METRICS",
    "MetricInfo",
    "compute_wasserstein_per_feature",
    "compute_ks_per_feature",
    "compute_wasserstein",
    "compute_ks",
    "compute_mmd2",
    "compute_corr_diff",
    "compute_detection_auc",
    "quality_metrics",
    "align_metrics",
    "sanity_ladder",
    "distance_from_ideal",
    "quality_score",
    "FLOOR_PREFIX",
    "sampling_floor",
    "USER_METRICS",
    "UserMetric",
    "register_metric",
    "unregister_metric",
    "registered_metrics",
]


@dataclass(frozen=True)
class MetricInfo:
    """What a quality metric measures and which way is better.

    Attributes
    ----------
    label : str
        Short label for tables and plot axes.
    ideal : float
        The value of a synthetic sample indistinguishable from the real data.
    orientation : str
        ``"lower"`` (lower is closer to real) or ``"closer to 0.5"``.
    scope : str
        ``"marginal"`` (sees each feature alone; blind to dependence between features)
        or ``"joint"`` (sees the joint distribution).
    """

    label: str
    ideal: float
    orientation: str
    scope: str


METRICS: dict[str, MetricInfo] = {
    "wasserstein": MetricInfo("Wasserstein-1 (mean over features)", 0.0, "lower", "marginal"),
    "ks": MetricInfo("Kolmogorov-Smirnov statistic (mean over features)", 0.0, "lower", "marginal"),
    "mmd2": MetricInfo("MMD² (RBF kernel, median heuristic)", 0.0, "lower", "joint"),
    "corr_diff": MetricInfo("Mean |Δ Pearson correlation|", 0.0, "lower", "joint"),
    "detection_auc": MetricInfo("Detection AUC (real vs synthetic)", 0.5, "closer to 0.5", "joint"),
}

# Regularisation of the detector's logistic regression on p + p(p+1)/2 scaled terms
# (560 for p = 32, more than the rows of most training folds): stronger shrinkage than
# the default C = 1, which detected the ladder rungs of radMLBench data no better.
DETECTOR_C = 0.1
# A synthetic row is a near-copy of its nearest real row when it lies closer to it than
# this share of the median nearest-neighbour distance among the real rows.
NEAR_COPY_RATIO = 0.5
# Noise of the ladder's small-noise rung, in units of each feature's SD.
LADDER_NOISE_SD = 0.1
# Loading of the random one-factor dependence of the ladder's pure-noise rung: pairs of
# features correlate at about +-0.8, unrelated to the real correlations.
LADDER_NOISE_LOADING = 0.9


def _check_sample(name: str, sample: Any) -> np.ndarray:
    """Return the sample as a float array, or raise ValueError naming the problem."""
    sample = np.asarray(sample, dtype=float)
    if sample.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (rows x features), got {sample.ndim} dimension(s)")
    if sample.shape[0] < 2 or sample.shape[1] < 1:
        raise ValueError(f"{name} needs at least 2 rows and 1 feature, got shape {sample.shape}")
    if not np.isfinite(sample).all():
        raise ValueError(f"{name} holds NaN or infinite values; the metrics need complete, finite data")
    return sample


def _check_samples(real: Any, synth: Any) -> tuple[np.ndarray, np.ndarray]:
    """Return both samples as float arrays with the same features, or raise ValueError."""
    real, synth = _check_sample("real", real), _check_sample("synth", synth)
    if real.shape[1] != synth.shape[1]:
        raise ValueError(f"real has {real.shape[1]} features but synth has {synth.shape[1]}")
    return real, synth


def _pooled_cdf_gaps(real: np.ndarray, synth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empirical ``F_real - F_synth`` of every feature between consecutive pooled values.

    Returns
    -------
    gaps : ndarray (n + m - 1, p)
        ``F_real(t) - F_synth(t)`` for t just right of the i-th smallest pooled value.
    widths : ndarray (n + m - 1, p)
        Distance from the i-th to the (i+1)-th smallest pooled value.
    run_ends : ndarray of bool (n + m - 1, p)
        True where the i-th value is the last of its run of ties, i.e. where ``gaps``
        is a value the two step functions actually take.
    """
    n_real, n_synth = len(real), len(synth)
    pooled = np.vstack([real, synth])
    order = np.argsort(pooled, axis=0, kind="stable")
    values = np.take_along_axis(pooled, order, axis=0)
    # Integer counts keep the CDFs exact fractions, as scipy's searchsorted does.
    real_count = np.cumsum(order < n_real, axis=0)
    synth_count = np.arange(1, n_real + n_synth + 1)[:, None] - real_count
    gaps = (real_count / n_real - synth_count / n_synth)[:-1]
    widths = np.diff(values, axis=0)
    return gaps, widths, widths > 0


def compute_wasserstein_per_feature(real: np.ndarray, synth: np.ndarray) -> np.ndarray:
    """Wasserstein-1 distance of each feature's marginal, ``∫ |F_real - F_synth| dt``.

    Equals ``scipy.stats.wasserstein_distance(real[:, j], synth[:, j])`` for every j.

    Parameters
    ----------
    real, synth : ndarray (n, p), (m, p)

    Returns
    -------
    ndarray (p,)
        Non-negative; 0 when the feature's two samples hold the same values.
    """
    real, synth = _check_samples(real, synth)
    gaps, widths, _ = _pooled_cdf_gaps(real, synth)
    return np.sum(np.abs(gaps) * widths, axis=0)


def compute_ks_per_feature(real: np.ndarray, synth: np.ndarray) -> np.ndarray:
    """Two-sample Kolmogorov-Smirnov statistic of each feature, ``max |F_real - F_synth|``.

    Equals ``scipy.stats.ks_2samp(real[:, j], synth[:, j]).statistic`` for every j.

    Parameters
    ----------
    real, synth : ndarray (n, p), (m, p)

    Returns
    -------
    ndarray (p,)
        In [0, 1]; 0 when the feature's two samples hold the same values.
    """
    real, synth = _check_samples(real, synth)
    gaps, _, run_ends = _pooled_cdf_gaps(real, synth)
    # Inside a run of tied values the running counts are not CDF values; skip them.
    return np.max(np.where(run_ends, np.abs(gaps), 0.0), axis=0, initial=0.0)


def compute_wasserstein(real: np.ndarray, synth: np.ndarray) -> float:
    """Mean over features of the Wasserstein-1 distance of the marginals.

    Lower is closer to real; 0 is ideal. In the standardised feature space the unit is
    one real-data SD. Marginal only: blind to the dependence between features.
    """
    return float(np.mean(compute_wasserstein_per_feature(real, synth)))


def compute_ks(real: np.ndarray, synth: np.ndarray) -> float:
    """Mean over features of the two-sample Kolmogorov-Smirnov statistic.

    Lower is closer to real; 0 is ideal, 1 is disjoint supports. Marginal only.
    """
    return float(np.mean(compute_ks_per_feature(real, synth)))


def _subsample_rows(sample: np.ndarray, max_rows: int | None, rng: np.random.Generator) -> np.ndarray:
    if max_rows is None or len(sample) <= max_rows:
        return sample
    return sample[np.sort(rng.choice(len(sample), size=max_rows, replace=False))]


def compute_mmd2(real: np.ndarray, synth: np.ndarray, seed: int, max_rows: int | None = None) -> float:
    """Squared maximum mean discrepancy with an RBF kernel (biased V-statistic).

    ``k(x, y) = exp(-||x - y||² / (2 σ²))``, where the bandwidth σ is the median of the
    Euclidean distances between all pairs of distinct rows of the pooled sample (real and
    synthetic together, after subsampling) whose distance is positive: identical rows
    carry no information on the scale. Then

    ``MMD² = mean K(real, real) + mean K(synth, synth) - 2 mean K(real, synth)``

    with every mean over all pairs, the diagonal included. This biased V-statistic is
    the squared distance between the two empirical kernel mean embeddings: never
    negative, and exactly 0 for a copy of the real data. The unbiased U-statistic drops
    the diagonals and can be negative, which reads badly as a quality score; its
    advantage, an expectation free of the ``O(1/n + 1/m)`` bias, matters for a test of
    equal distributions, not for ranking synthetic sets of equal size against the same
    real data, as here (the synthetic size follows the internal size).

    Parameters
    ----------
    real, synth : ndarray (n, p), (m, p)
    seed : int
        Seeds the row subsampling.
    max_rows : int, optional
        Rows kept per side (drawn without replacement); the kernel matrix has
        ``(n + m)²`` entries.

    Returns
    -------
    float
        Lower is closer to real; 0 is ideal (rounding below 0 is clipped to 0).
    """
    real, synth = _check_samples(real, synth)
    rng = np.random.default_rng(seed)
    real = _subsample_rows(real, max_rows, rng)
    synth = _subsample_rows(synth, max_rows, rng)
    distances = pdist(np.vstack([real, synth]))
    positive = distances[distances > 0]
    if positive.size == 0:  # every row identical: both samples are one and the same point
        return 0.0
    bandwidth = np.median(positive)
    kernel = squareform(np.exp(-(distances**2) / (2 * bandwidth**2)))
    np.fill_diagonal(kernel, 1.0)
    n_real = len(real)
    mmd2 = kernel[:n_real, :n_real].mean() + kernel[n_real:, n_real:].mean() - 2 * kernel[:n_real, n_real:].mean()
    return float(max(mmd2, 0.0))


def _pearson_matrix(sample: np.ndarray) -> np.ndarray:
    """Pearson correlations, with 0 for every pair involving a constant column.

    A constant column has no defined correlation (0/0); it shares no linear variation
    with any other column, so 0 is used. A synthetic column that collapsed to one value
    thus differs from the real correlations by their full size.
    """
    centred = sample - sample.mean(axis=0)
    norms = np.sqrt(np.sum(centred**2, axis=0))
    varies = np.ptp(sample, axis=0) > 0
    scaled = np.divide(centred, norms, out=np.zeros_like(centred), where=varies)
    return scaled.T @ scaled


def compute_corr_diff(real: np.ndarray, synth: np.ndarray) -> float:
    """Mean absolute difference of the Pearson correlation matrices, off-diagonal only.

    Averaged over the ``p(p-1)/2`` pairs of distinct features (the upper triangle; the
    matrices are symmetric and their diagonals are 1 by definition). A column that is
    constant in one sample has correlation 0 with every other column there.

    Returns
    -------
    float
        In [0, 2]; lower is closer to real, 0 is ideal. NaN when there is a single
        feature (no pairs).
    """
    real, synth = _check_samples(real, synth)
    n_features = real.shape[1]
    if n_features < 2:
        return float("nan")
    upper = np.triu_indices(n_features, k=1)
    return float(np.mean(np.abs(_pearson_matrix(real)[upper] - _pearson_matrix(synth)[upper])))


def _make_detector() -> Pipeline:
    """Logistic regression on the features, their squares and their pairwise products.

    A linear detector misses differences in spread and dependence: a column shuffle or
    noise around the right means leaves every mean unchanged (on radMLBench data a plain
    logistic regression scored the ladder's shuffled rung at chance). The second-order
    terms let the detector see variances and correlations while staying fast (one
    convex fit per fold) and deterministic; a random forest of 100 trees took 10x longer
    (0.4-0.5 s against 0.05 s per call on radMLBench sets of 90-170 rows per side).
    """
    return Pipeline(
        [
            ("terms", PolynomialFeatures(degree=2, include_bias=False)),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=DETECTOR_C, max_iter=5000)),
        ]
    )


def _assign_detection_folds(
    real: np.ndarray, synth: np.ndarray, n_folds: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Fold of every real and synthetic row; near-copies go with the real row they copy.

    Real rows are spread evenly over the folds in a random order (identical real rows
    share a fold), and so are the synthetic rows, except near-copies: a synthetic row
    closer to its nearest real row than ``NEAR_COPY_RATIO`` times the median
    nearest-neighbour distance among the real rows is put in that real row's fold.
    Without this, a held-out real row would meet its own copy in the training set
    labelled "synthetic", the detector would learn to call it synthetic, and copies of
    the real data would score an AUC far below 0.5 (0.1-0.3 on radMLBench data) instead
    of 0.5. Independent samples have almost no rows that close, so for them the folds
    are ordinary stratified folds. Rows farther than the threshold but still closer to
    one real row than the real rows are to each other still pull the AUC below 0.5;
    :func:`align_metrics` counts that as a deviation (such a sample is near-memorised).
    If every synthetic row lands in one fold (a sample collapsed onto rows of one fold),
    the synthetic rows are spread evenly instead, as a training set needs both kinds.
    """
    _, real_groups = np.unique(real, axis=0, return_inverse=True)
    real_folds = (rng.permutation(real_groups.max() + 1) % n_folds)[real_groups]
    to_real = cdist(synth, real)
    nearest = to_real.argmin(axis=1)
    real_to_real = cdist(real, real)
    np.fill_diagonal(real_to_real, np.inf)
    threshold = NEAR_COPY_RATIO * np.median(real_to_real.min(axis=1))
    near_copy = to_real[np.arange(len(synth)), nearest] <= threshold
    synth_folds = np.empty(len(synth), dtype=int)
    synth_folds[near_copy] = real_folds[nearest[near_copy]]
    synth_folds[~near_copy] = rng.permutation(int((~near_copy).sum())) % n_folds
    if np.unique(synth_folds).size < 2:
        synth_folds = rng.permutation(len(synth)) % n_folds
    return real_folds, synth_folds


def compute_detection_auc(real: np.ndarray, synth: np.ndarray, seed: int, n_folds: int = 5) -> float:
    """Cross-validated ROC-AUC of a classifier telling synthetic from real rows.

    The detector is a logistic regression on first- and second-order terms (see
    ``_make_detector``), fitted on ``n_folds - 1`` folds and scored on the held-out
    fold; folds are stratified and keep near-copies with the real row they copy (see
    ``_assign_detection_folds``). The AUC is taken over all (real, synthetic) pairs that
    share a held-out fold, so each fold's scores come from one model and a fold weighs
    by its number of pairs (with equal folds: the mean of the per-fold AUCs).

    Parameters
    ----------
    real, synth : ndarray (n, p), (m, p)
    seed : int
        Seeds the fold assignment.
    n_folds : int
        Number of folds (``metrics.detection_folds``); each sample needs at least as
        many rows.

    Returns
    -------
    float
        0.5 is ideal (indistinguishable), 1 is perfectly detected. Values below 0.5 are
        chance fluctuations; use ``|AUC - 0.5|`` (:func:`align_metrics`) to rank.

    Notes
    -----
    Two samples of one distribution score slightly below 0.5 on average, the known
    small-sample bias of a cross-validated AUC: over 20 seeds, 200 + 200 rows and 8
    features, 0.46 ± 0.05 for skewed correlated features and 0.48 ± 0.04 for Gaussian
    ones (plain stratified folds: 0.46 and 0.50).
    """
    real, synth = _check_samples(real, synth)
    if n_folds < 2:
        raise ValueError(f"detection needs at least 2 folds, got {n_folds}")
    if min(len(real), len(synth)) < n_folds:
        raise ValueError(
            f"detection with {n_folds} folds needs at least {n_folds} rows per sample, "
            f"got {len(real)} real and {len(synth)} synthetic"
        )
    real_folds, synth_folds = _assign_detection_folds(real, synth, n_folds, np.random.default_rng(seed))
    pooled = np.vstack([real, synth])
    is_synth = np.r_[np.zeros(len(real), dtype=int), np.ones(len(synth), dtype=int)]
    folds = np.r_[real_folds, synth_folds]
    weighted_auc, n_pairs = 0.0, 0
    # One BLAS thread: the fits are small, and with the cores busy (a parallel grid) two
    # threads made the 200 + 200-row detection 10x slower (0.5 s instead of 0.05 s).
    with threadpool_limits(limits=1):
        for fold in range(n_folds):
            held_out = folds == fold
            fold_pairs = int(np.sum(is_synth[held_out] == 0)) * int(np.sum(is_synth[held_out] == 1))
            if fold_pairs == 0:  # a fold without rows of one kind has no pairs to rank
                continue
            detector = _make_detector().fit(pooled[~held_out], is_synth[~held_out])
            scores = detector.decision_function(pooled[held_out])
            weighted_auc += roc_auc_score(is_synth[held_out], scores) * fold_pairs
            n_pairs += fold_pairs
    return float(weighted_auc / n_pairs)


# --- user metrics ------------------------------------------------------------------------


@dataclass(frozen=True)
class UserMetric:
    """A registered metric: its function and its :class:`MetricInfo`.

    Attributes
    ----------
    name : str
        Column name in the records.
    function : callable
        ``function(real, synth)`` or ``function(real, synth, seed)`` returning a float.
    info : MetricInfo
        Label, ideal value, orientation and scope.
    takes_seed : bool
        Whether ``function`` is called with the seed as a third argument.
    """

    name: str
    function: Callable[..., float]
    info: MetricInfo
    takes_seed: bool


#: Registered user metrics, name -> :class:`UserMetric`, in registration order.
USER_METRICS: dict[str, UserMetric] = {}

ORIENTATIONS = ("lower", "higher", "closer")


def _takes_seed(function: Callable[..., float]) -> bool:
    try:
        parameters = list(inspect.signature(function).parameters.values())
    except (TypeError, ValueError):  # builtins without a signature: call with (real, synth)
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in parameters) or any(p.name == "seed" for p in parameters):
        return True
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3


def register_metric(
    name: str,
    function: Callable[..., float],
    ideal: float,
    orientation: str = "lower",
    *,
    label: str | None = None,
    scope: str = "joint",
    replace: bool = False,
) -> UserMetric:
    """Add a quality metric that :func:`quality_metrics` computes after the five built-in ones.

    Parameters
    ----------
    name : str
        Column name in the records; not a built-in metric, nor a column the records
        already have (``arm``, ``status``, ``auc_logreg``, ...).
    function : callable
        ``function(real, synth)`` or ``function(real, synth, seed)``: two float arrays of
        shape (n, p) and (m, p) (the real internal rows and the synthetic rows in the
        selected, standardised feature space) and an int seed; returns a float.
    ideal : float
        The value of synthetic data indistinguishable from the real data (0 for a
        distance, 0.5 for a detection AUC, 1 for a similarity score of at most 1).
    orientation : {"lower", "higher", "closer"}
        ``lower``: smaller is closer to real and values lie at or above ``ideal``;
        ``higher``: larger is closer to real and values lie at or below ``ideal``;
        ``closer``: the distance from ``ideal`` counts, on either side. In every case
        :func:`align_metrics` reports ``|value - ideal|``.
    label : str, optional
        Text for tables and axes (default: ``name``).
    scope : {"joint", "marginal"}
        What the metric sees (documentation only).
    replace : bool
        Allow replacing a registered user metric of the same name.

    Returns
    -------
    UserMetric

    Raises
    ------
    ValueError
        A bad name, a name already taken, an orientation not in ``ORIENTATIONS``, a
        non-finite ideal or a function that is not callable.

    Examples
    --------
    >>> import numpy as np
    >>> def mean_gap(real, synth):
    ...     return float(np.abs(real.mean(axis=0) - synth.mean(axis=0)).mean())
    >>> _ = register_metric("mean_gap", mean_gap, ideal=0.0, orientation="lower")
    >>> unregister_metric("mean_gap")
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"a metric name must be a Python identifier such as 'mean_gap', got {name!r}")
    if name in METRICS or name in RESERVED_COLUMNS or name.startswith(("auc_", "delta_auc_")):
        raise ValueError(f"'{name}' is a built-in metric or a column of the records; choose another name")
    if name in USER_METRICS and not replace:
        raise ValueError(f"a metric named '{name}' is already registered; pass replace=True to replace it")
    if not callable(function):
        raise ValueError(f"metric '{name}': function must be callable, got {function!r}")
    if orientation not in ORIENTATIONS:
        raise ValueError(f"metric '{name}': orientation must be one of {', '.join(ORIENTATIONS)}, got {orientation!r}")
    if not np.isfinite(ideal):
        raise ValueError(f"metric '{name}': ideal must be a finite number, got {ideal!r}")
    text = orientation if orientation != "closer" else f"closer to {ideal:g}"
    metric = UserMetric(name, function, MetricInfo(label or name, float(ideal), text, scope), _takes_seed(function))
    USER_METRICS[name] = metric
    return metric


def unregister_metric(name: str) -> None:
    """Remove a registered user metric (built-in metrics cannot be removed)."""
    if name not in USER_METRICS:
        raise ValueError(f"no user metric named '{name}'; registered: {', '.join(USER_METRICS) or 'none'}")
    del USER_METRICS[name]


def registered_metrics() -> dict[str, MetricInfo]:
    """Every metric :func:`quality_metrics` computes: the five built-in ones, then the user ones."""
    return {**METRICS, **{name: metric.info for name, metric in USER_METRICS.items()}}


def _user_metric_values(real: np.ndarray, synth: np.ndarray, seed: int) -> dict[str, float]:
    values = {}
    for name, metric in USER_METRICS.items():
        args = (real, synth, seed) if metric.takes_seed else (real, synth)
        values[name] = float(metric.function(*args))
    return values


def quality_metrics(
    real: np.ndarray, synth: np.ndarray, seed: int, config_or_params: Config | Mapping[str, Any]
) -> dict[str, float]:
    """All five quality metrics of a synthetic sample, keyed as in :data:`METRICS`.

    Parameters
    ----------
    real : ndarray (n, p)
        The real internal data in the selected, standardised feature space.
    synth : ndarray (m, p)
        The synthetic sample in the same space.
    seed : int
        Seeds the MMD subsampling and the detection folds (each function gets this seed,
        so a value can be recomputed alone).
    config_or_params : Config or mapping
        A configuration, its parameter mapping, or its ``metrics`` section
        (``detection_folds``, ``mmd_max_rows``).

    Returns
    -------
    dict
        ``wasserstein``, ``ks``, ``mmd2``, ``corr_diff``, ``detection_auc``, then every
        metric of :func:`register_metric` (:data:`USER_METRICS`) in registration order.
        A user metric that raises makes the call raise (in the grid: the arm is recorded
        as failed with the error).
    """
    params = read_section(config_or_params, "metrics", ("detection_folds", "mmd_max_rows"))
    values = {
        "wasserstein": compute_wasserstein(real, synth),
        "ks": compute_ks(real, synth),
        "mmd2": compute_mmd2(real, synth, seed, max_rows=params["mmd_max_rows"]),
        "corr_diff": compute_corr_diff(real, synth),
        "detection_auc": compute_detection_auc(real, synth, seed, n_folds=params["detection_folds"]),
    }
    if USER_METRICS:
        values.update(_user_metric_values(*_check_samples(real, synth), seed))
    return values


#: Prefix of the records' columns holding the sampling floor of each metric.
FLOOR_PREFIX = "floor_"


def sampling_floor(
    real: np.ndarray, y: np.ndarray, seed: int, config_or_params: Config | Mapping[str, Any]
) -> dict[str, float]:
    """Every metric of :func:`quality_metrics` between two disjoint halves of the real rows.

    The *sampling floor*: what a perfect generator, one that draws fresh rows from the real
    distribution, would score against a real sample of half this size. Much of a distance
    between two finite samples is sampling noise that shrinks with n, so a raw metric mixes
    the generator's fidelity with the dataset's size; the floor measures the second part.
    The halves are split within each class (``y``) so both keep the class proportions; with
    an odd count the first half gets the extra row.

    Parameters
    ----------
    real : ndarray (n, p)
        The real internal rows in the selected, standardised feature space.
    y : ndarray (n,)
        Their labels.
    seed : int
        Seeds the split and the metrics.
    config_or_params : Config or mapping
        As for :func:`quality_metrics`.

    Returns
    -------
    dict
        ``floor_<metric>`` for every metric :func:`quality_metrics` returns.
    """
    real = _check_sample("real", real)
    y = np.asarray(y)
    if len(y) != len(real):
        raise ValueError(f"y has {len(y)} labels for {len(real)} rows")
    rng = np.random.default_rng(seed)
    first = np.zeros(len(y), dtype=bool)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        first[rows[: (len(rows) + 1) // 2]] = True
    values = quality_metrics(real[first], real[~first], seed, config_or_params)
    return {f"{FLOOR_PREFIX}{name}": value for name, value in values.items()}


def distance_from_ideal(values, metric: str):
    """``|value - ideal|`` of a registered metric: lower is closer to the real data, for every metric.

    The one orientation of the compendium, derived from each metric's declared ideal
    (:data:`METRICS`, :func:`register_metric`): unchanged for the four distances whose ideal
    is 0 (never negative), ``|AUC - 0.5|`` for the detection AUC, and likewise for user
    metrics with their own ideal. ``values`` may be a number, an array or a Series.
    """
    known = registered_metrics()
    if metric not in known:
        raise ValueError(f"unknown metric '{metric}'; registered: {', '.join(known)}")
    return abs(values - known[metric].ideal)


def quality_score(values, metric: str):
    """A metric as a quality score, higher = closer to the real data: ``-|value - ideal|``."""
    return -distance_from_ideal(values, metric)


def align_metrics(values: Mapping[str, float]) -> dict[str, float]:
    """:func:`distance_from_ideal` of every registered metric in ``values``; other keys are left out."""
    known = registered_metrics()
    return {name: distance_from_ideal(value, name) for name, value in values.items() if name in known}


def sanity_ladder(real: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """Synthetic sets of known, increasing distance from ``real``, closest first.

    Each rung keeps what the one before it broke broken, and breaks one more thing:

    ``copy``
        The real data.
    ``small_noise``
        The real data plus Gaussian noise of ``LADDER_NOISE_SD`` times each feature's SD:
        marginals slightly smeared, correlations slightly weakened.
    ``shuffled``
        ``small_noise`` with every column permuted independently: the same marginals as
        ``small_noise``, no dependence between features left.
    ``pure_noise``
        Knows nothing of the data but each feature's range: uniform on
        ``[min, max]`` of the real feature, coupled by a random one-factor dependence
        (a Gaussian copula with loadings ``±LADDER_NOISE_LOADING``, random signs), so
        both the marginals and the dependence are wrong. A random dependence is farther
        from the real correlations than none: ``E|r - R| >= |r|`` for any ``R``
        symmetric about 0.

    Expected order, with the ties that hold by construction: every metric is lowest
    for ``copy`` (0; detection AUC exactly 0.5) and highest for ``pure_noise``. The
    marginal metrics (``wasserstein``, ``ks``) give ``small_noise`` and ``shuffled``
    exactly the same value, as a column permutation keeps each column's values; the
    joint metrics rank ``shuffled`` strictly above ``small_noise``. When the real
    features are strongly correlated, a detector finds both ``shuffled`` and
    ``pure_noise`` almost perfectly (AUC near 1), and their order at that ceiling is
    not guaranteed.

    Parameters
    ----------
    real : ndarray (n, p)
    seed : int

    Returns
    -------
    dict
        Rung name -> array of the shape of ``real``, in ladder order.
    """
    real = _check_sample("real", real)
    rng = np.random.default_rng(seed)
    n_rows, n_features = real.shape
    small_noise = real + rng.normal(size=real.shape) * (LADDER_NOISE_SD * real.std(axis=0))
    column_orders = np.argsort(rng.random(real.shape), axis=0)
    shuffled = np.take_along_axis(small_noise, column_orders, axis=0)
    loadings = LADDER_NOISE_LOADING * rng.choice([-1.0, 1.0], size=n_features)
    factor = rng.normal(size=(n_rows, 1))
    latent = factor * loadings + rng.normal(size=real.shape) * np.sqrt(1 - loadings**2)
    low, high = real.min(axis=0), real.max(axis=0)
    pure_noise = low + ndtr(latent) * (high - low)
    return {"copy": real.copy(), "small_noise": small_noise, "shuffled": shuffled, "pure_noise": pure_noise}
