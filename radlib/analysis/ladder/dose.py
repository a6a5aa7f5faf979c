"""The ladder's dose-response: quality and ΔAUC against the training fraction, per generator."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from radlib import quality
from radlib.analysis.ladder.configurations import DELTA_AUC
from radlib.analysis.meta import meta_analyze_generators
from radlib.analysis.options import ALPHA
from radlib.analysis.pairs import METRICS
from radlib.records import (
    check_classifier,
    configuration_arms,
    delta_column,
    evaluation_keys,
    parse_arm,
    valid_mask,
)

__all__ = ["configuration_records", "dose_response"]


def configuration_records(records: pd.DataFrame, classifier: str) -> pd.DataFrame:
    """The records of the generator arms that count for ``classifier`` (:func:`radlib.records.valid_mask`)."""
    check_classifier(classifier)
    keep = valid_mask(records, classifier) & records["arm"].isin(configuration_arms(records["arm"]))
    return records[keep]


def dose_response(
    records: pd.DataFrame,
    classifier: str = "logreg",
    quantities: Sequence[str] = (DELTA_AUC, *METRICS),
    *,
    alpha: float = ALPHA,
) -> dict[str, pd.DataFrame]:
    """ΔAUC and each metric against log2(training fraction), per generator, pooled over datasets.

    For each quantity (ΔAUC of ``classifier``, or a metric as its distance from the ideal,
    :func:`radlib.quality.distance_from_ideal`), over the valid records of the generator arms:
    per evaluation, the least-squares slope on log2(fraction) across the generator's
    snapshots (at least two fractions); per repetition, the mean of its folds' slopes; per
    dataset, the mean over repetitions (the effect) and its variance, the sample variance over
    repetitions / their number (with complete data the effect equals the slope of the
    dataset's fraction means). The datasets are pooled per generator by
    :func:`radlib.analysis.meta_analyze_generators` (DerSimonian-Laird, τ² truncated at 0, its
    rules for fewer than 2 repetitions and zero variance, Wald CI).

    Returns
    -------
    dict of DataFrame
        ``means``: ``quantity``, ``generator``, ``fraction``, ``log2_fraction``, ``dataset``,
        ``value`` (mean over the valid records), ``n``. ``datasets``: ``quantity``,
        ``generator``, ``dataset``, ``n_valid`` (repetitions), ``effect`` (slope), ``variance``,
        ``se``, ``ci_low``, ``ci_high``, ``included``, ``note``, ``weight``. ``pooled``:
        ``quantity``, ``generator``, ``k`` and the fields of
        :func:`radlib.analysis.combine_random_effects` (``estimate`` is the pooled slope per
        doubling of the training budget).
    """
    valid = configuration_records(records, classifier)
    parsed = [parse_arm(arm) for arm in valid["arm"]]
    keys = evaluation_keys(valid)
    base = valid[keys].copy()
    base["generator"] = [generator for generator, _ in parsed]
    base["fraction"] = [fraction for _, fraction in parsed]
    base["log2_fraction"] = np.log2(base["fraction"].astype(float))
    means, studies, pooled = [], [], []
    for quantity in quantities:
        values = (
            valid[delta_column(classifier)].astype(float)
            if quantity == DELTA_AUC
            else quality.distance_from_ideal(valid[quantity].astype(float), quantity)
        )
        frame = base.assign(value=np.asarray(values, float)).dropna(subset=["value"])
        mean = frame.groupby(["generator", "fraction", "log2_fraction", "dataset"], as_index=False)["value"].agg(
            value="mean", n="count"
        )
        means.append(mean.assign(quantity=quantity))
        slopes = _evaluation_slopes(frame, keys)
        pseudo_pairs = (
            slopes.groupby(["generator", "dataset"])["slope"]
            .agg(delta_auc="mean", delta_auc_rep_var="var", n_repetitions="count")
            .reset_index()
            .rename(columns={"generator": "arm"})
        )
        pseudo_pairs["n_valid"] = pseudo_pairs["n_repetitions"]  # one slope per repetition
        if pseudo_pairs.empty:
            continue
        # The study's meta-analysis pools "delta_auc" per "arm": here the slopes per generator.
        meta = meta_analyze_generators(pseudo_pairs, alpha=alpha)
        studies.append(meta["studies"].assign(quantity=quantity))
        pooled.append(meta["generators"].assign(quantity=quantity))
    return {
        "means": _stacked(means, ["quantity", "generator", "fraction", "log2_fraction", "dataset", "value", "n"]),
        "datasets": _stacked(studies, ["quantity", "generator", "dataset"]),
        "pooled": _stacked(pooled, ["quantity", "generator", "k", "estimate", "ci_low", "ci_high"]),
    }


def _stacked(frames: list[pd.DataFrame], first: list[str]) -> pd.DataFrame:
    """The frames one under the other, the ``first`` columns first (an empty table with them when none)."""
    if not frames:
        return pd.DataFrame(columns=first)
    table = pd.concat(frames, ignore_index=True)
    return table[first + [c for c in table.columns if c not in first]]


def _evaluation_slopes(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per (generator, repetition): the mean over folds of each evaluation's slope of value on log2(fraction)."""
    groups = ["generator", *keys]
    centred_x = frame["log2_fraction"] - frame.groupby(groups)["log2_fraction"].transform("mean")
    centred_y = frame["value"] - frame.groupby(groups)["value"].transform("mean")
    sums = pd.DataFrame({"sxy": centred_x * centred_y, "sxx": centred_x**2}).groupby([frame[g] for g in groups]).sum()
    sums = sums[sums["sxx"] > 0]  # evaluations with fewer than two fractions give no slope
    sums["slope"] = sums["sxy"] / sums["sxx"]
    repetition = [g for g in groups if g != "fold"]
    return sums.groupby(level=repetition)["slope"].mean().reset_index()
