"""Simulated external validation: external sites and their acquisition shift (docs/protocol.md, step 2).

A radMLBench dataset comes from one study, so the compendium simulates the new
hospital. In each repetition :func:`simulate_external_folds` partitions the patients
into ``K`` disjoint site-folds (profile key ``shift.folds``, default 5); each fold in
turn is the external site and the other ``K - 1`` folds are the internal set, so every
patient is external exactly once per repetition and a repetition yields ``K`` external
evaluations. The partition follows one of three strategies (``shift.strategy``):

``site`` (default)
    Patients who differ systematically: the features are median-imputed and
    standardised, projected on their first ``n_components`` principal components, and
    scored along a random unit direction in that space (a new one per repetition). The
    folds are ``K`` quantile slabs of that site score, fold 0 the lowest.
``random``
    A random partition into ``K`` folds whose sizes differ by at most one: no
    population shift, the internal-validation control. Not stratified by the label,
    which no strategy sees.
``cluster``
    k-means sites: ``K`` clusters of the same principal-component scores, numbered by
    their centre's first principal-component score. ``n_clusters`` is not used then;
    the number of sites is the number of folds.

``K = 1`` keeps version 1's single external site of ``external_fraction`` of the
patients (:func:`split_external`; there ``cluster`` uses ``n_clusters``), through
:func:`simulate_external`, which :func:`simulate_external_folds` calls for ``K = 1``:
its split is that of version 1, index for index and value for value. With ``K >= 2``
``external_fraction`` and ``n_clusters`` are not used.

The imputation, standardisation and PCA of ``site`` and ``cluster`` are fitted on all
patients: they simulate where patients come from, which is a property of the data
set, not a step of model development (the development pipeline is fitted on the
internal set only, later). Every strategy reads the features only; the label is not
even a parameter, so the split cannot depend on it.

:func:`acquisition_shift` then changes how the external site measures: a ComBat-style
batch effect, a random scale and offset per feature. Each fold draws its own shift
(its own seed): the folds stand for different hospitals, and each has its own
scanner and protocol, so the ``K`` evaluations of a repetition sample the acquisition
shift as well as the population shift, instead of repeating one draw ``K`` times.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from radlib.config import Config, derive_seed
from radlib.sections import read_section

__all__ = [
    "STRATEGIES",
    "SHIFT_KEYS",
    "SINGLE_SITE_KEYS",
    "ExternalSplit",
    "split_external",
    "acquisition_shift",
    "simulate_external",
    "simulate_external_folds",
]

# Keys of the profile section `shift` (radlib/profiles/defaults.yaml).
SHIFT_KEYS = ("strategy", "folds", "external_fraction", "n_components", "n_clusters", "severity")
# What the single external site (folds = 1) reads: everything but the number of folds.
SINGLE_SITE_KEYS = tuple(key for key in SHIFT_KEYS if key != "folds")
# k-means restarts (n_init): more restarts make the sites depend less on the
# initialisation, at a negligible cost on a few hundred patients.
KMEANS_RESTARTS = 10


@dataclass(frozen=True)
class ExternalSplit:
    """An internal set, an external site, and the external features after the shift.

    Attributes
    ----------
    internal_idx, external_idx : ndarray of int
        Sorted row indices of the input; disjoint, together all rows.
    X_external_shifted : ndarray (len(external_idx), p)
        ``X[external_idx]`` after the acquisition shift (missing values stay missing).
    strategy : str
        The split strategy used.
    severity : float
        The acquisition-shift severity used.
    split_seed, shift_seed : int
        Seeds of the split and of the acquisition shift, derived from the given seed.
    fold : int
        Which site-fold of the repetition is external, ``0 .. folds - 1`` (0 for a
        single external site).
    """

    internal_idx: np.ndarray
    external_idx: np.ndarray
    X_external_shifted: np.ndarray
    strategy: str
    severity: float
    split_seed: int
    shift_seed: int
    fold: int


def _check_features(X: Any) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[1] < 1:
        raise ValueError(f"X must be a 2-D array (patients x features), got shape {X.shape}")
    if np.isinf(X).any():
        raise ValueError("X holds infinite values; clean them to missing (NaN) first")
    return X


def _external_size(n_rows: int, fraction: float) -> int:
    """Number of external patients: ``fraction * n_rows`` rounded half up."""
    if not 0 < fraction < 1:
        raise ValueError(f"external_fraction must lie strictly between 0 and 1, got {fraction}")
    n_external = int(np.floor(fraction * n_rows + 0.5))
    if not 1 <= n_external <= n_rows - 1:
        raise ValueError(
            f"{n_rows} rows are too few for an external fraction of {fraction}: it gives "
            f"{n_external} external and {n_rows - n_external} internal patients; both need at least 1"
        )
    return n_external


def _principal_scores(X: np.ndarray, n_components: int) -> np.ndarray:
    """Scores on the first ``min(n_components, n, p)`` principal components.

    Median imputation and standardisation first, all fitted on every row (see the
    module docstring). The scores are not whitened, so components weigh by their
    variance.
    """
    n_components = min(n_components, *X.shape)
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("project", PCA(n_components=n_components, svd_solver="full")),
        ]
    ).fit_transform(X)


def _site_score(X: np.ndarray, n_components: int, rng: np.random.Generator) -> np.ndarray:
    """Each patient's principal-component scores projected on a random unit direction."""
    scores = _principal_scores(X, n_components)
    direction = rng.normal(size=(scores.shape[1],))
    direction /= np.linalg.norm(direction)
    return scores @ direction


