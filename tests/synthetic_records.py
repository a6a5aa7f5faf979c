"""A records table with a built-in ecological fallacy, shared by the plot and report tests."""

import numpy as np
import pandas as pd

from radlib import analysis as A

# arm -> (distance from the real data, ΔAUC effect): better generators help more.
GENERATORS = {"wgan_gp": (0.10, 0.02), "cvae": (0.20, 0.0), "tabddpm": (0.30, -0.02)}
SMOTE = {"smote": (0.15, 0.01)}


def make_records(n_datasets=10, n_reps=3, seed=0, smote=True, rf_scale=1.0, undefined_first=False):
    """Records of the generators (and SMOTE): quality and ΔAUC associated between arms, not within.

    ``rf_scale`` scales the random forest's ΔAUC relative to the logistic regression's;
    ``undefined_first`` marks repetition 0 of dataset D0 as an undefined external AUC.
    """
    rng = np.random.default_rng(seed)
    arms = dict(GENERATORS, **(SMOTE if smote else {}))
    rows = []
    for i in range(n_datasets):
        for r in range(n_reps):
            base = {
                "dataset": f"D{i}",
                "repetition": r,
                "status": "ok",
                "undefined": undefined_first and i == 0 and r == 0,
            }
            rows.append(
                {
                    **base,
                    "arm": "real",
                    "auc_logreg": 0.7,
                    "delta_auc_logreg": 0.0,
                    "auc_rf": 0.7,
                    "delta_auc_rf": 0.0,
                    **{m: np.nan for m in A.METRICS},
                }
            )
            for arm, (distance, effect) in arms.items():
                d = distance + rng.normal(0, 0.02)
                delta = effect + rng.normal(0, 0.02)
                rows.append(
                    {
                        **base,
                        "arm": arm,
                        "auc_logreg": 0.7 + delta,
                        "delta_auc_logreg": delta,
                        "auc_rf": 0.7 + rf_scale * delta,
                        "delta_auc_rf": rf_scale * delta,
                        "wasserstein": d,
                        "ks": d / 2,
                        "mmd2": d**2,
                        "corr_diff": d + rng.normal(0, 0.02),
                        "detection_auc": 0.5 + d + rng.normal(0, 0.02),
                    }
                )
    return pd.DataFrame(rows)
