"""Synthetic records and pair tables with known structure, shared by the analysis, plot and report tests.

* :func:`make_records`: a built-in ecological fallacy (quality and ΔAUC associated between
  arms, not within), for the figures and the report.
* :func:`records_from_pairs`: records whose pair means are given exactly.
* :func:`simulate_scenario`: pairs with an association only between generators or only within.
* :func:`scenario_results`: :func:`radlib.analysis.run_analyses` of a scenario, computed once.
* :func:`small_pairs`: a pair table from (dataset, arm, ΔAUC, distance) rows.
"""

from functools import cache

import numpy as np
import pandas as pd

from radlib import analysis as A

# arm -> (distance from the real data, ΔAUC effect): better generators help more.
GENERATORS = {"wgan_gp": (0.10, 0.02), "cvae": (0.20, 0.0), "tabddpm": (0.30, -0.02)}
SMOTE = {"smote": (0.15, 0.01)}
#: The generators of :func:`simulate_scenario`, best quality first.
SCENARIO_GENERATORS = ("cvae", "tabddpm", "wgan_gp")


def _real_row(base):
    """The real-only record of a task: AUC 0.7 for both classifiers, ΔAUC 0, no quality metrics."""
    return {
        **base,
        "arm": "real",
        "auc_logreg": 0.7,
        "delta_auc_logreg": 0.0,
        "auc_rf": 0.7,
        "delta_auc_rf": 0.0,
        **{m: np.nan for m in A.METRICS},
    }


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
            rows.append(_real_row(base))
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


def records_from_pairs(quality, delta, n_reps=4, rep_sd=0.01, seed=0):
    """Records table from per-pair quality distances and mean ΔAUC.

    ``quality[(dataset, arm)]`` is a dict metric -> distance (detection AUC given as its
    distance from 0.5, stored as 0.5 + distance); ``delta[(dataset, arm)]`` is the pair's
    mean ΔAUC. Repetition noise is centred so the mean over repetitions is exact. The
    random forest's ΔAUC is the negative of the logistic regression's.
    """
    rng = np.random.default_rng(seed)
    rows = []
    datasets = sorted({d for d, _ in delta})
    arms = sorted({a for _, a in delta})
    noise = {key: rng.normal(0, rep_sd, n_reps) for key in delta}
    for key in noise:
        noise[key] -= noise[key].mean()
    for d in datasets:
        for r in range(n_reps):
            base = {"dataset": d, "repetition": r, "undefined": False, "status": "ok"}
            rows.append(_real_row(base))
            for a in arms:
                if (d, a) not in delta:
                    continue
                dd = delta[(d, a)] + noise[(d, a)][r]
                metrics = dict(quality[(d, a)])
                metrics["detection_auc"] = 0.5 + metrics["detection_auc"]
                rows.append(
                    {
                        **base,
                        "arm": a,
                        "auc_logreg": 0.7 + dd,
                        "delta_auc_logreg": dd,
                        "auc_rf": 0.7 - dd,
                        "delta_auc_rf": -dd,
                        **metrics,
                    }
                )
    return pd.DataFrame(rows)


def simulate_scenario(kind, n_datasets=40, seed=3):
    """Pairs with an association only between generators ("between") or only within ("within").

    Generator mean distances are 0.2, 0.5, 0.8 (cvae best, wgan_gp worst) in both.
    "between": generator mean ΔAUC +0.04, 0, -0.04 follows quality; within a generator,
    the pair's distance deviation and its ΔAUC deviation are independent.
    "within": generator mean ΔAUC is the same (0.01) for all; within a generator, ΔAUC =
    0.01 - 0.3 * (shared distance deviation) + small noise.
    """
    rng = np.random.default_rng(seed)
    means = dict(zip(SCENARIO_GENERATORS, (0.2, 0.5, 0.8)))
    quality, delta = {}, {}
    for g, (gen, mu) in enumerate(means.items()):
        shared = rng.normal(0, 0.05, n_datasets)
        for i in range(n_datasets):
            key = (f"D{i:02d}", gen)
            quality[key] = {m: mu + shared[i] + rng.normal(0, 0.01) for m in A.METRICS}
            if kind == "between":
                delta[key] = (0.04, 0.0, -0.04)[g] + rng.normal(0, 0.01)
            else:
                delta[key] = 0.01 - 0.3 * shared[i] + rng.normal(0, 0.003)
    return quality, delta


@cache
def scenario_results(kind):
    """:func:`radlib.analysis.run_analyses` (logistic regression, 300 resamples) of a scenario, once per session.

    Shared between test modules: read it, never modify it.
    """
    return A.run_analyses(records_from_pairs(*simulate_scenario(kind)), "logreg", n_boot=300)


def small_pairs(rows):
    """A pair table from (dataset, arm, delta_auc, wasserstein) rows; other metrics equal it."""
    frame = pd.DataFrame(rows, columns=["dataset", "arm", "delta_auc", "wasserstein"])
    for m in A.METRICS[1:]:
        frame[m] = frame["wasserstein"]
    frame["detection_auc"] = 0.5 + frame["wasserstein"]
    return frame
