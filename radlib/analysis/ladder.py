"""The fidelity ladder: does between-configuration spread of quality create the pooled correlation?

The pre-specified analyses of docs/protocol.md, section "Pre-specified analyses of version 2
(fidelity ladder)". A *configuration* is a generator at one training fraction, i.e. one
generator arm of the records (``cvae@0.0625``, ``cvae@0.25``, ``cvae``;
:func:`radlib.records.configuration_arms`, :func:`radlib.records.parse_arm`); a *pair* is
(dataset, configuration), the mean over its valid evaluations
(:func:`radlib.analysis.pair_table` with ``arms="all"``). Every analysis reuses the study's
functions with the configuration in the place of the generator (their group column is ``arm``):
:func:`~radlib.analysis.correlate_quality` for ρ,
:func:`~radlib.analysis.decompose_within_between` for the between and within slopes (one group
mean per configuration: 9 instead of 3), :func:`~radlib.analysis.meta_analyze_generators` for the
random-effects pooling of the dose-response slopes.

Nested sets of growing spread: S1 = {1.0}, S2 = {0.25, 1.0}, S3 = {0.0625, 0.25, 1.0}, taken
from the fractions present (:func:`nested_sets`), so the random forest, which the engine trains
on the fully trained arms only, gets S1 alone: its ladder is the study's three configurations.

Choices (the protocol is silent on them)
----------------------------------------
* **The composite** is computed once, over every configuration pair of the ladder
  (:func:`configuration_pairs`), so a pair has the same score in S1, S2 and S3 and a change of ρ
  between the sets comes from the pairs added, not from a new standardisation.
* **Share of variance explained by configuration** (:func:`variance_explained`): type II sums of
  squares of the additive model ``value ~ dataset + configuration`` (the dataset a blocking
  factor). The primary share is ``SS_configuration / SS_total``: in a complete ladder (every
  dataset has every configuration) the two factors are orthogonal and it equals the plain
  one-way η²; the dataset block only matters when pairs are missing. Why the share of the
  total: the pooled analyses correlate across all pairs, most of whose variance is between
  datasets (80-94 % in version 1), so the share of the total is the part of the pooled variation
  that configuration can carry, and it is the quantity of version 1's "generator explains 2-8 %".
  The partial η², ``SS_configuration / (SS_configuration + SS_residual)``, is reported alongside:
  how well configuration separates the pairs of one dataset.
* **BH families.** Pooled ρ: every score (five metrics and composite) in every set. Within a
  configuration: per score, over the configurations (9), as the protocol says. The size-adjusted
  table (:func:`adjusted_by_set`) uses the same families for its raw and its partial ρ.
* **H2's parenthesis** "(and within-configuration ρ survive BH)" is read as: at least one
  configuration's ρ is positive with q < alpha. When more than one decision rule holds (H2 and
  H0 can, e.g. a within slope with no pooled ρ), the verdict is "mixed" and names the rules.
* **Dose-response slopes**: per evaluation, the OLS slope of the value on log2(fraction) over the
  generator's snapshots; averaged over the folds of a repetition (they share the repetition's
  split, so the repetition is the independent unit, as in :mod:`radlib.analysis.reliability`);
  a dataset's slope is the mean over its repetitions with the variance of that mean
  (sample variance / n). Metrics enter as distances from their ideal
  (:func:`radlib.quality.distance_from_ideal`, lower = closer to real), so "fidelity improves with
  training" is a negative slope for every metric.
* **Groups.** The study's functions group the pairs they are given by ``arm``
  (:func:`radlib.analysis.generators_of`); the ladder gives them configuration pairs, so each
  configuration is a group.
* **The placebo** permutes the arm labels of whole records among the configuration arms of one
  evaluation: a record keeps its quality and its ΔAUC together. The placebo groups are then random
  mixtures of configurations, and their between slope estimates the association of quality and
  ΔAUC *across the arms of an evaluation* at the scale of the mixtures, attenuated by the
  record-level noise of quality: with no configuration effect on ΔAUC it centres on 0; with a
  configuration effect on both, it centres on that effect times
  var(configuration)/(var(configuration) + var(quality noise within a configuration)), so it is
  near 0 only where a record's quality is noisy relative to the configuration spread. The
  permutation p-value is exact under exchangeability of the configuration labels within
  evaluations.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radlib import quality
from radlib.analysis.association import adjust_fdr, correlate_quality
from radlib.analysis.bootstrap import can_bootstrap, cluster_counts, percentile_interval
from radlib.analysis.floor import adjust_in_families, adjusted_correlations
from radlib.analysis.meta import meta_analyze_generators
from radlib.analysis.pairs import METRICS, pair_table
from radlib.analysis.scores import add_composite, orient_quality
from radlib.analysis.within_between import decompose_within_between
from radlib.formatting import interval, p_value, signed
from radlib.records import (
    CLASSIFIER_LABELS,
    COMPOSITE,
    POOLED,
    check_classifier,
    configuration_arms,
    delta_column,
    evaluation_keys,
    parse_arm,
    valid_mask,
)

__all__ = [
    "SCORES",
    "DELTA_AUC",
    "VERDICTS",
    "configuration_pairs",
    "nested_sets",
    "restrict_to_set",
    "variance_explained",
    "pooled_by_set",
    "within_configurations",
    "slopes_by_set",
    "configuration_slopes",
    "adjusted_by_set",
    "dose_response",
    "permute_within_evaluations",
    "placebo_between",
    "ladder_verdict",
    "LADDER_TABLES",
    "LadderResult",
    "run_ladder",
    "summarize_ladder",
]

#: The quality scores of every ladder analysis: the five metrics and the composite (primary).
SCORES = (*METRICS, COMPOSITE)
#: The name of ΔAUC among the quantities of :func:`variance_explained` and :func:`dose_response`.
DELTA_AUC = "delta_auc"
#: The verdicts of the protocol's decision rules, keyed by rule.
VERDICTS = {
    "fallacy": "The ladder reproduces the ecological fallacy",
    "within": "Quality predicts the gain within configurations",
    "none": "No association at any spread",
    "mixed": "Mixed",
    "undecided": "Undecided",
}


# --- the pair table of the configurations ----------------------------------------------------


def configuration_pairs(
    records: pd.DataFrame, classifier: str = "logreg", datasets: Iterable[str] | None = None
) -> pd.DataFrame:
    """The pair table of the configurations: one row per (dataset, generator arm), with the composite.

    :func:`radlib.analysis.pair_table` (means over the valid evaluations; snapshot arms are arms
    of their own there), restricted to the generator arms (SMOTE out), with ``generator`` and
    ``fraction`` parsed from the arm (:func:`radlib.records.parse_arm`) and the ``composite``
    computed over all these pairs together (see the module notes). ``attrs["exclusions"]`` is
    the pair table's exclusion report: for the random forest it lists the snapshot pairs, which
    have no valid evaluation because the forest was not trained on them.
    """
    pairs = pair_table(records, classifier, datasets, arms="all")
    exclusions = dict(pairs.attrs["exclusions"])
    ladder = pairs[pairs["arm"].isin(configuration_arms(pairs["arm"]))].reset_index(drop=True)
    parsed = [parse_arm(arm) for arm in ladder["arm"]]
    ladder.insert(2, "generator", [generator for generator, _ in parsed])
    ladder.insert(3, "fraction", [fraction for _, fraction in parsed])
    ladder = add_composite(ladder)
    ladder.attrs.update(classifier=classifier, exclusions=exclusions)
    return ladder


def nested_sets(pairs: pd.DataFrame) -> dict[str, tuple[float, ...]]:
    """The nested sets of training fractions present: ``S1`` = the largest, ``S2`` = the two largest, ...

    With the default snapshots: ``{"S1": (1.0,), "S2": (0.25, 1.0), "S3": (0.0625, 0.25, 1.0)}``.
    """
    fractions = sorted(set(pairs["fraction"].astype(float)), reverse=True)
    if not fractions:
        raise ValueError("the pair table holds no configuration")
    return {f"S{k}": tuple(sorted(fractions[:k])) for k in range(1, len(fractions) + 1)}


def restrict_to_set(pairs: pd.DataFrame, fractions: Sequence[float]) -> pd.DataFrame:
    """The pairs whose training fraction is one of ``fractions`` (the composite is kept as it is)."""
    subset = pairs[pairs["fraction"].isin(list(fractions))]
    subset.attrs = dict(pairs.attrs)
    return subset


def _sets(pairs: pd.DataFrame, sets: Mapping[str, Sequence[float]] | None) -> dict[str, tuple[float, ...]]:
    return nested_sets(pairs) if sets is None else {name: tuple(f) for name, f in sets.items()}


def _values(pairs: pd.DataFrame, quantity: str) -> pd.Series:
    """ΔAUC or a quality score (:func:`radlib.analysis.orient_quality`) of each pair."""
    return pairs[DELTA_AUC].astype(float) if quantity == DELTA_AUC else orient_quality(pairs, quantity).astype(float)


# --- (a) the share of variance explained by configuration ------------------------------------


def _residual_ss(y: np.ndarray, *factors: np.ndarray) -> float:
    """Residual sum of squares of the least-squares fit of y on an intercept and the factors' dummies."""
    columns = [np.ones((len(y), 1))]
    for codes in factors:
        dummies = np.eye(codes.max() + 1)[codes]
        columns.append(dummies[:, 1:])
    design = np.hstack(columns)
    fitted = design @ np.linalg.lstsq(design, y, rcond=None)[0]
    return float(((y - fitted) ** 2).sum())