def _split_site(X: np.ndarray, n_external: int, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    return np.argsort(-_site_score(X, params["n_components"], rng), kind="stable")[:n_external]


def _split_random(X: np.ndarray, n_external: int, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(X), size=n_external, replace=False)


def _kmeans_sites(scores: np.ndarray, n_clusters: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """k-means labels of the rows of ``scores`` and the cluster centres, seeded from ``rng``."""
    kmeans = KMeans(n_clusters=n_clusters, n_init=KMEANS_RESTARTS, random_state=int(rng.integers(2**31)))
    # One thread: on a few hundred rows k-means took 6 ms on one thread and 1-3 s on two
    # when the cores were busy (as they are in a parallel grid).
    with threadpool_limits(limits=1):
        labels = kmeans.fit_predict(scores)
    return labels, kmeans.cluster_centers_


def _split_cluster(X: np.ndarray, n_external: int, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    labels, centres = _kmeans_sites(_principal_scores(X, params["n_components"]), params["n_clusters"], rng)
    present = np.unique(labels)
    # Number the clusters by their centre's first principal-component score, so that the
    # choice depends on the partition, not on k-means' arbitrary numbering.
    clusters = rng.permutation(present[np.argsort(centres[present, 0])])
    if clusters.size < 2:
        raise ValueError("k-means found a single cluster (too few distinct patients); use another strategy")
    cumulative_sizes = np.cumsum(np.bincount(labels)[clusters])
    # Clusters enter until the external site reaches its share; the last cluster never
    # does, so the internal set keeps at least one cluster.
    n_taken = min(int(np.searchsorted(cumulative_sizes, n_external)) + 1, clusters.size - 1)
    return np.flatnonzero(np.isin(labels, clusters[:n_taken]))


_SPLITTERS: dict[str, Callable[[np.ndarray, int, Mapping[str, Any], np.random.Generator], np.ndarray]] = {
    "site": _split_site,
    "random": _split_random,
    "cluster": _split_cluster,
}
STRATEGIES = tuple(_SPLITTERS)


def _folds_site(X: np.ndarray, n_folds: int, params: Mapping[str, Any], rng: np.random.Generator) -> list[np.ndarray]:
    # Quantile slabs: the rows in ascending site score, cut into near-equal runs.
    return np.array_split(np.argsort(_site_score(X, params["n_components"], rng), kind="stable"), n_folds)


def _folds_random(X: np.ndarray, n_folds: int, params: Mapping[str, Any], rng: np.random.Generator) -> list[np.ndarray]:
    return np.array_split(rng.permutation(len(X)), n_folds)


def _folds_cluster(
    X: np.ndarray, n_folds: int, params: Mapping[str, Any], rng: np.random.Generator
) -> list[np.ndarray]:
    labels, centres = _kmeans_sites(_principal_scores(X, params["n_components"]), n_folds, rng)
    n_found = np.unique(labels).size
    if n_found < n_folds:
        raise ValueError(
            f"k-means found only {n_found} non-empty sites for shift.folds = {n_folds} (too few distinct "
            "patients); use fewer folds or another strategy"
        )
    # Fold k is the cluster with the k-th lowest centre on the first principal component,
    # so the numbering depends on the partition, not on k-means' arbitrary labels.
    return [np.flatnonzero(labels == cluster) for cluster in np.argsort(centres[:, 0], kind="stable")]


_FOLD_SPLITTERS: dict[str, Callable[[np.ndarray, int, Mapping[str, Any], np.random.Generator], list[np.ndarray]]] = {
    "site": _folds_site,
    "random": _folds_random,
    "cluster": _folds_cluster,
}


def _check_shift_params(params: Mapping[str, Any]) -> None:
    if params["strategy"] not in STRATEGIES:
        raise ValueError(f"unknown shift strategy {params['strategy']!r}; allowed: {', '.join(STRATEGIES)}")
    if params["n_components"] < 1:
        raise ValueError(f"n_components must be at least 1, got {params['n_components']}")


def split_external(
    X: np.ndarray, config_or_params: Config | Mapping[str, Any], seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split patients into an internal set and an external site, from the features alone.

    Parameters
    ----------
    X : ndarray (n, p)
        Features; missing values (NaN) allowed. There is deliberately no label
        parameter: the split cannot look at the outcome.
    config_or_params : Config or mapping
        A configuration, its parameter mapping, or its ``shift`` section: ``strategy``
        (one of :data:`STRATEGIES`), ``external_fraction``, ``n_components`` (principal
        components, at most ``min(n, p)`` are used), ``n_clusters`` (``cluster`` only).
    seed : int
        Seeds the direction (``site``), the subset (``random``), or k-means and the
        cluster order (``cluster``).

    Returns
    -------
    internal_idx, external_idx : ndarray of int
        Sorted, disjoint row indices covering every row.

    Notes
    -----
    ``site`` and ``random`` hold out exactly ``external_fraction * n`` patients, rounded
    half up. ``cluster`` moves whole clusters to the external site, in a seeded random
    order (of the clusters numbered by their centre's first principal-component score),
    until it holds at least that many; the last cluster stays internal, so both sets are
    non-empty, and the external share can exceed (or, when the other clusters together
    are too small, fall short of) the fraction.

    Raises
    ------
    ValueError
        A fraction outside (0, 1), too few rows for both sets, an unknown strategy,
        ``n_components < 1``, or ``n_clusters`` outside ``[2, n]`` for ``cluster``.
    """
    params = read_section(config_or_params, "shift", ("strategy", "external_fraction", "n_components", "n_clusters"))
    X = _check_features(X)
    n_external = _external_size(len(X), params["external_fraction"])
    _check_shift_params(params)
    if params["strategy"] == "cluster" and not 2 <= params["n_clusters"] <= len(X):
        raise ValueError(f"n_clusters must lie between 2 and the number of rows ({len(X)}), got {params['n_clusters']}")
    external_idx = np.sort(_SPLITTERS[params["strategy"]](X, n_external, params, np.random.default_rng(seed)))
    internal_idx = np.setdiff1d(np.arange(len(X)), external_idx)
    return internal_idx, external_idx


def acquisition_shift(X_external: np.ndarray, severity: float, seed: int, scale_reference: np.ndarray) -> np.ndarray:
    """Apply a ComBat-style batch effect: a random scale and offset per feature.

    ``x' = x * (1 + a_j) + b_j * SD_j`` for feature j, with ``a_j, b_j ~ N(0, severity²)``
    drawn independently per feature, and ``SD_j`` the sample SD (ddof = 1, missing
    values ignored) of feature j in ``scale_reference``, the internal set: the offset is
    measured in the units the model is developed in. A feature with fewer than two
    observed reference values gets no offset.

    Parameters
    ----------
    X_external : ndarray (m, p)
        External features; missing values stay missing.
    severity : float
        The SD ``s`` of ``a`` and ``b``; 0 returns an unchanged copy.
    seed : int
        Seeds ``a`` and ``b``.
    scale_reference : ndarray (n, p)
        Internal features that set each feature's SD.

    Returns
    -------
    ndarray (m, p)
    """
    X_external = np.asarray(X_external, dtype=float)
    scale_reference = np.asarray(scale_reference, dtype=float)
    if severity < 0:
        raise ValueError(f"severity must be >= 0, got {severity}")
    if X_external.ndim != 2 or scale_reference.ndim != 2 or X_external.shape[1] != scale_reference.shape[1]:
        raise ValueError(
            f"X_external {X_external.shape} and scale_reference {scale_reference.shape} "
            "must be 2-D with the same number of features"
        )
    if severity == 0:
        return X_external.copy()
    rng = np.random.default_rng(seed)
    n_features = X_external.shape[1]
    scale = rng.normal(0.0, severity, size=n_features)
    offset = rng.normal(0.0, severity, size=n_features)
    with warnings.catch_warnings():  # features with < 2 observed values: handled below
        warnings.simplefilter("ignore", RuntimeWarning)
        reference_sd = np.nanstd(scale_reference, axis=0, ddof=1)
    reference_sd = np.where(np.isfinite(reference_sd), reference_sd, 0.0)
    return X_external * (1 + scale) + offset * reference_sd


def _shifted_split(
    X: np.ndarray, external_idx: np.ndarray, params: Mapping[str, Any], split_seed: int, shift_seed: int, fold: int
) -> ExternalSplit:
    """The rest of the rows as the internal set, and the external rows after their acquisition shift."""
    external_idx = np.sort(external_idx)
    internal_idx = np.setdiff1d(np.arange(len(X)), external_idx)
    return ExternalSplit(
        internal_idx=internal_idx,
        external_idx=external_idx,
        X_external_shifted=acquisition_shift(X[external_idx], params["severity"], shift_seed, X[internal_idx]),
        strategy=params["strategy"],
        severity=params["severity"],
        split_seed=split_seed,
        shift_seed=shift_seed,
        fold=fold,
    )


def simulate_external(X: np.ndarray, config_or_params: Config | Mapping[str, Any], seed: int) -> ExternalSplit:
    """Split off a single external site and apply the acquisition shift to its features.

    The ``folds = 1`` design (version 1): :func:`simulate_external_folds` calls this
    function when ``shift.folds`` is 1. Called directly, it makes the single site
    whatever ``folds`` says.

    Parameters
    ----------
    X : ndarray (n, p)
        Features (NaN allowed); no label.
    config_or_params : Config or mapping
        A configuration, its parameter mapping, or its ``shift`` section (all of
        :data:`SINGLE_SITE_KEYS`).
    seed : int
        Seed of this repetition; the split and the shift get their own seeds derived
        from it (``derive_seed(seed, "split")``, ``derive_seed(seed, "acquisition_shift")``).

    Returns
    -------
    ExternalSplit
        With ``fold = 0``.
    """
    params = read_section(config_or_params, "shift", SINGLE_SITE_KEYS)
    X = _check_features(X)
    split_seed = derive_seed(seed, "split")
    _, external_idx = split_external(X, params, split_seed)
    return _shifted_split(X, external_idx, params, split_seed, derive_seed(seed, "acquisition_shift"), fold=0)


def simulate_external_folds(
    X: np.ndarray, config_or_params: Config | Mapping[str, Any], seed: int
) -> list[ExternalSplit]:
    """Partition the patients into site-folds; each fold in turn is the shifted external site.

    Parameters
    ----------
    X : ndarray (n, p)
        Features (NaN allowed). There is deliberately no label parameter: the folds
        cannot look at the outcome.
    config_or_params : Config or mapping
        A configuration, its parameter mapping, or its ``shift`` section (all of
        :data:`SHIFT_KEYS`). ``folds`` is the number ``K`` of site-folds.
    seed : int
        Seed of this repetition. The partition is seeded by ``derive_seed(seed, "split")``
        (the site direction, the random order, or k-means), fold k's acquisition shift by
        ``derive_seed(seed, "acquisition_shift", "fold", k)``.

    Returns
    -------
    list of ExternalSplit
        ``K`` splits, ``fold = 0 .. K - 1``. Their external sets are disjoint and cover
        every row; each internal set is the other ``K - 1`` folds. For ``K = 1`` the single
        split of :func:`simulate_external` (its seeds, so version 1's split and shift).

    Notes
    -----
    ``site`` folds are quantile slabs of the site score, fold 0 the lowest; ``random``
    folds are a random partition into sizes that differ by at most one; ``cluster``
    folds are ``K`` k-means clusters (``n_clusters`` is not used), numbered by their
    centre's first principal-component score. See the module docstring for the design.

    Raises
    ------
    ValueError
        ``folds`` not an integer between 1 and the number of rows, an unknown strategy,
        ``n_components < 1``, k-means finding fewer than ``K`` non-empty sites (too few
        distinct patients), or any error of :func:`simulate_external` when ``K = 1``.
    """
    params = read_section(config_or_params, "shift", SHIFT_KEYS)
    X = _check_features(X)
    n_folds = params["folds"]
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or not 1 <= n_folds <= len(X):
        raise ValueError(f"shift.folds must be an integer between 1 and the number of rows ({len(X)}), got {n_folds!r}")
    if n_folds == 1:
        return [simulate_external(X, params, seed)]
    _check_shift_params(params)
    split_seed = derive_seed(seed, "split")
    folds = _FOLD_SPLITTERS[params["strategy"]](X, int(n_folds), params, np.random.default_rng(split_seed))
    return [
        _shifted_split(X, external_idx, params, split_seed, derive_seed(seed, "acquisition_shift", "fold", k), fold=k)
        for k, external_idx in enumerate(folds)
    ]
