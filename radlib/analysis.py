"""The statistical analyses of the compendium: does synthetic-data quality predict ΔAUC?

Everything here works on the *pair table* (:func:`pair_table`): one row per
(dataset, arm) with the mean over the valid repetitions of ΔAUC, the AUC and the five
quality metrics. The six analyses of DESIGN.md, the within-between decomposition and the
sensitivity subset each have one function; :func:`run_analyses` runs them all for one
classifier (and optionally a subset of datasets) and :func:`summarize` extracts the key
numbers.

Conventions used throughout
---------------------------
* **Generators** are all arms other than ``"real"`` and ``"smote"``. SMOTE is kept out of
  every generator analysis (1-5, 7) and has its own comparison (6).
* **Quality score** (:func:`orient_quality`): every metric is turned into a score where
  *higher = better quality* (closer to the real data): ``-metric`` for ``wasserstein``,
  ``ks``, ``mmd2``, ``corr_diff``; ``-|detection_auc - 0.5|`` for the detection AUC. The
  composite (:func:`score_composite`) is already on this orientation. So in analyses 1, 2
  and 7 a **positive** ρ / AUC > 0.5 / slope means "better quality goes with a larger
  ΔAUC", for every metric alike. (ρ of the raw distance is the negative of the reported ρ.)
* **"Pooled and within each generator"** is computed by one function,
  :func:`compute_by_generator`, used by analyses 1, 2 and 3.
* **Bootstrap**: all bootstrap CIs resample *datasets* (clusters) with replacement, taking
  every pair of a drawn dataset along. Pairs of one dataset share the real-only baseline
  and the dataset's difficulty, so they are not independent; resampling datasets respects
  that in the pooled analysis, and within a generator (one pair per dataset) it is the
  ordinary pairs bootstrap. Percentile intervals; ``n_boot`` resamples (default 2000) from
  ``numpy.random.default_rng(seed)``; resamples in which the statistic is undefined (a
  constant variable, a single outcome class) are skipped and their count reported.
* **p-values of analysis 1** are scipy's (asymptotic, independent pairs) and feed the BH
  correction; for the *pooled* group the pairs of one dataset are not independent, so the
  pooled p-value can be optimistic where the cluster-bootstrap CI is not. Where the two
  disagree, trust the CI.
* **Within-between decomposition (7)** uses the cluster bootstrap, refitting everything
  per resample, for its CIs and p-values; analytic OLS SEs are also reported but are
  misleading for the between slope (see :func:`decompose_within_between`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, permutation_test_score
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.meta_analysis import combine_effects
from statsmodels.stats.multitest import multipletests
from threadpoolctl import threadpool_limits

from radlib import quality
from radlib.classifiers import make_classifier
from radlib.config import derive_seed
from radlib.features import development_pipeline

__all__ = [
    "REAL_ARM",
    "SMOTE_ARM",
    "METRICS",
    "COMPOSITE",
    "POOLED",
    "CLASSIFIERS",
    "pair_table",
    "generators_of",
    "orient_quality",
    "standardize_quality",
    "score_composite",
    "add_composite",
    "compute_by_generator",
    "adjust_fdr",
    "correlate_quality",
    "discriminate_quality",
    "combine_random_effects",
    "meta_analyze_generators",
    "select_generators",
    "compare_smote",
    "locate_smote_quality",
    "decompose_within_between",
    "chance_test",
    "assess_chance",
    "run_analyses",
    "summarize",
]

REAL_ARM = "real"
SMOTE_ARM = "smote"
#: The five quality metrics of DESIGN.md step 6, in the order used in every table.
METRICS = tuple(quality.METRICS)  # the study's five metrics, in radlib.quality's order
#: Name of the composite quality score (analysis 4) wherever a metric name is expected.
COMPOSITE = "composite"
#: Group label of the analysis over all generator pairs together.
POOLED = "pooled"
CLASSIFIERS = ("logreg", "rf")

EXCLUSION_REASONS = ("undefined", "failed", "missing_auc")


# --- the pair table ---------------------------------------------------------------------


def pair_table(
    records: pd.DataFrame, classifier: str = "logreg", datasets: Iterable[str] | None = None
) -> pd.DataFrame:
    """Mean over valid repetitions per (dataset, arm), for every arm but real-only.

    A record is *valid* when its status is ``"ok"``, its external set had both classes
    (``undefined`` is False) and its AUC and ΔAUC for ``classifier`` are finite. Every
    other record is excluded and counted under the first reason that applies, in this
    order: ``undefined`` (external set with a single class; all arms of that repetition),
    ``failed`` (the arm's generator or metrics raised), ``missing_auc`` (AUC or ΔAUC NaN
    for another reason, e.g. a missing real-only AUC). Pairs with no valid repetition are
    left out of the table and listed in the report.

    Parameters
    ----------
    records : DataFrame
        The records table: ``dataset``, ``repetition``, ``arm``, ``status``,
        ``undefined``, ``auc_<classifier>``, ``delta_auc_<classifier>`` and the five
        quality metrics (:data:`METRICS`).
    classifier : {"logreg", "rf"}
        Which classifier's AUC and ΔAUC to use.
    datasets : iterable of str, optional
        Restrict to these datasets (e.g. the sensitivity subset). Requested datasets
        absent from the records are listed in the report.

    Returns
    -------
    DataFrame
        One row per (dataset, arm) with ``dataset``, ``arm``, ``n_records`` (records of the
        pair), ``n_valid`` (valid repetitions), ``n_undefined``, ``n_failed``,
        ``n_missing_auc``, ``delta_auc`` (mean ΔAUC), ``delta_auc_var`` (sample variance of
        ΔAUC over the valid repetitions, ``ddof=1``; NaN when ``n_valid < 2``), ``auc``
        (mean AUC of the arm), ``auc_real`` (mean real-only AUC of the same repetitions)
        and the mean of each metric (NaN values skipped; their count is in the report).
        ``attrs["classifier"]`` names the classifier and ``attrs["exclusions"]`` is the
        exclusion report (a dict: ``records_total``, ``records_valid``, one count per
        reason, ``tasks_total`` and ``tasks_undefined`` (dataset x repetition),
        ``metric_values_missing`` among valid records, ``pairs``, ``pairs_without_valid``
        and ``datasets_missing``).
    """
    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier '{classifier}'; use one of {CLASSIFIERS}")
    auc_col, delta_col = f"auc_{classifier}", f"delta_auc_{classifier}"
    required = ["dataset", "repetition", "arm", "status", "undefined", auc_col, delta_col, *METRICS]
    missing = [c for c in required if c not in records.columns]
    if missing:
        raise ValueError(f"records lack the columns {missing}")

    datasets_missing: list[str] = []
    if datasets is not None:
        wanted = list(dict.fromkeys(datasets))
        datasets_missing = sorted(set(wanted) - set(records["dataset"]))
        records = records[records["dataset"].isin(wanted)]

    tasks = records.groupby(["dataset", "repetition"])["undefined"].any()
    arms = records[records["arm"] != REAL_ARM].copy()
    undefined = arms["undefined"].astype(bool).to_numpy()
    failed = (arms["status"] != "ok").to_numpy()
    no_auc = ~(np.isfinite(arms[auc_col].to_numpy(float)) & np.isfinite(arms[delta_col].to_numpy(float)))
    arms["_reason"] = np.select([undefined, failed, no_auc], list(EXCLUSION_REASONS), "valid")

    keys = ["dataset", "arm"]
    counts = (
        arms.groupby(keys)["_reason"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=["valid", *EXCLUSION_REASONS], fill_value=0)
    )
    counts.columns = ["n_valid", *(f"n_{r}" for r in EXCLUSION_REASONS)]
    counts.insert(0, "n_records", counts.sum(axis=1))

    valid = arms[arms["_reason"] == "valid"].copy()
    valid["_auc_real"] = valid[auc_col] - valid[delta_col]
    grouped = valid.groupby(keys)
    means = grouped[[delta_col, auc_col, "_auc_real", *METRICS]].mean()
    means.insert(1, "delta_auc_var", grouped[delta_col].var(ddof=1))
    means = means.rename(columns={delta_col: "delta_auc", auc_col: "auc", "_auc_real": "auc_real"})

    pairs = counts.join(means, how="left").reset_index()
    without = pairs["n_valid"] == 0
    dropped = [f"{d}/{a}" for d, a in pairs.loc[without, keys].itertuples(index=False)]
    pairs = pairs[~without].sort_values(keys).reset_index(drop=True)
    pairs = pairs[
        [
            "dataset",
            "arm",
            "n_records",
            "n_valid",
            *(f"n_{r}" for r in EXCLUSION_REASONS),
            "delta_auc",
            "delta_auc_var",
            "auc",
            "auc_real",
            *METRICS,
        ]
    ]

    reasons = arms["_reason"].value_counts()
    pairs.attrs["classifier"] = classifier
    pairs.attrs["exclusions"] = {
        "classifier": classifier,
        "records_total": int(len(arms)),
        "records_valid": int(reasons.get("valid", 0)),
        **{f"records_{r}": int(reasons.get(r, 0)) for r in EXCLUSION_REASONS},
        "tasks_total": int(len(tasks)),
        "tasks_undefined": int(tasks.sum()),
        "metric_values_missing": int(valid[list(METRICS)].isna().sum().sum()),
        "pairs": int(len(pairs)),
        "pairs_without_valid": dropped,
        "datasets_missing": datasets_missing,
    }
    return pairs


def generators_of(pairs: pd.DataFrame) -> list[str]:
    """The generator arms of a pair table, sorted: every arm but real-only and SMOTE."""
    return sorted(set(pairs["arm"]) - {REAL_ARM, SMOTE_ARM})


def _generator_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    return pairs[pairs["arm"].isin(generators_of(pairs))]


# --- quality scores (orientation, standardisation, composite) ----------------------------


def orient_quality(pairs: pd.DataFrame, metric: str) -> pd.Series:
    """A metric as a quality score: higher = closer to the real data.

    ``-x`` for ``wasserstein``, ``ks``, ``mmd2`` and ``corr_diff`` (distances);
    ``-|x - 0.5|`` for ``detection_auc`` (0.5 = indistinguishable); for
    :data:`COMPOSITE` the ``composite`` column if present, else :func:`score_composite`.
    """
    if metric == COMPOSITE:
        return pairs[COMPOSITE] if COMPOSITE in pairs.columns else score_composite(pairs)
    if metric not in METRICS:
        raise ValueError(f"unknown metric '{metric}'; use one of {METRICS} or '{COMPOSITE}'")
    values = pairs[metric].astype(float)
    if metric == "detection_auc":
        values = (values - 0.5).abs()
    return -values


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

    Definition: for each metric m of ``metrics`` let d_m be its distance form
    (``detection_auc`` -> ``|detection_auc - 0.5|``, the others as they are), and
    z_m = (d_m - mean_G(d_m)) / sd_G(d_m), the mean and SD (``ddof=1``) taken over all
    generator pairs of ``pairs`` (the analysed table; SMOTE pairs are scored with the
    generator pairs' mean and SD). Then ``composite = -mean_m z_m`` over the metrics
    available for the pair (NaN only when all are missing). Higher composite = better
    quality (closer to the real data); 0 is the average generator pair. Since the z-scores
    depend on the pairs analysed, a subset (e.g. the sensitivity subset) gets its own
    composite.
    """
    return standardize_quality(pairs, metrics).mean(axis=1, skipna=True).rename(COMPOSITE)


