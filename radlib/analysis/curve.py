"""Science v3, question 5: the specification curve (docs/protocol.md, pre-registration of version 3).

Each specification (synthetic ratio × classifier × shift severity, :mod:`radlib.specifications`)
gets the study's analyses with the functions version 2 uses (:func:`analyse_specification`):
analysis 1 (:func:`~radlib.analysis.association.correlate_quality`), analysis 2
(:func:`~radlib.analysis.association.discriminate_quality`), the reliability of a pair's mean
ΔAUC (:func:`~radlib.analysis.reliability.reliability_table`) and analysis 5
(:func:`~radlib.analysis.selection.select_generators`). :func:`headline_appears` applies the
pre-registered rule; :func:`curve_table` has one row per specification; :func:`joint_null`
tests the whole curve against a null that breaks the quality–gain link the same way in every
specification; :func:`robustness` gives the verdict and the factor levels that carry appearances.

Why the joint null computes Spearman's ρ here rather than calling ``correlate_quality`` 1000 ×
44 times: a permutation moves whole rows of quality scores among datasets, so the ranks of every
column are computed once and each permutation is a re-indexing; the p-values are scipy's
asymptotic t approximation, what ``correlate_quality`` uses above
:data:`~radlib.analysis.association.EXACT_SPEARMAN_MAX_N` pairs (every group here has more), and
``tests/test_analysis_curve.py`` checks the observed statistics against ``correlate_quality``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from radlib.analysis.association import adjust_fdr, correlate_quality, discriminate_quality
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.analysis.pairs import generator_pairs, pair_table
from radlib.analysis.reliability import reliability_table
from radlib.analysis.scores import add_composite, orient_quality
from radlib.analysis.selection import select_generators
from radlib.quality import METRICS
from radlib.records import COMPOSITE, POOLED, is_study_arm

__all__ = [
    "CURVE_FACTORS",
    "HEADLINE_MIN_RHO",
    "HEADLINE_MIN_METRICS",
    "ROBUST_SHARE",
    "specification_pair_table",
    "analyse_specification",
    "headline_appears",
    "curve_table",
    "joint_null",
    "robustness",
]

#: The choices a specification makes, the columns of the indicator panel.
CURVE_FACTORS = ("ratio", "classifier", "severity")
#: Pre-registered: the composite's pooled |ρ| at least this large for the headline to appear ...
HEADLINE_MIN_RHO = 0.20
#: ... with at least this many of the five metrics' pooled ρ significant in the composite's direction.
HEADLINE_MIN_METRICS = 4
#: The non-replication is robust when the headline appears in fewer than this share of specifications.
ROBUST_SHARE = 0.05
SCORES = (*METRICS, COMPOSITE)


def specification_pair_table(records: pd.DataFrame, classifier: str) -> pd.DataFrame:
    """The pair table of one specification's records (study arms, ``classifier``), with the composite."""
    pairs = pair_table(records, classifier)
    exclusions = dict(pairs.attrs["exclusions"])
    pairs = add_composite(pairs)
    pairs.attrs["exclusions"] = exclusions
    return pairs


def analyse_specification(
    records: pd.DataFrame, classifier: str, *, n_boot: int = N_BOOT, seed: int = 0, alpha: float = ALPHA
) -> dict[str, pd.DataFrame]:
    """The study's analyses 1, 2 and 5 and the ΔAUC reliability for one specification.

    Returns
    -------
    dict of DataFrame
        ``pairs``, ``correlations`` (analysis 1, its own BH family), ``roc`` (analysis 2),
        ``reliability`` (ΔAUC, pooled and per generator) and ``selection_summary`` (analysis 5).
    """
    pairs = specification_pair_table(records, classifier)
    study = records[records["arm"].map(is_study_arm)]
    reliability = reliability_table(study, [classifier], metrics=(), n_boot=n_boot, seed=seed, alpha=alpha)
    return {
        "pairs": pairs,
        "correlations": correlate_quality(pairs, SCORES, n_boot=n_boot, seed=seed, alpha=alpha),
        "roc": discriminate_quality(pairs, SCORES, n_boot=n_boot, seed=seed, alpha=alpha),
        "reliability": reliability[reliability["quantity"] == "delta_auc"].reset_index(drop=True),
        "selection_summary": select_generators(pairs, alpha=alpha)["summary"],
    }


