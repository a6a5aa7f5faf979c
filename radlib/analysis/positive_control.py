"""Positive control: records with a planted structure, run through the study's analyses.

Could the analyses tell an ecological fallacy from a real within-generator association, and
from nothing? :func:`simulate_records` writes a records table - one row per dataset x
repetition x fold x arm, real-only and the generators, with the columns the analyses read -
whose pair-level structure is known, at this study's size and with the evaluation noise,
reliabilities and dataset shares measured on the real records (:func:`control_parameters`,
:func:`radlib.analysis.power.design_parameters`). :func:`recover_structure` runs it through
:func:`radlib.analysis.run_analyses`, the study's own pipeline from records to pair table to
analyses, and :func:`recovery_table` counts over seeded replicates how often each analysis
finds what was planted.

Planted structures (:data:`STRUCTURES`), with ``ρ`` the Spearman correlation to plant (default
:data:`radlib.analysis.power.TARGET_RHO`, the study's smallest pooled ``|ρ|``), on the scale the
study reports it, the pair means:

``between_only``
    The ecological fallacy. The generators' mean quality and mean ΔAUC lie on a line
    (generator positions equally spaced, mean 0, SD 1), sized so that the generators explain
    the share ``ρ`` (as a Pearson correlation) of the variance of every pair-level quantity:
    the pooled correlation of the pair means is then about ``ρ``. Within each generator
    quality and ΔAUC are independent: within slope 0.
``within_only``
    Generator means flat; within each generator the true values correlate at ``ρ / ceiling``,
    ``ceiling = sqrt(r_q r_Δ)`` (with ``r_q`` the median reliability of the metrics), so that
    the pair means correlate at about ``ρ`` within every generator. Raises
    :class:`~radlib.analysis.power.UnreachableCorrelation` when ``ρ`` exceeds the ceiling.
``null``
    Generator means flat, quality and ΔAUC independent.

Per pair, each quantity's true value is its observed mean, plus the planted generator mean,
plus ``sqrt(sigma2_pair)`` times a unit-variance latent value with the measured dataset share
(:func:`radlib.analysis.power.correlated_scores`); the five metrics share one latent quality
and each has its own scale and noise. Each evaluation adds a repetition and a fold noise term
with the measured variances, of which the measured share is common to the arms of the
evaluation. Metrics are written as ``ideal + distance`` with ``distance = -score``
(:func:`radlib.quality.quality_score` reversed). The real-only arm has ΔAUC 0, no metrics and
the records' mean real-only AUC; the other classifier's columns are NaN (its records are not
valid, so its analyses see no pairs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from radlib import analysis, quality
from radlib.analysis.options import ALPHA
from radlib.analysis.power import (
    TARGET_RHO,
    UnreachableCorrelation,
    correlated_scores,
    design_parameters,
    pair_mean_variances,
    pearson_from_spearman,
)
from radlib.analysis.reliability import DELTA_AUC
from radlib.config import derive_seed
from radlib.parallel import run_calls
from radlib.records import (
    COMPOSITE,
    POOLED,
    REAL_ARM,
    STUDY_CLASSIFIERS,
    auc_column,
    check_classifier,
    delta_column,
    valid_mask,
)

__all__ = [
    "STRUCTURES",
    "control_parameters",
    "generator_positions",
    "simulate_records",
    "recover_structure",
    "recovery_table",
    "summarize_recovery",
]

#: The planted structures, in the order of every table.
STRUCTURES = ("between_only", "within_only", "null")


def control_parameters(
    records: pd.DataFrame,
    classifier: str = "logreg",
    metrics: Sequence[str] = tuple(quality.METRICS),
    arms: Sequence[str] | None = None,
) -> dict[str, Any]:
    """The measured design of ``records`` for :func:`simulate_records`.

    Returns
    -------
    dict
        ``classifier``, ``auc_real`` (mean real-only AUC of the valid records), ``delta_auc``
        and one entry per metric: :func:`radlib.analysis.power.design_parameters`.
    """
    check_classifier(classifier)
    missing = [m for m in metrics if m not in quality.METRICS]
    if missing:
        raise ValueError(f"unknown metrics {missing}; use those of radlib.quality.METRICS")
    real = records[(records["arm"] == REAL_ARM) & valid_mask(records, classifier)]
    return {
        "classifier": classifier,
        "auc_real": float(real[auc_column(classifier)].mean()) if len(real) else 0.7,
        DELTA_AUC: design_parameters(records, DELTA_AUC, classifier, arms),
        **{metric: design_parameters(records, metric, classifier, arms) for metric in metrics},
    }


def generator_positions(n_generators: int) -> np.ndarray:
    """Equally spaced generator positions with mean 0 and (population) SD 1."""
    if n_generators < 2:
        raise ValueError(f"a line through generator means needs 2 or more generators, got {n_generators}")
    positions = np.linspace(-1.0, 1.0, n_generators)
    return positions / positions.std()


def _metrics_of(parameters: Mapping[str, Any]) -> list[str]:
    return [name for name in quality.METRICS if name in parameters]


def _reliability(p: Mapping[str, Any]) -> float:
    true, error = pair_mean_variances(p)
    return true / (true + error) if true + error > 0 else 0.0


def _within_correlation(parameters: Mapping[str, Any], rho: float) -> float:
    """Pearson correlation of the true values that gives pair means correlated ``rho`` (Spearman)."""
    r_quality = float(np.median([_reliability(parameters[m]) for m in _metrics_of(parameters)]))
    r_delta = _reliability(parameters[DELTA_AUC])
    ceiling = float(np.sqrt(r_quality * r_delta))
    target = float(pearson_from_spearman(rho))
    if ceiling <= abs(target):
        raise UnreachableCorrelation(
            f"within_only: pair means cannot correlate at rho = {rho:.2f} when the attenuation ceiling is "
            f"{ceiling:.2f} (median metric reliability {r_quality:.2f}, ΔAUC reliability {r_delta:.2f})"
        )
    return target / ceiling


def _noise(rng: np.random.Generator, p: Mapping[str, Any], shape: tuple[int, int, int, int]) -> np.ndarray:
    """Evaluation noise (datasets, generators, repetitions, folds): repetition + fold terms, partly shared by arms."""
    n_datasets, n_generators, n_repetitions, n_folds = shape
    c = p["error_share"]

    def term(variance, term_shape):
        shared_shape = (term_shape[0], 1, *term_shape[2:])
        shared = rng.standard_normal(shared_shape)
        own = rng.standard_normal(term_shape)
        return np.sqrt(variance) * (np.sqrt(c) * shared + np.sqrt(1 - c) * own)

    repetition = term(p["sigma2_repetition"], (n_datasets, n_generators, n_repetitions, 1))
    fold = term(p["sigma2_fold"], shape)
    return repetition + fold


def simulate_records(
    structure: str,
    parameters: Mapping[str, Any],
    rho: float = TARGET_RHO,
    n_datasets: int = 43,
    generators: Sequence[str] | None = None,
    n_repetitions: int = 10,
    n_folds: int = 5,
    *,
    seed: int = 0,
) -> pd.DataFrame:
    """A records table with a planted structure (module notes).

    Parameters
    ----------
    structure : {"between_only", "within_only", "null"}
    parameters : mapping
        :func:`control_parameters` output (ΔAUC and the metrics' variance components).
    rho : float
        The Spearman correlation to plant; its sign is the direction (quality with ΔAUC).
    n_datasets, n_repetitions, n_folds : int
        The design; defaults 43 x 10 x 5.
    generators : sequence of str, optional
        Generator arm names; default the measured ones.
    seed : int
        Everything random comes from ``numpy.random.default_rng(seed)``.

    Returns
    -------
    DataFrame
        ``dataset``, ``repetition``, ``fold``, ``arm``, ``status`` ("ok"), ``error``,
        ``undefined`` (False), ``auc_<classifier>`` and ``delta_auc_<classifier>`` for both
        classifiers (the other one NaN) and the metrics; ``attrs["structure"]`` and
        ``attrs["rho"]``.
    """
    if structure not in STRUCTURES:
        raise ValueError(f"unknown structure '{structure}'; use one of {STRUCTURES}")
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho}")
    classifier = check_classifier(parameters["classifier"])
    metrics = _metrics_of(parameters)
    delta = parameters[DELTA_AUC]
    generators = list(delta["generators"] if generators is None else generators)
    n_generators = len(generators)
    within = _within_correlation(parameters, rho) if structure == "within_only" else 0.0
    rng = np.random.default_rng(seed)

    dataset_share = float(np.median([parameters[m]["dataset_share"] for m in metrics]))
    latent_quality, latent_delta = correlated_scores(
        rng, n_datasets, n_generators, within, dataset_share, delta["dataset_share"]
    )
    direction = np.sign(rho) if rho else 1.0
    line = generator_positions(n_generators) if structure == "between_only" else np.zeros(n_generators)
    share = abs(float(pearson_from_spearman(rho)))

    def true_values(p, latent, sign=1.0):
        offset = np.sqrt(share * sum(pair_mean_variances(p)) / (1 - share)) * sign * line
        return p["mean"] + offset[None, :] + np.sqrt(max(p["sigma2_pair"], 0.0)) * latent

    shape = (n_datasets, n_generators, n_repetitions, n_folds)
    values = {DELTA_AUC: true_values(delta, latent_delta, direction)[..., None, None] + _noise(rng, delta, shape)}
    for metric in metrics:
        score = true_values(parameters[metric], latent_quality)[..., None, None] + _noise(
            rng, parameters[metric], shape
        )
        values[metric] = quality.METRICS[metric].ideal - score

    index = np.indices(shape).reshape(4, -1)
    names = np.array([f"D{i:03d}" for i in range(n_datasets)])
    arms = pd.DataFrame(
        {
            "dataset": names[index[0]],
            "repetition": index[2],
            "fold": index[3],
            "arm": np.array(generators)[index[1]],
            **{name: array.ravel() for name, array in values.items()},
        }
    )
    real_index = np.indices((n_datasets, n_repetitions, n_folds)).reshape(3, -1)
    real = pd.DataFrame(
        {
            "dataset": names[real_index[0]],
            "repetition": real_index[1],
            "fold": real_index[2],
            "arm": REAL_ARM,
            DELTA_AUC: 0.0,
            **{metric: np.nan for metric in metrics},
        }
    )
    records = pd.concat([real, arms], ignore_index=True)
    records.insert(4, "status", "ok")
    records.insert(5, "error", None)
    records.insert(6, "undefined", False)
    for name in STUDY_CLASSIFIERS:
        planted = name == classifier
        records[auc_column(name)] = parameters["auc_real"] + records[DELTA_AUC] if planted else np.nan
        records[delta_column(name)] = records[DELTA_AUC] if planted else np.nan
    records = records.drop(columns=DELTA_AUC).sort_values(["dataset", "repetition", "fold", "arm"], ignore_index=True)
    records.attrs.update(structure=structure, rho=float(rho))
    return records


def recover_structure(
    records: pd.DataFrame, classifier: str = "logreg", *, n_boot: int = 200, seed: int = 0, alpha: float = ALPHA
) -> pd.DataFrame:
    """What the study's analyses find in ``records``: :func:`radlib.analysis.run_analyses`, condensed.

    Returns
    -------
    DataFrame
        One row per quality score (the metrics and the composite): ``metric``,
        ``pooled_rho``, ``pooled_significant`` (q < alpha, BH over the study's family),
        ``within_rho`` (mean over the generators), ``within_significant`` (share of the
        generators with q < alpha), ``any_within_significant``, ``between_slope``,
        ``between_p``, ``within_slope``, ``within_p`` (cluster-bootstrap p of the
        within-between decomposition), ``between_significant`` and
        ``within_slope_significant`` (p < alpha).
    """
    results = analysis.run_analyses(records, classifier, n_boot=n_boot, seed=seed, alpha=alpha)
    correlations, decomposition = results["correlations"], results["within_between"].set_index("metric")
    rows = []
    for metric, table in correlations.groupby("metric", sort=False):
        pooled, within = table[table["group"] == POOLED].iloc[0], table[table["group"] != POOLED]
        slopes = decomposition.loc[metric]
        rows.append(
            {
                "metric": metric,
                "pooled_rho": float(pooled["rho"]),
                "pooled_significant": bool(pooled["significant"]),
                "within_rho": float(within["rho"].mean()),
                "within_significant": float(within["significant"].mean()),
                "any_within_significant": bool(within["significant"].any()),
                "between_slope": float(slopes["between_slope"]),
                "between_p": float(slopes["between_p"]),
                "within_slope": float(slopes["within_slope"]),
                "within_p": float(slopes["within_p"]),
                "between_significant": bool(slopes["between_p"] < alpha),
                "within_slope_significant": bool(slopes["within_p"] < alpha),
            }
        )
    return pd.DataFrame(rows)


def _recover_replicate(
    structure: str, replicate: int, parameters: Mapping[str, Any], design: tuple, n_boot: int, seed: int, alpha: float
) -> pd.DataFrame:
    """One replicate of :func:`recovery_table`: its rows, or one row with the reason it cannot be planted."""
    rho, n_datasets, n_repetitions, n_folds = design
    replicate_seed = derive_seed(seed, structure, replicate)
    try:
        records = simulate_records(
            structure, parameters, rho, n_datasets, None, n_repetitions, n_folds, seed=replicate_seed
        )
    except UnreachableCorrelation as error:
        return pd.DataFrame([{"structure": structure, "replicate": np.nan, "note": str(error)}])
    bootstrap_seed = derive_seed(replicate_seed, "bootstrap")
    found = recover_structure(records, parameters["classifier"], n_boot=n_boot, seed=bootstrap_seed, alpha=alpha)
    found.insert(0, "replicate", replicate)
    found.insert(0, "structure", structure)
    found["note"] = ""
    return found


def recovery_table(
    parameters: Mapping[str, Any],
    structures: Sequence[str] = STRUCTURES,
    n_replicates: int = 100,
    rho: float = TARGET_RHO,
    n_datasets: int = 43,
    n_repetitions: int = 10,
    n_folds: int = 5,
    *,
    n_boot: int = 200,
    seed: int = 0,
    alpha: float = ALPHA,
    n_jobs: int = 1,
    show_progress: bool = False,
) -> pd.DataFrame:
    """:func:`recover_structure` of ``n_replicates`` seeded :func:`simulate_records` per structure.

    Replicate ``i`` of a structure simulates its records from ``derive_seed(seed, structure,
    i)`` and bootstraps from ``derive_seed(that seed, "bootstrap")``, so the resampling is not
    drawn from the stream that made the records, and the table does not depend on ``n_jobs``
    (processes running the replicates, ``joblib.Parallel``; 1 runs them here). A structure
    that cannot be planted (:class:`~radlib.analysis.power.UnreachableCorrelation`) gets one
    row with its reason in ``note`` and no results. With ``show_progress`` a progress bar per
    structure counts its replicates and shows the time left.

    Returns
    -------
    DataFrame
        ``structure``, ``replicate``, then the columns of :func:`recover_structure`, and
        ``note``.
    """
    design = (rho, n_datasets, n_repetitions, n_folds)
    frames = []
    for structure in structures:
        # Whether a structure can be planted depends on the parameters, not the replicate: try the first alone.
        first = _recover_replicate(structure, 0, parameters, design, n_boot, seed, alpha)
        frames.append(first)
        if first["replicate"].isna().all():
            continue
        replicates = [(structure, i, parameters, design, n_boot, seed, alpha) for i in range(1, n_replicates)]
        label = f"positive control, {structure}" if show_progress else None
        frames += run_calls(_recover_replicate, replicates, n_jobs=n_jobs, progress=label)
    return pd.concat(frames, ignore_index=True)


#: The recovery criteria of :func:`summarize_recovery`, in table order.
_CRITERIA = (
    "pooled_significant",
    "any_within_significant",
    "within_significant",
    "between_significant",
    "within_slope_significant",
)


def summarize_recovery(recoveries: pd.DataFrame, metric: str = COMPOSITE) -> pd.DataFrame:
    """Rates of each recovery criterion per structure for one quality score, with Monte-Carlo SEs.

    Parameters
    ----------
    recoveries : DataFrame
        :func:`recovery_table` output.
    metric : str
        The quality score (default the composite).

    Returns
    -------
    DataFrame
        One row per structure: ``structure``, ``n_replicates``, per criterion the rate and
        ``<criterion>_se`` (binomial SE ``sqrt(p (1 - p) / n)``; for the within-generator
        share, the SE of the mean share), the mean ``pooled_rho``, ``within_rho``,
        ``between_slope``, ``within_slope``, and ``note``.
    """
    rows = []
    for structure, table in recoveries.groupby("structure", sort=False):
        done = table[table["replicate"].notna() & (table["metric"] == metric)] if "metric" in table else table.iloc[:0]
        row: dict[str, Any] = {"structure": structure, "n_replicates": len(done)}
        for criterion in _CRITERIA:
            values = done[criterion].astype(float) if len(done) else pd.Series(dtype=float)
            rate = float(values.mean()) if len(values) else np.nan
            spread = values.std(ddof=1) if criterion == "within_significant" else np.sqrt(rate * (1 - rate))
            row[criterion] = rate
            row[f"{criterion}_se"] = float(spread / np.sqrt(len(values))) if len(values) > 1 else np.nan
        for estimate in ("pooled_rho", "within_rho", "between_slope", "within_slope"):
            row[f"mean_{estimate}"] = float(done[estimate].mean()) if len(done) else np.nan
        row["note"] = "; ".join(note for note in table["note"].dropna().unique() if note)
        rows.append(row)
    return pd.DataFrame(rows)
