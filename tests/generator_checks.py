"""What the generator tests share: the known two-class distribution, the quality check of synthetic rows, small budgets.

16 features, AR(1) correlation 0.6 between neighbouring features, unit variances; class 1's
mean is shifted by 1 SD on the first 4 features. Training set 240 + 160 rows; a held-out
"real" test set of 2000 + 2000 rows; generators are asked for 2000 rows per class, so that
the synthetic side adds little noise to the comparisons.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import ks_2samp
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

P = 16
N_TRAIN = {0: 240, 1: 160}
N_TEST = {0: 2000, 1: 2000}
N_SYNTH = {0: 2000, 1: 2000}
CORRELATION = 0.6
SHIFT = np.where(np.arange(P) < 4, 1.0, 0.0)
COVARIANCE = CORRELATION ** np.abs(np.subtract.outer(np.arange(P), np.arange(P)))
DEEP = ["wgan_gp", "cvae", "tabddpm"]

# --- Bounds of the quality check, each relative to the sampling error of the real estimate ---
# Class means: a feature's class mean estimated from n_c real rows has standard error
# 1/sqrt(n_c) (unit variances). Synthetic means within 3 standard errors of the real ones:
# 0.19 SD for class 0, 0.24 SD for class 1; a generator that ignores the label is off by
# 0.46-0.60 SD on the shifted features (measured).
MEAN_BOUND = {c: 3 / math.sqrt(n) for c, n in N_TRAIN.items()}
# Class covariances, as the relative Frobenius error ||S_synth - S_real|| / ||S_real||: the
# real estimate's own error is E||S - Sigma||_F^2 = (tr(Sigma)^2 + ||Sigma||_F^2) / n for
# Gaussian rows, i.e. 0.19 (class 0) and 0.24 (class 1) relative. Bound: twice that.
_FROBENIUS = np.linalg.norm(COVARIANCE)
COVARIANCE_BOUND = {
    c: 2 * math.sqrt((np.trace(COVARIANCE) ** 2 + _FROBENIUS**2) / n) / _FROBENIUS for c, n in N_TRAIN.items()
}
# Mean per-feature KS statistic against the 400 real rows: for two samples of sizes n and m
# from one distribution, E[D] ~ sqrt(pi/2) ln(2) sqrt(1/n + 1/m) = 0.046 here (the limit law of
# the KS statistic). A generator may be 1.5 times as far as a fresh sample of the truth: 0.068.
KS_BOUND = 1.5 * math.sqrt(math.pi / 2) * math.log(2) * math.sqrt(1 / sum(N_TRAIN.values()) + 1 / sum(N_SYNTH.values()))
# TSTR vs TRTR on 4000 held-out rows: TRTR (0.84 here) varies with SD 0.006 between real
# training samples of this size (40 simulated draws), so a gap of 0.05 is a real loss, yet
# small next to the distance to chance (0.34). A label-ignoring generator scores about 0.5.
AUC_TOLERANCE = 0.05


def draw_known(counts: dict[int, int], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the known two-class distribution, class 0 first."""
    rng = np.random.default_rng(seed)
    chol = np.linalg.cholesky(COVARIANCE)
    X = np.vstack([rng.standard_normal((counts[c], P)) @ chol.T + c * SHIFT for c in (0, 1)])
    return X, np.repeat([0, 1], [counts[0], counts[1]])


X_TRAIN, Y_TRAIN = draw_known(N_TRAIN, seed=1)
X_TEST, Y_TEST = draw_known(N_TEST, seed=2)


def tstr_auc(X_train: np.ndarray, y_train: np.ndarray) -> float:
    """Test AUC on the held-out real rows of a logistic regression trained on (X_train, y_train)."""
    model = LogisticRegression(max_iter=2000).fit(X_train, y_train)
    return roc_auc_score(Y_TEST, model.predict_proba(X_TEST)[:, 1])


def check_synthetic(X_synth: np.ndarray, y_synth: np.ndarray) -> dict:
    """Compare synthetic rows with the known training set; returns statistics and failures.

    Returns
    -------
    dict
        ``mean_error``, ``covariance_error`` (per class), ``ks``, ``tstr``, ``trtr`` and
        ``failures``: the list of violated bounds (empty when the sample passes).
    """
    report = {"mean_error": {}, "covariance_error": {}, "failures": []}
    for c in (0, 1):
        real, synth = X_TRAIN[Y_TRAIN == c], X_synth[y_synth == c]
        report["mean_error"][c] = float(np.max(np.abs(synth.mean(axis=0) - real.mean(axis=0))))
        real_cov = np.cov(real, rowvar=False)
        report["covariance_error"][c] = float(
            np.linalg.norm(np.cov(synth, rowvar=False) - real_cov) / np.linalg.norm(real_cov)
        )
        if report["mean_error"][c] > MEAN_BOUND[c]:
            report["failures"].append(f"class {c} mean off by {report['mean_error'][c]:.3f} > {MEAN_BOUND[c]:.3f}")
        if report["covariance_error"][c] > COVARIANCE_BOUND[c]:
            report["failures"].append(
                f"class {c} covariance off by {report['covariance_error'][c]:.3f} > {COVARIANCE_BOUND[c]:.3f}"
            )
    report["ks"] = float(np.mean([ks_2samp(X_synth[:, j], X_TRAIN[:, j]).statistic for j in range(P)]))
    if report["ks"] > KS_BOUND:
        report["failures"].append(f"mean KS {report['ks']:.3f} > {KS_BOUND:.3f}")
    report["tstr"], report["trtr"] = tstr_auc(X_synth, y_synth), tstr_auc(X_TRAIN, Y_TRAIN)
    if report["tstr"] < report["trtr"] - AUC_TOLERANCE:
        report["failures"].append(f"TSTR {report['tstr']:.3f} < TRTR {report['trtr']:.3f} - {AUC_TOLERANCE}")
    return report


# Small budgets: the contract does not depend on how long a model trains.
TINY = {
    "wgan_gp": {"steps": 5},
    "cvae": {"steps": 5},
    "tabddpm": {"steps": 5, "timesteps": 10},
    "smote": {},
    "ctgan": {"epochs": 1, "batch_size": 20},
    "tvae": {"epochs": 1, "batch_size": 20},
}
