"""Does the random forest need 300 trees? External AUC and ΔAUC with 100 vs 300 trees.

The forest is the largest classifier cost of a task (engine v2 trains it on 5 study arms in
each of 5 folds). Fewer trees are acceptable only if the external AUC is unchanged within
the forest's own seed noise. For a sample of datasets x repetitions x site-folds (the full
profile's split and pipeline), on the real-only arm and the SMOTE arm:

- seed noise: |AUC(300 trees, seed a) - AUC(300 trees, seed b)|;
- the change: |AUC(100 trees, seed a) - AUC(300 trees, seed a)|;
- ΔAUC (SMOTE minus real-only, common seed) per forest size and its SD over three seeds:
  fewer trees make ΔAUC noisier, which is what the reliability of a pair's mean pays for.

Run: ``python benchmarks/bench_forest.py`` (prints a table, writes benchmarks/results/forest.md).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from radlib import generators
from radlib.classifiers import make_classifier
from radlib.config import load_config
from radlib.data import load_dataset
from radlib.experiment import _external_auc, synthetic_counts
from radlib.features import development_pipeline
from radlib.shift import simulate_external_folds

DATASETS = ("Ahn2021", "HNSCC", "Keek2020", "WORC-Lipo", "Hosny2018A", "Fusco2022", "Song2020", "LNDb")
REPETITIONS = 2
SEEDS = (1, 2, 3)
TREES = (100, 300)


def main() -> None:
    config = load_config("full")
    rows = []
    seconds = {trees: 0.0 for trees in TREES}
    with threadpool_limits(1):
        for name in DATASETS:
            dataset = load_dataset(name, config)
            for repetition in range(REPETITIONS):
                splits = simulate_external_folds(dataset.X, config["shift"], config.seed(name, repetition, "split"))
                for split in splits:
                    y_int, y_ext = dataset.y[split.internal_idx], dataset.y[split.external_idx]
                    if len(np.unique(y_ext)) < 2:
                        continue
                    pipe = development_pipeline(config["features"]["k"], dataset.p).fit(
                        dataset.X[split.internal_idx], y_int
                    )
                    Z_int, Z_ext = (
                        pipe.transform(dataset.X[split.internal_idx]),
                        pipe.transform(split.X_external_shifted),
                    )
                    smote = generators.from_config("smote", config).fit(Z_int, y_int, seed=split.split_seed)
                    X_syn, y_syn = smote.sample(synthetic_counts(y_int, 1.0))
                    arms = {"real": (Z_int, y_int), "smote": (np.vstack([Z_int, X_syn]), np.r_[y_int, y_syn])}
                    for trees in TREES:
                        params = {**config["classifiers"]["rf"], "n_estimators": trees}
                        for seed in SEEDS:
                            auc = {}
                            for arm, (X, y) in arms.items():
                                started = time.perf_counter()
                                model = make_classifier("rf", params, seed).fit(X, y)
                                seconds[trees] += time.perf_counter() - started
                                auc[arm] = _external_auc(model, Z_ext, y_ext)
                            rows.append(
                                {
                                    "dataset": name,
                                    "evaluation": f"{name} r{repetition} f{split.fold}",
                                    "trees": trees,
                                    "seed": seed,
                                    "auc_real": auc["real"],
                                    "delta_auc": auc["smote"] - auc["real"],
                                }
                            )
    frame = pd.DataFrame(rows)
    wide = frame.pivot_table(index=["evaluation", "seed"], columns="trees", values=["auc_real", "delta_auc"])
    by_seed = frame[frame["trees"] == 300].pivot_table(index="evaluation", columns="seed", values="auc_real")
    n_fits = len(frame) // len(TREES) * 2
    lines = [
        "# Random forest: 100 vs 300 trees (`python benchmarks/bench_forest.py`)",
        "",
        f"{frame['evaluation'].nunique()} external evaluations ({len(DATASETS)} datasets x {REPETITIONS} repetitions"
        f" x 5 site-folds, full profile split and pipeline), seeds {SEEDS}, one thread.",
        "",
        "| quantity | value |",
        "|---|---:|",
        f"| seed noise: mean abs AUC(300, seed 1) - AUC(300, seed 2) | {np.mean(np.abs(by_seed[1] - by_seed[2])):.4f} |",
        "| change: mean abs AUC(100) - AUC(300), same seed | "
        f"{np.mean(np.abs(wide[('auc_real', 100)] - wide[('auc_real', 300)])):.4f} |",
        f"| mean AUC(100) - AUC(300), same seed | {np.mean(wide[('auc_real', 100)] - wide[('auc_real', 300)]):+.4f} |",
    ]
    for trees in TREES:
        sd = frame[frame["trees"] == trees].groupby("evaluation")["delta_auc"].std(ddof=1).mean()
        mean = frame[frame["trees"] == trees]["delta_auc"].mean()
        lines.append(f"| ΔAUC (SMOTE) with {trees} trees: mean; mean SD over seeds | {mean:+.4f}; {sd:.4f} |")
    for trees in TREES:
        lines.append(f"| seconds per forest fit, {trees} trees | {seconds[trees] / n_fits:.3f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).resolve().parent / "results" / "forest.md"
    out.write_text(text)


if __name__ == "__main__":
    main()