def add_composite(pairs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Return a copy of ``pairs`` with the ``composite`` column (:func:`score_composite`)."""
    out = pairs.copy()
    out[COMPOSITE] = score_composite(pairs, metrics)
    return out


def _with_composite(pairs: pd.DataFrame) -> pd.DataFrame:
    """``pairs`` with the composite column, computed on the whole table when absent.

    Done once, before any grouping, so that a within-generator analysis never
    standardises the metrics within its own subset.
    """
    return pairs if COMPOSITE in pairs.columns else add_composite(pairs)


# --- grouping and multiplicity -----------------------------------------------------------


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
    gen = _generator_pairs(pairs)
    groups = ([(POOLED, gen)] if pooled else []) + [(g, gen[gen["arm"] == g]) for g in generators_of(pairs)]
    rows = []
    for name, subset in groups:
        result = statistic(subset, **kwargs)
        for row in [result] if isinstance(result, Mapping) else result:
            rows.append({"group": name, **row})
    return pd.DataFrame(rows)


def adjust_fdr(p_values: Sequence[float], alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
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


# --- bootstrap machinery -----------------------------------------------------------------

# A cluster bootstrap over fewer datasets than this gives degenerate (near zero-width)
# intervals; below it the CIs and bootstrap p-values are left undefined, with a note.
MIN_BOOTSTRAP_DATASETS = 5


def _can_bootstrap(data: pd.DataFrame, n_boot: int, row: dict) -> bool:
    """Whether to bootstrap; records why not in ``row["note"]``."""
    if n_boot <= 0:
        return False
    if data["dataset"].nunique() < MIN_BOOTSTRAP_DATASETS:
        row["note"] = (row.get("note") or "") + f"no bootstrap CI: fewer than {MIN_BOOTSTRAP_DATASETS} datasets"
        return False
    return True


def _bootstrap_counts(clusters: Sequence, n_boot: int, seed: int) -> np.ndarray:
    """(n_boot, n) how many times each observation enters each cluster-bootstrap resample.

    Clusters (datasets) are drawn with replacement, as many as there are; an observation
    enters as often as its cluster was drawn.
    """
    codes, uniques = pd.factorize(pd.Series(clusters), sort=True)
    k = len(uniques)
    rng = np.random.default_rng(seed)
    cluster_counts = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot)
    return cluster_counts[:, codes].astype(float)


def _weighted_ranks(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mid-ranks of x within each resample given by count weights w (n_boot, n)."""
    less = (x[None, :] < x[:, None]).astype(float)  # less[i, j] = x_j < x_i
    equal = (x[None, :] == x[:, None]).astype(float)
    return w @ less.T + (w @ equal.T + 1.0) / 2.0


def _bootstrap_spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Spearman ρ of each resample, exactly as on the expanded (repeated) sample."""
    rx, ry = _weighted_ranks(x, w), _weighted_ranks(y, w)
    total = w.sum(axis=1, keepdims=True)
    mx, my = (w * rx).sum(1, keepdims=True) / total, (w * ry).sum(1, keepdims=True) / total
    cov = (w * (rx - mx) * (ry - my)).sum(1)
    vx, vy = (w * (rx - mx) ** 2).sum(1), (w * (ry - my) ** 2).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = cov / np.sqrt(vx * vy)
    rho[(vx <= 1e-12) | (vy <= 1e-12)] = np.nan
    return rho


def _bootstrap_auc(score: np.ndarray, label: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC AUC of each resample (ties count 1/2); NaN when a resample lacks a class."""
    pos, neg = score[label], score[~label]
    kernel = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    wp, wn = w[:, label], w[:, ~label]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.einsum("bi,ij,bj->b", wp, kernel, wn) / (wp.sum(1) * wn.sum(1))


def _percentile_ci(values: np.ndarray, alpha: float) -> tuple[float, float, int]:
    finite = values[np.isfinite(values)]
    if len(finite) == 0:
        return np.nan, np.nan, 0
    low, high = np.percentile(finite, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high), int(len(finite))


def _complete(subset: pd.DataFrame, metric: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "dataset": subset["dataset"].to_numpy(),
            "score": orient_quality(subset, metric).to_numpy(float),
            "delta": subset["delta_auc"].to_numpy(float),
        }
    )
    return frame.dropna().reset_index(drop=True)


