"""What the metrics measure: the sampling floor, the dependence on sample size, size-adjusted associations.

A distance between two finite samples is partly sampling noise that shrinks as the samples grow,
so a raw quality metric mixes the generator's fidelity with the dataset's size. Version 1's
records showed it: averaged per dataset, Wasserstein, KS and MMD² correlated with the internal
sample size at |ρ| 0.86-0.93. Three tools (docs/protocol.md, "What the metrics measure"):

* :func:`floor_table`: next to each raw metric of a pair, its *sampling floor* (the metric between
  two disjoint, class-stratified halves of the real internal rows, :func:`radlib.quality.sampling_floor`,
  averaged over the pair's valid evaluations by :func:`radlib.analysis.pair_table`) and the metric
  relative to it, as a difference and a ratio of distances from the ideal;
* :func:`size_dependence`: per dataset, the Spearman ρ of the metrics (and floors) with the internal
  sample size;
* :func:`partial_spearman` and :func:`adjusted_correlations`: the association of quality with ΔAUC
  adjusted for log internal n and the real-only external AUC.

The floor compares two samples of *half* the internal size, so a perfect generator, whose rows are
compared with all internal rows, scores below the floor (Wasserstein and KS shrink roughly as
1/sqrt(n), the biased MMD² as 1/n): a ratio under 1 is possible and is not "better than real".
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from radlib import quality
from radlib.analysis.association import adjust_fdr, compute_by_metric, spearman_p_value
from radlib.analysis.options import ALPHA
from radlib.analysis.pairs import METRICS
from radlib.analysis.scores import orient_quality, with_composite
from radlib.quality import FLOOR_PREFIX
from radlib.records import COMPOSITE

__all__ = [
    "COVARIATES",
    "floor_table",
    "size_dependence",
    "partial_spearman",
    "adjusted_correlations",
    "adjust_in_families",
]

#: The adjustment of the protocol: log internal sample size and the real-only external AUC (pair means).
COVARIATES = ("log_n_internal", "auc_real")


def _require(pairs: pd.DataFrame, columns: Sequence[str], why: str) -> None:
    missing = [c for c in columns if c not in pairs.columns]
    if missing:
        raise ValueError(f"the pair table lacks {missing}, needed {why}")


def floor_table(pairs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Each pair's raw metrics next to their sampling floor and the metric relative to the floor.

    Parameters
    ----------
    pairs : DataFrame
        A pair table of :func:`radlib.analysis.pair_table` from records with the sampling floor
        (engine v2): ``n_internal`` and ``floor_<metric>`` are the pair means over its valid
        evaluations.
    metrics : sequence of str

    Returns
    -------
    DataFrame
        ``dataset``, ``arm``, ``n_internal``, then per metric: ``<metric>`` (the pair mean as
        recorded), ``floor_<metric>``, ``<metric>_minus_floor`` = d - d_floor and
        ``<metric>_over_floor`` = d / d_floor, with d the distance from the metric's ideal
        (:func:`radlib.quality.distance_from_ideal`: the value itself for the four distances,
        ``|AUC - 0.5|`` for the detection AUC). 0 (difference) or 1 (ratio) is a generator as close
        to the real rows as a second real sample of half the size.
    """
    floors = [f"{FLOOR_PREFIX}{m}" for m in metrics]
    _require(pairs, ["n_internal", *floors], "for the sampling floor (records of engine v2)")
    table = pairs[["dataset", "arm", "n_internal"]].copy()
    for metric, floor in zip(metrics, floors):
        distance = quality.distance_from_ideal(pairs[metric].astype(float), metric)
        floor_distance = quality.distance_from_ideal(pairs[floor].astype(float), metric)
        table[metric] = pairs[metric]
        table[floor] = pairs[floor]
        table[f"{metric}_minus_floor"] = distance - floor_distance
        with np.errstate(invalid="ignore", divide="ignore"):
            table[f"{metric}_over_floor"] = distance / floor_distance
    return table


