"""Predictors of the gain without external labels: external fidelity, TSTR, the naive internal ΔAUC."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

from radlib.predictors import InternalCV, external_fidelity, tstr_auc

LOGREG = {"C": 1.0, "max_iter": 2000, "arms": "all"}
METRICS = {"detection_folds": 5, "mmd_max_rows": 1000}


def _two_classes(n=200, p=6, shift=1.0, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, p))
    X[:, :3] += shift * y[:, None]
    return X, y


def test_a_copy_of_the_external_features_scores_each_metric_at_its_ideal():
    """Ideal values from radlib.quality.METRICS: 0 for the four distances; the detection AUC of two
    identical samples is 0.5 within the noise of its cross-validation."""
    Z_external, _ = _two_classes(n=120)
    values = external_fidelity(Z_external, Z_external.copy(), seed=3, metrics=METRICS)
    assert values["ext_wasserstein"] == 0 and values["ext_ks"] == 0 and values["ext_corr_diff"] == 0
    assert values["ext_mmd2"] == pytest.approx(0, abs=1e-12)
    # 240 rows, half of each kind: the SE of a chance AUC is sqrt((n1 + n0 + 1) / (12 n1 n0)) ≈ 0.037.
    assert abs(values["ext_detection_auc"] - 0.5) < 3 * np.sqrt(241 / (12 * 120 * 120))


def test_tstr_of_shuffled_labels_is_chance_within_its_binomial_noise():
    X_internal, y_internal = _two_classes(n=400, seed=1)
    X_synth, y_synth = _two_classes(n=400, seed=2)
    shuffled = np.random.default_rng(5).permutation(y_synth)
    auc = tstr_auc("logreg", LOGREG, 7, X_synth, shuffled, X_internal, y_internal)
    n1 = n0 = 200  # Hanley & McNeil: the SE of AUC 0.5 with n1 positives and n0 negatives
    assert abs(auc - 0.5) < 3 * np.sqrt((n1 + n0 + 1) / (12 * n1 * n0))
    # With the true labels it is far above chance: the check can tell the two apart.
    assert tstr_auc("logreg", LOGREG, 7, X_synth, y_synth, X_internal, y_internal) > 0.8
    assert np.isnan(tstr_auc("logreg", LOGREG, 7, X_synth, np.zeros_like(y_synth), X_internal, y_internal))


def test_zero_synthetic_rows_give_an_internal_delta_of_exactly_zero():
    X, y = _two_classes(n=80)
    cv = InternalCV(X, y, cv_seed=11)
    assert cv.delta_auc("logreg", LOGREG, 3, X[:0], y[:0]) == 0.0


def test_internal_delta_matches_a_hand_computed_cross_validation():
    """Expected value computed here with scikit-learn directly: the same stratified folds (seed 11),
    AUC with the synthetic rows added to each training part minus without, averaged over folds."""
    X, y = _two_classes(n=60, shift=0.6, seed=4)
    X_synth, y_synth = _two_classes(n=40, shift=1.5, seed=9)
    expected = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=11).split(X, y):
        with_synth = LogisticRegression(C=1.0, max_iter=2000, random_state=3).fit(
            np.vstack([X[train], X_synth]), np.concatenate([y[train], y_synth])
        )
        real = LogisticRegression(C=1.0, max_iter=2000, random_state=3).fit(X[train], y[train])
        expected.append(
            roc_auc_score(y[test], with_synth.predict_proba(X[test])[:, 1])
            - roc_auc_score(y[test], real.predict_proba(X[test])[:, 1])
        )
    got = InternalCV(X, y, cv_seed=11).delta_auc("logreg", LOGREG, 3, X_synth, y_synth)
    assert got == pytest.approx(np.mean(expected), abs=1e-12)


def test_too_few_rows_of_a_class_leave_the_internal_delta_undefined():
    X, y = _two_classes(n=20)
    y = np.zeros(20, dtype=int)
    y[0] = 1
    assert np.isnan(InternalCV(X, y, cv_seed=0).delta_auc("logreg", LOGREG, 0, X[:2], y[:2]))
