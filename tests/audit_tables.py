"""User tables for the audit tests: a small Gaussian cohort, and records of three generators checked by hand."""

import numpy as np
import pandas as pd

from radlib import analysis


def make_table(n=80, p=8, seed=0, positives=None, target="Target"):
    """ID, target and p Gaussian features; the first three shifted by the class."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2 if positives is None else np.r_[np.zeros(n - positives, int), np.ones(positives, int)]
    X = rng.normal(size=(n, p))
    X[:, :3] += 1.2 * y[:, None]
    frame = pd.DataFrame(X.round(5), columns=[f"f{j}" for j in range(p)])
    frame.insert(0, "ID", [f"p{i:03d}" for i in range(n)])
    frame.insert(1, target, y)
    return frame


#: ΔAUC of each generator in repetitions 0, 1, 2 of :func:`hand_records`.
HAND_DELTA = {"g1": [0.03, 0.05, 0.04], "g2": [0.00, 0.01, -0.01], "g3": [-0.02, -0.04, -0.03]}
#: Their distance from the real data (every metric): g2 closest to real, but g1 gains most.
HAND_DISTANCE = {"g1": 0.3, "g2": 0.1, "g3": 0.2}


def hand_records():
    """Records of one table "T": three generators with known quality and ΔAUC over 3 repetitions."""
    rows = []
    for r in range(3):
        base = {"dataset": "T", "repetition": r, "status": "ok", "undefined": False}
        rows.append(
            {**base, "arm": "real", "auc_logreg": 0.7, "delta_auc_logreg": 0.0, **{m: np.nan for m in analysis.METRICS}}
        )
        for g, delta in HAND_DELTA.items():
            distance = HAND_DISTANCE[g]
            rows.append(
                {
                    **base,
                    "arm": g,
                    "auc_logreg": 0.7 + delta[r],
                    "delta_auc_logreg": delta[r],
                    "wasserstein": distance,
                    "ks": distance,
                    "mmd2": distance,
                    "corr_diff": distance,
                    "detection_auc": 0.5 + distance,
                }
            )
    return pd.DataFrame(rows)