# --- analysis 1: rank correlations -------------------------------------------------------

# Up to this many pairs the Spearman p-value is the exact permutation p-value (8! = 40,320
# pairings); scipy's t approximation gives p = 0 for a perfect rank order of 4 pairs.
EXACT_SPEARMAN_MAX_N = 8


def _spearman_statistic(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    """Spearman ρ along ``axis`` (vectorised for scipy.stats.permutation_test)."""
    rx, ry = stats.rankdata(x, axis=axis), stats.rankdata(y, axis=axis)
    rx = rx - rx.mean(axis=axis, keepdims=True)
    ry = ry - ry.mean(axis=axis, keepdims=True)
    return (rx * ry).sum(axis=axis) / np.sqrt((rx**2).sum(axis=axis) * (ry**2).sum(axis=axis))


def _spearman_p_value(score: np.ndarray, delta: np.ndarray, asymptotic_p: float) -> float:
    if len(score) > EXACT_SPEARMAN_MAX_N:
        return asymptotic_p
    exact = stats.permutation_test(
        (score, delta), _spearman_statistic, permutation_type="pairings", vectorized=True, n_resamples=np.inf
    )
    return float(exact.pvalue)


def _spearman_row(subset: pd.DataFrame, metric: str, n_boot: int, seed: int, alpha: float) -> dict:
    data = _complete(subset, metric)
    row = {
        "metric": metric,
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
    row["p_value"] = _spearman_p_value(data["score"].to_numpy(), data["delta"].to_numpy(), float(result.pvalue))
    if _can_bootstrap(data, n_boot, row):
        w = _bootstrap_counts(data["dataset"], n_boot, seed)
        row["ci_low"], row["ci_high"], row["n_boot_used"] = _percentile_ci(
            _bootstrap_spearman(data["score"].to_numpy(), data["delta"].to_numpy(), w), alpha
        )
    return row


def correlate_quality(
    pairs: pd.DataFrame,
    metrics: Sequence[str] = (*METRICS, COMPOSITE),
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Analysis 1: Spearman ρ of each quality score with ΔAUC, pooled and per generator.

    ρ is ``scipy.stats.spearmanr`` of :func:`orient_quality` (higher = better quality)
    with ``delta_auc``, with its asymptotic p-value (the exact permutation p-value for at
    most ``EXACT_SPEARMAN_MAX_N`` pairs); positive ρ = better quality, larger
    ΔAUC. The 95% CI is the cluster-bootstrap percentile interval (datasets resampled;
    see the module notes). Benjamini-Hochberg q-values (:func:`adjust_fdr`) are computed
    over the whole family: every metric (including the composite, if listed) x every
    group (pooled and each generator) in the returned table.

    Returns
    -------
    DataFrame
        ``group``, ``metric``, ``n``, ``rho``, ``p_value``, ``ci_low``, ``ci_high``,
        ``n_boot_used``, ``note``, ``q_value``, ``significant`` (q < alpha).
    """
    pairs = _with_composite(pairs)
    table = pd.concat(
        [compute_by_generator(pairs, _spearman_row, metric=m, n_boot=n_boot, seed=seed, alpha=alpha) for m in metrics],
        ignore_index=True,
    )
    table["q_value"], table["significant"] = adjust_fdr(table["p_value"], alpha)
    return table


# --- analysis 2: ROC discrimination ------------------------------------------------------


def _roc_row(subset: pd.DataFrame, metric: str, n_boot: int, seed: int, alpha: float) -> dict:
    data = _complete(subset, metric)
    label = (data["delta"] > 0).to_numpy()
    row = {
        "metric": metric,
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
    if _can_bootstrap(data, n_boot, row):
        w = _bootstrap_counts(data["dataset"], n_boot, seed)
        row["ci_low"], row["ci_high"], row["n_boot_used"] = _percentile_ci(
            _bootstrap_auc(data["score"].to_numpy(), label, w), alpha
        )
    return row


def discriminate_quality(
    pairs: pd.DataFrame,
    metrics: Sequence[str] = (*METRICS, COMPOSITE),
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Analysis 2: each quality score as a classifier of "ΔAUC > 0", pooled and per generator.

    The score is :func:`orient_quality` (higher = predicted improvement); the AUC is
    ``sklearn.metrics.roc_auc_score`` of the outcome ``delta_auc > 0``. The 95% CI is the
    cluster-bootstrap percentile interval (datasets resampled, ties counted 1/2; resamples
    with one outcome class skipped), chosen over DeLong because DeLong assumes independent
    pairs, which pooled pairs of one dataset are not. With a single outcome class the AUC
    is NaN and ``note`` says why.

    Returns
    -------
    DataFrame
        ``group``, ``metric``, ``n``, ``n_improved``, ``auc``, ``ci_low``, ``ci_high``,
        ``n_boot_used``, ``note``.
    """
    pairs = _with_composite(pairs)
    return pd.concat(
        [compute_by_generator(pairs, _roc_row, metric=m, n_boot=n_boot, seed=seed, alpha=alpha) for m in metrics],
        ignore_index=True,
    )


# --- analysis 3: subgroup random-effects meta-analysis -----------------------------------


def combine_random_effects(effect: Sequence[float], variance: Sequence[float], alpha: float = 0.05) -> dict:
    """DerSimonian-Laird random-effects pooling with τ² truncated at zero.

    Uses ``statsmodels.stats.meta_analysis.combine_effects(method_re="dl")`` for the
    fixed-effect weights w_i = 1/v_i, Q = Σ w_i (y_i - ȳ_FE)² and the random-effects
    estimate. statsmodels 0.15 returns the *untruncated* τ² = (Q - df)/C,
    C = Σw - Σw²/Σw, which is negative when Q < df (and then gives negative weights and
    I²); here τ² = max(0, (Q - df)/C), and when it is truncated the random-effects
    estimate is the fixed-effect one (τ² = 0). The CI is the normal (Wald) interval
    estimate ± z·SE with SE = sqrt(1/Σ 1/(v_i + τ²)). I² = max(0, (Q - df)/Q).
    With one study, the estimate is that study, τ² and I² are NaN.

    Returns
    -------
    dict
        ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``z``, ``p_value``, ``tau2``,
        ``tau2_untruncated`` (what statsmodels returned), ``q``, ``df``, ``p_q``, ``i2``,
        ``estimate_fixed``, ``weights`` (relative random-effects weights, summing to 1).
    """
    y, v = np.asarray(effect, float), np.asarray(variance, float)
    k = len(y)
    crit = stats.norm.isf(alpha / 2)
    out = dict(
        k=k,
        estimate=np.nan,
        se=np.nan,
        ci_low=np.nan,
        ci_high=np.nan,
        z=np.nan,
        p_value=np.nan,
        tau2=np.nan,
        tau2_untruncated=np.nan,
        q=np.nan,
        df=k - 1,
        p_q=np.nan,
        i2=np.nan,
        estimate_fixed=np.nan,
        weights=np.ones(k) / max(k, 1),
    )
    if k == 0:
        return out
    if k == 1:
        estimate, se = float(y[0]), float(np.sqrt(v[0]))
        out.update(estimate_fixed=estimate, q=0.0)
    else:
        with np.errstate(invalid="ignore"):  # statsmodels takes sqrt of a negative τ²-based term
            res = combine_effects(y, v, method_re="dl", alpha=alpha)
        q, df = float(res.q), k - 1
        tau2_raw = float(res.tau2)
        tau2 = max(0.0, tau2_raw)
        if tau2_raw >= 0:
            estimate, se = float(res.mean_effect_re), float(res.sd_eff_w_re)
        else:  # truncated: the random-effects model with τ² = 0 is the fixed-effect one
            estimate, se = float(res.mean_effect_fe), float(res.sd_eff_w_fe)
        weights = 1.0 / (v + tau2)
        out.update(
            q=q,
            p_q=float(stats.chi2.sf(q, df)),
            tau2=tau2,
            tau2_untruncated=tau2_raw,
            i2=max(0.0, (q - df) / q) if q > 0 else 0.0,
            estimate_fixed=float(res.mean_effect_fe),
            weights=weights / weights.sum(),
        )
    z = estimate / se if se > 0 else np.nan
    out.update(
        estimate=estimate,
        se=se,
        ci_low=estimate - crit * se,
        ci_high=estimate + crit * se,
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
    )
    return out


def _study_rows(subset: pd.DataFrame) -> pd.DataFrame:
    """Per-study effect and variance of one generator, with inclusion notes."""
    studies = (
        subset[["dataset", "arm", "n_valid", "delta_auc", "delta_auc_var"]]
        .rename(columns={"arm": "generator", "delta_auc": "effect"})
        .reset_index(drop=True)
    )
    studies["variance"] = studies["delta_auc_var"] / studies["n_valid"]
    studies["included"] = studies["n_valid"] >= 2
    studies["note"] = np.where(studies["included"], "", "n_valid < 2: no within-study variance")
    positive = studies.loc[studies["included"] & (studies["variance"] > 0), "variance"]
    zero = studies["included"] & (studies["variance"] <= 0)
    if zero.any():
        if len(positive):
            studies.loc[zero, "variance"] = positive.min()
            studies.loc[zero, "note"] = "zero variance floored at the smallest positive study variance"
        else:
            studies.loc[zero, "included"] = False
            studies.loc[zero, "note"] = "zero variance and no positive variance to floor it"
    return studies.drop(columns="delta_auc_var")


def meta_analyze_generators(pairs: pd.DataFrame, alpha: float = 0.05) -> dict[str, pd.DataFrame]:
    """Analysis 3: random-effects meta-analysis of ΔAUC per generator, with subgroup test.

    Within each generator the datasets are the studies: effect = mean ΔAUC over the valid
    repetitions, variance = sample variance of the repetitions' ΔAUC / ``n_valid``.
    Studies with ``n_valid < 2`` have no variance estimate and are excluded (shown with a
    note). A study whose repetitions all gave the same ΔAUC (variance 0, infinite weight)
    gets the smallest positive study variance of its generator (noted). Each generator is
    pooled by :func:`combine_random_effects` (DerSimonian-Laird, τ² truncated at 0).

    Subgroup differences: Q_between = Σ_g w_g (θ_g - θ̄)², w_g = 1/SE_g², θ̄ = Σ w_g θ_g / Σ w_g
    over the G generators' random-effects estimates θ_g, compared with χ²(G - 1)
    (random-effects model with a separate τ² per subgroup; Borenstein et al. 2009, ch. 19).
    Caveat: the generators share their datasets, so the subgroup estimates are not
    independent as the test assumes; read its p-value as descriptive.

    Returns
    -------
    dict of DataFrame
        ``studies``: ``generator``, ``dataset``, ``n_valid``, ``effect``, ``variance``,
        ``se``, ``ci_low``, ``ci_high``, ``included``, ``note``, ``weight`` (relative
        random-effects weight within the generator) - the rows of a forest plot.
        ``generators``: ``generator``, ``k`` and the fields of
        :func:`combine_random_effects`. ``between``: one row with ``q_between``, ``df``,
        ``p_value``, ``n_generators``.
    """
    crit = stats.norm.isf(alpha / 2)
    study_frames = []

    def pool(subset: pd.DataFrame) -> dict:
        studies = _study_rows(subset)
        used = studies[studies["included"]]
        result = combine_random_effects(used["effect"], used["variance"], alpha)
        studies["weight"] = 0.0
        studies.loc[studies["included"], "weight"] = result.pop("weights")
        study_frames.append(studies)
        return result

    generators = compute_by_generator(pairs, pool, pooled=False).rename(columns={"group": "generator"})
    studies = (
        pd.concat(study_frames, ignore_index=True)
        if study_frames
        else pd.DataFrame(
            columns=["dataset", "generator", "n_valid", "effect", "variance", "included", "note", "weight"]
        )
    )
    studies["se"] = np.sqrt(studies["variance"].astype(float))
    studies["ci_low"] = studies["effect"] - crit * studies["se"]
    studies["ci_high"] = studies["effect"] + crit * studies["se"]
    studies = studies[
        [
            "generator",
            "dataset",
            "n_valid",
            "effect",
            "variance",
            "se",
            "ci_low",
            "ci_high",
            "included",
            "note",
            "weight",
        ]
    ]

    if len(generators):
        se = generators["se"].astype(float)
        ok = generators[np.isfinite(se) & (se > 0) & np.isfinite(generators["estimate"].astype(float))]
    else:
        ok = generators
    if len(ok) >= 2:
        w = 1.0 / ok["se"].to_numpy() ** 2
        theta = ok["estimate"].to_numpy()
        q_between = float((w * (theta - (w * theta).sum() / w.sum()) ** 2).sum())
        df = len(ok) - 1
        between = {"q_between": q_between, "df": df, "p_value": float(stats.chi2.sf(q_between, df))}
    else:
        between = {"q_between": np.nan, "df": max(len(ok) - 1, 0), "p_value": np.nan}
    between["n_generators"] = int(len(ok))
    return {"studies": studies, "generators": generators, "between": pd.DataFrame([between])}


# --- analysis 5: quality-guided generator selection --------------------------------------


def _t_interval(values: np.ndarray, alpha: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return np.nan, np.nan
    mean, se = values.mean(), values.std(ddof=1) / np.sqrt(n)
    half = stats.t.isf(alpha / 2, n - 1) * se
    return float(mean - half), float(mean + half)


def select_generators(pairs: pd.DataFrame, alpha: float = 0.05) -> dict[str, pd.DataFrame]:
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
    scored = _with_composite(pairs)
    gen = _generator_pairs(scored).dropna(subset=["delta_auc", COMPOSITE])
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
        low, high = _t_interval(v, alpha)
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


# --- analysis 6: SMOTE -------------------------------------------------------------------


def compare_smote(pairs: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
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
        table["q_value"] = adjust_fdr(table["p_value"], alpha)[0]
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
    scored = _with_composite(pairs)
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


# --- analysis 7: within-between decomposition --------------------------------------------


def _bootstrap_within_between(q: np.ndarray, y: np.ndarray, arm: np.ndarray, w: np.ndarray) -> np.ndarray:
    """(n_boot, 2) between and within slopes, everything recomputed in each resample.

    For count weights w, the standardisation of q, the generator means and the least
    squares fit are all weighted by w, which equals refitting on the expanded resample.
    Rank-deficient resamples (fewer than 2 generators drawn) give NaN.
    """
    total = w.sum(1, keepdims=True)
    mean = (w * q).sum(1, keepdims=True) / total
    sd = np.sqrt((w * (q - mean) ** 2).sum(1, keepdims=True) / (total - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        z = (q - mean) / sd
        indicator = np.eye(arm.max() + 1)[arm]
        group_mean = ((w * z) @ indicator) / (w @ indicator)
    between = np.nan_to_num(group_mean)[:, arm]
    design = np.stack([np.ones_like(z), between, z - between], axis=2)
    design = np.nan_to_num(design)
    xtwx = np.einsum("bn,bni,bnj->bij", w, design, design)
    xtwy = np.einsum("bn,bni,n->bi", w, design, y)
    singular = np.linalg.svd(xtwx, compute_uv=False)
    ok = (singular[:, -1] > 1e-9 * singular[:, 0]) & ((w @ indicator > 0).sum(1) >= 2) & (sd[:, 0] > 0)
    slopes = np.full((len(w), 2), np.nan)
    if ok.any():
        slopes[ok] = np.linalg.solve(xtwx[ok], xtwy[ok][..., None])[:, 1:, 0]
    return slopes


def decompose_within_between(
    pairs: pd.DataFrame,
    metrics: Sequence[str] = (*METRICS, COMPOSITE),
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    cov_type: str = "cluster",
) -> pd.DataFrame:
    """Within-between decomposition: ΔAUC on the generator mean and the deviation from it.

    Per metric, on the generator pairs with both values: z = the quality score (:func:`orient_quality`,
    higher = better, standardised to mean 0 and SD 1 over the generator pairs, so slopes
    are "ΔAUC per SD of quality" and comparable across metrics); ``between`` = the mean of
    z over the pairs of the same generator, ``within`` = z - between. One OLS regression
    (``statsmodels`` OLS) ``delta_auc ~ 1 + between + within`` gives both slopes (Mundlak /
    contextual model): the between slope is the association of generator-level quality
    with generator-level ΔAUC, the within slope the association among pairs of the same
    generator. The ecological fallacy shows as a between slope far from 0 with a within
    slope near 0.

    Inference (primary: ``<term>_ci_low``, ``<term>_ci_high``, ``<term>_p``) is a cluster
    bootstrap over datasets (``n_boot`` resamples, percentile CI; two-sided p =
    2 (1 + #{slope* on the far side of 0}) / (1 + n_used), capped at 1), refitting the
    *whole* decomposition - standardisation, generator means, regression - in every
    resample. Why not the analytic SEs: the generator means are estimated from the same
    datasets as ΔAUC, and with only a few generators their sampling error is invisible to
    OLS residuals. In a simulation with a pure within-generator association (generator
    means of ΔAUC unrelated to quality), both plain and cluster-robust OLS SEs of the
    between slope were about 4 times too small (between slope "significant" far more often
    than alpha), while the bootstrap reproduces the sampling spread. The analytic SEs are
    reported alongside (``<term>_se_analytic``, ``<term>_p_analytic``; ``cov_type="cluster"``:
    cluster-robust by dataset with t(n_datasets - 1), since the pairs of one dataset share
    the real-only baseline; ``"nonrobust"``: plain OLS). Caveat for both: the between slope
    rests on as many generator means as there are generators (3); inference is conditional
    on these generators and says nothing about other generators.

    Returns
    -------
    DataFrame
        ``metric``, ``n``, ``n_generators``, ``n_datasets``, then for ``between`` and
        ``within``: ``<term>_slope``, ``<term>_ci_low``, ``<term>_ci_high``, ``<term>_p``,
        ``<term>_se_analytic``, ``<term>_p_analytic``; then ``cov_type``, ``n_boot_used``,
        ``note``.
    """
    if cov_type not in ("cluster", "nonrobust"):
        raise ValueError("cov_type must be 'cluster' or 'nonrobust'")
    gen = _generator_pairs(_with_composite(pairs))
    rows = []
    for metric in metrics:
        data = pd.DataFrame(
            {"dataset": gen["dataset"], "arm": gen["arm"], "q": orient_quality(gen, metric), "delta": gen["delta_auc"]}
        ).dropna()
        data["z"] = (data["q"] - data["q"].mean()) / data["q"].std(ddof=1)
        data["between"] = data.groupby("arm")["z"].transform("mean")
        data["within"] = data["z"] - data["between"]
        row: dict[str, Any] = {
            "metric": metric,
            "n": len(data),
            "n_generators": data["arm"].nunique(),
            "n_datasets": data["dataset"].nunique(),
        }
        for term in ("between", "within"):
            row.update(
                {
                    f"{term}_{field}": np.nan
                    for field in ("slope", "ci_low", "ci_high", "p", "se_analytic", "p_analytic")
                }
            )
        row.update(cov_type=cov_type, n_boot_used=0, note="")
        design = np.column_stack([np.ones(len(data)), data["between"], data["within"]])
        if (
            row["n_generators"] < 2
            or len(data) <= 3
            or not np.isfinite(design).all()
            or np.linalg.matrix_rank(design) < 3
        ):
            row["note"] = "design not of full rank (fewer than 2 generators, or no variation)"
            rows.append(row)
            continue
        model = OLS(data["delta"].to_numpy(), design)
        if cov_type == "cluster":
            fit = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data["dataset"])[0]}, use_t=True)
        else:
            fit = model.fit()
        for i, term in ((1, "between"), (2, "within")):
            row.update(
                {
                    f"{term}_slope": float(fit.params[i]),
                    f"{term}_se_analytic": float(fit.bse[i]),
                    f"{term}_p_analytic": float(fit.pvalues[i]),
                }
            )
        if _can_bootstrap(data, n_boot, row):
            w = _bootstrap_counts(data["dataset"], n_boot, seed)
            slopes = _bootstrap_within_between(
                data["q"].to_numpy(), data["delta"].to_numpy(), pd.factorize(data["arm"])[0], w
            )
            for i, term in enumerate(("between", "within")):
                low, high, used = _percentile_ci(slopes[:, i], alpha)
                finite = slopes[np.isfinite(slopes[:, i]), i]
                far = min((finite <= 0).sum(), (finite >= 0).sum())
                row.update(
                    {
                        f"{term}_ci_low": low,
                        f"{term}_ci_high": high,
                        f"{term}_p": min(1.0, 2 * (1 + far) / (1 + used)) if used else np.nan,
                    }
                )
                row["n_boot_used"] = used
        rows.append(row)
    return pd.DataFrame(rows)


# --- analysis 8: the sensitivity subset --------------------------------------------------


def _sensitivity_params(config_params: Mapping) -> tuple[dict, int, dict]:
    """(sensitivity section, features.k, logreg params) from a Config, its params or the section."""
    params = config_params.params if hasattr(config_params, "params") else config_params
    if "sensitivity" in params:
        section = dict(params["sensitivity"])
        k = int(params.get("features", {}).get("k", 32))
        logreg = dict(params.get("classifiers", {}).get("logreg", {}))
    else:
        section, k, logreg = dict(params), int(params.get("k", 32)), {}
    missing = {"permutations", "alpha", "cv_folds"} - set(section)
    if missing:
        raise ValueError(f"sensitivity parameters lack {sorted(missing)}")
    logreg.setdefault("C", 1.0)
    logreg.setdefault("max_iter", 2000)
    return section, k, logreg


def chance_test(X: np.ndarray, y: np.ndarray, config_params: Mapping, seed: int, n_jobs: int = 1) -> dict:
    """Permutation test: is the real-only classifier's cross-validated AUC above chance?

    The model is :func:`radlib.features.development_pipeline` (median imputation,
    standardisation, SelectKBest(f_classif, k=min(k, p))) followed by the L2 logistic
    regression of the profile, refitted in every fold, so feature selection never sees
    the test fold. ``sklearn.model_selection.permutation_test_score`` with
    ``StratifiedKFold(cv_folds, shuffle=True, random_state=seed)``, ``scoring="roc_auc"``,
    ``n_permutations`` label permutations and ``random_state=seed``; p =
    (1 + #{permuted AUC >= AUC}) / (1 + n_permutations). When the minority class has
    fewer patients than ``cv_folds``, the folds are reduced to that count (reported).

    Parameters
    ----------
    X, y : array
        The full cleaned dataset (features may contain NaN) and its 0/1 labels.
    config_params : Config or mapping
        A :class:`radlib.config.Config`, its ``params`` (the ``sensitivity`` section,
        ``features.k`` and ``classifiers.logreg`` are used), or the ``sensitivity``
        section itself (``permutations``, ``alpha``, ``cv_folds``; optional ``k``).
    seed : int
    n_jobs : int

    Returns
    -------
    dict
        ``auc``, ``p_value``, ``significant`` (p < alpha), ``alpha``, ``n_permutations``,
        ``cv_folds`` (used), ``n``, ``p``.
    """
    section, k, logreg = _sensitivity_params(config_params)
    X, y = np.asarray(X, float), np.asarray(y).astype(int)
    folds = int(min(section["cv_folds"], np.bincount(y, minlength=2).min()))
    if folds < 2:
        raise ValueError("chance_test needs at least 2 patients of each class")
    pipeline = development_pipeline(k, X.shape[1])
    pipeline.steps.append(("model", make_classifier("logreg", logreg, seed)))
    cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
    # One BLAS/OpenMP thread: the fits are tiny, and multi-threaded BLAS made each lbfgs
    # fit ~25x slower on a 2-core machine; parallelism belongs to n_jobs.
    with threadpool_limits(limits=1):
        auc, _, p_value = permutation_test_score(
            pipeline,
            X,
            y,
            cv=cv,
            scoring="roc_auc",
            n_permutations=int(section["permutations"]),
            random_state=seed,
            n_jobs=n_jobs,
        )
    return {
        "auc": float(auc),
        "p_value": float(p_value),
        "significant": bool(p_value < section["alpha"]),
        "alpha": float(section["alpha"]),
        "n_permutations": int(section["permutations"]),
        "cv_folds": folds,
        "n": int(X.shape[0]),
        "p": int(X.shape[1]),
    }


def assess_chance(datasets: Iterable, config_params: Mapping, seed: int, n_jobs: int = 1) -> pd.DataFrame:
    """Run :func:`chance_test` on each dataset; the sensitivity subset is ``significant``.

    Parameters
    ----------
    datasets : iterable
        :class:`radlib.data.Dataset` objects (``name``, ``X``, ``y``), or a mapping of
        name -> (X, y).
    config_params : Config or mapping
        As for :func:`chance_test`.
    seed : int
        Base seed; each dataset uses ``derive_seed(seed, name, "chance")``.

    Returns
    -------
    DataFrame
        ``dataset`` and the fields of :func:`chance_test`; the sensitivity subset is
        ``table.loc[table.significant, "dataset"]``.
    """
    items = datasets.items() if isinstance(datasets, Mapping) else ((d.name, (d.X, d.y)) for d in datasets)
    rows = [
        {"dataset": name, **chance_test(X, y, config_params, derive_seed(seed, name, "chance"), n_jobs)}
        for name, (X, y) in items
    ]
    return pd.DataFrame(rows)


# --- everything at once ------------------------------------------------------------------


def run_analyses(
    records: pd.DataFrame,
    classifier: str = "logreg",
    datasets: Iterable[str] | None = None,
    metrics: Sequence[str] = METRICS,
    n_boot: int = 2000,
    seed: int = 0,
    alpha: float = 0.05,
    cov_type: str = "cluster",
) -> dict[str, pd.DataFrame]:
    """All analyses for one classifier (and optionally a subset of datasets).

    The composite is computed on the analysed pair table (so a subset gets its own
    z-scores), and analyses 1, 2, 6b and 7 run on the five metrics plus the composite.

    Returns
    -------
    dict of DataFrame
        ``pairs`` (:func:`pair_table` with ``composite``), ``exclusions`` (one row, the
        exclusion report; lists joined with "; "), ``correlations`` (1),
        ``roc`` (2), ``meta_studies``, ``meta_generators``, ``meta_between`` (3),
        ``selection``, ``selection_summary`` (5), ``smote_delta``, ``smote_quality`` (6),
        ``within_between`` (7).
    """
    pairs = pair_table(records, classifier, datasets)
    exclusions = dict(pairs.attrs["exclusions"])
    pairs = add_composite(pairs, metrics)
    pairs.attrs["exclusions"] = exclusions
    scores = (*metrics, COMPOSITE)
    meta = meta_analyze_generators(pairs, alpha)
    selection = select_generators(pairs, alpha)
    report = {key: ("; ".join(value) if isinstance(value, list) else value) for key, value in exclusions.items()}
    report["subset"] = datasets is not None
    return {
        "pairs": pairs,
        "exclusions": pd.DataFrame([report]),
        "correlations": correlate_quality(pairs, scores, n_boot, seed, alpha),
        "roc": discriminate_quality(pairs, scores, n_boot, seed, alpha),
        "meta_studies": meta["studies"],
        "meta_generators": meta["generators"],
        "meta_between": meta["between"],
        "selection": selection["datasets"],
        "selection_summary": selection["summary"],
        "smote_delta": compare_smote(pairs, alpha),
        "smote_quality": locate_smote_quality(pairs, scores),
        "within_between": decompose_within_between(pairs, scores, n_boot, seed, alpha, cov_type),
    }


def _range(values: pd.Series) -> tuple[float, float]:
    values = values.dropna()
    return (float(values.min()), float(values.max())) if len(values) else (np.nan, np.nan)


def summarize(results: Mapping[str, pd.DataFrame], alpha: float = 0.05) -> dict[str, Any]:
    """The key numbers of :func:`run_analyses` as a flat dict of plain Python scalars.

    Keys: ``classifier``, ``subset``, ``n_pairs`` (generator pairs), ``n_datasets``,
    ``n_generators``, ``records_total``/``records_valid``/``records_undefined``/
    ``records_failed``/``records_missing_auc``, ``tasks_total``, ``tasks_undefined``
    (undefined AUCs out of the total, per dataset x repetition); for the five metrics
    (composite separately): ``pooled_rho_min``/``_max``, ``pooled_q_min``/``_max``,
    ``n_pooled_significant``, ``within_rho_min``/``_max``, ``within_q_min``,
    ``n_within_significant``, ``n_within_tests``, ``composite_pooled_rho``,
    ``composite_pooled_q``; ``pooled_roc_auc_min``/``_max``; per generator
    ``meta_<generator>_estimate`` and ``meta_<generator>_i2``, ``meta_q_between_p``;
    ``selection_mean_delta``, ``selection_ci_low``/``_high``, ``selection_n_datasets``,
    ``selection_n_improved``, ``oracle_mean_delta``, ``oracle_n_improved``,
    ``random_mean_delta``, ``smote_mean_delta``, ``selected_minus_oracle_mean``,
    ``n_selected_equals_oracle``; ``n_between_significant`` and ``n_within_slope_significant``
    (analysis 7, p < alpha, five metrics).
    """
    pairs, exclusions = results["pairs"], results["exclusions"].iloc[0]
    gen = pairs[pairs["arm"].isin(generators_of(pairs))]
    out: dict[str, Any] = {
        "classifier": exclusions["classifier"],
        "subset": bool(exclusions["subset"]),
        "n_pairs": int(len(gen)),
        "n_datasets": int(gen["dataset"].nunique()),
        "n_generators": int(gen["arm"].nunique()),
    }
    for key in (
        "records_total",
        "records_valid",
        *(f"records_{r}" for r in EXCLUSION_REASONS),
        "tasks_total",
        "tasks_undefined",
    ):
        out[key] = int(exclusions[key])

    corr = results["correlations"]
    metrics_only = corr[corr["metric"] != COMPOSITE]
    pooled, within = metrics_only[metrics_only["group"] == POOLED], metrics_only[metrics_only["group"] != POOLED]
    out["pooled_rho_min"], out["pooled_rho_max"] = _range(pooled["rho"])
    out["pooled_q_min"], out["pooled_q_max"] = _range(pooled["q_value"])
    out["n_pooled_significant"] = int(pooled["significant"].sum())
    out["within_rho_min"], out["within_rho_max"] = _range(within["rho"])
    out["within_q_min"] = _range(within["q_value"])[0]
    out["n_within_significant"] = int(within["significant"].sum())
    out["n_within_tests"] = int(within["p_value"].notna().sum())
    comp = corr[(corr["metric"] == COMPOSITE) & (corr["group"] == POOLED)]
    out["composite_pooled_rho"] = float(comp["rho"].iloc[0]) if len(comp) else np.nan
    out["composite_pooled_q"] = float(comp["q_value"].iloc[0]) if len(comp) else np.nan

    roc = results["roc"]
    out["pooled_roc_auc_min"], out["pooled_roc_auc_max"] = _range(
        roc.loc[(roc["group"] == POOLED) & (roc["metric"] != COMPOSITE), "auc"]
    )

    for row in results["meta_generators"].itertuples():
        out[f"meta_{row.generator}_estimate"] = float(row.estimate)
        out[f"meta_{row.generator}_i2"] = float(row.i2)
    out["meta_q_between_p"] = float(results["meta_between"]["p_value"].iloc[0])

    summary = results["selection_summary"].set_index("comparison")
    out.update(
        {
            "selection_mean_delta": float(summary.at["selected", "mean"]),
            "selection_ci_low": float(summary.at["selected", "ci_low"]),
            "selection_ci_high": float(summary.at["selected", "ci_high"]),
            "selection_n_datasets": int(summary.at["selected", "n"]),
            "selection_n_improved": int(summary.at["selected", "n_positive"]),
            "oracle_mean_delta": float(summary.at["oracle", "mean"]),
            "oracle_n_improved": int(summary.at["oracle", "n_positive"]),
            "random_mean_delta": float(summary.at["random", "mean"]),
            "smote_mean_delta": float(summary.at["smote", "mean"]),
            "selected_minus_oracle_mean": float(summary.at["selected_minus_oracle", "mean"]),
            "n_selected_equals_oracle": int(results["selection"]["selected_is_oracle"].sum()),
        }
    )
    wb = results["within_between"]
    wb = wb[wb["metric"] != COMPOSITE]
    out["n_between_significant"] = int((wb["between_p"] < alpha).sum())
    out["n_within_slope_significant"] = int((wb["within_p"] < alpha).sum())
    return {key: (value.item() if isinstance(value, np.generic) else value) for key, value in out.items()}
