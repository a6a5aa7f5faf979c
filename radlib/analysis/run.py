"""Every analysis at once for one classifier (:func:`run_analyses`) and its key numbers (:func:`summarize`)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radlib.analysis.association import correlate_quality, discriminate_quality
from radlib.analysis.meta import meta_analyze_generators
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.analysis.pairs import EXCLUSION_REASONS, METRICS, generator_pairs, pair_table
from radlib.analysis.scores import add_composite
from radlib.analysis.selection import compare_smote, locate_smote_quality, select_generators
from radlib.analysis.within_between import decompose_within_between
from radlib.records import COMPOSITE, POOLED

__all__ = ["run_analyses", "summarize"]


def run_analyses(
    records: pd.DataFrame,
    classifier: str = "logreg",
    datasets: Iterable[str] | None = None,
    metrics: Sequence[str] = METRICS,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
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
    meta = meta_analyze_generators(pairs, alpha=alpha)
    selection = select_generators(pairs, alpha=alpha)
    report = {key: ("; ".join(value) if isinstance(value, list) else value) for key, value in exclusions.items()}
    report["subset"] = datasets is not None
    return {
        "pairs": pairs,
        "exclusions": pd.DataFrame([report]),
        "correlations": correlate_quality(pairs, scores, n_boot=n_boot, seed=seed, alpha=alpha),
        "roc": discriminate_quality(pairs, scores, n_boot=n_boot, seed=seed, alpha=alpha),
        "meta_studies": meta["studies"],
        "meta_generators": meta["generators"],
        "meta_between": meta["between"],
        "selection": selection["datasets"],
        "selection_summary": selection["summary"],
        "smote_delta": compare_smote(pairs, alpha=alpha),
        "smote_quality": locate_smote_quality(pairs, scores),
        "within_between": decompose_within_between(
            pairs, scores, n_boot=n_boot, seed=seed, alpha=alpha, cov_type=cov_type
        ),
    }


def _range(values: pd.Series) -> tuple[float, float]:
    values = values.dropna()
    return (float(values.min()), float(values.max())) if len(values) else (np.nan, np.nan)


# Tables written by version 1 (one external evaluation per repetition) called evaluations "tasks".
_VERSION_1_NAMES = {"evaluations_total": "tasks_total", "evaluations_undefined": "tasks_undefined"}


def summarize(results: Mapping[str, pd.DataFrame], *, alpha: float = ALPHA) -> dict[str, Any]:
    """The key numbers of :func:`run_analyses` as a flat dict of plain Python scalars.

    Keys: ``classifier``, ``subset``, ``n_pairs`` (generator pairs), ``n_datasets``,
    ``n_generators``, ``records_total``/``records_valid``/``records_undefined``/
    ``records_failed``/``records_missing_auc``, ``evaluations_total``, ``evaluations_undefined``
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
    gen = generator_pairs(pairs)
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
        "evaluations_total",
        "evaluations_undefined",
    ):
        out[key] = int(exclusions[key] if key in exclusions else exclusions[_VERSION_1_NAMES[key]])

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
