"""Quality scores: every metric oriented so that higher = closer to the real data, and the composite.

The orientation is the one of :func:`radlib.quality.quality_score`, ``-|value - ideal|``, from
each metric's declared ideal: ``-x`` for the four distances (ideal 0), ``-|x - 0.5|`` for the
detection AUC, and likewise for a registered user metric. So a **positive** ρ, AUC > 0.5 or
slope in the analyses means "better quality goes with a larger ΔAUC", for every metric alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from radlib import quality
from radlib.analysis.pairs import METRICS, generators_of
from radlib.records import COMPOSITE

__all__ = ["orient_quality", "standardize_quality", "score_composite", "add_composite", "with_composite"]


def orient_quality(pairs: pd.DataFrame, metric: str) -> pd.Series:
    """A metric as a quality score: higher = closer to the real data.

    :func:`radlib.quality.quality_score` of the metric's column (``-|x - ideal|``: ``-x``
    for ``wasserstein``, ``ks``, ``mmd2`` and ``corr_diff``, ``-|x - 0.5|`` for
    ``detection_auc``, and a registered user metric from its own ideal); for
    :data:`~radlib.records.COMPOSITE` the ``composite`` column if present, else
    :func:`score_composite`.
    """
    if metric == COMPOSITE:
        return pairs[COMPOSITE] if COMPOSITE in pairs.columns else score_composite(pairs)
    known = quality.registered_metrics()
    if metric not in known:
        raise ValueError(f"unknown metric '{metric}'; use one of {', '.join(known)} or '{COMPOSITE}'")
    return quality.quality_score(pairs[metric].astype(float), metric)


def standardize_quality(pairs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """z-scores of the quality scores, with the mean and SD of the *generator* pairs.

    For each metric, ``z = (q - mean(q_G)) / sd(q_G)`` where ``q`` is
    :func:`orient_quality` and ``q_G`` its values over the generator pairs of ``pairs``
    (NaN skipped, ``ddof=1``). SMOTE pairs, if present, are put on the same scale (the
    generator pairs are the reference), so their z-scores are comparable. A metric with
    zero SD gives z = 0.

    Returns
    -------
    DataFrame
        Same index as ``pairs``, one column per metric.
    """
    reference = pairs["arm"].isin(generators_of(pairs))
    out = {}
    for metric in metrics:
        q = orient_quality(pairs, metric)
        mean, sd = q[reference].mean(), q[reference].std(ddof=1)
        out[metric] = (q - mean) / sd if np.isfinite(sd) and sd > 0 else q * 0.0
    return pd.DataFrame(out, index=pairs.index)


def score_composite(pairs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.Series:
    """Composite quality score (analysis 4): the mean of sign-aligned z-scores.

    Definition: for each metric m of ``metrics`` let d_m be its distance from the ideal
    (:func:`radlib.quality.distance_from_ideal`: ``detection_auc`` -> ``|detection_auc - 0.5|``,
    the others as they are), and z_m = (d_m - mean_G(d_m)) / sd_G(d_m), the mean and SD
    (``ddof=1``) taken over all generator pairs of ``pairs`` (the analysed table; SMOTE
    pairs are scored with the generator pairs' mean and SD). Then
    ``composite = -mean_m z_m`` over the metrics available for the pair (NaN only when
    all are missing). Higher composite = better quality (closer to the real data); 0 is
    the average generator pair. Since the z-scores depend on the pairs analysed, a subset
    (e.g. the sensitivity subset) gets its own composite.
    """
    return standardize_quality(pairs, metrics).mean(axis=1, skipna=True).rename(COMPOSITE)


def add_composite(pairs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Return a copy of ``pairs`` with the ``composite`` column (:func:`score_composite`)."""
    out = pairs.copy()
    out[COMPOSITE] = score_composite(pairs, metrics)
    return out


def with_composite(pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with the composite column, computed on the whole table when absent.

    Done once, before any grouping, so that a within-generator analysis never
    standardises the metrics within its own subset.
    """
    return pairs if COMPOSITE in pairs.columns else add_composite(pairs)
