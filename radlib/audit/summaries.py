"""What an audit found per arm: ΔAUC and quality with t-intervals, and whether quality ranked the generators.

Confidence intervals
--------------------
Per arm, the 95% interval of the mean ΔAUC is the t-interval over the repetitions' means
(each the mean of the repetition's valid site-folds, which share its split)
``mean ± t(0.975, n - 1) · sd / sqrt(n)`` (:func:`radlib.intervals.t_interval`, ``sd`` with
``ddof=1``, ``n`` repetitions): the repetitions are independent re-draws of the external site and of every
seed, and ΔAUC is a difference of AUCs, roughly symmetric. With 2 repetitions
``t = 12.7``: the interval is honest and wide. A bootstrap over so few repetitions would be
narrower than it should be.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from radlib import analysis, quality
from radlib.intervals import t_interval
from radlib.records import (
    COMPOSITE,
    REAL_ARM,
    auc_column,
    classifiers_in,
    delta_column,
    is_study_arm,
    valid_mask,
)

__all__ = [
    "summarize_quantities",
    "summarize_arms",
    "interval_decision",
    "rank_agreement",
    "repetition_pairs",
    "best_arm_by_repetition",
]


def _metric_columns(records: pd.DataFrame) -> list[str]:
    return [m for m in quality.registered_metrics() if m in records.columns]


def summarize_quantities(records: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mean, SD and 95% t-interval over the valid repetitions of every quantity, per arm.

    Parameters
    ----------
    records : DataFrame
        Records of :func:`radlib.grid.run_grid`.
    alpha : float

    Returns
    -------
    DataFrame
        Long format, one row per (dataset, classifier, arm, quantity): ``n`` (valid
        repetitions), ``mean``, ``sd``, ``ci_low``, ``ci_high`` (t-interval), ``n_positive``.
        Quantities: ``delta_auc``, ``auc``, ``auc_real`` and every quality metric in the
        records (the five and the registered user metrics). Real-only rows are left out.
    """
    rows = []
    metrics = _metric_columns(records)
    for classifier in classifiers_in(records.columns):
        valid = records[valid_mask(records, classifier) & (records["arm"] != REAL_ARM)].copy()
        valid["delta_auc"] = valid[delta_column(classifier)]
        valid["auc"] = valid[auc_column(classifier)]
        valid["auc_real"] = valid["auc"] - valid["delta_auc"]
        for (dataset, arm), group in valid.groupby(["dataset", "arm"], sort=True):
            for quantity in ("delta_auc", "auc", "auc_real", *metrics):
                # One value per repetition (the mean of its site-folds, which share its split).
                values = group.groupby("repetition")[quantity].mean().to_numpy(float)
                values = values[np.isfinite(values)]
                n = len(values)
                mean = float(values.mean()) if n else np.nan
                sd = float(values.std(ddof=1)) if n > 1 else np.nan
                low, high = t_interval(mean, sd, n, alpha)
                rows.append(
                    {
                        "dataset": dataset,
                        "classifier": classifier,
                        "arm": arm,
                        "quantity": quantity,
                        "n": n,
                        "mean": mean,
                        "sd": sd,
                        "ci_low": low,
                        "ci_high": high,
                        "n_positive": int((values > 0).sum()),
                    }
                )
    return pd.DataFrame(
        rows, columns=["dataset", "classifier", "arm", "quantity", "n", "mean", "sd", "ci_low", "ci_high", "n_positive"]
    )


