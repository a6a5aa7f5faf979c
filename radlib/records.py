"""The vocabulary of the records: one home for the names every stage shares.

A *record* is one row of the grid's output (:func:`radlib.experiment.run_task`): one arm
of one task, with its external AUC and ΔAUC per classifier, its quality metrics, sizes,
seeds and status. Every module that writes or reads records takes the arm names, the
classifier names, the column names and the rule of which records count from here, so
that a fact is stated once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "REAL_ARM",
    "SMOTE_ARM",
    "CLASSIFIERS",
    "CLASSIFIER_LABELS",
    "STUDY_CLASSIFIERS",
    "COMPOSITE",
    "POOLED",
    "TIMING_COLUMNS",
    "RESERVED_COLUMNS",
    "auc_column",
    "delta_column",
    "check_classifier",
    "classifiers_in",
    "generator_arms",
    "configuration_arms",
    "valid_mask",
    "EVALUATION_KEYS",
    "evaluation_keys",
    "SNAPSHOT_SEPARATOR",
    "snapshot_arm",
    "parse_arm",
    "is_study_arm",
]

#: The arm trained on the real internal rows alone: the baseline of every ΔAUC.
REAL_ARM = "real"
#: SMOTE interpolation: an augmentation arm, compared with the generators but never one of them.
SMOTE_ARM = "smote"
#: The classifiers of the study, in the order of every table.
CLASSIFIERS = ("logreg", "rf", "logreg_strong", "hgb")
#: The classifiers of the study's own analyses (version 2's records): logistic regression and the forest.
STUDY_CLASSIFIERS = ("logreg", "rf")
#: Their names in prose (verdicts, summaries, figure titles).
CLASSIFIER_LABELS = {
    "logreg": "logistic regression",
    "rf": "random forest",
    "logreg_strong": "logistic regression (C 0.05)",
    "hgb": "gradient boosting",
}
#: The composite quality score (analysis 4), wherever a metric name is expected.
COMPOSITE = "composite"
#: Group label of an analysis over all generator pairs together.
POOLED = "pooled"
#: One external evaluation: a site-fold of a repetition of a dataset. Every arm of an evaluation
#: shares its split, its real-only baseline and its classifier seeds.
EVALUATION_KEYS = ("dataset", "repetition", "fold")
#: Joins a generator and a training fraction in a snapshot arm's name: ``cvae@0.25``.
SNAPSHOT_SEPARATOR = "@"
#: Seconds spent per stage of an arm.
TIMING_COLUMNS = ("fit_seconds", "sample_seconds", "metric_seconds", "classifier_seconds")
#: Columns of the records that are not quality metrics (a user metric may not take these names).
RESERVED_COLUMNS = frozenset(
    {
        "dataset",
        "dataset_fingerprint",
        "repetition",
        "arm",
        "arm_seed",
        "status",
        "error",
        "undefined",
        "n_internal",
        "n_external",
        "internal_positives",
        "external_positives",
        "k_selected",
        "n_synthetic",
        "split_seed",
        "config_hash",
        "versions",
        *TIMING_COLUMNS,
        COMPOSITE,
    }
)


def auc_column(classifier: str) -> str:
    """The records' column of a classifier's external AUC."""
    return f"auc_{classifier}"


def delta_column(classifier: str) -> str:
    """The records' column of a classifier's ΔAUC (arm minus real-only, same task)."""
    return f"delta_auc_{classifier}"


def check_classifier(classifier: str) -> str:
    """Return ``classifier`` if it is one of :data:`CLASSIFIERS`, else raise ValueError naming them."""
    if classifier not in CLASSIFIERS:
        raise ValueError(f"unknown classifier '{classifier}'; use one of {', '.join(CLASSIFIERS)}")
    return classifier


def classifiers_in(columns) -> list[str]:
    """The classifiers with an AUC column among ``columns``, in the order of :data:`CLASSIFIERS`."""
    present = set(columns)
    return [c for c in CLASSIFIERS if auc_column(c) in present]


def generator_arms(arms) -> list[str]:
    """The study's generator arms among ``arms``, sorted: fully trained generators, not real-only or SMOTE.

    Snapshot arms (``cvae@0.25``) are left out: the study's analyses compare the generators it
    trained; the snapshots are the fidelity ladder's (:func:`configuration_arms`).
    """
    return sorted(arm for arm in set(arms) - {REAL_ARM, SMOTE_ARM} if is_study_arm(arm))


def configuration_arms(arms) -> list[str]:
    """Every generator configuration among ``arms`` (generator x training fraction), sorted by generator, fraction."""
    return sorted((arm for arm in set(arms) - {REAL_ARM, SMOTE_ARM}), key=parse_arm)


def valid_mask(records: pd.DataFrame, classifier: str) -> pd.Series:
    """Which records count for ``classifier``: status ``ok``, a defined external AUC, finite AUC and ΔAUC.

    A record that fails this is excluded from every analysis and counted by its reason
    (:func:`radlib.analysis.pair_table`).
    """
    auc = records[auc_column(classifier)].to_numpy(float)
    delta = records[delta_column(classifier)].to_numpy(float)
    ok = (records["status"] == "ok").to_numpy() & ~records["undefined"].astype(bool).to_numpy()
    return pd.Series(ok & np.isfinite(auc) & np.isfinite(delta), index=records.index)


def evaluation_keys(records: pd.DataFrame) -> list[str]:
    """The columns that identify an evaluation in ``records``: :data:`EVALUATION_KEYS` that it has.

    Version-1 records have no ``fold``: one evaluation per repetition.
    """
    return [key for key in EVALUATION_KEYS if key in records.columns]


def snapshot_arm(generator: str, fraction: float) -> str:
    """The arm of ``generator`` trained for ``fraction`` of its budget.

    The fully trained generator (fraction 1.0) keeps its plain name, so the study's
    analyses see the arms they always saw; earlier snapshots are ``<generator>@<fraction>``.
    """
    return generator if fraction == 1.0 else f"{generator}{SNAPSHOT_SEPARATOR}{fraction:g}"


def parse_arm(arm: str) -> tuple[str, float]:
    """``(generator or arm, training fraction)`` of an arm name: ``cvae@0.25`` -> ``("cvae", 0.25)``.

    Arms without a fraction (real-only, SMOTE, fully trained generators) have fraction 1.0.
    """
    base, separator, fraction = arm.partition(SNAPSHOT_SEPARATOR)
    if not separator:
        return arm, 1.0
    try:
        value = float(fraction)
    except ValueError:
        raise ValueError(f"arm '{arm}': '{fraction}' after '{SNAPSHOT_SEPARATOR}' is not a training fraction") from None
    return base, value


def is_study_arm(arm: str) -> bool:
    """Whether an arm is one of the study's: real-only, SMOTE, or a generator at its full budget."""
    return parse_arm(arm)[1] == 1.0
