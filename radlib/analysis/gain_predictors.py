"""Science v3, question 6: what, short of the new site's labels, predicts the external gain?

On one specification's records (and the internal-validation grid's), per pair (dataset, source)
for the four sources WGAN-GP, CVAE, TabDDPM and SMOTE (docs/protocol.md, pre-registration of
version 3):

- :func:`predictor_pairs`: the pair table with every predictor, oriented so that higher predicts
  a larger gain (:data:`PREDICTORS`);
- :func:`associate_predictors`: pooled and within-source Spearman ρ with the external ΔAUC
  (dataset-bootstrap CIs, BH over the predictor family), the ROC AUC for ΔAUC > 0, and ρ
  disattenuated by both sides' reliabilities (:func:`predictor_reliability`);
- :func:`decision_value`: the mean external ΔAUC of the choices a predictor makes per dataset,
  beside never augmenting, the best source on average (leave one dataset out), a random choice
  and the oracle (:func:`comparators`);
- :func:`predictor_control`: the positive control (a planted predictor at this design's noise).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from radlib.analysis.association import adjust_fdr, roc_row, spearman_row
from radlib.analysis.bootstrap import percentile_interval
from radlib.analysis.options import ALPHA, N_BOOT
from radlib.analysis.pairs import pair_table
from radlib.analysis.reliability import variance_components
from radlib.analysis.scores import orient_quality, standardize_quality
from radlib.predictors import EXTERNAL_PREFIX, external_column, icv_column, tstr_column
from radlib.quality import METRICS, quality_score
from radlib.records import COMPOSITE, POOLED, SMOTE_ARM, delta_column, valid_mask

__all__ = [
    "SOURCES",
    "NO_AUGMENTATION",
    "Predictor",
    "PREDICTORS",
    "predictor_pairs",
    "predictor_reliability",
    "associate_predictors",
    "decision_value",
    "comparators",
    "predictor_control",
]

#: The sources a practitioner chooses among (besides no augmentation), in the tie-breaking order.
SOURCES = ("wgan_gp", "cvae", "tabddpm", SMOTE_ARM)
#: The choice not to augment (its external ΔAUC is 0).
NO_AUGMENTATION = "none"
#: The column of the internal-validation grid's pair mean ΔAUC in :func:`predictor_pairs`.
INTERNAL_VALIDATION = "internal_validation_delta_auc"
EXTERNAL_COMPOSITE = f"{EXTERNAL_PREFIX}{COMPOSITE}"


@dataclass(frozen=True)
class Predictor:
    """A predictor of the gain: its column in :func:`predictor_pairs` and how it chooses.

    ``kind`` ``"fidelity"`` picks the best-scored source (it always augments); ``"gain"`` picks
    the largest predicted gain when it is positive, else no augmentation.
    """

    name: str
    kind: str
    label: str


def _predictors(classifier: str) -> tuple[Predictor, ...]:
    return (
        *(Predictor(m, "fidelity", f"{m} (internal)") for m in METRICS),
        Predictor(COMPOSITE, "fidelity", "composite (internal)"),
        *(Predictor(external_column(m), "fidelity", f"{m} (external features)") for m in METRICS),
        Predictor(EXTERNAL_COMPOSITE, "fidelity", "composite (external features)"),
        Predictor(tstr_column(classifier), "fidelity", "TSTR AUC"),
        Predictor(icv_column(classifier), "gain", "naive internal ΔAUC (leaky)"),
        Predictor(INTERNAL_VALIDATION, "gain", "internal-validation ΔAUC"),
    )


#: The 14 pre-registered predictors for logistic regression, in the order of every table.
PREDICTORS = _predictors("logreg")


def predictor_pairs(
    records: pd.DataFrame, classifier: str = "logreg", internal_records: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per (dataset, source) with the external ΔAUC and every predictor, oriented (higher = larger gain).

    Quality metrics become ``-|metric - ideal|`` (:func:`radlib.quality.quality_score`), for the
    internal (``wasserstein``, ...) and the external-feature ones (``ext_wasserstein``, ...); the
    composites are version 2's (z-scores over the generator pairs, SMOTE on their scale). TSTR and
    the naive internal ΔAUC are as measured. ``internal_validation_delta_auc`` is the pair's mean
    ΔAUC in ``internal_records`` (the internal-validation grid), NaN without them.
    """
    pairs = pair_table(records, classifier)
    pairs = pairs[pairs["arm"].isin(SOURCES)].reset_index(drop=True)
    out = pairs[["dataset", "arm", "delta_auc", "delta_auc_rep_var", "n_repetitions", "n_valid"]].copy()
    for metric in METRICS:
        out[metric] = orient_quality(pairs, metric)
    out[COMPOSITE] = standardize_quality(pairs, list(METRICS)).mean(axis=1, skipna=True)
    external = pd.DataFrame({"arm": pairs["arm"]})
    for metric in METRICS:
        column = external_column(metric)
        values = pairs[column] if column in pairs else pd.Series(np.nan, index=pairs.index)
        out[column] = quality_score(values.astype(float), metric)
        external[metric] = values.astype(float)
    out[EXTERNAL_COMPOSITE] = standardize_quality(external, list(METRICS)).mean(axis=1, skipna=True)
    for column in (tstr_column(classifier), icv_column(classifier)):
        out[column] = pairs[column] if column in pairs else np.nan
    out[INTERNAL_VALIDATION] = np.nan
    if internal_records is not None:
        internal = pair_table(internal_records, classifier).set_index(["dataset", "arm"])["delta_auc"]
        out[INTERNAL_VALIDATION] = [internal.get((d, a), np.nan) for d, a in zip(out["dataset"], out["arm"])]
    out.attrs["classifier"] = classifier
    return out


