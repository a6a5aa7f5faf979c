"""Ladder analysis (c): pooled, between- and within-configuration slopes; slopes per configuration; size-adjusted ρ."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from radlib.analysis.bootstrap import can_bootstrap, cluster_counts, percentile_interval
from radlib.analysis.floor import adjust_in_families, adjusted_correlations
from radlib.analysis.ladder.configurations import DELTA_AUC, SCORES, restrict_to_set, sets_or_nested
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.analysis.scores import orient_quality
from radlib.analysis.within_between import decompose_within_between
from radlib.records import (
    POOLED,
    parse_arm,
)

__all__ = ["adjusted_by_set", "configuration_slopes", "slopes_by_set"]


def _standardized(subset: pd.DataFrame, score: str) -> pd.DataFrame:
    """``dataset``, ``arm``, ``q`` (quality score), ``z`` (standardised over the pairs) and ``delta``."""
    data = pd.DataFrame(
        {
            "dataset": subset["dataset"],
            "arm": subset["arm"],
            "q": orient_quality(subset, score),
            "delta": subset[DELTA_AUC],
        }
    ).dropna()
    data["z"] = (data["q"] - data["q"].mean()) / data["q"].std(ddof=1)
    return data


def _pooled_slopes(q: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Slope of y on the standardised q (ΔAUC per SD of quality) in each resample of count weights ``w``.

    cov_w(q, y) / var_w(q) * sd_w(q), the SD with ``ddof=1`` as in the decomposition; equals
    the least-squares slope of y on (q - mean) / sd on the expanded resample. NaN when q is
    constant in a resample.
    """
    total = w.sum(1, keepdims=True)
    dq = q - (w * q).sum(1, keepdims=True) / total
    dy = y - (w * y).sum(1, keepdims=True) / total
    ssq = (w * dq**2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (w * dq * dy).sum(1) / ssq * np.sqrt(ssq / (total[:, 0] - 1))
    slope[ssq <= 1e-12] = np.nan
    return slope


def slopes_by_set(
    pairs: pd.DataFrame,
    scores: Sequence[str] = SCORES,
    sets: Mapping[str, Sequence[float]] | None = None,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """H1 (c), (d): the pooled slope and the within-between decomposition with configuration as the group.

    Per set and score: :func:`radlib.analysis.decompose_within_between` on the set's pairs (one
    group mean per configuration; dataset-bootstrap CIs refitting the whole decomposition), and
    the *pooled* slope, ΔAUC on the quality score standardised over the set's pairs (the slope
    a study that ignores the configurations would report), with its own dataset-bootstrap
    percentile CI from the same resamples (:func:`radlib.analysis.bootstrap.cluster_counts`,
    ``seed``). Slopes are ΔAUC per SD of quality.

    Returns
    -------
    DataFrame
        ``set``, ``n_configurations``, ``metric``, ``pooled_slope``, ``pooled_ci_low``,
        ``pooled_ci_high``, then the columns of :func:`~radlib.analysis.decompose_within_between`
        (``n_generators`` renamed ``n_groups``).
    """
    frames = []
    for name, fractions in sets_or_nested(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        table = decompose_within_between(subset, scores, n_boot=n_boot, seed=seed, alpha=alpha).rename(
            columns={"n_generators": "n_groups"}
        )
        pooled_rows = []
        for score in scores:
            data = _standardized(subset, score)
            q, y = data["q"].to_numpy(float), data["delta"].to_numpy(float)
            row = {"pooled_slope": np.nan, "pooled_ci_low": np.nan, "pooled_ci_high": np.nan}
            if len(data) >= 3:
                row["pooled_slope"] = float(_pooled_slopes(q, y, np.ones((1, len(q))))[0])
            if len(data) >= 3 and can_bootstrap(data, n_boot=n_boot, row={}):
                low, high, _ = percentile_interval(
                    _pooled_slopes(q, y, cluster_counts(data["dataset"], n_boot=n_boot, seed=seed)), alpha=alpha
                )
                row.update(pooled_ci_low=low, pooled_ci_high=high)
            pooled_rows.append(row)
        table = pd.concat([pd.DataFrame(pooled_rows), table], axis=1)
        table.insert(0, "set", name)
        table.insert(1, "n_configurations", subset["arm"].nunique())
        frames.append(table)
    columns = ["set", "n_configurations", "metric", "pooled_slope", "pooled_ci_low", "pooled_ci_high"]
    table = pd.concat(frames, ignore_index=True)
    return table[columns + [c for c in table.columns if c not in columns]]


def configuration_slopes(
    pairs: pd.DataFrame, scores: Sequence[str] = SCORES, sets: Mapping[str, Sequence[float]] | None = None
) -> pd.DataFrame:
    """The least-squares slope of ΔAUC on quality within each configuration, per set and score.

    Quality is standardised over the set's pairs, as in :func:`slopes_by_set`, so the
    per-configuration slopes sit on the scale of the pooled and within slopes (the within slope
    of the decomposition is their pooled, precision-weighted version). For the ladder figure.

    Returns
    -------
    DataFrame
        ``set``, ``metric``, ``configuration``, ``generator``, ``fraction``, ``n``, ``slope``
        (NaN with fewer than 3 pairs or a constant quality).
    """
    rows = []
    for name, fractions in sets_or_nested(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        for score in scores:
            data = _standardized(subset, score)
            for arm, group in data.groupby("arm", sort=True):
                generator, fraction = parse_arm(arm)
                z, y = group["z"].to_numpy(float), group["delta"].to_numpy(float)
                ok = len(group) >= 3 and np.ptp(z) > 0
                rows.append(
                    {
                        "set": name,
                        "metric": score,
                        "configuration": arm,
                        "generator": generator,
                        "fraction": fraction,
                        "n": len(group),
                        "slope": float(np.polyfit(z, y, 1)[0]) if ok else np.nan,
                    }
                )
    return pd.DataFrame(rows)


def adjusted_by_set(
    pairs: pd.DataFrame,
    scores: Sequence[str] = SCORES,
    sets: Mapping[str, Sequence[float]] | None = None,
    *,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """The ρ of each set next to its partial ρ adjusted for log internal n and the real-only external AUC.

    Per set, :func:`radlib.analysis.floor.adjusted_correlations` on the set's pairs, pooled and
    within each configuration; the Benjamini-Hochberg q-values, raw and partial separately, are
    then recomputed in the pre-specified families (:func:`~radlib.analysis.floor.adjust_in_families`),
    those of :func:`pooled_by_set` and :func:`within_configurations`: the pooled rows over every
    score in every set, the within-configuration rows per score and set over its configurations
    (9 in S3). So a raw q here is the q of the same ρ in those tables.

    Returns
    -------
    DataFrame
        ``set``, ``n_configurations``, ``configuration`` (``"pooled"`` or the arm), then the
        columns of :func:`~radlib.analysis.floor.adjusted_correlations` (``group`` renamed).
    """
    frames = []
    for name, fractions in sets_or_nested(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        table = adjusted_correlations(subset, scores, alpha=alpha)
        table = table.rename(columns={"group": "configuration"})
        table.insert(0, "set", name)
        table.insert(1, "n_configurations", subset["arm"].nunique())
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    pooled = table["configuration"] == POOLED
    families = np.where(pooled, POOLED, table["set"] + "/" + table["metric"])
    return adjust_in_families(table, alpha=alpha, families=families)
