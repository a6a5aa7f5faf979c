"""Benchmark engine v3's evaluation stage: seconds per specification and classifier, and the store's size.

Synthesizes a seeded sample of the full profile's tasks (one repetition per sampled dataset) into
a temporary folder, stores their samples, then evaluates from the stored samples, in one thread
(as one grid worker does):

1. each specification of the ``curve`` design alone (its own cache: the cost a single
   ``radlib evaluate --specifications NAME`` pays), grouped by classifier and by whether it
   computes the predictors;
2. every specification of the curve together in one call (what ``radlib run`` pays per task:
   folds, metrics and AUCs shared between specifications are computed once);
3. the store: bytes per task, extrapolated to the full profile's 430 tasks.

Targets (printed, not asserted): the default specification of the full profile, logistic
regression on the study arms, evaluated from stored samples in <= 10 min on 2 cores; the store
<= 2 GiB for the full profile; all of Science v3's evaluations <= 3 h on 2 cores.

    python benchmarks/bench_evaluation.py [--datasets 4] [--seed 0] [--full-tasks 430]
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

from radlib.config import load_config
from radlib.data import datasets_of, load_datasets
from radlib.experiment import evaluate_task
from radlib.samples import read_samples, samples_path, synthesize_task, write_samples
from radlib.specifications import specification_configs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=4, help="datasets sampled from the full profile")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full-tasks", type=int, default=430, help="tasks of the full profile to extrapolate to")
    parser.add_argument("--workers", type=int, default=2, help="parallel workers the extrapolation assumes")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        config = load_config("full", {"repetitions": 1, "paths.processed": tmp, "specifications.design": "curve"})
        names = datasets_of(config)
        rng = np.random.default_rng(args.seed)
        chosen = sorted(rng.choice(names, size=args.datasets, replace=False).tolist())
        loaded, skipped = load_datasets(config, chosen)
        configs = specification_configs(config)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; one thread")
        print(f"tasks: {', '.join(d.name for d in loaded)} (repetition 0); skipped: {list(skipped) or 'none'}")
        print(f"specifications of the curve: {len(configs)}")
        rows, synth_seconds, store_bytes = [], [], []
        together = []
        with threadpool_limits(limits=1):
            for dataset in loaded:
                started = time.perf_counter()
                samples = synthesize_task(dataset, 0, config)
                synth_seconds.append(time.perf_counter() - started)
                path = samples_path(config, dataset, 0)
                write_samples(samples, path)
                store_bytes.append(path.stat().st_size)
                stored = read_samples(path)
                for name, spec in configs.items():
                    started = time.perf_counter()
                    evaluate_task(dataset, 0, {name: spec}, stored)
                    rows.append(
                        {
                            "dataset": dataset.name,
                            "specification": name,
                            "classifier": "+".join(spec["evaluation"]["classifiers"]),
                            "predictors": bool(spec["evaluation"]["predictor_classifiers"]),
                            "ratio": spec["synthesis"]["ratio"],
                            "seconds": time.perf_counter() - started,
                        }
                    )
                started = time.perf_counter()
                evaluate_task(dataset, 0, configs, stored)
                together.append(time.perf_counter() - started)
                print(
                    f"  {dataset.name}: n={len(dataset.y)}, synthesis {synth_seconds[-1]:.1f} s, "
                    f"store {store_bytes[-1] / 2**20:.2f} MiB, all specifications together {together[-1]:.1f} s"
                )
    table = pd.DataFrame(rows)
    scale = args.full_tasks / len(loaded) / args.workers / 60
    per_task = table.groupby("specification")["seconds"].sum() / len(loaded)
    print("\n## Seconds per task, one specification alone (mean over the sampled tasks)\n")
    summary = (
        table.groupby(["classifier", "predictors"])
        .agg(specifications=("specification", "nunique"), seconds_per_task=("seconds", "mean"))
        .reset_index()
    )
    summary["full_profile_minutes_each"] = summary["seconds_per_task"] * args.full_tasks / args.workers / 60
    print(summary.to_markdown(index=False, floatfmt=".2f"))
    default_alone = table[table["specification"] == "default"]["seconds"].sum()
    print(
        f"\ndefault specification (logreg on all arms + rf on the study arms, predictors): "
        f"{default_alone / len(loaded):.1f} s per task -> {default_alone * scale:.1f} min for the full profile "
        f"on {args.workers} workers"
    )
    logreg_study = table[(table["specification"] == "logreg_r1_s0.3")]["seconds"].sum()
    print(
        f"logistic regression on the study arms at ratio 1 (severity 0.3: no predictors): "
        f"{logreg_study / len(loaded):.1f} s per task -> {logreg_study * scale:.1f} min (target <= 10 min)"
    )
    print(
        f"every specification of the curve together: {np.mean(together):.1f} s per task -> "
        f"{sum(together) * scale:.1f} min for the full profile on {args.workers} workers (target: <= 180 min); "
        f"each alone summed: {per_task.sum():.1f} s per task"
    )
    print(
        f"synthesis: {np.mean(synth_seconds):.1f} s per task (one thread) -> {sum(synth_seconds) * scale:.1f} min; "
        f"store {np.mean(store_bytes) / 2**20:.2f} MiB per task -> "
        f"{np.mean(store_bytes) * args.full_tasks / 2**30:.2f} GiB for {args.full_tasks} tasks (target <= 2 GiB)"
    )


if __name__ == "__main__":
    main()