def _record_values(records: pd.DataFrame, predictor: str, classifier: str) -> pd.Series:
    """A predictor's value on each record (oriented as in :func:`predictor_pairs`; composites from the
    records' own z-scores).
    """
    if predictor in METRICS:
        return quality_score(records[predictor].astype(float), predictor)
    if predictor.startswith(EXTERNAL_PREFIX) and predictor.removeprefix(EXTERNAL_PREFIX) in METRICS:
        return quality_score(records[predictor].astype(float), predictor.removeprefix(EXTERNAL_PREFIX))
    if predictor in (COMPOSITE, EXTERNAL_COMPOSITE):
        prefix = EXTERNAL_PREFIX if predictor == EXTERNAL_COMPOSITE else ""
        frame = pd.DataFrame({"arm": records["arm"], **{m: records[f"{prefix}{m}"].astype(float) for m in METRICS}})
        return standardize_quality(frame, list(METRICS)).mean(axis=1, skipna=True)
    return records[predictor].astype(float)


def predictor_reliability(records: pd.DataFrame, column: str, classifier: str = "logreg") -> float:
    """Reliability of a pair's mean of ``column`` over its repetitions (one-way ICC of repetition means).

    ``column`` is a predictor of :data:`PREDICTORS` or ``"delta_auc"`` (the classifier's ΔAUC);
    the valid records of the four sources (:func:`radlib.records.valid_mask`) are used, the folds
    of a repetition averaged first, as in version 2's reliability analysis. NaN when the column is
    absent or fewer than two pairs have two repetitions.
    """
    keep = records["arm"].isin(SOURCES) & valid_mask(records, classifier)
    subset = records[keep]
    name = delta_column(classifier) if column == "delta_auc" else column
    if name not in subset and column not in (COMPOSITE, EXTERNAL_COMPOSITE):
        return np.nan
    values = subset[name].astype(float) if column == "delta_auc" else _record_values(subset, column, classifier)
    frame = subset[["dataset", "arm", "repetition"]].assign(value=values.to_numpy()).dropna()
    frame = frame.groupby(["dataset", "arm", "repetition"], as_index=False)["value"].mean()
    sizes = frame.groupby(["dataset", "arm"]).size()
    if (sizes >= 2).sum() < 2:
        return np.nan
    return variance_components(frame["value"].to_numpy(), frame[["dataset", "arm"]])["reliability"]


def _association_data(pairs: pd.DataFrame, predictor: str) -> pd.DataFrame:
    frame = pd.DataFrame(
        {"dataset": pairs["dataset"], "arm": pairs["arm"], "score": pairs[predictor], "delta": pairs["delta_auc"]}
    )
    return frame.dropna().reset_index(drop=True)


