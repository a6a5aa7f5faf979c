"""The development pipeline of docs/protocol.md, step 3, fitted on the internal set only.

Median imputation, standardisation, and top-k ANOVA-F feature selection with
``k = min(k, p)``. Every stage that needs the selected, standardised feature space
(generators, quality metrics, classifiers, benchmarks) builds it here.
"""

from __future__ import annotations

from sklearn.feature_selection import SelectKBest, f_classif
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["development_pipeline"]


def development_pipeline(k: int, p: int) -> Pipeline:
    """Imputer -> scaler -> SelectKBest(f_classif) with ``k = min(k, p)``.

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
            ("select", SelectKBest(f_classif, k=min(k, p))),
        ]
    )
