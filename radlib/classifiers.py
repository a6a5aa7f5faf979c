"""The study's classifiers (protocol step 5), built from the profile's ``classifiers`` section.

Both are trained on an arm's training rows and scored by ROC-AUC on the external site. Each
classifier's section holds its scikit-learn parameters and ``arms``, which arms it is trained
on (``study``: real-only, the fully trained generators and SMOTE; ``all``: the snapshot arms too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from radlib.records import check_classifier

__all__ = ["ARMS_KEY", "ESTIMATORS", "make_classifier", "estimator_params"]

#: The key of a classifier's section that selects its arms; not a scikit-learn parameter.
ARMS_KEY = "arms"


def estimator_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The scikit-learn parameters of a classifier's profile section (``arms`` left out)."""
    return {key: value for key, value in params.items() if key != ARMS_KEY}


#: The scikit-learn estimator of each named classifier (radlib.records.CLASSIFIERS); ``logreg_strong``
#: is the L2 logistic regression with the stronger regularisation its profile section sets.
ESTIMATORS = {
    "logreg": LogisticRegression,
    "logreg_strong": LogisticRegression,
    "rf": RandomForestClassifier,
    "hgb": HistGradientBoostingClassifier,
}


def make_classifier(name: str, params: Mapping[str, Any], seed: int):
    """Build a named classifier: ``logreg`` and ``logreg_strong`` (L2 logistic regression), ``rf``
    (random forest, one job) or ``hgb`` (histogram gradient boosting).

    Parameters
    ----------
    name : {"logreg", "rf", "logreg_strong", "hgb"}
    params : mapping
        The classifier's profile section (``classifiers.<name>``); ``arms`` is ignored here.
    seed : int
        ``random_state``. Arms compared within one fold get the same seed, so that their
        difference measures the training rows alone.
    """
    estimator = ESTIMATORS[check_classifier(name)]
    settings = estimator_params(params)
    if estimator is RandomForestClassifier:
        settings = {"n_jobs": 1, **settings}
    return estimator(random_state=seed, **settings)  # LogisticRegression's default penalty: L2