def associate_predictors(
    pairs: pd.DataFrame,
    reliabilities: dict[str, float] | None = None,
    predictors: Sequence[Predictor] = PREDICTORS,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
) -> pd.DataFrame:
    """Each predictor's association with the external ΔAUC, pooled over the sources and within each.

    Parameters
    ----------
    pairs : DataFrame
        :func:`predictor_pairs`.
    reliabilities : dict, optional
        Column -> reliability (:func:`predictor_reliability`), with ``"delta_auc"``; gives
        ``rho_disattenuated`` = ρ / √(rel_predictor · rel_ΔAUC) where both exceed 0.1.

    Returns
    -------
    DataFrame
        One row per predictor and group (``pooled``, then each source): ``predictor``, ``label``,
        ``kind``, ``group``, the fields of :func:`~radlib.analysis.association.spearman_row`,
        ``q_value`` (BH over the pooled rows; separately over the within-source rows),
        ``tracks`` (pooled: CI above 0), ``roc_auc`` with ``roc_ci_low``/``roc_ci_high`` (pooled),
        ``reliability`` and ``rho_disattenuated`` (pooled).
    """
    reliabilities = reliabilities or {}
    rows = []
    for predictor in predictors:
        data = _association_data(pairs, predictor.name) if predictor.name in pairs else pd.DataFrame()
        groups = [(POOLED, data)] + [(s, data[data["arm"] == s]) for s in SOURCES if len(data)]
        for group, subset in groups:
            row: dict[str, Any] = {
                "predictor": predictor.name,
                "label": predictor.label,
                "kind": predictor.kind,
                "group": group,
            }
            if len(subset):
                row.update(spearman_row(subset, n_boot=n_boot, seed=seed, alpha=alpha))
            else:
                row.update(n=0, rho=np.nan, p_value=np.nan, ci_low=np.nan, ci_high=np.nan, note="not measured")
            if group == POOLED:
                roc = roc_row(subset, n_boot=n_boot, seed=seed, alpha=alpha) if len(subset) else {}
                row["roc_auc"] = roc.get("auc", np.nan)
                row["roc_ci_low"], row["roc_ci_high"] = roc.get("ci_low", np.nan), roc.get("ci_high", np.nan)
                rel_x, rel_y = reliabilities.get(predictor.name, np.nan), reliabilities.get("delta_auc", np.nan)
                row["reliability"] = rel_x
                usable = np.isfinite(rel_x) and np.isfinite(rel_y) and rel_x > 0.1 and rel_y > 0.1
                row["rho_disattenuated"] = row["rho"] / np.sqrt(rel_x * rel_y) if usable else np.nan
            rows.append(row)
    table = pd.DataFrame(rows)
    table["q_value"] = np.nan
    for pooled in (True, False):
        members = (table["group"] == POOLED) == pooled
        table.loc[members, "q_value"] = adjust_fdr(table.loc[members, "p_value"], alpha=alpha)[0]
    table["tracks"] = (table["group"] == POOLED) & (table["ci_low"] > 0)
    return table


def _wide(pairs: pd.DataFrame, column: str) -> pd.DataFrame:
    """Datasets x sources of ``column`` (NaN where a pair is missing), sources in :data:`SOURCES` order."""
    wide = pairs.pivot(index="dataset", columns="arm", values=column)
    return wide.reindex(columns=[s for s in SOURCES if s in wide.columns])


def _summary(name: str, outcomes: pd.Series, choices: pd.Series, n_boot: int, seed: int, alpha: float) -> dict:
    values = outcomes.to_numpy(float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1) if n_boot else np.array([])
    low, high, used = percentile_interval(means, alpha=alpha) if n_boot else (np.nan, np.nan, 0)
    return {
        "rule": name,
        "n_datasets": len(values),
        "mean_delta_auc": float(values.mean()),
        "ci_low": low,
        "ci_high": high,
        "n_boot_used": used,
        "improved": int((values > 0).sum()),
        "harmed": int((values < 0).sum()),
        "augmented": int((choices != NO_AUGMENTATION).sum()),
        "informs": bool(np.isfinite(low) and low > 0),
    }


def _choose(scores: pd.DataFrame, kind: str) -> pd.Series:
    """Per dataset, the source a predictor picks (first in :data:`SOURCES` on ties), or no augmentation."""
    choices = []
    for _, row in scores.iterrows():
        if row.isna().all():
            choices.append(NO_AUGMENTATION)
            continue
        best = row.idxmax()  # the first maximum: the tie-breaking order
        choices.append(best if kind == "fidelity" or row[best] > 0 else NO_AUGMENTATION)
    return pd.Series(choices, index=scores.index)


def _outcomes(deltas: pd.DataFrame, choices: pd.Series) -> pd.Series:
    """The chosen pair's external ΔAUC per dataset (0 for no augmentation or a missing pair)."""
    return pd.Series(
        [0.0 if c == NO_AUGMENTATION else float(np.nan_to_num(deltas.loc[d, c])) for d, c in choices.items()],
        index=choices.index,
    )


