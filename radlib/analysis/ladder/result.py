"""The whole ladder at once (:func:`run_ladder`), its result object (:class:`LadderResult`) and key numbers."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radlib.analysis.ladder.configurations import DELTA_AUC, SCORES, configuration_pairs, nested_sets
from radlib.analysis.ladder.correlations import pooled_by_set, within_configurations
from radlib.analysis.ladder.dose import dose_response
from radlib.analysis.ladder.placebo import placebo_between
from radlib.analysis.ladder.slopes import adjusted_by_set, configuration_slopes, slopes_by_set
from radlib.analysis.ladder.variance import variance_explained
from radlib.analysis.ladder.verdict import ladder_verdict
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.records import (
    CLASSIFIER_LABELS,
    COMPOSITE,
    POOLED,
)

__all__ = ["LADDER_TABLES", "LadderResult", "run_ladder", "summarize_ladder"]


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
    *,
    n_boot: int = N_BOOT,
    n_permutations: int = 200,
    seed: int = 0,
    alpha: float = ALPHA,
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
    pooled = pooled_by_set(pairs, scores, sets, n_boot=n_boot, seed=seed, alpha=alpha)
    within = within_configurations(pairs, scores, n_boot=n_boot, seed=seed, alpha=alpha)
    slopes = slopes_by_set(pairs, scores, sets, n_boot=n_boot, seed=seed, alpha=alpha)
    parts = {
        "classifier": classifier,
        "pairs": pairs,
        "sets": sets,
        "variance": variance_explained(pairs, (*scores, DELTA_AUC), sets),
        "pooled": pooled,
        "within": within,
        "slopes": slopes,
        "configuration_slopes": configuration_slopes(pairs, scores, sets),
        "adjusted": adjusted_by_set(pairs, scores, sets, alpha=alpha),
        "dose": dose_response(records, classifier, alpha=alpha),
        "placebo": placebo_between(records, classifier, COMPOSITE, n_permutations, seed=seed)
        if n_permutations
        else None,
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
