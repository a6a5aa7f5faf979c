"""The development pipeline of docs/protocol.md, step 3, fitted on the internal set only.

Median imputation, standardisation, and top-k ANOVA-F feature selection with
``k = min(k, p)`` among the columns that vary in the internal set. Every stage that needs
the selected, standardised feature space (generators, quality metrics, classifiers,
benchmarks) builds it here.

A column constant in the internal set (a rare value that fell entirely at the external
site, a flag set in a few patients) has no F statistic; scikit-learn's ``f_classif`` would
warn and give NaN, which ``SelectKBest`` ranks last. :class:`TopKFeatures` leaves such
columns out before the F-test: the same selection whenever ``k`` columns vary, no warning,
and never a constant column selected to fill up ``k``.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin, f_classif
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["TopKFeatures", "development_pipeline"]


class TopKFeatures(SelectorMixin, BaseEstimator):
    """Keep the ``k`` columns of largest ANOVA F among those that vary in the training rows.

    Parameters
    ----------
    k : int
        Columns to keep; fewer when fewer columns vary.

    Attributes
    ----------
    scores_, pvalues_ : ndarray
        F statistic and p-value per input column (NaN for a constant column).
    varies_ : ndarray of bool
        Which input columns vary in the training rows.
    """

    def __init__(self, k: int = 10):
        self.k = k

    def fit(self, X, y):
        """Score the varying columns with :func:`sklearn.feature_selection.f_classif`.

        Raises
        ------
        ValueError
            No column varies in the training rows.
        """
        X, y = validate_data(self, X, y)
        self.varies_ = np.ptp(X, axis=0) > 0
        if not self.varies_.any():
            raise ValueError(f"no feature varies in the {X.shape[0]} training rows; nothing to select")
        self.scores_ = np.full(X.shape[1], np.nan)
        self.pvalues_ = np.full(X.shape[1], np.nan)
        # A column constant within each class but not overall separates the classes: F = inf,
        # ranked first, as it should be; numpy's and scikit-learn's warnings about it are noise.
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Features .* are constant", category=UserWarning)
            self.scores_[self.varies_], self.pvalues_[self.varies_] = f_classif(X[:, self.varies_], y)
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self)
        k = min(self.k, int(self.varies_.sum()))
        # SelectKBest's order: NaN last, ties to the later column (stable sort, the top k from the end).
        scores = np.where(np.isnan(self.scores_), -np.inf, self.scores_)
        mask = np.zeros(len(scores), dtype=bool)
        mask[np.argsort(scores, kind="mergesort")[len(scores) - k :]] = True
        return mask


def development_pipeline(k: int, p: int) -> Pipeline:
    """Imputer -> scaler -> :class:`TopKFeatures` with ``k = min(k, p)``.

    Parameters
    ----------
    k : int
        Number of features to keep (``features.k`` of the profile).
    p : int
        Number of features of the input, so that ``k`` never exceeds it.
    """
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("select", TopKFeatures(k=min(k, p))),
        ]
    )