def _variance_row(data: pd.DataFrame) -> dict[str, float]:
    """Type II sums of squares of ``value ~ dataset + configuration`` and the shares built on them."""
    y = data["value"].to_numpy(float)
    dataset = pd.factorize(data["dataset"])[0]
    configuration = pd.factorize(data["arm"])[0]
    total = float(((y - y.mean()) ** 2).sum())
    residual = _residual_ss(y, dataset, configuration)
    ss_configuration = _residual_ss(y, dataset) - residual
    ss_dataset = _residual_ss(y, configuration) - residual
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "ss_total": total,
            "ss_configuration": ss_configuration,
            "ss_dataset": ss_dataset,
            "ss_residual": residual,
            "eta2": ss_configuration / total,
            "partial_eta2": ss_configuration / (ss_configuration + residual),
            "dataset_share": ss_dataset / total,
        }


def variance_explained(
    pairs: pd.DataFrame,
    quantities: Sequence[str] = (*SCORES, DELTA_AUC),
    sets: Mapping[str, Sequence[float]] | None = None,
) -> pd.DataFrame:
    """H1 (a): the share of the variance of each quality score and of ΔAUC explained by configuration.

    Per set and quantity (a quality score oriented as in every analysis, or ``"delta_auc"``),
    over the pairs with a value: type II sums of squares of the additive model
    ``value ~ dataset + configuration`` (least squares with dummy codes; the same numbers as
    ``statsmodels.stats.anova.anova_lm(typ=2)``), ``eta2`` = SS_configuration / SS_total (the
    share; in a complete ladder the plain one-way η²), ``partial_eta2`` = SS_configuration /
    (SS_configuration + SS_residual) and ``dataset_share`` = SS_dataset / SS_total. Why the
    share of the total is the primary number: see the module notes.

    Returns
    -------
    DataFrame
        ``set``, ``quantity``, ``n`` (pairs), ``n_configurations``, ``n_datasets``, the sums of
        squares (``ss_total``, ``ss_configuration``, ``ss_dataset``, ``ss_residual``), ``eta2``,
        ``partial_eta2``, ``dataset_share``. NaN shares where a set holds one configuration.
    """
    rows = []
    for name, fractions in _sets(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        for quantity in quantities:
            data = pd.DataFrame(
                {"dataset": subset["dataset"], "arm": subset["arm"], "value": _values(subset, quantity)}
            ).dropna()
            row: dict[str, Any] = {
                "set": name,
                "quantity": quantity,
                "n": len(data),
                "n_configurations": data["arm"].nunique(),
                "n_datasets": data["dataset"].nunique(),
            }
            if row["n_configurations"] < 2 or row["n_datasets"] < 2:
                row.update(dict.fromkeys(("eta2", "partial_eta2", "dataset_share"), np.nan))
            else:
                row.update(_variance_row(data))
            rows.append(row)
    return pd.DataFrame(rows)


# --- (b) pooled ρ over the nested sets, (d) ρ within each configuration ------------------------


def pooled_by_set(
    pairs: pd.DataFrame,
    scores: Sequence[str] = SCORES,
    sets: Mapping[str, Sequence[float]] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
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
    for name, fractions in _sets(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        table = correlate_quality(subset, scores, n_boot, seed, alpha)
        pooled = table[table["group"] == POOLED].drop(columns=["group", "q_value", "significant"])
        pooled.insert(0, "set", name)
        pooled.insert(1, "fractions", ", ".join(f"{f:g}" for f in fractions))
        pooled.insert(2, "n_configurations", subset["arm"].nunique())
        frames.append(pooled)
    table = pd.concat(frames, ignore_index=True)
    table["q_value"], table["significant"] = adjust_fdr(table["p_value"], alpha)
    return table


def within_configurations(
    pairs: pd.DataFrame, scores: Sequence[str] = SCORES, n_boot: int = 2000, seed: int = 0, alpha: float = 0.05
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
    table = correlate_quality(pairs, scores, n_boot, seed, alpha, pooled=False).rename(
        columns={"group": "configuration"}
    )
    parsed = [parse_arm(arm) for arm in table["configuration"]]
    table.insert(1, "generator", [generator for generator, _ in parsed])
    table.insert(2, "fraction", [fraction for _, fraction in parsed])
    for rows in table.groupby("metric", sort=False).groups.values():
        q, significant = adjust_fdr(table.loc[rows, "p_value"], alpha)
        table.loc[rows, "q_value"], table.loc[rows, "significant"] = q, significant
    table["significant"] = table["significant"].astype(bool)
    table["positive_significant"] = table["significant"] & (table["rho"] > 0)
    return table


# --- (c) slopes: pooled, between and within configurations ------------------------------------


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
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
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
    for name, fractions in _sets(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        table = decompose_within_between(subset, scores, n_boot, seed, alpha).rename(
            columns={"n_generators": "n_groups"}
        )
        pooled_rows = []
        for score in scores:
            data = _standardized(subset, score)
            q, y = data["q"].to_numpy(float), data["delta"].to_numpy(float)
            row = {"pooled_slope": np.nan, "pooled_ci_low": np.nan, "pooled_ci_high": np.nan}
            if len(data) >= 3:
                row["pooled_slope"] = float(_pooled_slopes(q, y, np.ones((1, len(q))))[0])
            if len(data) >= 3 and can_bootstrap(data, n_boot, {}):
                low, high, _ = percentile_interval(
                    _pooled_slopes(q, y, cluster_counts(data["dataset"], n_boot, seed)), alpha
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
    for name, fractions in _sets(pairs, sets).items():
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
    alpha: float = 0.05,
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
    for name, fractions in _sets(pairs, sets).items():
        subset = restrict_to_set(pairs, fractions)
        table = adjusted_correlations(subset, scores, alpha=alpha)
        table = table.rename(columns={"group": "configuration"})
        table.insert(0, "set", name)
        table.insert(1, "n_configurations", subset["arm"].nunique())
        frames.append(table)
    table = pd.concat(frames, ignore_index=True)
    pooled = table["configuration"] == POOLED
    families = np.where(pooled, POOLED, table["set"] + "/" + table["metric"])
    return adjust_in_families(table, alpha, families)


# --- dose-response ------------------------------------------------------------------------------


def _configuration_records(records: pd.DataFrame, classifier: str) -> pd.DataFrame:
    """The records of the generator arms that count for ``classifier`` (:func:`radlib.records.valid_mask`)."""
    check_classifier(classifier)
    keep = valid_mask(records, classifier) & records["arm"].isin(configuration_arms(records["arm"]))
    return records[keep]


def dose_response(
    records: pd.DataFrame,
    classifier: str = "logreg",
    quantities: Sequence[str] = (DELTA_AUC, *METRICS),
    alpha: float = 0.05,
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
    valid = _configuration_records(records, classifier)
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
        meta = meta_analyze_generators(pseudo_pairs, alpha)
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


# --- the placebo ---------------------------------------------------------------------------------


def permute_within_evaluations(records: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``records`` whose ``arm`` labels are permuted among the rows of each evaluation.

    Each evaluation (:func:`radlib.records.evaluation_keys`) gets an independent uniform
    permutation of its rows' arm labels; every other column stays with its row.
    """
    codes = pd.MultiIndex.from_frame(records[evaluation_keys(records)]).factorize()[0]
    arms = records["arm"].to_numpy()
    in_order = np.argsort(codes, kind="stable")
    shuffled = np.lexsort((rng.random(len(codes)), codes))
    permuted = arms.copy()
    permuted[in_order] = arms[shuffled]
    return records.assign(arm=permuted)


def _between_slope(records: pd.DataFrame, classifier: str, score: str) -> float:
    """The between slope of the decomposition on the configuration pairs of ``records`` (no bootstrap)."""
    pairs = configuration_pairs(records, classifier)
    return float(decompose_within_between(pairs, (score,), n_boot=0)["between_slope"].iloc[0])


def placebo_between(
    records: pd.DataFrame,
    classifier: str = "logreg",
    score: str = COMPOSITE,
    n_permutations: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """The placebo: the between slope after permuting configuration labels within each evaluation.

    The valid records of the configuration arms (:func:`radlib.records.valid_mask`) have their
    arm labels permuted within each dataset x repetition x fold
    (:func:`permute_within_evaluations`, ``n_permutations`` times from
    ``numpy.random.default_rng(seed)``); each time the configuration pair table, the composite
    and the decomposition are recomputed exactly as for the observed slope
    (:func:`configuration_pairs`, :func:`radlib.analysis.decompose_within_between` without
    bootstrap). p = (1 + #{|placebo| >= |observed|}) / (1 + n_permutations). What the placebo
    distribution centres on: see the module notes.

    Returns
    -------
    dict
        ``score``, ``classifier``, ``observed`` (between slope), ``placebo`` (ndarray of the
        placebo slopes), ``n_permutations``, ``n_finite``, ``placebo_mean``, ``placebo_median``,
        ``placebo_sd``, ``placebo_low``/``placebo_high`` (2.5 and 97.5 percentiles), ``p_value``.
    """
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be at least 1, got {n_permutations}")
    valid = _configuration_records(records, classifier)
    observed = _between_slope(valid, classifier, score)
    rng = np.random.default_rng(seed)
    placebo = np.array(
        [_between_slope(permute_within_evaluations(valid, rng), classifier, score) for _ in range(n_permutations)]
    )
    finite = placebo[np.isfinite(placebo)]
    extreme = int((np.abs(finite) >= abs(observed)).sum()) if np.isfinite(observed) else 0
    return {
        "score": score,
        "classifier": classifier,
        "observed": observed,
        "placebo": placebo,
        "n_permutations": n_permutations,
        "n_finite": int(len(finite)),
        "placebo_mean": float(finite.mean()) if len(finite) else np.nan,
        "placebo_median": float(np.median(finite)) if len(finite) else np.nan,
        "placebo_sd": float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
        "placebo_low": float(np.percentile(finite, 2.5)) if len(finite) else np.nan,
        "placebo_high": float(np.percentile(finite, 97.5)) if len(finite) else np.nan,
        "p_value": (1 + extreme) / (1 + len(finite)) if np.isfinite(observed) and len(finite) else np.nan,
    }


# --- the decision rules --------------------------------------------------------------------------


def _excludes_zero_positive(low: float, high: float) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and low > 0)


def _includes_zero(low: float, high: float) -> bool:
    return bool(np.isfinite(low) and np.isfinite(high) and low <= 0 <= high)


def _score_rules(pooled: pd.Series, slopes: pd.Series, within: pd.DataFrame, alpha: float) -> dict[str, Any]:
    """The protocol's decision rules for one score in one set: the numbers and which rules hold."""
    positive_significant = int(within["positive_significant"].sum())
    numbers = {
        "pooled_rho": float(pooled["rho"]),
        "pooled_q": float(pooled["q_value"]),
        "pooled_ci_low": float(pooled["ci_low"]),
        "pooled_ci_high": float(pooled["ci_high"]),
        "between_slope": float(slopes["between_slope"]),
        "between_ci_low": float(slopes["between_ci_low"]),
        "between_ci_high": float(slopes["between_ci_high"]),
        "within_slope": float(slopes["within_slope"]),
        "within_ci_low": float(slopes["within_ci_low"]),
        "within_ci_high": float(slopes["within_ci_high"]),
        "n_within_tests": int(within["p_value"].notna().sum()),
        "n_within_positive_significant": positive_significant,
    }
    missing = [
        name
        for name in ("pooled_rho", "pooled_q", "between_ci_low", "between_ci_high", "within_ci_low", "within_ci_high")
        if not np.isfinite(numbers[name])
    ]
    if missing or numbers["n_within_tests"] == 0:
        reason = f"missing {', '.join(missing)}" if missing else "no within-configuration test"
        return {**numbers, "rules": [], "verdict": VERDICTS["undecided"], "rule": "undecided", "reason": reason}
    pooled_positive = numbers["pooled_q"] < alpha and numbers["pooled_rho"] > 0
    within_near_zero = positive_significant == 0 and _includes_zero(numbers["within_ci_low"], numbers["within_ci_high"])
    holds = {
        "fallacy": pooled_positive
        and _excludes_zero_positive(numbers["between_ci_low"], numbers["between_ci_high"])
        and within_near_zero,
        "within": numbers["within_slope"] > 0
        and _excludes_zero_positive(numbers["within_ci_low"], numbers["within_ci_high"])
        and positive_significant > 0,
        "none": numbers["pooled_q"] >= alpha and _includes_zero(numbers["between_ci_low"], numbers["between_ci_high"]),
    }
    rules = [rule for rule, held in holds.items() if held]
    rule = rules[0] if len(rules) == 1 else "mixed"
    reason = "" if len(rules) == 1 else ("no rule holds" if not rules else f"several rules hold: {', '.join(rules)}")
    return {**numbers, "rules": rules, "verdict": VERDICTS[rule], "rule": rule, "reason": reason}


def ladder_verdict(
    pooled: pd.DataFrame,
    slopes: pd.DataFrame,
    within: pd.DataFrame,
    set_name: str | None = None,
    primary: str = COMPOSITE,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """The protocol's decision rules, applied in the largest set (S3) to the primary score, and to each metric.

    Rules (docs/protocol.md, "Decision rules"), in the set ``set_name`` (default: the last
    set of ``pooled``, the widest spread):

    * ``fallacy`` ("The ladder reproduces the ecological fallacy"): the pooled ρ is positive
      with q < alpha, the between slope's CI lies above 0, no configuration's ρ is positive
      with q < alpha (BH over the configurations) and the within slope's CI includes 0;
    * ``within`` ("Quality predicts the gain within configurations"): the within slope is
      positive with a CI above 0 and at least one configuration's ρ is positive with q < alpha;
    * ``none`` ("No association at any spread"): the pooled ρ has q >= alpha and the between
      slope's CI includes 0;
    * otherwise ``mixed`` (no rule holds, or several do: their names are given);
    * ``undecided`` when a number a rule needs is missing (e.g. no bootstrap CI with fewer than
      5 datasets).

    Parameters
    ----------
    pooled, slopes, within : DataFrame
        :func:`pooled_by_set`, :func:`slopes_by_set`, :func:`within_configurations`.

    Returns
    -------
    dict
        ``verdict`` (text), ``rule``, ``rules`` (those that hold), ``reason``, ``set``,
        ``n_configurations``, ``score`` (the primary), the numbers the rules rest on
        (``pooled_rho``, ``pooled_q``, ``pooled_ci_low``/``_high``, ``between_slope``,
        ``between_ci_low``/``_high``, ``within_slope``, ``within_ci_low``/``_high``,
        ``n_within_tests``, ``n_within_positive_significant``), ``metrics`` (a DataFrame: the
        same for every score), ``metric_counts`` (verdict -> number of the five metrics with
        it) and ``sentence`` (the verdict with its numbers, in words).
    """
    set_name = pooled["set"].iloc[-1] if set_name is None else set_name
    pooled_set = pooled[pooled["set"] == set_name].set_index("metric")
    slopes_set = slopes[slopes["set"] == set_name].set_index("metric")
    if pooled_set.empty or slopes_set.empty:
        raise ValueError(f"no set '{set_name}' in the tables; sets: {sorted(set(pooled['set']))}")
    rows = []
    for score in pooled_set.index:
        if score not in slopes_set.index:
            continue
        within_score = within[within["metric"] == score]
        rows.append(
            {"metric": score, **_score_rules(pooled_set.loc[score], slopes_set.loc[score], within_score, alpha)}
        )
    metrics = pd.DataFrame(rows)
    if primary not in set(metrics["metric"]):
        raise ValueError(f"the primary score '{primary}' is not among the scores {list(metrics['metric'])}")
    main = metrics.set_index("metric").loc[primary].to_dict()
    five = metrics[metrics["metric"] != primary]
    counts = five["verdict"].value_counts().to_dict()
    out = {
        **main,
        "set": set_name,
        "n_configurations": int(pooled_set.loc[primary, "n_configurations"]),
        "score": primary,
        "metrics": metrics,
        "metric_counts": {verdict: int(n) for verdict, n in counts.items()},
    }
    out["sentence"] = _verdict_sentence(out, len(five))
    return out


def _verdict_sentence(verdict: Mapping[str, Any], n_metrics: int) -> str:
    text = (
        f"{verdict['verdict']} ({verdict['score']}, {verdict['set']}, {verdict['n_configurations']} configurations): "
        f"pooled ρ = {signed(verdict['pooled_rho'], 2)} (q {_q(verdict['pooled_q'])}), "
        f"between slope {signed(verdict['between_slope'])} {interval(verdict['between_ci_low'], verdict['between_ci_high'])}, "
        f"within slope {signed(verdict['within_slope'])} {interval(verdict['within_ci_low'], verdict['within_ci_high'])}, "
        f"{verdict['n_within_positive_significant']} of {verdict['n_within_tests']} within-configuration ρ "
        f"positive with q < 0.05"
    )
    if verdict["reason"]:
        text += f" ({verdict['reason']})"
    counts = ", ".join(f"{n} {name.lower()}" for name, n in verdict["metric_counts"].items())
    return f"{text}. The {n_metrics} metrics: {counts}."


def _q(value: float) -> str:
    text = p_value(value)
    return text if text.startswith("<") or text == "n/a" else f"= {text}"


# --- everything at once ---------------------------------------------------------------------------


#: The tables of :meth:`LadderResult.tables`, in the order they are written (``ladder_<classifier>_<table>``).
LADDER_TABLES = (
    "pairs",
    "variance",
    "pooled",
    "within",
    "slopes",
    "configuration_slopes",
    "adjusted",
    "dose_means",
    "dose_datasets",
    "dose_pooled",
    "placebo",
    "verdict",
)


class LadderResult(Mapping[str, Any]):
    """The outcome of :func:`run_ladder`: its parts by name, its tables, its key numbers.

    A read-only mapping of the parts (``result["pooled"]``, as :func:`run_ladder` documents),
    with the views a notebook publishes, as statsmodels' results objects have them:
    :meth:`tables` (every part as a flat table) and :meth:`summary` (the key numbers).
    """

    def __init__(self, parts: Mapping[str, Any]) -> None:
        self._parts = dict(parts)

    def __getitem__(self, key: str) -> Any:
        return self._parts[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._parts)

    def __len__(self) -> int:
        return len(self._parts)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every part as a table, named as in :data:`LADDER_TABLES`.

        The dose-response's three tables are ``dose_means``, ``dose_datasets`` and
        ``dose_pooled``; ``placebo`` holds the placebo between slopes (absent without
        permutations); ``verdict`` the per-score rules (the rules' dict column left out).
        """
        parts = self._parts
        tables = {name: parts[name] for name in LADDER_TABLES[:7]}
        tables.update({f"dose_{name}": parts["dose"][name] for name in ("means", "datasets", "pooled")})
        if parts.get("placebo") is not None:
            tables["placebo"] = pd.DataFrame({"placebo_between_slope": parts["placebo"]["placebo"]})
        tables["verdict"] = parts["verdict"]["metrics"].drop(columns="rules")
        return tables

    def summary(self, score: str = COMPOSITE, *, study_adjusted: pd.DataFrame | None = None) -> dict[str, Any]:
        """:func:`summarize_ladder`, and with ``study_adjusted`` (:func:`radlib.analysis.floor.adjusted_correlations` of the study's pairs)
        ``study_adjusted_changes``: how many of the study's correlations change their conclusion when adjusted.
        """
        numbers = summarize_ladder(self, score)
        if study_adjusted is not None:
            numbers["study_adjusted_changes"] = int(study_adjusted["conclusion_changes"].sum())
        return numbers


def run_ladder(
    records: pd.DataFrame,
    classifier: str = "logreg",
    scores: Sequence[str] = SCORES,
    n_boot: int = 2000,
    n_permutations: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
    datasets: Iterable[str] | None = None,
) -> LadderResult:
    """Every pre-specified ladder analysis for one classifier.

    Returns
    -------
    LadderResult
        A mapping of ``pairs`` (:func:`configuration_pairs`), ``sets`` (name -> fractions),
        ``variance`` (:func:`variance_explained`), ``pooled`` (:func:`pooled_by_set`),
        ``within`` (:func:`within_configurations`), ``slopes`` (:func:`slopes_by_set`),
        ``configuration_slopes`` (:func:`configuration_slopes`), ``adjusted``
        (:func:`adjusted_by_set`), ``dose`` (:func:`dose_response`,
        a dict), ``placebo`` (:func:`placebo_between` of the composite; ``None`` with
        ``n_permutations=0``) and ``verdict`` (:func:`ladder_verdict`).
    """
    if datasets is not None:
        records = records[records["dataset"].isin(list(datasets))]
    pairs = configuration_pairs(records, classifier)
    sets = nested_sets(pairs)
    pooled = pooled_by_set(pairs, scores, sets, n_boot, seed, alpha)
    within = within_configurations(pairs, scores, n_boot, seed, alpha)
    slopes = slopes_by_set(pairs, scores, sets, n_boot, seed, alpha)
    parts = {
        "classifier": classifier,
        "pairs": pairs,
        "sets": sets,
        "variance": variance_explained(pairs, (*scores, DELTA_AUC), sets),
        "pooled": pooled,
        "within": within,
        "slopes": slopes,
        "configuration_slopes": configuration_slopes(pairs, scores, sets),
        "adjusted": adjusted_by_set(pairs, scores, sets, alpha),
        "dose": dose_response(records, classifier, alpha=alpha),
        "placebo": placebo_between(records, classifier, COMPOSITE, n_permutations, seed) if n_permutations else None,
        "verdict": ladder_verdict(pooled, slopes, within, alpha=alpha),
    }
    return LadderResult(parts)


def summarize_ladder(results: Mapping[str, Any], score: str = COMPOSITE) -> dict[str, Any]:
    """The key numbers of :func:`run_ladder` as a flat dict of plain Python scalars.

    Keys: ``classifier``, ``n_pairs``, ``n_datasets``, ``n_configurations``, the verdict
    (``verdict``, ``verdict_rule``, ``verdict_sentence`` and the numbers it rests on, prefixed
    ``verdict_``), per set ``<set>_eta2`` (share of the score's variance explained by
    configuration), ``<set>_pooled_rho``, ``<set>_pooled_q``, ``<set>_pooled_slope``,
    ``<set>_between_slope``, ``<set>_within_slope`` with their ``_ci_low``/``_ci_high``; per
    generator the pooled dose-response slope of ΔAUC (``dose_<generator>_delta_auc`` with CI);
    ``placebo_p`` and ``placebo_median`` (when run); ``classifier_label``; per set
    ``<set>_partial_rho`` and ``<set>_partial_q`` (the pooled ρ adjusted for log internal n and
    the real-only AUC, :func:`adjusted_by_set`) and ``adjusted_changes`` (how many pooled or
    within-configuration ρ of the widest set change their conclusion when adjusted, each judged
    by its q in the pre-specified family).
    """
    pairs, verdict = results["pairs"], results["verdict"]
    out: dict[str, Any] = {
        "classifier": results["classifier"],
        "classifier_label": CLASSIFIER_LABELS[results["classifier"]],
        "n_pairs": int(len(pairs)),
        "n_datasets": int(pairs["dataset"].nunique()),
        "n_configurations": int(pairs["arm"].nunique()),
        "verdict": verdict["verdict"],
        "verdict_rule": verdict["rule"],
        "verdict_sentence": verdict["sentence"],
    }
    for key in ("pooled_rho", "pooled_q", "between_slope", "between_ci_low", "between_ci_high"):
        out[f"verdict_{key}"] = verdict[key]
    for key in ("within_slope", "within_ci_low", "within_ci_high", "n_within_positive_significant"):
        out[f"verdict_{key}"] = verdict[key]
    variance = results["variance"].set_index(["set", "quantity"])
    pooled = results["pooled"].set_index(["set", "metric"])
    slopes = results["slopes"].set_index(["set", "metric"])
    for name in results["sets"]:
        out[f"{name}_eta2"] = float(variance.loc[(name, score), "eta2"])
        out[f"{name}_pooled_rho"] = float(pooled.loc[(name, score), "rho"])
        out[f"{name}_pooled_q"] = float(pooled.loc[(name, score), "q_value"])
        for term in ("pooled", "between", "within"):
            for field in ("slope", "ci_low", "ci_high"):
                out[f"{name}_{term}_{field}"] = float(slopes.loc[(name, score), f"{term}_{field}"])
    adjusted = results["adjusted"]
    pooled_adjusted = adjusted[adjusted["configuration"] == POOLED].set_index(["set", "metric"])
    for name in results["sets"]:
        out[f"{name}_partial_rho"] = float(pooled_adjusted.loc[(name, score), "partial_rho"])
        out[f"{name}_partial_q"] = float(pooled_adjusted.loc[(name, score), "partial_q_value"])
    widest = list(results["sets"])[-1]
    out["adjusted_changes"] = int(adjusted.loc[adjusted["set"] == widest, "conclusion_changes"].sum())
    dose = results["dose"]["pooled"]
    for row in dose[dose["quantity"] == DELTA_AUC].itertuples():
        out[f"dose_{row.generator}_delta_auc"] = float(row.estimate)
        out[f"dose_{row.generator}_delta_auc_ci_low"] = float(row.ci_low)
        out[f"dose_{row.generator}_delta_auc_ci_high"] = float(row.ci_high)
    if results.get("placebo") is not None:
        out["placebo_p"] = float(results["placebo"]["p_value"])
        out["placebo_median"] = float(results["placebo"]["placebo_median"])
    return {key: (value.item() if isinstance(value, np.generic) else value) for key, value in out.items()}