def headline_appears(
    correlations: pd.DataFrame,
    *,
    alpha: float = ALPHA,
    min_rho: float = HEADLINE_MIN_RHO,
    min_metrics: int = HEADLINE_MIN_METRICS,
) -> bool:
    """The pre-registered rule: does the study's headline appear in this specification?

    True when the composite's pooled ρ has q < ``alpha`` and |ρ| >= ``min_rho``, at least
    ``min_metrics`` of the five metrics' pooled ρ have q < ``alpha`` with the composite's sign,
    and no within-generator ρ (any score) has q < ``alpha``.
    """
    pooled = correlations[correlations["group"] == POOLED].set_index("metric")
    if COMPOSITE not in pooled.index:
        return False
    composite = pooled.loc[COMPOSITE]
    if not (composite["q_value"] < alpha and abs(composite["rho"]) >= min_rho):
        return False
    metrics = pooled.loc[[m for m in METRICS if m in pooled.index]]
    same_sign = (metrics["q_value"] < alpha) & (np.sign(metrics["rho"]) == np.sign(composite["rho"]))
    within = correlations[correlations["group"] != POOLED]
    return bool(same_sign.sum() >= min_metrics and not (within["q_value"] < alpha).any())


def curve_table(
    analyses: Mapping[str, Mapping[str, pd.DataFrame]],
    choices: Mapping[str, Mapping[str, Any]],
    *,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """One row per specification: its choices, the composite's pooled ρ with CI and q, the metrics, the rule.

    Parameters
    ----------
    analyses : mapping
        Specification name -> :func:`analyse_specification` output.
    choices : mapping
        Specification name -> its ``ratio``, ``classifier`` and ``severity``.

    Returns
    -------
    DataFrame
        Sorted by the composite's pooled ρ: ``specification``, the factors, ``n_pairs``, ``rho``,
        ``ci_low``, ``ci_high``, ``q_value`` (composite, pooled), ``metrics_significant`` (pooled
        q < alpha in the composite's direction), ``within_significant`` (within-generator ρ with
        q < alpha), ``roc_auc`` (composite), ``reliability_delta_auc`` (pooled), ``appears``,
        and ``rho_<metric>`` per metric.
    """
    rows = []
    for name, result in analyses.items():
        correlations = result["correlations"]
        pooled = correlations[correlations["group"] == POOLED].set_index("metric")
        composite = pooled.loc[COMPOSITE]
        sign = np.sign(composite["rho"])
        roc = result["roc"]
        roc_pooled = roc[(roc["group"] == POOLED) & (roc["metric"] == COMPOSITE)]
        reliability = result["reliability"]
        rows.append(
            {
                "specification": name,
                **{factor: choices[name][factor] for factor in CURVE_FACTORS},
                "n_pairs": int(composite["n"]),
                "rho": composite["rho"],
                "ci_low": composite["ci_low"],
                "ci_high": composite["ci_high"],
                "q_value": composite["q_value"],
                "metrics_significant": int(
                    (
                        (pooled.loc[list(METRICS), "q_value"] < alpha)
                        & (np.sign(pooled.loc[list(METRICS), "rho"]) == sign)
                    ).sum()
                ),
                "within_significant": int((correlations.loc[correlations["group"] != POOLED, "q_value"] < alpha).sum()),
                "roc_auc": float(roc_pooled["auc"].iloc[0]) if len(roc_pooled) else np.nan,
                "reliability_delta_auc": float(reliability.loc[reliability["group"] == POOLED, "reliability"].iloc[0])
                if (reliability["group"] == POOLED).any()
                else np.nan,
                "appears": headline_appears(correlations, alpha=alpha),
                **{f"rho_{m}": pooled.loc[m, "rho"] for m in METRICS},
            }
        )
    return pd.DataFrame(rows).sort_values("rho", kind="stable").reset_index(drop=True)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Centred ranks of each column (NaN rows must be dropped before)."""
    ranks = stats.rankdata(values, axis=0)
    return ranks - ranks.mean(axis=0)


def _family(scores: np.ndarray, delta: np.ndarray, groups: np.ndarray, alpha: float) -> tuple[float, float]:
    """The composite's pooled ρ and its BH q over the family of analysis 1 (scores × pooled and each group).

    ``scores``: (n_pairs, len(SCORES)) oriented quality, the composite last; rows with a NaN are
    the caller's to drop. Asymptotic p-values (scipy's t approximation).
    """
    rhos, p_values = [], []
    for members in [np.ones(len(delta), dtype=bool), *(groups == g for g in np.unique(groups))]:
        q, d = scores[members], delta[members]
        n = len(d)
        rq, rd = _ranks(q), _ranks(d[:, None])
        rho = (rq * rd).sum(axis=0) / np.sqrt((rq**2).sum(axis=0) * (rd**2).sum(axis=0))
        t = rho * np.sqrt((n - 2) / np.clip(1 - rho**2, 1e-300, None))
        rhos.append(rho)
        p_values.append(2 * stats.t.sf(np.abs(t), n - 2))
    q_values, _ = adjust_fdr(np.concatenate(p_values).tolist(), alpha=alpha)
    return float(rhos[0][-1]), float(q_values[len(SCORES) - 1])


def _arrays(pairs: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    gen = generator_pairs(pairs)
    scores = pd.DataFrame({score: orient_quality(gen, score) for score in SCORES}, index=gen.index)
    keep = scores.notna().all(axis=1) & gen["delta_auc"].notna()
    return gen[keep], scores[keep].to_numpy(), gen.loc[keep, "delta_auc"].to_numpy()


def joint_null(
    pairs_by_specification: Mapping[str, pd.DataFrame],
    *,
    n_permutations: int = 1000,
    seed: int = 0,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """Test the whole curve: the median composite ρ and the count of significant specifications.

    Each permutation draws, per generator, one permutation of the datasets and gives every
    specification's pair of (dataset, generator) the quality scores of the permuted dataset's
    pair of that generator (ΔAUC stays), so every specification is broken the same way and their
    dependence is kept. A pair whose permuted dataset has no pair for that generator is left out.

    Returns
    -------
    dict
        ``observed_median_rho``, ``observed_count`` (composite pooled q < alpha),
        ``null_median_rho`` and ``null_count`` (arrays), ``p_median`` (two-sided) and ``p_count``
        (one-sided), ``n_permutations``, ``n_specifications``.
    """
    prepared = {name: _arrays(pairs) for name, pairs in pairs_by_specification.items()}
    datasets = sorted({d for gen, _, _ in prepared.values() for d in gen["dataset"]})
    generators = sorted({g for gen, _, _ in prepared.values() for g in gen["arm"]})

    # Per specification, once: its pairs' generators and where each (dataset, generator) pair sits.
    pair_keys = {}
    for name, (gen, _, _) in prepared.items():
        keys = list(zip(gen["dataset"], gen["arm"]))
        pair_keys[name] = (keys, gen["arm"].to_numpy(), {key: i for i, key in enumerate(keys)})
    rank = {d: i for i, d in enumerate(datasets)}

    def statistics(mapping: Mapping[str, np.ndarray] | None) -> tuple[float, int]:
        rhos, significant = [], 0
        for name, (_, scores, delta) in prepared.items():
            keys, groups, position = pair_keys[name]
            if mapping is None:
                rho, q = _family(scores, delta, groups, alpha)
            else:
                source = np.array([position.get((mapping[g][rank[d]], g), -1) for d, g in keys])
                kept = source >= 0
                rho, q = _family(scores[source[kept]], delta[kept], groups[kept], alpha)
            rhos.append(rho)
            significant += int(q < alpha)
        return float(np.median(rhos)), significant

    observed_median, observed_count = statistics(None)
    rng = np.random.default_rng(seed)
    null_median, null_count = np.empty(n_permutations), np.empty(n_permutations, dtype=int)
    for b in range(n_permutations):
        mapping = {g: np.array(datasets)[rng.permutation(len(datasets))] for g in generators}
        null_median[b], null_count[b] = statistics(mapping)
    return {
        "observed_median_rho": observed_median,
        "observed_count": observed_count,
        "null_median_rho": null_median,
        "null_count": null_count,
        "p_median": float((1 + np.sum(np.abs(null_median) >= abs(observed_median))) / (1 + n_permutations)),
        "p_count": float((1 + np.sum(null_count >= observed_count)) / (1 + n_permutations)),
        "n_permutations": n_permutations,
        "n_specifications": len(prepared),
    }


def robustness(
    table: pd.DataFrame, *, share: float = ROBUST_SHARE, factors: Sequence[str] = CURVE_FACTORS
) -> dict[str, Any]:
    """The pre-registered verdict on the curve and the factor levels that carry the appearances.

    Returns
    -------
    dict
        ``appearances`` and ``specifications`` (counts), ``share``, ``robust`` (share below
        ``share``), ``by_level``: a DataFrame of appearances per factor level (``factor``,
        ``level``, ``specifications``, ``appearances``, ``median_rho``: the median composite pooled ρ,
        ``significant``: specifications with a composite q < 0.05, any sign).
    """
    levels = [
        {
            "factor": factor,
            "level": level,
            "specifications": len(group),
            "appearances": int(group["appears"].sum()),
            "median_rho": float(group["rho"].median()),
            "significant": int((group["q_value"] < ALPHA).sum()),
        }
        for factor in factors
        for level, group in table.groupby(factor, sort=True)
    ]
    appearances = int(table["appears"].sum())
    return {
        "appearances": appearances,
        "specifications": len(table),
        "share": appearances / len(table) if len(table) else np.nan,
        "robust": bool(len(table) and appearances / len(table) < share),
        "by_level": pd.DataFrame(levels),
    }