def decision_value(
    pairs: pd.DataFrame,
    predictor: Predictor,
    *,
    n_boot: int = N_BOOT,
    seed: int = 0,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """The mean external ΔAUC of the choices a predictor makes per dataset, with a dataset-bootstrap CI.

    Returns
    -------
    dict
        ``rule`` (the predictor), ``n_datasets``, ``mean_delta_auc``, ``ci_low``, ``ci_high``,
        ``improved``/``harmed`` (datasets whose choice has ΔAUC > 0 / < 0), ``augmented``
        (datasets where it augments), ``informs`` (CI above 0), and ``choices`` (a Series).
    """
    deltas = _wide(pairs, "delta_auc")
    scores = _wide(pairs, predictor.name).reindex(index=deltas.index, columns=deltas.columns)
    choices = _choose(scores, predictor.kind)
    return {**_summary(predictor.name, _outcomes(deltas, choices), choices, n_boot, seed, alpha), "choices": choices}


def comparators(pairs: pd.DataFrame, *, n_boot: int = N_BOOT, seed: int = 0, alpha: float = ALPHA) -> pd.DataFrame:
    """The decision rules a predictor is compared with: never, best on average (leave one dataset out), random, oracle."""
    deltas = _wide(pairs, "delta_auc")
    never = pd.Series(NO_AUGMENTATION, index=deltas.index)
    best = {}
    for dataset in deltas.index:
        means = deltas.drop(index=dataset).mean(axis=0)
        best[dataset] = means.idxmax()
    best_choices = pd.Series(best)
    random_outcome = deltas.fillna(0.0).sum(axis=1) / (1 + deltas.notna().sum(axis=1))
    oracle_choices = pd.Series(
        [row.idxmax() if row.max() > 0 else NO_AUGMENTATION for _, row in deltas.fillna(-np.inf).iterrows()],
        index=deltas.index,
    )
    rows = [
        _summary("never augment", _outcomes(deltas, never), never, n_boot, seed, alpha),
        _summary(
            "best source on average (leave one dataset out)",
            _outcomes(deltas, best_choices),
            best_choices,
            n_boot,
            seed,
            alpha,
        ),
        _summary(
            "random choice (expected)", random_outcome, pd.Series("random", index=deltas.index), n_boot, seed, alpha
        ),
        _summary("oracle", _outcomes(deltas, oracle_choices), oracle_choices, n_boot, seed, alpha),
    ]
    return pd.DataFrame(rows)


def predictor_control(
    pairs: pd.DataFrame,
    rho: float,
    *,
    kind: str = "gain",
    replicates: int = 500,
    n_boot: int = 500,
    seed: int = 0,
    alpha: float = ALPHA,
) -> dict[str, float]:
    """Positive control: a predictor planted with true correlation ``rho`` to the true pair gain.

    The true gains keep the observed pair structure: the observed pair means of ΔAUC, shrunk to
    their estimated true spread (observed variance minus the mean sampling variance of a pair
    mean, ``delta_auc_rep_var / n_repetitions``), plus fresh sampling noise of that variance for
    the observed ΔAUC. The planted predictor is ``rho · z(true) + √(1 - rho²) · noise`` on the true
    gain's scale (so a ``"gain"`` predictor's sign is meaningful).

    Returns
    -------
    dict
        ``found`` (share of replicates whose pooled ρ CI lies above 0), ``informs`` (share whose
        decision value CI lies above 0), ``mean_rho`` (observed), ``replicates``, ``rho``.
    """
    rng = np.random.default_rng(seed)
    base = pairs.dropna(subset=["delta_auc"]).reset_index(drop=True)
    sampling_var = (base["delta_auc_rep_var"] / base["n_repetitions"]).where(base["n_repetitions"] > 1)
    noise_var = float(np.nanmean(sampling_var)) if sampling_var.notna().any() else 0.0
    centre = base["delta_auc"].mean()
    true_var = max(float(base["delta_auc"].var(ddof=1)) - noise_var, 1e-12)
    shrink = np.sqrt(true_var / float(base["delta_auc"].var(ddof=1)))
    true = centre + (base["delta_auc"] - centre) * shrink
    z = (true - true.mean()) / true.std(ddof=1)
    found = informs = 0
    rhos = []
    for replicate in range(replicates):
        observed = true + rng.normal(0, np.sqrt(noise_var), len(base))
        planted = (rho * z + np.sqrt(1 - rho**2) * rng.normal(size=len(base))) * np.sqrt(true_var) + centre
        frame = base[["dataset", "arm"]].assign(delta_auc=observed, planted=planted)
        row = spearman_row(_association_data(frame, "planted"), n_boot=n_boot, seed=seed + replicate, alpha=alpha)
        rhos.append(row["rho"])
        found += bool(row["ci_low"] > 0)
        decision = decision_value(frame, Predictor("planted", kind, "planted"), n_boot=n_boot, seed=seed + replicate)
        informs += decision["informs"]
    return {
        "rho": rho,
        "replicates": replicates,
        "found": found / replicates,
        "informs": informs / replicates,
        "mean_rho": float(np.mean(rhos)),
    }
