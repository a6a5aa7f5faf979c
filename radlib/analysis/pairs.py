"""From records to pairs: the pair table with its exclusion report, and ΔAUC per arm.

A *pair* is one (dataset, arm): the mean over the valid evaluations (repetitions x site-folds) (:func:`radlib.records.valid_mask`)
of ΔAUC, the AUC and the five quality metrics. Every analysis of the package runs on the pair
table (:func:`pair_table`); records that do not count are excluded there and counted by reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from radlib import quality
from radlib.evaluations import count_undefined
from radlib.quality import FLOOR_PREFIX
from radlib.records import (
    REAL_ARM,
    auc_column,
    check_classifier,
    classifiers_in,
    configuration_arms,
    delta_column,
    is_study_arm,
    valid_mask,
)

__all__ = ["METRICS", "EXCLUSION_REASONS", "pair_table", "generators_of", "generator_pairs", "delta_auc_by_arm"]

#: The five quality metrics of docs/protocol.md, step 6, in the order used in every table.
METRICS = tuple(quality.METRICS)
#: Why a record is left out of the pair table, in the order the reasons are checked.
EXCLUSION_REASONS = ("undefined", "failed", "missing_auc")


def pair_table(
    records: pd.DataFrame,
    classifier: str = "logreg",
    datasets: Iterable[str] | None = None,
    arms: str = "study",
) -> pd.DataFrame:
    """Mean over valid evaluations per (dataset, arm), for every arm but real-only.

    An *evaluation* is one external site-fold of one repetition
    (:data:`radlib.records.EVALUATION_KEYS`; records without a ``fold`` column, from version
    1, have one evaluation per repetition).

    A record is *valid* (:func:`radlib.records.valid_mask`) when its status is ``"ok"``,
    its external set had both classes (``undefined`` is False) and its AUC and ΔAUC for
    ``classifier`` are finite. Every other record is excluded and counted under the first
    reason that applies, in this order: ``undefined`` (external set with a single class;
    all arms of that repetition), ``failed`` (the arm's generator or metrics raised),
    ``missing_auc`` (AUC or ΔAUC NaN for another reason, e.g. a missing real-only AUC).
    Pairs with no valid repetition are left out of the table and listed in the report.

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
    arms : {"study", "all"}
        ``study``: the study's arms (generators at their full budget and SMOTE;
        :func:`radlib.records.is_study_arm`), what the study's analyses compare; ``all``:
        the snapshot arms too (the fidelity ladder).

    Returns
    -------
    DataFrame
        One row per (dataset, arm) with ``dataset``, ``arm``, ``n_records`` (records of the
        pair), ``n_valid`` (valid evaluations: repetitions x site-folds), ``n_undefined``, ``n_failed``,
        ``n_missing_auc``, ``delta_auc`` (mean ΔAUC), ``delta_auc_var`` (sample variance of
        ΔAUC over the valid evaluations, ``ddof=1``; NaN when ``n_valid < 2``),
        ``n_repetitions`` (repetitions with a valid evaluation) and ``delta_auc_rep_var`` (sample
        variance of the repetitions' mean ΔAUC: the variance for a pair's uncertainty, since the
        folds of a repetition share its split), ``auc``
        (mean AUC of the arm), ``auc_real`` (mean real-only AUC of the same repetitions)
        and the mean of each metric (NaN values skipped; their count is in the report),
        then, when the records have them, the mean ``n_internal`` and the mean sampling
        floor of each metric (``floor_<metric>``).
        ``attrs["classifier"]`` names the classifier and ``attrs["exclusions"]`` is the
        exclusion report (a dict: ``records_total``, ``records_valid``, one count per
        reason, ``evaluations_total`` and ``evaluations_undefined`` (external evaluations),
        ``metric_values_missing`` among valid records, ``pairs``, ``pairs_without_valid``
        and ``datasets_missing``).
    """
    check_classifier(classifier)
    if arms not in ("study", "all"):
        raise ValueError(f"arms must be 'study' or 'all', got {arms!r}")
    auc_col, delta_col = auc_column(classifier), delta_column(classifier)
    required = ["dataset", "repetition", "arm", "status", "undefined", auc_col, delta_col, *METRICS]
    missing = [c for c in required if c not in records.columns]
    if missing:
        raise ValueError(f"records lack the columns {missing}")

    datasets_missing: list[str] = []
    if datasets is not None:
        wanted = list(dict.fromkeys(datasets))
        datasets_missing = sorted(set(wanted) - set(records["dataset"]))
        records = records[records["dataset"].isin(wanted)]

    if arms == "study":
        records = records[records["arm"].map(is_study_arm)]
    evaluations = count_undefined(records)
    # Predictors of the gain (engine v3, radlib.predictors) are averaged like the metrics when present.
    predictors = [c for c in records.columns if c.startswith(("ext_", "tstr_auc_", "icv_delta_auc_"))]
    extras = [c for c in ("n_internal", *(f"{FLOOR_PREFIX}{m}" for m in METRICS), *predictors) if c in records.columns]
    arm_records = records[records["arm"] != REAL_ARM].copy()
    undefined = arm_records["undefined"].astype(bool).to_numpy()
    failed = (arm_records["status"] != "ok").to_numpy()
    # Checked after the two reasons above, "not valid" can only mean a missing AUC or ΔAUC.
    invalid = ~valid_mask(arm_records, classifier).to_numpy()
    arm_records["_reason"] = np.select([undefined, failed, invalid], list(EXCLUSION_REASONS), "valid")

    keys = ["dataset", "arm"]
    counts = (
        arm_records.groupby(keys)["_reason"]
        .value_counts()
        .unstack(fill_value=0)
        .reindex(columns=["valid", *EXCLUSION_REASONS], fill_value=0)
    )
    counts.columns = ["n_valid", *(f"n_{r}" for r in EXCLUSION_REASONS)]
    counts.insert(0, "n_records", counts.sum(axis=1))

    valid = arm_records[arm_records["_reason"] == "valid"].copy()
    valid["_auc_real"] = valid[auc_col] - valid[delta_col]
    grouped = valid.groupby(keys)
    means = grouped[[delta_col, auc_col, "_auc_real", *METRICS, *extras]].mean()
    means.insert(1, "delta_auc_var", grouped[delta_col].var(ddof=1))
    # The site-folds of a repetition share its split: the repetition is the independent unit of a
    # pair's uncertainty, so its variance is taken over the repetitions' mean ΔAUC (v1: one fold each).
    by_repetition = valid.groupby([*keys, "repetition"])[delta_col].mean().groupby(level=keys)
    means.insert(2, "n_repetitions", by_repetition.size())
    means.insert(3, "delta_auc_rep_var", by_repetition.var(ddof=1))
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
            "n_repetitions",
            "delta_auc_rep_var",
            "auc",
            "auc_real",
            *METRICS,
            *extras,
        ]
    ]

    reasons = arm_records["_reason"].value_counts()
    pairs.attrs["classifier"] = classifier
    pairs.attrs["exclusions"] = {
        "classifier": classifier,
        "records_total": int(len(arm_records)),
        "records_valid": int(reasons.get("valid", 0)),
        **{f"records_{r}": int(reasons.get(r, 0)) for r in EXCLUSION_REASONS},
        "evaluations_total": evaluations.total,
        "evaluations_undefined": evaluations.undefined,
        "metric_values_missing": int(valid[list(METRICS)].isna().sum().sum()),
        "pairs": int(len(pairs)),
        "pairs_without_valid": dropped,
        "datasets_missing": datasets_missing,
    }
    return pairs


def generators_of(pairs: pd.DataFrame) -> list[str]:
    """The generator arms of a pair table (or records), sorted: every arm but real-only and SMOTE.

    :func:`pair_table` decides which arms a table holds: the study's (its default) or every
    snapshot configuration too (the fidelity ladder), and the analyses group by what is there
    (:func:`radlib.records.configuration_arms`).
    """
    return configuration_arms(pairs["arm"])


def generator_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """The rows of the generator arms: SMOTE and real-only rows left out."""
    return pairs[pairs["arm"].isin(generators_of(pairs))]


def delta_auc_by_arm(records: pd.DataFrame, classifiers: Sequence[str] | None = None) -> pd.DataFrame:
    """ΔAUC per classifier and arm over the valid records: how often and how much each arm helped.

    Per classifier, the records that count (:func:`radlib.records.valid_mask`) of every arm
    but real-only (whose ΔAUC is 0 by definition) are described one by one, repetitions not
    averaged first.

    Parameters
    ----------
    records : DataFrame
        The records table.
    classifiers : sequence of str, optional
        Default: every classifier with an AUC column in ``records``
        (:func:`radlib.records.classifiers_in`).

    Returns
    -------
    DataFrame
        ``classifier``, ``arm`` (sorted within the classifier), ``count`` (valid records),
        ``mean`` and ``median`` ΔAUC, ``share_improved`` (share of the valid records with
        ΔAUC > 0).
    """
    classifiers = classifiers_in(records.columns) if classifiers is None else [check_classifier(c) for c in classifiers]
    frames = []
    for classifier in classifiers:
        valid = records[valid_mask(records, classifier) & (records["arm"] != REAL_ARM)]
        delta = valid[delta_column(classifier)].astype(float)
        summary = delta.groupby(valid["arm"], sort=True).agg(["count", "mean", "median"])
        summary["share_improved"] = (delta > 0).groupby(valid["arm"], sort=True).mean()
        frames.append(summary.rename_axis("arm").reset_index().assign(classifier=classifier))
    columns = ["classifier", "arm", "count", "mean", "median", "share_improved"]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
