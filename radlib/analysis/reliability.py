"""Reliability of the pair-level quantities, the attenuation ceiling and disattenuated correlations.

Every association analysis of the study correlates *pair means*: for one dataset x generator
pair, the mean of ΔAUC (or of a quality metric) over its valid external evaluations
(repetitions x site-folds). A pair mean is the pair's true value plus the mean of its
evaluation noise. Its **reliability** is the share of the variance of the pair means across
pairs that is variance of the true values. A correlation between two pair-level quantities
with reliabilities ``r_x`` and ``r_y`` is attenuated: the observed correlation is at most
``sqrt(r_x * r_y)`` times the correlation of the true values (Spearman 1904, the
*attenuation ceiling*), so a pair mean that is mostly noise cannot correlate with anything.

One-way random-effects ANOVA with unequal group sizes
-----------------------------------------------------
The groups are the pairs (``k`` of them), the observations the pair's ``n_i`` values,
``N = sum n_i``, ``m_i`` the pair mean and ``m`` the grand mean of all observations::

    MSB = sum_i n_i (m_i - m)^2 / (k - 1)          (between pairs)
    MSW = sum_i sum_j (y_ij - m_i)^2 / (N - k)     (within pairs)
    n0  = (N - sum_i n_i^2 / N) / (k - 1)          (effective group size; n0 = n when balanced)
    sigma2_w = MSW,  sigma2_b = (MSB - MSW) / n0   (E[MSB] = sigma2_w + n0 sigma2_b)
    ICC(1) = sigma2_b / (sigma2_b + sigma2_w)      (reliability of a single observation)

The reliability of a pair mean is ICC(1, k) in the sense of Shrout & Fleiss (1979), the
reliability of a mean of ``n`` observations::

    reliability = sigma2_b / (sigma2_b + sigma2_w / n_h)
                = n_h ICC(1) / (1 + (n_h - 1) ICC(1))   (the Spearman-Brown form; the same number)

with ``n_h`` the **harmonic** mean of the group sizes. Why the harmonic mean: the error of a
pair mean has variance ``sigma2_w / n_i``; across pairs the error variance of the pair means is
``sigma2_w * mean_i(1 / n_i) = sigma2_w / n_h``, and the attenuation of a correlation across
pairs is the ratio of true to observed variance of the pair means. In a balanced design
``n_h = n0 = n`` and the reliability is ``(MSB - MSW) / MSB``. ``sigma2_b`` is the unbiased
ANOVA estimate and may be negative when the pair means vary less than their noise predicts;
the tables report it as it is (a reliability "about 0" is then slightly negative) and the
attenuation ceiling truncates each reliability at 0.

The unit of replication
-----------------------
The site-folds of one repetition share the repetition's split direction, so they need not be
independent given the pair. ``unit="repetition"`` (the default) first averages the folds of
each repetition and runs the ANOVA on the repetition means, which are independent given the
pair whatever the folds do; ``unit="evaluation"`` treats every (repetition, fold) as an
observation, which overstates the reliability if folds of a repetition are positively
correlated. With one fold per repetition (the v1 records) the two are identical.

Quantities
----------
``"delta_auc"`` (per classifier), each quality metric as a quality score
(:func:`radlib.quality.quality_score`, higher = closer to the real data) and the composite.
Evaluation values are taken from the records that are valid for the classifier
(:func:`radlib.records.valid_mask`), so each reliability describes the pair means that the
classifier's analyses correlate. Two approximations: the detection AUC's score is
``-|AUC - 0.5|`` per evaluation, while the analyses orient the pair mean (``-|mean - 0.5|``);
the evaluation composite standardises each evaluation's scores with the mean and SD of the
generator pairs' mean scores, so that its pair mean is the pair composite of
:func:`radlib.analysis.score_composite` up to that same orientation step.

Dataset-bootstrap CIs
---------------------
Datasets are resampled with replacement (every pair of a drawn dataset along; a dataset
drawn twice contributes its pairs twice, as distinct pairs), the ANOVA is recomputed from the
pairs' sufficient statistics in each resample, and the CI is the percentile interval, as for
every bootstrap of :mod:`radlib.analysis.bootstrap`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radlib import quality
from radlib.analysis.bootstrap import can_bootstrap, cluster_counts, percentile_interval
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.records import (
    COMPOSITE,
    POOLED,
    REAL_ARM,
    SMOTE_ARM,
    check_classifier,
    classifiers_in,
    delta_column,
    generator_arms,
    valid_mask,
)

__all__ = [
    "DELTA_AUC",
    "UNITS",
    "variance_components",
    "evaluation_values",
    "unit_values",
    "pair_reliability",
    "reliability_table",
    "attenuation_ceiling",
    "attenuation_table",
]

#: The quantity name of ΔAUC (the classifier is a separate key).
DELTA_AUC = "delta_auc"
#: Units of replication of a pair mean (see the module notes).
UNITS = ("repetition", "evaluation")
#: The reliability's keys filled by :func:`variance_components`.
_COMPONENT_KEYS = (
    "n_groups",
    "n_observations",
    "n_harmonic",
    "n0",
    "grand_mean",
    "ms_between",
    "ms_within",
    "sigma2_between",
    "sigma2_within",
    "icc1",
    "reliability",
)


# --- the one-way random-effects ANOVA --------------------------------------------------


def _anova(sizes: np.ndarray, means: np.ndarray, within_ss: np.ndarray, weights: np.ndarray) -> dict:
    """The ANOVA of groups given by their sufficient statistics, once per row of ``weights``.

    ``weights`` (n_resamples, k) says how many copies of each group a resample holds (all
    ones: the sample itself); every returned value is an array of n_resamples.
    """
    n_groups = weights.sum(axis=1)
    n_obs = weights @ sizes
    with np.errstate(invalid="ignore", divide="ignore"):
        grand = (weights @ (sizes * means)) / n_obs
        ss_between = (weights * sizes * (means[None, :] - grand[:, None]) ** 2).sum(axis=1)
        ms_between = ss_between / (n_groups - 1)
        ms_within = (weights @ within_ss) / (n_obs - n_groups)
        n0 = (n_obs - (weights @ sizes**2) / n_obs) / (n_groups - 1)
        n_harmonic = n_groups / (weights @ (1.0 / sizes))
        sigma2_between = (ms_between - ms_within) / n0
        icc1 = sigma2_between / (sigma2_between + ms_within)
        reliability = sigma2_between / (sigma2_between + ms_within / n_harmonic)
    return {
        "n_groups": n_groups,
        "n_observations": n_obs,
        "n_harmonic": n_harmonic,
        "n0": n0,
        "grand_mean": grand,
        "ms_between": ms_between,
        "ms_within": ms_within,
        "sigma2_between": sigma2_between,
        "sigma2_within": ms_within,
        "icc1": icc1,
        "reliability": reliability,
    }


def _grouped(values, groups) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], pd.Index]:
    """Sufficient statistics of each group (sizes, means, within sums of squares) and the group labels."""
    values = np.asarray(values, dtype=float)
    if isinstance(groups, pd.DataFrame):
        groups = pd.MultiIndex.from_frame(groups)
    codes, uniques = pd.factorize(groups if isinstance(groups, pd.Index) else pd.Series(list(groups)), sort=True)
    if len(codes) != len(values):
        raise ValueError(f"values ({len(values)}) and groups ({len(codes)}) differ in length")
    if not np.isfinite(values).all():
        raise ValueError("values hold NaN or infinite entries; drop them before the ANOVA")
    k = len(uniques)
    if k < 2:
        raise ValueError(f"the ANOVA needs at least 2 groups, got {k}")
    if len(values) <= k:
        raise ValueError(f"the ANOVA needs a group with 2 or more observations ({len(values)} values in {k} groups)")
    sizes = np.bincount(codes, minlength=k).astype(float)
    means = np.bincount(codes, weights=values, minlength=k) / sizes
    within_ss = np.bincount(codes, weights=(values - means[codes]) ** 2, minlength=k)
    return (sizes, means, within_ss), uniques


def variance_components(values, groups) -> dict[str, float]:
    """One-way random-effects ANOVA of ``values`` grouped by ``groups`` (unequal sizes allowed).

    Parameters
    ----------
    values : array-like of float
        The observations; NaN values are an error (drop them first).
    groups : array-like, Index or DataFrame
        The group of each observation: labels, a (Multi)Index, or a DataFrame of key columns.

    Returns
    -------
    dict
        ``n_groups`` (k), ``n_observations`` (N), ``n_harmonic`` (harmonic mean group size),
        ``n0``, ``grand_mean``, ``ms_between``, ``ms_within``, ``sigma2_between``,
        ``sigma2_within``, ``icc1`` and ``reliability`` (of a group mean of ``n_harmonic``
        observations), with the formulas of the module notes.
    """
    statistics, uniques = _grouped(values, groups)
    result = _anova(*statistics, np.ones((1, len(uniques))))
    return {key: float(value[0]) for key, value in result.items()}


# --- evaluation values -------------------------------------------------------------------


def _evaluation_frame(records: pd.DataFrame, keep: pd.Series) -> pd.DataFrame:
    frame = records.loc[keep, ["dataset", "arm", "repetition"]].copy()
    frame["fold"] = records.loc[keep, "fold"].to_numpy() if "fold" in records.columns else 0
    return frame


def evaluation_values(
    records: pd.DataFrame, quantity: str, classifier: str = "logreg", arms: Sequence[str] | None = None
) -> pd.DataFrame:
    """One value of a pair-level quantity per valid evaluation of each pair.

    Parameters
    ----------
    records : DataFrame
        The records (``dataset``, ``repetition``, optionally ``fold`` (0 when absent),
        ``arm``, ``status``, ``undefined``, the classifier's AUC and ΔAUC, the metrics).
    quantity : str
        ``"delta_auc"``, a metric of :data:`radlib.quality.METRICS` (as its quality score)
        or ``"composite"`` (see the module notes).
    classifier : {"logreg", "rf"}
        Whose valid records (and, for ``"delta_auc"``, whose ΔAUC).
    arms : sequence of str, optional
        The arms whose pairs count; default the study's generators
        (:func:`radlib.records.generator_arms`: no snapshot arms). Real-only and SMOTE are never
        generator pairs.

    Returns
    -------
    DataFrame
        ``dataset``, ``arm``, ``repetition``, ``fold``, ``value``: the valid records with a
        finite value.
    """
    check_classifier(classifier)
    missing = [c for c in ("dataset", "repetition", "arm", "status", "undefined") if c not in records.columns]
    if missing:
        raise ValueError(f"records lack the columns {missing}")
    arms = generator_arms(records["arm"].unique()) if arms is None else list(arms)
    if not arms or {REAL_ARM, SMOTE_ARM} & set(arms):
        raise ValueError(f"arms must be generator arms (not real-only or SMOTE), got {arms}")
    keep = valid_mask(records, classifier) & records["arm"].isin(arms)
    frame = _evaluation_frame(records, keep)
    if quantity == DELTA_AUC:
        frame["value"] = records.loc[keep, delta_column(classifier)].to_numpy(float)
    elif quantity in quality.METRICS:
        frame["value"] = quality.quality_score(records.loc[keep, quantity].to_numpy(float), quantity)
    elif quantity == COMPOSITE:
        frame["value"] = _evaluation_composite(records.loc[keep], frame)
    else:
        raise ValueError(
            f"unknown quantity '{quantity}'; use '{DELTA_AUC}', '{COMPOSITE}' or one of {list(quality.METRICS)}"
        )
    return frame[np.isfinite(frame["value"])].reset_index(drop=True)


def _evaluation_composite(records: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Mean over the metrics of each evaluation's score, standardised with the generator pairs' means."""
    z_scores = []
    for metric in quality.METRICS:
        score = pd.Series(quality.quality_score(records[metric].to_numpy(float), metric), index=frame.index)
        pair_means = score.groupby([frame["dataset"], frame["arm"]]).mean()
        sd = pair_means.std(ddof=1)
        z_scores.append((score - pair_means.mean()) / sd if np.isfinite(sd) and sd > 0 else score * 0.0)
    return pd.concat(z_scores, axis=1).mean(axis=1, skipna=True).to_numpy(float)


def unit_values(values: pd.DataFrame, unit: str = "repetition") -> pd.DataFrame:
    """The observations of the ANOVA: repetition means of the folds, or every evaluation.

    ``values`` is :func:`evaluation_values` output; the result has ``dataset``, ``arm``,
    ``repetition``, ``value`` (and ``fold`` for ``unit="evaluation"``).
    """
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {UNITS}, got '{unit}'")
    if unit == "evaluation":
        return values
    return values.groupby(["dataset", "arm", "repetition"], as_index=False)["value"].mean()


# --- reliability of the pair means --------------------------------------------------------


def pair_reliability(
    values: pd.DataFrame, unit: str = "repetition", *, n_boot: int = N_BOOT, seed: int = 0, alpha: float = ALPHA
) -> dict[str, Any]:
    """Reliability of the pair means of one quantity, with a dataset-bootstrap CI.

    Parameters
    ----------
    values : DataFrame
        :func:`evaluation_values` output (possibly restricted to one generator's pairs).
    unit : {"repetition", "evaluation"}
        The unit of replication (module notes).
    n_boot : int
        Dataset-bootstrap resamples (0: no CI); fewer than
        :data:`~radlib.analysis.bootstrap.MIN_BOOTSTRAP_DATASETS` datasets give no CI, with a note.
    seed : int
    alpha : float
        ``1 - alpha`` percentile interval.

    Returns
    -------
    dict
        ``unit``, ``n_pairs``, ``n_datasets``, the keys of :func:`variance_components`
        (``n_harmonic`` is the harmonic mean number of units per pair), ``ci_low``,
        ``ci_high`` (of the reliability), ``n_boot_used``, ``note``.
    """
    observations = unit_values(values, unit)
    pair_keys = pd.MultiIndex.from_frame(observations[["dataset", "arm"]])
    row: dict[str, Any] = {
        "unit": unit,
        "n_pairs": int(pair_keys.nunique()),
        "n_datasets": int(observations["dataset"].nunique()),
        **dict.fromkeys(_COMPONENT_KEYS, np.nan),
        "ci_low": np.nan,
        "ci_high": np.nan,
        "n_boot_used": 0,
        "note": "",
    }
    if row["n_pairs"] < 2 or len(observations) <= row["n_pairs"]:
        row["note"] = "fewer than 2 pairs, or no pair with 2 or more units"
        return row
    statistics, pairs = _grouped(observations["value"], pair_keys)
    row.update({key: float(value[0]) for key, value in _anova(*statistics, np.ones((1, len(pairs)))).items()})
    if can_bootstrap(observations, n_boot=n_boot, row=row):
        weights = cluster_counts(pairs.get_level_values(0), n_boot=n_boot, seed=seed)
        resampled = _anova(*statistics, weights)["reliability"]
        row["ci_low"], row["ci_high"], row["n_boot_used"] = percentile_interval(resampled, alpha=alpha)
    return row


def _groups_of(values: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    return [(POOLED, values)] + [(arm, values[values["arm"] == arm]) for arm in sorted(values["arm"].unique())]


def reliability_table(
    records: pd.DataFrame,
    classifiers: Sequence[str] | None = None,
    metrics: Sequence[str] = (*quality.METRICS, COMPOSITE),
    unit: str = "repetition",
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
    arms: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Reliability of ΔAUC and of each quality score, pooled over the generator pairs and per generator.

    Parameters
    ----------
    records : DataFrame
    classifiers : sequence of str, optional
        Default: every classifier with an AUC column in ``records``.
    metrics : sequence of str
        Quality metrics (and ``"composite"``).
    unit, n_boot, seed, alpha
        As for :func:`pair_reliability`.
    arms : sequence of str, optional
        As for :func:`evaluation_values`.

    Returns
    -------
    DataFrame
        One row per classifier x quantity (``"delta_auc"`` first, then ``metrics``) x group
        (``"pooled"``, then each generator): ``classifier``, ``quantity``, ``group`` and the
        fields of :func:`pair_reliability`.
    """
    classifiers = classifiers_in(records.columns) if classifiers is None else list(classifiers)
    rows = []
    for classifier in classifiers:
        for quantity in (DELTA_AUC, *metrics):
            values = evaluation_values(records, quantity, classifier, arms)
            for group, subset in _groups_of(values):
                row = pair_reliability(subset, unit, n_boot=n_boot, seed=seed, alpha=alpha)
                rows.append({"classifier": classifier, "quantity": quantity, "group": group, **row})
    return pd.DataFrame(rows)


# --- attenuation ------------------------------------------------------------------------------


def attenuation_ceiling(reliability_x, reliability_y):
    """``sqrt(max(r_x, 0) * max(r_y, 0))``: the largest observable correlation of true values correlated 1."""
    return np.sqrt(np.clip(reliability_x, 0.0, None) * np.clip(reliability_y, 0.0, None))


def attenuation_table(reliabilities: pd.DataFrame, correlations: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Raw and disattenuated correlations of quality with ΔAUC, side by side.

    The disattenuated correlation is ``rho / ceiling`` with the ceiling of
    :func:`attenuation_ceiling` from the reliabilities of the quality score and of ΔAUC in
    the same group (Spearman's correction; applied to Spearman's ρ it is an approximation,
    exact for Pearson's r of normal data). Its sampling error is that of ρ divided by the
    ceiling and more: a correction above 1 in absolute value is shown capped at ±1 and
    flagged; a ceiling of 0 leaves it undefined.

    Parameters
    ----------
    reliabilities : DataFrame
        :func:`reliability_table` output.
    correlations : mapping
        Classifier -> :func:`radlib.analysis.correlate_quality` table (``group``,
        ``metric``, ``n``, ``rho``, ``ci_low``, ``ci_high``, ``q_value``).

    Returns
    -------
    DataFrame
        ``classifier``, ``group``, ``metric``, ``n``, ``rho``, ``ci_low``, ``ci_high``,
        ``q_value``, ``reliability_quality``, ``reliability_delta``, ``ceiling``,
        ``rho_disattenuated`` (capped at ±1) and ``capped``.
    """
    reliability = reliabilities.set_index(["classifier", "group", "quantity"])["reliability"]
    frames = []
    for classifier, table in correlations.items():
        frame = table[["group", "metric", "n", "rho", "ci_low", "ci_high", "q_value"]].copy()
        frame.insert(0, "classifier", classifier)
        frame["reliability_quality"] = [
            reliability.get((classifier, g, m), np.nan) for g, m in zip(frame["group"], frame["metric"])
        ]
        frame["reliability_delta"] = [reliability.get((classifier, g, DELTA_AUC), np.nan) for g in frame["group"]]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["ceiling"] = attenuation_ceiling(out["reliability_quality"], out["reliability_delta"])
    with np.errstate(invalid="ignore", divide="ignore"):
        corrected = np.where(out["ceiling"] > 0, out["rho"] / out["ceiling"], np.nan)
    out["capped"] = np.abs(corrected) > 1
    out["rho_disattenuated"] = np.clip(corrected, -1.0, 1.0)
    return out
