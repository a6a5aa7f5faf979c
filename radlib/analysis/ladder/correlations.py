"""Ladder analyses (b) and (d): the pooled ρ over the nested sets and ρ within each configuration."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from radlib.analysis.association import adjust_fdr, correlate_quality
from radlib.analysis.ladder.configurations import SCORES, restrict_to_set, sets_or_nested
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.records import (
    POOLED,
    parse_arm,
)

__all__ = ["pooled_by_set", "within_configurations"]


def pooled_by_set(
    pairs: pd.DataFrame,
    scores: Sequence[str] = SCORES,
    sets: Mapping[str, Sequence[float]] | None = None,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """H1 (b): the pooled Spearman ρ of each quality score with ΔAUC in each nested set.

    The pooled rows of :func:`radlib.analysis.correlate_quality` (scipy's ρ and p, the
    cluster-bootstrap CI over datasets) of each set's pairs; the Benjamini-Hochberg q-values
    are recomputed over the family of this table (every score in every set).

    Returns
    -------
    DataFrame
        ``set``, ``fractions`` (as text), ``n_configurations``, then the columns of
        :func:`~radlib.analysis.correlate_quality` (``group`` dropped), ``q_value`` and
        ``significant`` over this table's family.
    """
    frames = []
    for name, fractions in sets_or_nested(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        table = correlate_quality(subset, scores, n_boot=n_boot, seed=seed, alpha=alpha)
        pooled = table[table["group"] == POOLED].drop(columns=["group", "q_value", "significant"])
        pooled.insert(0, "set", name)
        pooled.insert(1, "fractions", ", ".join(f"{f:g}" for f in fractions))
        pooled.insert(2, "n_configurations", subset["arm"].nunique())
        frames.append(pooled)
    table = pd.concat(frames, ignore_index=True)
    table["q_value"], table["significant"] = adjust_fdr(table["p_value"], alpha=alpha)
    return table


def within_configurations(
    pairs: pd.DataFrame, scores: Sequence[str] = SCORES, *, n_boot: int = N_BOOT, seed: int = 0, alpha: float = ALPHA
) -> pd.DataFrame:
    """H1 (d): Spearman ρ of each quality score with ΔAUC within each configuration, BH over the configurations.

    The per-group rows of :func:`radlib.analysis.correlate_quality` on all configuration pairs
    (the groups are the configurations), with the Benjamini-Hochberg q-values recomputed per
    score over the configurations (the protocol's family: "BH over the 9 per metric").

    Returns
    -------
    DataFrame
        ``configuration``, ``generator``, ``fraction``, then the columns of
        :func:`~radlib.analysis.correlate_quality` (``group`` renamed), ``q_value`` and
        ``significant`` per score, and ``positive_significant`` (ρ > 0 and q < alpha).
    """
    table = correlate_quality(pairs, scores, n_boot=n_boot, seed=seed, alpha=alpha, pooled=False).rename(
        columns={"group": "configuration"}
    )
    parsed = [parse_arm(arm) for arm in table["configuration"]]
    table.insert(1, "generator", [generator for generator, _ in parsed])
    table.insert(2, "fraction", [fraction for _, fraction in parsed])
    for rows in table.groupby("metric", sort=False).groups.values():
        q, significant = adjust_fdr(table.loc[rows, "p_value"], alpha=alpha)
        table.loc[rows, "q_value"], table.loc[rows, "significant"] = q, significant
    table["significant"] = table["significant"].astype(bool)
    table["positive_significant"] = table["significant"] & (table["rho"] > 0)
    return table