def size_dependence(pairs: pd.DataFrame, metrics: Sequence[str] = METRICS) -> pd.DataFrame:
    """Averaged per dataset, the Spearman ρ of each metric (and of its floor, when recorded) with the internal n.

    Every row of ``pairs`` is averaged per dataset (pass the pairs to describe, e.g.
    :func:`radlib.analysis.generator_pairs` of the pair table for the study's generators), and
    the dataset means are correlated with the dataset's mean ``n_internal`` (scipy's
    ``spearmanr``, asymptotic p). Raw metrics, not quality scores: a negative ρ means larger
    datasets have smaller distances.

    Returns
    -------
    DataFrame
        ``quantity`` (a metric, or ``floor_<metric>``), ``rho``, ``p_value``, ``n_datasets``.
    """
    _require(pairs, ["n_internal"], "for the internal sample size")
    quantities = [*metrics, *(f"{FLOOR_PREFIX}{m}" for m in metrics if f"{FLOOR_PREFIX}{m}" in pairs.columns)]
    means = pairs.groupby("dataset")[["n_internal", *quantities]].mean()
    rows = []
    for quantity in quantities:
        data = means[["n_internal", quantity]].dropna()
        result = stats.spearmanr(data[quantity], data["n_internal"]) if len(data) >= 3 else None
        rows.append(
            {
                "quantity": quantity,
                "rho": float(result.statistic) if result is not None else np.nan,
                "p_value": float(result.pvalue) if result is not None else np.nan,
                "n_datasets": len(data),
            }
        )
    return pd.DataFrame(rows)


def partial_spearman(x, y, covariates) -> dict[str, float]:
    """Spearman's partial correlation of x and y given covariates, with its t-test.

    The ranks of x and of y (average ranks for ties, ``scipy.stats.rankdata``) are each
    regressed by least squares on an intercept and the ranks of the covariates; the partial ρ
    is the Pearson correlation of the two residuals. Test: t = r sqrt(df / (1 - r²)) with
    df = n - 2 - k (k covariates), two-sided; the same t as that of x's rank in the OLS of
    y's rank on x's rank and the covariates' ranks.

    Parameters
    ----------
    x, y : array-like of float, length n
    covariates : array-like, shape (n,) or (n, k)

    Returns
    -------
    dict
        ``rho``, ``p_value``, ``n``, ``df``; NaN ρ and p when df < 1 or a residual is constant.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    z = np.asarray(covariates, float)
    z = z[:, None] if z.ndim == 1 else z
    if not (len(x) == len(y) == len(z)):
        raise ValueError(f"x, y and the covariates differ in length ({len(x)}, {len(y)}, {len(z)})")
    if not (np.isfinite(x).all() and np.isfinite(y).all() and np.isfinite(z).all()):
        raise ValueError("x, y and the covariates must be finite; drop the missing values first")
    n, k = len(x), z.shape[1]
    df = n - 2 - k
    out = {"rho": np.nan, "p_value": np.nan, "n": n, "df": df}
    if df < 1:
        return out
    design = np.column_stack([np.ones(n), *(stats.rankdata(column) for column in z.T)])
    residuals = []
    for variable in (x, y):
        ranks = stats.rankdata(variable)
        residuals.append(ranks - design @ np.linalg.lstsq(design, ranks, rcond=None)[0])
    rx, ry = residuals
    scale = np.sqrt((rx**2).sum() * (ry**2).sum())
    if scale <= 1e-12 * n:
        return out
    rho = float(np.clip((rx * ry).sum() / scale, -1.0, 1.0))
    with np.errstate(divide="ignore"):
        t = rho * np.sqrt(df / (1 - rho**2)) if abs(rho) < 1 else np.inf * np.sign(rho)
    out.update(rho=rho, p_value=float(2 * stats.t.sf(abs(t), df)))
    return out


def _adjusted_row(subset: pd.DataFrame, metric: str, covariates: Sequence[str]) -> dict:
    data = pd.DataFrame(
        {
            "score": orient_quality(subset, metric).to_numpy(float),
            "delta": subset["delta_auc"].to_numpy(float),
            **{c: subset[c].to_numpy(float) for c in covariates},
        }
    ).dropna()
    row = {"metric": metric, "n": len(data), "rho": np.nan, "p_value": np.nan, "partial_rho": np.nan}
    row["partial_p_value"] = np.nan
    if len(data) < 3 or data["score"].nunique() < 2 or data["delta"].nunique() < 2:
        return row
    raw = stats.spearmanr(data["score"], data["delta"])
    row["rho"] = float(raw.statistic)
    row["p_value"] = spearman_p_value(data["score"].to_numpy(), data["delta"].to_numpy(), float(raw.pvalue))
    partial = partial_spearman(data["score"], data["delta"], data[list(covariates)])
    row["partial_rho"], row["partial_p_value"] = partial["rho"], partial["p_value"]
    return row


def adjusted_correlations(
    pairs: pd.DataFrame,
    metrics: Sequence[str] = (*METRICS, COMPOSITE),
    covariates: Sequence[str] = COVARIATES,
    *,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Analysis 1 next to its size-adjusted version: Spearman ρ and partial Spearman ρ of quality with ΔAUC.

    Pooled over the generator pairs and within each generator
    (:func:`radlib.analysis.compute_by_generator`): the raw ρ and p exactly as in
    :func:`radlib.analysis.correlate_quality` (scipy's ρ, its p-value, exact for few pairs), and
    the partial ρ given the covariates (:func:`partial_spearman`; by default log internal n and
    the real-only external AUC, pair means). Benjamini-Hochberg q-values over the whole table
    (analysis 1's family: every score x every group), separately for the raw and the adjusted
    p-values (:func:`adjust_in_families`). The pooled p-values assume independent
    pairs, as in analysis 1.

    Parameters
    ----------
    pairs : DataFrame
        A pair table with ``n_internal`` and ``auc_real`` (``log_n_internal`` is added when
        absent); the composite is computed on the whole table when absent.

    Returns
    -------
    DataFrame
        ``group``, ``metric``, ``n``, ``rho``, ``p_value``, ``q_value``, ``significant``,
        ``partial_rho``, ``partial_p_value``, ``partial_q_value``, ``partial_significant``,
        ``conclusion_changes`` (significant raw but not adjusted, or the reverse, or both
        significant with opposite signs).
    """
    pairs = with_composite(pairs)
    if "log_n_internal" in covariates and "log_n_internal" not in pairs.columns:
        _require(pairs, ["n_internal"], "for the covariate log_n_internal")
        pairs = pairs.assign(log_n_internal=np.log(pairs["n_internal"].astype(float)))
    _require(pairs, list(covariates), "as covariates")
    table = adjust_in_families(compute_by_metric(pairs, _adjusted_row, metrics, covariates=covariates), alpha=alpha)
    columns = ["group", "metric", "n", "rho", "p_value", "q_value", "significant"]
    columns += ["partial_rho", "partial_p_value", "partial_q_value", "partial_significant", "conclusion_changes"]
    return table[columns]


