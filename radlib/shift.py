"""Simulated external validation: an external site and its acquisition shift (DESIGN.md step 2).

A radMLBench dataset comes from one study, so the compendium simulates the new
hospital. :func:`split_external` holds out a share of the patients as the external
site, by one of three strategies (profile key ``shift.strategy``):

``site`` (default)
    Patients who differ systematically: the features are median-imputed and
    standardised, projected on their first ``n_components`` principal components, and
    scored along a random unit direction in that space (a new one per seed); the
    ``external_fraction`` of patients with the highest score form the external site.
``random``
    A random subset of the same size: no population shift, the internal-validation
    control.
``cluster``
    k-means sites: ``n_clusters`` clusters of the principal-component scores; whole
    clusters, taken in a seeded random order, form the external site (see
    :func:`split_external` for the rule).

The imputation, standardisation and PCA of ``site`` and ``cluster`` are fitted on all
patients: they simulate where patients come from, which is a property of the data
set, not a step of model development (the development pipeline is fitted on the
internal set only, later). Every strategy reads the features only; the label is not
even a parameter, so the split cannot depend on it.

:func:`acquisition_shift` then changes how the external site measures: a ComBat-style
batch effect, a random scale and offset per feature. :func:`simulate_external` does
both with the profile's ``shift`` parameters.
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
    "ExternalSplit",
    "split_external",
    "acquisition_shift",
    "simulate_external",
]

# Keys of the profile section `shift` (radlib/profiles/defaults.yaml).
SHIFT_KEYS = ("strategy", "external_fraction", "n_components", "n_clusters", "severity")
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
    """

    internal_idx: np.ndarray
    external_idx: np.ndarray
    X_external_shifted: np.ndarray
    strategy: str
    severity: float
    split_seed: int
    shift_seed: int


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


def _split_site(X: np.ndarray, n_external: int, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    scores = _principal_scores(X, params["n_components"])
    direction = rng.normal(size=scores.shape[1])
    direction /= np.linalg.norm(direction)
    return np.argsort(-(scores @ direction), kind="stable")[:n_external]


def _split_random(X: np.ndarray, n_external: int, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(X), size=n_external, replace=False)


def _split_cluster(X: np.ndarray, n_external: int, params: Mapping[str, Any], rng: np.random.Generator) -> np.ndarray:
    scores = _principal_scores(X, params["n_components"])
    kmeans = KMeans(n_clusters=params["n_clusters"], n_init=KMEANS_RESTARTS, random_state=int(rng.integers(2**31)))
    # One thread: on a few hundred rows k-means took 6 ms on one thread and 1-3 s on two
    # when the cores were busy (as they are in a parallel grid).
    with threadpool_limits(limits=1):
        labels = kmeans.fit_predict(scores)
    present = np.unique(labels)
    # Number the clusters by their centre's first principal-component score, so that the
    # choice depends on the partition, not on k-means' arbitrary numbering.
    clusters = rng.permutation(present[np.argsort(kmeans.cluster_centers_[present, 0])])
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


def _check_shift_params(params: Mapping[str, Any], n_rows: int) -> None:
    if params["strategy"] not in STRATEGIES:
        raise ValueError(f"unknown shift strategy {params['strategy']!r}; allowed: {', '.join(STRATEGIES)}")
    if params["n_components"] < 1:
        raise ValueError(f"n_components must be at least 1, got {params['n_components']}")
    if params["strategy"] == "cluster" and not 2 <= params["n_clusters"] <= n_rows:
        raise ValueError(f"n_clusters must lie between 2 and the number of rows ({n_rows}), got {params['n_clusters']}")


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
    _check_shift_params(params, len(X))
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


def simulate_external(X: np.ndarray, config_or_params: Config | Mapping[str, Any], seed: int) -> ExternalSplit:
    """Split off the external site and apply the acquisition shift to its features.

    Parameters
    ----------
    X : ndarray (n, p)
        Features (NaN allowed); no label.
    config_or_params : Config or mapping
        A configuration, its parameter mapping, or its ``shift`` section (all of
        :data:`SHIFT_KEYS`).
    seed : int
        Seed of this repetition; the split and the shift get their own seeds derived
        from it (``derive_seed(seed, "split")``, ``derive_seed(seed, "acquisition_shift")``).

    Returns
    -------
    ExternalSplit
    """
    params = read_section(config_or_params, "shift", SHIFT_KEYS)
    X = _check_features(X)
    split_seed = derive_seed(seed, "split")
    shift_seed = derive_seed(seed, "acquisition_shift")
    internal_idx, external_idx = split_external(X, params, split_seed)
    shifted = acquisition_shift(X[external_idx], params["severity"], shift_seed, X[internal_idx])
    return ExternalSplit(
        internal_idx=internal_idx,
        external_idx=external_idx,
        X_external_shifted=shifted,
        strategy=params["strategy"],
        severity=params["severity"],
        split_seed=split_seed,
        shift_seed=shift_seed,
    )
