"""The cluster bootstrap: resample datasets, take every pair of a drawn dataset along.

Pairs of one dataset share the real-only baseline and the dataset's difficulty, so they are
not independent; resampling datasets respects that in the pooled analysis, and within a
generator (one pair per dataset) it is the ordinary pairs bootstrap. A resample is a vector
of counts (how often each pair enters it), so that a statistic of all resamples is computed
at once, with weights, and equals the statistic of the expanded (repeated) sample.
Percentile intervals; resamples in which a statistic is undefined (a constant variable, a
single outcome class) are skipped and their count reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "MIN_BOOTSTRAP_DATASETS",
    "can_bootstrap",
    "cluster_counts",
    "weighted_spearman",
    "weighted_auc",
    "percentile_interval",
    "add_bootstrap_interval",
]

#: A cluster bootstrap over fewer datasets than this gives degenerate (near zero-width)
#: intervals; below it the CIs and bootstrap p-values are left undefined, with a note.
MIN_BOOTSTRAP_DATASETS = 5


def can_bootstrap(data: pd.DataFrame, *, n_boot: int, row: dict) -> bool:
    """Whether to bootstrap the pairs of ``data`` (a ``dataset`` column); records why not in ``row["note"]``."""
    if n_boot <= 0:
        return False
    if data["dataset"].nunique() < MIN_BOOTSTRAP_DATASETS:
        row["note"] = (row.get("note") or "") + f"no bootstrap CI: fewer than {MIN_BOOTSTRAP_DATASETS} datasets"
        return False
    return True


def cluster_counts(clusters: Sequence, *, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) how many times each observation enters each cluster-bootstrap resample.

    Clusters (datasets) are drawn with replacement, as many as there are, from
    ``numpy.random.default_rng(seed)``; an observation enters as often as its cluster was drawn.
    """
    codes, uniques = pd.factorize(pd.Series(clusters), sort=True)
    k = len(uniques)
    rng = np.random.default_rng(seed)
    drawn = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    return drawn[:, codes].astype(float)


def _weighted_ranks(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mid-ranks of x within each resample given by count weights w (n_boot, n)."""
    less = (x[None, :] < x[:, None]).astype(float)  # less[i, j] = x_j < x_i
    equal = (x[None, :] == x[:, None]).astype(float)
    return w @ less.T + (w @ equal.T + 1.0) / 2.0


def weighted_spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spearman ρ of each resample (rows of the counts ``w``), exactly as on the expanded sample.

    NaN for a resample in which ``x`` or ``y`` is constant.
    """
    rx, ry = _weighted_ranks(x, w), _weighted_ranks(y, w)
    total = w.sum(axis=1, keepdims=True)
    mx, my = (w * rx).sum(1, keepdims=True) / total, (w * ry).sum(1, keepdims=True) / total
    cov = (w * (rx - mx) * (ry - my)).sum(1)
    vx, vy = (w * (rx - mx) ** 2).sum(1), (w * (ry - my) ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = cov / np.sqrt(vx * vy)
    rho[(vx <= 1e-12) | (vy <= 1e-12)] = np.nan
    return rho


def weighted_auc(score: np.ndarray, label: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC AUC of ``score`` for the boolean ``label`` in each resample (ties count 1/2).

    NaN for a resample that lacks a class.
    """
    pos, neg = score[label], score[~label]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    wp, wn = w[:, label], w[:, ~label]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("bi,ij,bj->b", wp, kernel, wn) / (wp.sum(1) * wn.sum(1))


def percentile_interval(values: np.ndarray, *, alpha: float) -> tuple[float, float, int]:
    """Two-sided ``1 - alpha`` percentile interval of the finite ``values`` and their count.

    ``(nan, nan, 0)`` when no value is finite.
    """
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return np.nan, np.nan, 0
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high), int(len(finite))


def add_bootstrap_interval(
    row: dict,
    data: pd.DataFrame,
    statistic: Callable[[np.ndarray], np.ndarray],
    *,
    n_boot: int,
    seed: int,
    alpha: float,
) -> None:
    """Set ``row["ci_low"]``, ``row["ci_high"]`` and ``row["n_boot_used"]`` from a cluster bootstrap.

    The datasets of ``data`` (its ``dataset`` column) are resampled ``n_boot`` times
    (:func:`cluster_counts`); ``statistic(counts)`` gives the statistic of every resample at
    once, and the row gets its :func:`percentile_interval`. Nothing is set when
    :func:`can_bootstrap` says no (its note says why).
    """
    if can_bootstrap(data, n_boot=n_boot, row=row):
        counts = cluster_counts(data["dataset"], n_boot=n_boot, seed=seed)
        row["ci_low"], row["ci_high"], row["n_boot_used"] = percentile_interval(statistic(counts), alpha=alpha)
