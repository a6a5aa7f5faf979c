"""The study's classifiers (protocol step 5), built from the profile's ``classifiers`` section.

Both are trained on an arm's training rows and scored by ROC-AUC on the external site. Each
classifier's section holds its scikit-learn parameters and ``arms``, which arms it is trained
on (``study``: real-only, the fully trained generators and SMOTE; ``all``: the snapshot arms too).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from radlib.records import check_classifier

__all__ = ["ARMS_KEY", "make_classifier", "estimator_params"]

#: The key of a classifier's section that selects its arms; not a scikit-learn parameter.
ARMS_KEY = "arms"


def estimator_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The scikit-learn parameters of a classifier's profile section (``arms`` left out)."""
    return {key: value for key, value in params.items() if key != ARMS_KEY}


def make_classifier(name: str, params: Mapping[str, Any], seed: int):
    """Build a classifier of the study: ``logreg`` (L2 logistic regression) or ``rf`` (random forest).

    Parameters
    ----------
    name : {"logreg", "rf"}
    params : mapping
        The classifier's profile section (``classifiers.<name>``); ``arms`` is ignored here.
    seed : int
        ``random_state``. Arms compared within one fold get the same seed, so that their
        difference measures the training rows alone.
    """
    check_classifier(name)
    if name == "logreg":
        return LogisticRegression(random_state=seed, **estimator_params(params))  # default penalty: L2
    return RandomForestClassifier(random_state=seed, n_jobs=1, **estimator_params(params))
