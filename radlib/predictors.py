"""Predictors of the external gain that a practitioner can compute without the new site's labels.

Science v3 asks which quantity, computed *before* labelled external data exist, tracks the
external ΔAUC of an arm. Besides the five quality metrics against the internal rows (the
study's), every evaluation with ``evaluation.external_metrics`` and
``evaluation.predictor_classifiers`` adds, for each arm at the full budget and SMOTE:

``ext_<metric>`` (:func:`external_fidelity`)
    The quality metrics between the synthetic rows and the external site's *features*
    (a hospital has its unlabelled scans), in the same selected feature space.
``tstr_auc_<classifier>`` (:func:`tstr_auc`)
    Train on synthetic, test on real: the ROC-AUC on the real internal rows of the classifier
    trained on the synthetic rows alone.
``icv_delta_auc_<classifier>`` (:class:`InternalCV`)
    The naive internal ΔAUC: stratified k-fold cross-validation on the internal rows, the
    synthetic rows added to each training part, minus the same folds without them (same
    folds, same classifier seed). **Leaky by construction:** the generator was fitted on every
    internal row, so each held-out part was seen by the generator that made its training
    rows. The honest internal estimate is the internal-validation grid (random site-folds,
    no acquisition shift: the ``internal`` profile), whose ΔAUC is the external ΔAUC of a
    cross-validation without a new hospital.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from radlib.classifiers import make_classifier
from radlib.quality import quality_metrics

__all__ = [
    "EXTERNAL_PREFIX",
    "INTERNAL_CV_FOLDS",
    "external_column",
    "tstr_column",
    "icv_column",
    "external_fidelity",
    "tstr_auc",
    "InternalCV",
]

#: Prefix of the quality metrics against the external site's features.
EXTERNAL_PREFIX = "ext_"
#: Folds of the naive internal cross-validation (fewer when a class has fewer rows).
INTERNAL_CV_FOLDS = 5


def external_column(metric: str) -> str:
    """The records' column of a quality metric against the external site's features."""
    return f"{EXTERNAL_PREFIX}{metric}"


def tstr_column(classifier: str) -> str:
    """The records' column of a classifier's train-on-synthetic, test-on-real AUC."""
    return f"tstr_auc_{classifier}"


def icv_column(classifier: str) -> str:
    """The records' column of a classifier's naive internal cross-validated ΔAUC."""
    return f"icv_delta_auc_{classifier}"


def external_fidelity(
    Z_external: np.ndarray, X_synth: np.ndarray, seed: int, metrics: Mapping[str, Any]
) -> dict[str, float]:
    """The quality metrics between the synthetic rows and the external site's unlabelled features.

    Parameters
    ----------
    Z_external : ndarray (n_external, k)
        The external site's features in the selected space (no labels are used).
    X_synth : ndarray (n_synthetic, k)
    seed : int
        The metrics' seed (the evaluation's, shared by every arm).
    metrics : mapping
        The profile's ``metrics`` section.

    Returns
    -------
    dict
        ``ext_<metric>`` -> value, for every registered metric.
    """
    return {external_column(m): v for m, v in quality_metrics(Z_external, X_synth, seed, metrics).items()}


def _auc(model, X: np.ndarray, y: np.ndarray) -> float:
    return float(roc_auc_score(y, model.predict_proba(X)[:, 1]))


def tstr_auc(
    classifier: str,
    params: Mapping[str, Any],
    seed: int,
    X_synth: np.ndarray,
    y_synth: np.ndarray,
    Z_internal: np.ndarray,
    y_internal: np.ndarray,
) -> float:
    """ROC-AUC on the real internal rows of ``classifier`` trained on the synthetic rows alone.

    NaN when the synthetic rows (or the internal labels) hold one class: nothing to train or
    to score.
    """
    if len(np.unique(y_synth)) < 2 or len(np.unique(y_internal)) < 2:
        return float("nan")
    model = make_classifier(classifier, params, seed).fit(X_synth, y_synth)
    return _auc(model, Z_internal, y_internal)


class InternalCV:
    """The naive internal cross-validation of one fold's internal set, shared by its arms.

    The folds (stratified, shuffled with ``cv_seed``) and the real-only models' AUCs are
    computed once; :meth:`delta_auc` adds an arm's synthetic rows to every training part.

    Parameters
    ----------
    Z_internal, y_internal : ndarray
        The fold's internal rows.
    cv_seed : int
        Seed of the stratified folds (one per evaluation: every arm and classifier shares them).
    """

    def __init__(self, Z_internal: np.ndarray, y_internal: np.ndarray, cv_seed: int) -> None:
        self.Z, self.y = Z_internal, y_internal
        n_splits = min(INTERNAL_CV_FOLDS, int(np.bincount(y_internal, minlength=2).min()))
        self.parts = (
            list(StratifiedKFold(n_splits, shuffle=True, random_state=cv_seed).split(Z_internal, y_internal))
            if n_splits >= 2
            else []
        )
        self._real: dict[str, list[float]] = {}

    def _part_aucs(
        self, classifier: str, params: Mapping[str, Any], seed: int, X_synth: np.ndarray, y_synth: np.ndarray
    ) -> list[float]:
        aucs = []
        for train, test in self.parts:
            X_train = np.vstack([self.Z[train], X_synth])
            y_train = np.concatenate([self.y[train], y_synth])
            aucs.append(
                _auc(make_classifier(classifier, params, seed).fit(X_train, y_train), self.Z[test], self.y[test])
            )
        return aucs

    def delta_auc(
        self, classifier: str, params: Mapping[str, Any], seed: int, X_synth: np.ndarray, y_synth: np.ndarray
    ) -> float:
        """Mean over the internal folds of (AUC with the synthetic rows - AUC without), same seed.

        NaN when a class has fewer than 2 internal rows (no stratified folds); exactly 0 for an
        empty synthetic sample (the same training rows and seed give the same model).
        """
        if not self.parts:
            return float("nan")
        if classifier not in self._real:
            self._real[classifier] = self._part_aucs(classifier, params, seed, X_synth[:0], y_synth[:0])
        augmented = self._part_aucs(classifier, params, seed, X_synth, y_synth)
        return float(np.mean(np.subtract(augmented, self._real[classifier])))
