"""Tests of radlib.classifiers: the study's two classifiers from a profile section."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from radlib.classifiers import ARMS_KEY, estimator_params, make_classifier
from radlib.config import load_config


def test_profile_sections_build_the_study_classifiers_without_their_arms_key():
    sections = load_config("full").params["classifiers"]
    logreg = make_classifier("logreg", sections["logreg"], seed=3)
    forest = make_classifier("rf", sections["rf"], seed=3)
    assert isinstance(logreg, LogisticRegression) and isinstance(forest, RandomForestClassifier)
    assert logreg.get_params()["C"] == sections["logreg"]["C"] and logreg.random_state == 3
    assert forest.n_estimators == sections["rf"]["n_estimators"] and forest.n_jobs == 1
    assert ARMS_KEY in sections["rf"] and ARMS_KEY not in estimator_params(sections["rf"])


def test_same_seed_same_forest_other_seed_other_forest():
    # Common random numbers: arms of one fold share the seed, so identical rows give identical forests.
    X, y = make_classification(n_samples=80, n_features=6, random_state=0)
    params = {"n_estimators": 20, "arms": "study"}
    first = make_classifier("rf", params, seed=11).fit(X, y).predict_proba(X)[:, 1]
    again = make_classifier("rf", params, seed=11).fit(X, y).predict_proba(X)[:, 1]
    other = make_classifier("rf", params, seed=12).fit(X, y).predict_proba(X)[:, 1]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_unknown_classifier_is_named():
    with pytest.raises(ValueError, match="unknown classifier 'svm'; use one of logreg, rf"):
        make_classifier("svm", {}, seed=0)
