"""Analyses 1 and 2: does a quality score go with ΔAUC, pooled over generators and within each?

Analysis 1 is the Spearman rank correlation of each quality score with ΔAUC, analysis 2 the
score as a classifier of "ΔAUC > 0"; both are computed over all generator pairs together
("pooled") and within each generator by one function, :func:`compute_by_generator`, and get
cluster-bootstrap CIs (:mod:`radlib.analysis.bootstrap`).

The p-values of analysis 1 are scipy's (asymptotic, independent pairs; exact for at most
:data:`EXACT_SPEARMAN_MAX_N` pairs) and feed the Benjamini-Hochberg correction
(:func:`adjust_fdr`). For the *pooled* group the pairs of one dataset are not independent,
so the pooled p-value can be optimistic where the cluster-bootstrap CI is not. Where the
two disagree, trust the CI.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score
from statsmodels.stats.multitest import multipletests

from radlib.analysis.bootstrap import add_bootstrap_interval, weighted_auc, weighted_spearman
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.analysis.pairs import METRICS, generator_pairs, generators_of
from radlib.analysis.scores import orient_quality, with_composite
from radlib.records import COMPOSITE, POOLED

__all__ = [
    "EXACT_SPEARMAN_MAX_N",
    "compute_by_generator",
    "compute_by_metric",
    "adjust_fdr",
    "spearman_p_value",
    "spearman_row",
    "roc_row",
    "correlate_quality",
    "discriminate_quality",
]

#: Up to this many pairs the Spearman p-value is the exact permutation p-value (8! = 40,320
#: pairings); scipy's t approximation gives p = 0 for a perfect rank order of 4 pairs.
EXACT_SPEARMAN_MAX_N = 8


def compute_by_generator(
    pairs: pd.DataFrame, statistic: Callable[..., Mapping | list], pooled: bool = True, **kwargs: Any
) -> pd.DataFrame:
    """Compute a statistic over all generator pairs ("pooled") and within each generator.

    Parameters
    ----------
    pairs : DataFrame
        A pair table; SMOTE and real-only rows are ignored.
    statistic : callable
        ``statistic(subset, **kwargs)`` returning a dict (one row) or a list of dicts.
    pooled : bool
        Include the pooled group (first); False gives the per-generator groups only.

    Returns
    -------
    DataFrame
        The rows with a ``group`` column (``"pooled"`` or the generator name) first.
    """
    gen = generator_pairs(pairs)
    groups = ([(POOLED, gen)] if pooled else []) + [(g, gen[gen["arm"] == g]) for g in generators_of(pairs)]
    rows = []
    for name, subset in groups:
        result = statistic(subset, **kwargs)
        for row in [result] if isinstance(result, Mapping) else result:
            rows.append({"group": name, **row})
    return pd.DataFrame(rows)


def compute_by_metric(
    pairs: pd.DataFrame, statistic: Callable[..., Mapping | list], metrics: Sequence[str], **kwargs: Any
) -> pd.DataFrame:
    """:func:`compute_by_generator` of each metric, stacked in the order of ``metrics``.

    Parameters
    ----------
    pairs : DataFrame
        A pair table holding every metric of ``metrics`` (the composite too, if listed).
    statistic : callable
        ``statistic(subset, metric=m, **kwargs)``, as in :func:`compute_by_generator`.
    metrics : sequence of str

    Returns
    -------
    DataFrame
        The rows of every metric, ``group`` first, renumbered from 0.
    """
    return pd.concat([compute_by_generator(pairs, statistic, metric=m, **kwargs) for m in metrics], ignore_index=True)


def adjust_fdr(p_values: Sequence[float], *, alpha: float = ALPHA) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg q-values over one family of tests, NaN p-values left out.

    Uses ``statsmodels.stats.multitest.multipletests(method="fdr_bh")`` on the finite
    p-values; NaN p-values (tests that could not be done) get NaN q and are not counted
    in the family size.

    Returns
    -------
    q_values : ndarray of float
    reject : ndarray of bool
        q < alpha (False where NaN).
    """
    p = np.asarray(p_values, dtype=float)
    q = np.full(p.shape, np.nan)
    reject = np.zeros(p.shape, dtype=bool)
    finite = np.isfinite(p)
    if finite.any():
        reject[finite], q[finite] = multipletests(p[finite], alpha=alpha, method="fdr_bh")[:2]
    return q, reject


