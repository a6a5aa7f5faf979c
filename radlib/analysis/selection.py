"""Analyses 5 and 6: choosing a generator by its quality, and SMOTE against the generators.

Analysis 5 asks whether picking, per dataset, the generator of best composite quality gains
as much as the best generator would have (the oracle); analysis 6 compares SMOTE's ΔAUC with
each generator's (6a) and places SMOTE's quality among the generators' (6b).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from radlib.analysis.association import adjust_fdr
from radlib.analysis.options import ALPHA
from radlib.analysis.pairs import METRICS, generator_pairs, generators_of
from radlib.analysis.scores import orient_quality, with_composite
from radlib.intervals import mean_t_interval
from radlib.records import COMPOSITE, SMOTE_ARM

__all__ = ["select_generators", "compare_smote", "locate_smote_quality"]


def select_generators(pairs: pd.DataFrame, *, alpha: float = ALPHA) -> dict[str, pd.DataFrame]:
    """Analysis 5: per dataset, pick the generator of best composite quality.

    Per dataset, among the generators with a composite (:func:`score_composite`, higher
    = better; ties go to the alphabetically first generator): ``selected`` = the ΔAUC of
    the quality-best generator; ``oracle`` = the best ΔAUC of any generator; ``random`` =
    the mean ΔAUC over the generators (the expected ΔAUC of a uniformly random pick);
    ``smote`` = SMOTE's ΔAUC (NaN without a SMOTE pair). Every ΔAUC is already relative
    to real-only training, so "selected" against real-only is the selected ΔAUC itself.

    The summary gives, per comparison, the mean over datasets with a 95% t-interval
    (datasets as the units; a t-interval because the per-dataset differences are means of
    repetitions, roughly symmetric), the median, and the number of datasets with a
    positive / negative value.

    Returns
    -------
    dict of DataFrame
        ``datasets``: ``dataset``, ``n_generators``, ``selected_generator``,
        ``selected_delta``, ``oracle_generator``, ``oracle_delta``, ``random_delta``,
        ``smote_delta``, ``selected_is_oracle``. ``summary``: ``comparison`` (selected,
        oracle, random, smote, selected_minus_oracle, selected_minus_random,
        selected_minus_smote), ``n``, ``mean``, ``ci_low``, ``ci_high``, ``median``,
        ``n_positive``, ``n_negative``.
    """
    scored = with_composite(pairs)
    gen = generator_pairs(scored).dropna(subset=["delta_auc", COMPOSITE])
    smote = scored[scored["arm"] == SMOTE_ARM].set_index("dataset")["delta_auc"]
    rows = []
    for dataset, group in gen.sort_values(["dataset", "arm"]).groupby("dataset", sort=True):
        best_quality = group.loc[group[COMPOSITE].idxmax()]
        best_delta = group.loc[group["delta_auc"].idxmax()]
        rows.append(
            {
                "dataset": dataset,
                "n_generators": len(group),
                "selected_generator": best_quality["arm"],
                "selected_delta": float(best_quality["delta_auc"]),
                "oracle_generator": best_delta["arm"],
                "oracle_delta": float(best_delta["delta_auc"]),
                "random_delta": float(group["delta_auc"].mean()),
                "smote_delta": float(smote.get(dataset, np.nan)),
                "selected_is_oracle": best_quality["arm"] == best_delta["arm"],
            }
        )
    per_dataset = pd.DataFrame(
        rows,
        columns=[
            "dataset",
            "n_generators",
            "selected_generator",
            "selected_delta",
            "oracle_generator",
            "oracle_delta",
            "random_delta",
            "smote_delta",
            "selected_is_oracle",
        ],
    )
    comparisons = {
        "selected": per_dataset["selected_delta"],
        "oracle": per_dataset["oracle_delta"],
        "random": per_dataset["random_delta"],
        "smote": per_dataset["smote_delta"],
        "selected_minus_oracle": per_dataset["selected_delta"] - per_dataset["oracle_delta"],
        "selected_minus_random": per_dataset["selected_delta"] - per_dataset["random_delta"],
        "selected_minus_smote": per_dataset["selected_delta"] - per_dataset["smote_delta"],
    }
    summary = []
    for name, values in comparisons.items():
        v = values.to_numpy(float)
        v = v[np.isfinite(v)]
        low, high = mean_t_interval(v, alpha)
        summary.append(
            {
                "comparison": name,
                "n": len(v),
                "mean": float(v.mean()) if len(v) else np.nan,
                "ci_low": low,
                "ci_high": high,
                "median": float(np.median(v)) if len(v) else np.nan,
                "n_positive": int((v > 0).sum()),
                "n_negative": int((v < 0).sum()),
            }
        )
    return {"datasets": per_dataset, "summary": pd.DataFrame(summary)}


def compare_smote(pairs: pd.DataFrame, *, alpha: float = ALPHA) -> pd.DataFrame:
    """Analysis 6a: ΔAUC of SMOTE vs each generator, paired by dataset.

    Differences d = ΔAUC(SMOTE) - ΔAUC(generator) over the datasets with both pairs;
    ``scipy.stats.wilcoxon(d)`` (two-sided, zero differences dropped: ``zero_method=
    "wilcox"``, exact or normal approximation as scipy chooses). BH q-values over the
    generators (a family of its own).

    Returns
    -------
    DataFrame
        ``generator``, ``n``, ``median_smote``, ``median_generator``, ``median_difference``,
        ``mean_difference``, ``n_smote_better``, ``statistic``, ``p_value``, ``q_value``,
        ``note``.
    """
    wide = pairs.pivot_table(index="dataset", columns="arm", values="delta_auc", aggfunc="first")
    rows = []
    for generator in generators_of(pairs):
        row = {
            "generator": generator,
            "n": 0,
            "median_smote": np.nan,
            "median_generator": np.nan,
            "median_difference": np.nan,
            "mean_difference": np.nan,
            "n_smote_better": 0,
            "statistic": np.nan,
            "p_value": np.nan,
            "note": "",
        }
        if SMOTE_ARM not in wide.columns:
            row["note"] = "no SMOTE pairs"
            rows.append(row)
            continue
        both = wide[[SMOTE_ARM, generator]].dropna()
        d = (both[SMOTE_ARM] - both[generator]).to_numpy()
        row.update(n=len(d), n_smote_better=int((d > 0).sum()))
        if len(d):
            row.update(
                median_smote=float(both[SMOTE_ARM].median()),
                median_generator=float(both[generator].median()),
                median_difference=float(np.median(d)),
                mean_difference=float(d.mean()),
            )
        if (d != 0).sum() < 1:
            row["note"] = "no non-zero paired differences"
        else:
            result = stats.wilcoxon(d)
            row.update(statistic=float(result.statistic), p_value=float(result.pvalue))
        rows.append(row)
    table = pd.DataFrame(rows)
    if len(table):
        table["q_value"] = adjust_fdr(table["p_value"], alpha=alpha)[0]
        table = table[[*table.columns.drop(["q_value", "note"]), "q_value", "note"]]
    return table


def locate_smote_quality(pairs: pd.DataFrame, metrics: Sequence[str] = (*METRICS, COMPOSITE)) -> pd.DataFrame:
    """Analysis 6b: where SMOTE's quality lies among the generators' pairs.

    Per metric (as :func:`orient_quality`, higher = better): the median per arm; the
    median over SMOTE pairs of the percentile of the SMOTE pair's score among *all*
    generator pairs (``scipy.stats.percentileofscore(kind="mean")``: 100 = better than
    every generator pair); and the share of datasets on which SMOTE scores better than
    every generator of the same dataset.

    Returns
    -------
    DataFrame
        ``metric``, ``n_smote``, ``smote_percentile``, ``smote_best_share``, then
        ``median_<arm>`` for SMOTE and each generator.
    """
    scored = with_composite(pairs)
    generators = generators_of(scored)
    rows = []
    for metric in metrics:
        frame = scored[["dataset", "arm"]].assign(score=orient_quality(scored, metric).to_numpy(float))
        gen_scores = frame.loc[frame["arm"].isin(generators), "score"].dropna().to_numpy()
        smote = frame[(frame["arm"] == SMOTE_ARM) & frame["score"].notna()]
        percentiles = (
            [stats.percentileofscore(gen_scores, s, kind="mean") for s in smote["score"]] if len(gen_scores) else []
        )
        wide = frame.pivot_table(index="dataset", columns="arm", values="score", aggfunc="first")
        best_share = np.nan
        if SMOTE_ARM in wide.columns and generators:
            both = wide[[SMOTE_ARM, *[g for g in generators if g in wide.columns]]].dropna(subset=[SMOTE_ARM])
            gen_best = both.drop(columns=SMOTE_ARM).max(axis=1, skipna=True)
            usable = gen_best.notna()
            if usable.any():
                best_share = float((both.loc[usable, SMOTE_ARM] > gen_best[usable]).mean())
        row = {
            "metric": metric,
            "n_smote": len(smote),
            "smote_percentile": float(np.median(percentiles)) if percentiles else np.nan,
            "smote_best_share": best_share,
        }
        for arm in [SMOTE_ARM, *generators]:
            row[f"median_{arm}"] = float(frame.loc[frame["arm"] == arm, "score"].median())
        rows.append(row)
    return pd.DataFrame(rows)