def interval_decision(low: float, high: float) -> str:
    """The call on an arm from its ΔAUC interval: ``improved`` (above 0), ``worsened`` (below 0), ``no clear change``."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return "no CI (fewer than 2 valid repetitions)"
    if low > 0:
        return "improved"
    if high < 0:
        return "worsened"
    return "no clear change"


def summarize_arms(records: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """One row per (classifier, dataset, arm): ΔAUC with its 95% t-interval, AUCs and mean quality.

    Built on :func:`radlib.analysis.pair_table` (the study's pairs: means over the valid
    repetitions) with the composite quality score of :func:`radlib.analysis.add_composite`
    (z-scores over the generator pairs of the records given: for one table, over its
    generators). Registered user metrics are added as their mean over the same records.

    Returns
    -------
    DataFrame
        ``classifier``, ``dataset``, ``arm``, ``n_records``, ``n_valid`` (valid evaluations:
        repetitions x site-folds), ``n_undefined``, ``n_failed``, ``n_repetitions`` (with a valid
        evaluation), ``delta_auc``, ``delta_auc_ci_low``, ``delta_auc_ci_high``, ``n_improved``
        (repetitions whose mean ΔAUC over their valid site-folds is > 0: the unit of the
        interval), ``decision`` (``improved``: the CI lies
        above 0; ``worsened``: below; else ``no clear change``), ``auc``, ``auc_real``, the
        quality metrics and ``composite`` (NaN for SMOTE when there is no generator).
    """
    frames = []
    user = [m for m in _metric_columns(records) if m not in quality.METRICS]
    for classifier in classifiers_in(records.columns):
        pairs = analysis.pair_table(records, classifier)
        if not len(pairs):
            continue
        pairs = analysis.add_composite(pairs) if analysis.generators_of(pairs) else pairs.assign(composite=np.nan)
        valid = records[valid_mask(records, classifier) & (records["arm"] != REAL_ARM)]
        grouped = valid.groupby(["dataset", "arm"])
        repetition_means = valid.groupby(["dataset", "arm", "repetition"])[delta_column(classifier)].mean()
        extra = pd.DataFrame({"n_improved": (repetition_means > 0).groupby(["dataset", "arm"]).sum().astype(int)})
        for metric in user:
            extra[metric] = grouped[metric].mean()
        pairs = pairs.merge(extra.reset_index(), on=["dataset", "arm"], how="left")
        # Over the repetitions' mean ΔAUC: the site-folds of a repetition share its split.
        ci = [
            t_interval(m, math.sqrt(v) if np.isfinite(v) else np.nan, int(n), alpha)
            for m, v, n in zip(pairs["delta_auc"], pairs["delta_auc_rep_var"], pairs["n_repetitions"])
        ]
        pairs["delta_auc_ci_low"] = [c[0] for c in ci]
        pairs["delta_auc_ci_high"] = [c[1] for c in ci]
        pairs["decision"] = [interval_decision(lo, hi) for lo, hi in ci]
        pairs.insert(0, "classifier", classifier)
        frames.append(pairs)
    columns = [
        "classifier",
        "dataset",
        "arm",
        "n_records",
        "n_valid",
        "n_undefined",
        "n_failed",
        "n_repetitions",
        "delta_auc",
        "delta_auc_ci_low",
        "delta_auc_ci_high",
        "n_improved",
        "decision",
        "auc",
        "auc_real",
        *analysis.METRICS,
        *user,
        COMPOSITE,
    ]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]


def _order(names: Sequence[str], values: np.ndarray) -> str:
    ok = np.isfinite(values)
    ranked = sorted(zip(np.asarray(names)[ok], values[ok]), key=lambda item: (-item[1], item[0]))
    return " > ".join(name for name, _ in ranked)


def rank_agreement(arms: pd.DataFrame) -> pd.DataFrame:
    """Did each quality score rank a table's generators in the order of their ΔAUC?

    Per (classifier, dataset, score) over the generator arms (SMOTE and real-only left
    out, as in the study): Spearman ρ between the quality score (higher = closer to real:
    :func:`radlib.analysis.orient_quality`, ``-|value - ideal|`` for every metric, a user's too)
    and the mean ΔAUC, the generator each ranks first, and both orders. ρ needs 3
    generators or more and is descriptive (with 3 it can only be ±1 or ±0.5).

    Parameters
    ----------
    arms : DataFrame
        :func:`summarize_arms`.

    Returns
    -------
    DataFrame
        ``classifier``, ``dataset``, ``metric``, ``n_generators``, ``rho``,
        ``best_by_quality``, ``best_by_delta``, ``same_best``, ``quality_order``,
        ``delta_order`` (best first).
    """
    rows = []
    user = [m for m in arms.columns if m in quality.USER_METRICS]
    for (classifier, dataset), group in arms.groupby(["classifier", "dataset"], sort=False):
        gen = analysis.generator_pairs(group)
        gen = gen[np.isfinite(gen["delta_auc"].astype(float))]
        delta = gen["delta_auc"].to_numpy(float)
        for metric in (*analysis.METRICS, COMPOSITE, *user):
            score = analysis.orient_quality(gen, metric).to_numpy(float) if len(gen) else np.array([])
            ok = np.isfinite(score)
            rho = np.nan
            if ok.sum() >= 3 and np.unique(score[ok]).size > 1 and np.unique(delta[ok]).size > 1:
                rho = float(stats.spearmanr(score[ok], delta[ok]).statistic)
            names = gen["arm"].to_numpy()
            best_q = _order(names, score).split(" > ")[0] if ok.any() else ""
            best_d = _order(names, delta).split(" > ")[0] if len(delta) else ""
            rows.append(
                {
                    "classifier": classifier,
                    "dataset": dataset,
                    "metric": metric,
                    "n_generators": int(ok.sum()),
                    "rho": rho,
                    "best_by_quality": best_q,
                    "best_by_delta": best_d,
                    "same_best": bool(best_q and best_q == best_d),
                    "quality_order": _order(names, score),
                    "delta_order": _order(names, delta),
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "classifier",
            "dataset",
            "metric",
            "n_generators",
            "rho",
            "best_by_quality",
            "best_by_delta",
            "same_best",
            "quality_order",
            "delta_order",
        ],
    )


def repetition_pairs(records: pd.DataFrame, classifier: str) -> pd.DataFrame:
    """One "pair" per (dataset, repetition, arm): the records in the shape of a pair table.

    :func:`radlib.analysis.pair_table` with each repetition as its own "dataset"
    (``<dataset> r<repetition>``), plus the composite (z-scores over all generator records).
    The repetitions of one table share its real-only baseline within a repetition, as
    datasets share theirs in the study, so the study's functions (cluster bootstrap over
    "datasets", pooled vs within generator) apply unchanged: quality vs ΔAUC *across
    repetitions*.
    """
    relabelled = records.assign(dataset=records["dataset"] + " r" + records["repetition"].astype(str))
    pairs = analysis.pair_table(relabelled, classifier)
    return analysis.add_composite(pairs) if analysis.generators_of(pairs) else pairs


def best_arm_by_repetition(records: pd.DataFrame, classifier: str, dataset: str) -> pd.Series:
    """The arm with the largest ΔAUC in each repetition of one table: how stable the best arm is.

    Over the study's synthetic arms (generators at their full budget and SMOTE; snapshot arms
    and real-only left out), each repetition's ΔAUC is the mean over its valid site-folds;
    ties go to the arm first in name order. A repetition without a valid synthetic arm is
    left out.

    Returns
    -------
    Series
        Repetition -> arm, sorted by repetition.
    """
    valid = records[valid_mask(records, classifier) & (records["dataset"] == dataset)]
    valid = valid[(valid["arm"] != REAL_ARM) & valid["arm"].map(is_study_arm)]
    if not len(valid):
        return pd.Series(dtype=object, name="arm")
    means = valid.groupby(["repetition", "arm"])[delta_column(classifier)].mean().reset_index()
    means = means.sort_values(["repetition", delta_column(classifier), "arm"], ascending=[True, False, True])
    return means.groupby("repetition")["arm"].first()