def _scores_and_deltas(subset: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``dataset``, ``score`` (the oriented metric) and ``delta`` of the pairs with both values."""
    frame = pd.DataFrame(
        {
            "dataset": subset["dataset"].to_numpy(),
            "score": orient_quality(subset, metric).to_numpy(float),
            "delta": subset["delta_auc"].to_numpy(float),
        }
    )
    return frame.dropna().reset_index(drop=True)


def _spearman_statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman ρ along ``axis`` (vectorised for scipy.stats.permutation_test)."""
    rx, ry = stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    return (rx * ry).sum(axis=axis) / np.sqrt((rx**2).sum(axis=axis) * (ry**2).sum(axis=axis))


def spearman_p_value(score: np.ndarray, delta: np.ndarray, asymptotic_p: float) -> float:
    """The two-sided p-value of Spearman's ρ: exact for small samples, else ``asymptotic_p``.

    Up to :data:`EXACT_SPEARMAN_MAX_N` pairs, the exact permutation p-value over every
    pairing (``scipy.stats.permutation_test(permutation_type="pairings")``); above it,
    ``asymptotic_p`` (scipy's t approximation) is returned unchanged.
    """
    if len(score) > EXACT_SPEARMAN_MAX_N:
        return asymptotic_p
    # Permuting one sample enumerates the n! pairings once; passing both would enumerate (n!)^2
    # (1.6e9 at n = 8, beyond memory) for the same null distribution.
    exact = stats.permutation_test(
        (score,),
        lambda permuted, axis=-1: _spearman_statistic(permuted, delta, axis),
        permutation_type="pairings",
        vectorized=True,
        n_resamples=np.inf,
    )
    return float(exact.pvalue)


def spearman_row(data: pd.DataFrame, *, n_boot: int, seed: int, alpha: float) -> dict:
    """Spearman ρ of ``data["score"]`` with ``data["delta"]``: ρ, p-value and a dataset-bootstrap CI.

    ``data`` has ``dataset``, ``score`` and ``delta`` (no missing values); the p-value is
    :func:`spearman_p_value`'s, the CI the cluster-bootstrap percentile interval over datasets.
    """
    row = {
        "n": len(data),
        "rho": np.nan,
        "p_value": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n_boot_used": 0,
        "note": "",
    }
    if len(data) < 3 or data["score"].nunique() < 2 or data["delta"].nunique() < 2:
        row["note"] = "fewer than 3 pairs or a constant variable"
        return row
    result = stats.spearmanr(data["score"], data["delta"])
    row["rho"] = float(result.statistic)
    row["p_value"] = spearman_p_value(data["score"].to_numpy(), data["delta"].to_numpy(), float(result.pvalue))
    score, delta = data["score"].to_numpy(), data["delta"].to_numpy()
    add_bootstrap_interval(
        row, data, lambda w: weighted_spearman(score, delta, w), n_boot=n_boot, seed=seed, alpha=alpha
    )
    return row


def _spearman_row(subset: pd.DataFrame, metric: str, *, n_boot: int, seed: int, alpha: float) -> dict:
    return {"metric": metric, **spearman_row(_scores_and_deltas(subset, metric), n_boot=n_boot, seed=seed, alpha=alpha)}


def correlate_quality(
    pairs: pd.DataFrame,
    metrics: Sequence[str] = (*METRICS, COMPOSITE),
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
    pooled: bool = True,
) -> pd.DataFrame:
    """Analysis 1: Spearman ρ of each quality score with ΔAUC, pooled and per generator.

    ρ is ``scipy.stats.spearmanr`` of :func:`~radlib.analysis.scores.orient_quality`
    (higher = better quality) with ``delta_auc``, with its asymptotic p-value (the exact
    permutation p-value for at most :data:`EXACT_SPEARMAN_MAX_N` pairs); positive ρ =
    better quality, larger ΔAUC. The 95% CI is the cluster-bootstrap percentile interval
    (datasets resampled, ``n_boot`` resamples from ``seed``). Benjamini-Hochberg q-values
    (:func:`adjust_fdr`) are computed over the whole family: every metric (including the
    composite, if listed) x every group (pooled and each generator) in the returned table.
    ``pooled=False`` leaves the pooled group out (no resamples spent on it; the family is then
    the per-generator rows).

    Returns
    -------
    DataFrame
        ``group``, ``metric``, ``n``, ``rho``, ``p_value``, ``ci_low``, ``ci_high``,
        ``n_boot_used``, ``note``, ``q_value``, ``significant`` (q < alpha).
    """
    pairs = with_composite(pairs)
    table = compute_by_metric(pairs, _spearman_row, metrics, pooled=pooled, n_boot=n_boot, seed=seed, alpha=alpha)
    table["q_value"], table["significant"] = adjust_fdr(table["p_value"], alpha=alpha)
    return table


def roc_row(data: pd.DataFrame, *, n_boot: int, seed: int, alpha: float) -> dict:
    """ROC AUC of ``data["score"]`` for ``data["delta"] > 0``, with a dataset-bootstrap CI."""
    label = (data["delta"] > 0).to_numpy()
    row = {
        "n": len(data),
        "n_improved": int(label.sum()),
        "auc": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n_boot_used": 0,
        "note": "",
    }
    if label.all() or not label.any():
        row["note"] = f"one outcome class only ({row['n_improved']} of {len(data)} pairs improved)"
        return row
    row["auc"] = float(roc_auc_score(label, data["score"]))
    score = data["score"].to_numpy()
    add_bootstrap_interval(row, data, lambda w: weighted_auc(score, label, w), n_boot=n_boot, seed=seed, alpha=alpha)
    return row


def _roc_row(subset: pd.DataFrame, metric: str, *, n_boot: int, seed: int, alpha: float) -> dict:
    return {"metric": metric, **roc_row(_scores_and_deltas(subset, metric), n_boot=n_boot, seed=seed, alpha=alpha)}


def discriminate_quality(
    pairs: pd.DataFrame,
    metrics: Sequence[str] = (*METRICS, COMPOSITE),
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Analysis 2: each quality score as a classifier of "ΔAUC > 0", pooled and per generator.

    The score is :func:`~radlib.analysis.scores.orient_quality` (higher = predicted
    improvement); the AUC is ``sklearn.metrics.roc_auc_score`` of the outcome
    ``delta_auc > 0``. The 95% CI is the cluster-bootstrap percentile interval (datasets
    resampled, ties counted 1/2; resamples with one outcome class skipped), chosen over
    DeLong because DeLong assumes independent pairs, which pooled pairs of one dataset
    are not. With a single outcome class the AUC is NaN and ``note`` says why.

    Returns
    -------
    DataFrame
        ``group``, ``metric``, ``n``, ``n_improved``, ``auc``, ``ci_low``, ``ci_high``,
        ``n_boot_used``, ``note``.
    """
    pairs = with_composite(pairs)
    return compute_by_metric(pairs, _roc_row, metrics, n_boot=n_boot, seed=seed, alpha=alpha)
