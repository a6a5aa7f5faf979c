"""Benchmark the generators: fit and sample seconds, peak memory, and sample quality.

For each dataset and repetition: a stratified 70/30 split (seeded from the profile's base
seed), ``development_pipeline(k=32, p)`` fitted on the 70% training part, every generator
fitted on the selected, standardised training rows with one torch thread, and synthetic
rows drawn with the training class counts (as in the study). Reported per dataset and
generator, as means over the repetitions:

- ``fit s`` and ``sample s``: wall-clock seconds; ``fit cpu s``: the fit's CPU seconds
  (``time.process_time``), which other processes sharing the cores inflate less than the
  wall clock;
- ``peak MB``: peak resident memory (``ru_maxrss``) of the worker process that ran the
  generator, and ``+MB`` its growth during fit and sample (torch allocations are
  invisible to tracemalloc); every (dataset, generator) runs in a fresh subprocess;
- ``KS``: mean per-feature two-sample Kolmogorov-Smirnov statistic, synthetic vs the real
  training rows (the study's quality metric 2; lower is better);
- ``TSTR``: ROC-AUC on the real 30% test rows of the profile's logistic regression trained
  on synthetic rows only; ``TRTR``: the same trained on the real training rows;
- ``x ctgan``: fit time relative to ctgan's CTGAN on the same data.

Usage::

    python benchmarks/bench_generators.py                       # defaults below
    python benchmarks/bench_generators.py --datasets Fusco2022 --generators cvae ctgan
    python benchmarks/bench_generators.py --output benchmarks/results/generators.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import pandas as pd

DEFAULT_DATASETS = ["Granata2024", "WORC-Lipo", "Hosny2018A"]
DEFAULT_GENERATORS = ["wgan_gp", "cvae", "tabddpm", "smote", "ctgan", "tvae"]


def run_worker(dataset: str, generator: str, repetitions: int, profile: str) -> dict:
    """Fit and sample one generator on one dataset for every repetition; runs in its own process."""
    import resource

    import numpy as np
    import torch
    from scipy.stats import ks_2samp
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from radlib import generators
    from radlib.config import load_config
    from radlib.data import load_dataset
    from radlib.features import development_pipeline

    torch.set_num_threads(1)
    config = load_config(profile)
    data = load_dataset(dataset, config)
    logreg = config["classifiers"]["logreg"]

    def auc(X_train, y_train, X_test, y_test) -> float:
        model = LogisticRegression(**logreg).fit(X_train, y_train)
        return float(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))

    rows = []
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for repetition in range(repetitions):
        X_train, X_test, y_train, y_test = train_test_split(
            data.X,
            data.y,
            train_size=0.7,
            stratify=data.y,
            random_state=config.seed("bench_generators", dataset, repetition) % 2**32,
        )
        pipeline = development_pipeline(config["features"]["k"], data.p).fit(X_train, y_train)
        X_train, X_test = pipeline.transform(X_train), pipeline.transform(X_test)
        model = generators.from_config(generator, config)
        start, start_cpu = time.perf_counter(), time.process_time()
        model.fit(X_train, y_train, seed=config.seed("bench_generators", dataset, repetition, generator))
        fitted, fitted_cpu = time.perf_counter(), time.process_time()
        X_synth, y_synth = model.sample({0: int(np.sum(y_train == 0)), 1: int(np.sum(y_train == 1))})
        sampled = time.perf_counter()
        rows.append(
            {
                "fit_s": fitted - start,
                "fit_cpu_s": fitted_cpu - start_cpu,
                "sample_s": sampled - fitted,
                "ks": float(
                    np.mean([ks_2samp(X_synth[:, j], X_train[:, j]).statistic for j in range(X_train.shape[1])])
                ),
                "tstr": auc(X_synth, y_synth, X_test, y_test),
                "trtr": auc(X_train, y_train, X_test, y_test),
            }
        )
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    summary = pd.DataFrame(rows).mean().to_dict()
    summary.update(
        dataset=dataset,
        generator=generator,
        n_train=len(X_train),
        p=X_train.shape[1],
        peak_mb=peak_kb / 1024,
        growth_mb=(peak_kb - rss_before) / 1024,
    )
    return summary


def run_all(datasets: list[str], generators: list[str], repetitions: int, profile: str) -> pd.DataFrame:
    """One fresh subprocess per (dataset, generator), so that each peak memory is its own."""
    # One BLAS/OpenMP thread as well as one torch thread: the grid runs one fit per core.
    environment = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    results = []
    for dataset in datasets:
        for generator in generators:
            command = [
                sys.executable,
                __file__,
                "--worker",
                dataset,
                generator,
                "--repetitions",
                str(repetitions),
                "--profile",
                profile,
            ]
            done = subprocess.run(command, capture_output=True, text=True, env=environment)
            if done.returncode != 0:
                raise RuntimeError(f"{generator} on {dataset} failed:\n{done.stderr[-3000:]}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  done: {dataset} {generator} fit {results[-1]['fit_s']:.1f}s", file=sys.stderr, flush=True)
    return pd.DataFrame(results)


def markdown_table(results: pd.DataFrame) -> str:
    """The results as a Markdown table, one row per dataset and generator."""
    table = results.copy()
    ctgan_fit = table[table["generator"] == "ctgan"].set_index("dataset")["fit_s"]
    table["x_ctgan"] = table["fit_s"] / table["dataset"].map(ctgan_fit)
    table["dataset"] = table["dataset"] + " (n=" + table["n_train"].astype(str) + ")"
    columns = {
        "dataset": "dataset (training rows)",
        "generator": "generator",
        "fit_s": "fit s",
        "fit_cpu_s": "fit cpu s",
        "sample_s": "sample s",
        "x_ctgan": "x ctgan",
        "peak_mb": "peak MB",
        "growth_mb": "+MB",
        "ks": "KS",
        "tstr": "TSTR",
        "trtr": "TRTR",
    }
    table = table[[c for c in columns if c in table]].rename(columns=columns)
    formats = {
        "fit s": "{:.2f}",
        "fit cpu s": "{:.2f}",
        "sample s": "{:.3f}",
        "x ctgan": "{:.2f}",
        "peak MB": "{:.0f}",
        "+MB": "{:.0f}",
        "KS": "{:.3f}",
        "TSTR": "{:.3f}",
        "TRTR": "{:.3f}",
    }
    for column, fmt in formats.items():
        if column in table:
            table[column] = table[column].map(lambda v, f=fmt: "" if pd.isna(v) else f.format(v))
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    lines = ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, rule, *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS, help="radMLBench dataset names")
    parser.add_argument("--generators", nargs="+", default=DEFAULT_GENERATORS, help="registered generator names")
    parser.add_argument("--repetitions", type=int, default=3, help="train/test splits per dataset (default 3)")
    parser.add_argument("--profile", default="full", help="profile giving the budgets, seeds and mirror")
    parser.add_argument("--output", help="also write the Markdown table to this file")
    parser.add_argument("--worker", nargs=2, metavar=("DATASET", "GENERATOR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(*args.worker, args.repetitions, args.profile)))
        return 0
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    results = run_all(args.datasets, args.generators, args.repetitions, args.profile)
    import torch

    text = "\n".join(
        [
            f"Generators at the `{args.profile}` profile's budgets; k=32 features; means over {args.repetitions} "
            f"stratified 70/30 splits; one torch thread per fit; {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, torch {torch.__version__}; total {time.perf_counter() - started:.0f} s; "
            f"1-min load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
            "(other processes on the machine slow the wall clock).",
            "",
            markdown_table(results),
            "",
        ]
    )
    print(text)
    if args.output:
        with open(args.output, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