def adjust_in_families(
    table: pd.DataFrame, *, alpha: float = ALPHA, families: Sequence | np.ndarray | None = None
) -> pd.DataFrame:
    """Benjamini-Hochberg q-values of the raw and the partial p-values within each family, and what changes.

    Parameters
    ----------
    table : DataFrame
        With ``rho``, ``p_value``, ``partial_rho`` and ``partial_p_value``.
    alpha : float
    families : sequence, optional
        One family label per row (rows with the same label form one BH family); default the
        whole table is one family.

    Returns
    -------
    DataFrame
        A copy of ``table`` with ``q_value``, ``significant``, ``partial_q_value``,
        ``partial_significant`` (q < alpha, :func:`radlib.analysis.adjust_fdr` per family, raw
        and partial separately) and ``conclusion_changes`` (significant raw but not adjusted,
        or the reverse, or both significant with opposite signs).
    """
    table = table.copy()
    labels = pd.Series(0 if families is None else list(families), index=table.index)
    for prefix in ("", "partial_"):
        table[f"{prefix}q_value"], table[f"{prefix}significant"] = np.nan, False
        for rows in table.groupby(labels, sort=False).groups.values():
            q, significant = adjust_fdr(table.loc[rows, f"{prefix}p_value"], alpha=alpha)
            table.loc[rows, f"{prefix}q_value"], table.loc[rows, f"{prefix}significant"] = q, significant
    sign_flip = (
        table["significant"] & table["partial_significant"] & (np.sign(table["rho"]) != np.sign(table["partial_rho"]))
    )
    table["conclusion_changes"] = (table["significant"] != table["partial_significant"]) | sign_flip
    return table
