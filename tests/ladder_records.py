"""Records of a fidelity ladder with a planted structure, for the tests of the ladder, the floor and their figures.

:func:`make_ladder_records` builds engine-v2 records (dataset x repetition x fold x arm; the
real-only arm, three generators at three training fractions, SMOTE) in which every number is
set by construction:

* a record's metric distance is ``d = a_dataset + mu_configuration + u_pair + noise``: the
  dataset's base distance, the configuration's offset (the generator's small offset plus
  ``spread`` for every two halvings of the training budget: 0, spread, 2 spread at the fractions
  1, 0.25, 0.0625), a persistent deviation of the (dataset, configuration) pair and evaluation
  noise; the five metrics are increasing linear functions of ``d``, so every quality score
  ranks the records as ``-d`` does;
* ΔAUC = the dataset's effect + ``effect`` x (the planted part) + noise, the planted part being
  ``-mu`` ("between": better configurations help more, pairs of one configuration do not
  differ), ``-u`` ("within": better pairs help more within a configuration, configurations do
  not differ), or nothing ("null");
* ``floor_<metric>`` is the same linear function of ``floor_scale / sqrt(n_internal)``, and
  ``n_internal`` differs by dataset.
"""

import numpy as np
import pandas as pd

from radlib import analysis as A
from radlib.records import REAL_ARM, SMOTE_ARM, snapshot_arm

GENERATOR_OFFSETS = {"wgan_gp": 0.0, "cvae": 0.01, "tabddpm": 0.02}
FRACTIONS = (0.0625, 0.25, 1.0)
#: Each metric as a linear function (slope, intercept) of the distance d: all increase with d.
METRIC_OF_DISTANCE = {
    "wasserstein": (1.0, 0.0),
    "ks": (0.5, 0.0),
    "mmd2": (0.25, 0.0),
    "corr_diff": (0.3, 0.0),
    "detection_auc": (0.2, 0.5),
}


def configuration_offset(generator, fraction, spread):
    """The planted distance offset of a configuration: the generator's offset + spread per two halvings."""
    return GENERATOR_OFFSETS[generator] + spread * (-np.log2(fraction)) / 2


def metric_values(distance, prefix=""):
    """The five metrics (``prefix`` + name) of a distance."""
    return {f"{prefix}{m}": slope * distance + intercept for m, (slope, intercept) in METRIC_OF_DISTANCE.items()}


def make_ladder_records(
    kind="between",
    n_datasets=12,
    n_reps=2,
    n_folds=2,
    seed=0,
    spread=0.1,
    base=(0.3, 0.5),
    pair_sd=0.01,
    eval_sd=0.005,
    effect=0.3,
    delta_sd=0.005,
    dataset_delta_sd=0.01,
    floor_scale=1.0,
):
    """Ladder records with a planted structure (see the module notes); ``kind`` in between, within, null."""
    if kind not in ("between", "within", "null"):
        raise ValueError(kind)
    rng = np.random.default_rng(seed)
    configurations = [(g, f) for g in GENERATOR_OFFSETS for f in FRACTIONS]
    rows = []
    for i in range(n_datasets):
        dataset = f"D{i:02d}"
        a = rng.uniform(*base)
        b = rng.normal(0, dataset_delta_sd)
        n_internal = 40 * 2 ** (i % 4)
        auc_real = 0.65 + 0.02 * (i % 3)
        u = {c: rng.normal(0, pair_sd) for c in configurations}
        for r in range(n_reps):
            for k in range(n_folds):
                common = {
                    "dataset": dataset,
                    "repetition": r,
                    "fold": k,
                    "status": "ok",
                    "undefined": False,
                    "n_internal": n_internal,
                    **metric_values(floor_scale / np.sqrt(n_internal) + rng.normal(0, 0.002), "floor_"),
                }
                rows.append(
                    {
                        **common,
                        "arm": REAL_ARM,
                        "generator": REAL_ARM,
                        "fraction": 1.0,
                        "auc_logreg": auc_real,
                        "delta_auc_logreg": 0.0,
                        "auc_rf": auc_real,
                        "delta_auc_rf": 0.0,
                        **dict.fromkeys(A.METRICS, np.nan),
                    }
                )
                for generator, fraction in configurations:
                    mu = configuration_offset(generator, fraction, spread)
                    distance = a + mu + u[(generator, fraction)] + rng.normal(0, eval_sd)
                    planted = {"between": -mu, "within": -u[(generator, fraction)], "null": 0.0}[kind]
                    delta = b + effect * planted + rng.normal(0, delta_sd)
                    study = fraction == 1.0
                    rows.append(
                        {
                            **common,
                            "arm": snapshot_arm(generator, fraction),
                            "generator": generator,
                            "fraction": fraction,
                            "auc_logreg": auc_real + delta,
                            "delta_auc_logreg": delta,
                            "auc_rf": auc_real + delta if study else np.nan,
                            "delta_auc_rf": delta if study else np.nan,
                            **metric_values(distance),
                        }
                    )
                delta = b + rng.normal(0, delta_sd)
                rows.append(
                    {
                        **common,
                        "arm": SMOTE_ARM,
                        "generator": SMOTE_ARM,
                        "fraction": 1.0,
                        "auc_logreg": auc_real + delta,
                        "delta_auc_logreg": delta,
                        "auc_rf": auc_real + delta,
                        "delta_auc_rf": delta,
                        **metric_values(a + 0.05 + rng.normal(0, eval_sd)),
                    }
                )
    return pd.DataFrame(rows)
