"""Benchmark the generators: batched fits of the site-folds, and per dataset fit and sample seconds, memory, quality.

Batched fits (section 1). The study fits one model per external site-fold of a dataset
and repetition (docs/protocol.md, step 2; K = 5), and the deep generators train those K
models as one batched network (``Generator.fit_folds``). On one dataset, split into K
stratified folds whose internal sets (the other K - 1 folds) are each put through
``development_pipeline(k=32, p)``, it times, for each deep generator at the profile's
budget on one torch thread:

- ``one fit``: one model alone (``fit``, a batch of one);
- ``5 alone``: the K models fitted one after another;
- ``batched``: the K models as one batch, with the profile's snapshots;
- ``v1 fit``: one model with the generators of :data:`V1_REF` (before batching), run from
  that commit's ``radlib`` in a subprocess on the same rows;
- ``overhead``: the same fits with ``width=8``, which leaves the per-step work (Python,
  dispatch, optimiser, random draws) and almost no arithmetic: the rest of a fit's time
  is arithmetic;
- ``= alone``: whether every batched model's samples equal, bit for bit, those of the
  same model fitted alone (the batch's models are independent);
- ``peak MB``: the worker's peak resident memory.

Per dataset (section 2), for each dataset and repetition: a stratified 70/30 split (seeded
from the profile's base seed), ``development_pipeline(k=32, p)`` fitted on the 70% training
part, every generator fitted on the selected, standardised training rows with one torch
thread, and synthetic rows drawn with the training class counts (as in the study). Reported
per dataset and generator, as means over the repetitions:

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

    python benchmarks/bench_generators.py                       # both sections, defaults below
    python benchmarks/bench_generators.py --sections batched --batched-dataset WORC-Lipo
    python benchmarks/bench_generators.py --sections quality --datasets Fusco2022 --generators cvae ctgan
    python benchmarks/bench_generators.py --output benchmarks/results/generators.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

DEFAULT_DATASETS = ["Granata2024", "WORC-Lipo", "Hosny2018A"]
DEFAULT_GENERATORS = ["wgan_gp", "cvae", "tabddpm", "smote", "ctgan", "tvae"]
DEEP = ["wgan_gp", "cvae", "tabddpm"]
# Hosny2018A: 293 patients, so each internal set of 4 of 5 folds holds about 234 rows.
BATCHED_DATASET = "Hosny2018A"
# The last commit whose deep generators fitted one model at a time (v1 of the engine).
V1_REF = "696ebd3"
ROOT = Path(__file__).resolve().parent.parent
CLOCKS = {
    "cpu": "Seconds are the fits' CPU seconds (`time.process_time`): on one thread they equal the wall clock of "
    "a core of its own, and other processes sharing the cores inflate them less than the wall clock "
    "(`batched wall s`). `overhead`: the same fits with `width=8`; `arithmetic share`: 1 - overhead / fit.",
    "wall": "Seconds are wall-clock (the GPU works while the CPU waits). `overhead`: the same fits with "
    "`width=8`; `arithmetic share`: 1 - overhead / fit.",
}
# One BLAS/OpenMP thread as well as one torch thread: the grid runs one fit per core.
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# --- section 1: batched fits of the site-folds -------------------------------------------------


def prepare_folds(dataset: str, folds: int, profile: str, path: Path) -> dict:
    """Save the K internal sets of ``dataset`` (selected, standardised) and their seeds to ``path`` (npz)."""
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from radlib.config import load_config
    from radlib.data import load_dataset
    from radlib.features import development_pipeline

    config = load_config(profile)
    data = load_dataset(dataset, config)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=config.seed("bench_generators", dataset) % 2**32)
    arrays = {}
    for k, (internal, _) in enumerate(splitter.split(data.X, data.y)):
        X, y = data.X[internal], data.y[internal]
        arrays[f"X{k}"] = development_pipeline(config["features"]["k"], data.p).fit(X, y).transform(X)
        arrays[f"y{k}"] = y
    arrays["seeds"] = np.array([config.seed("bench_generators", dataset, k) for k in range(folds)])
    np.savez(path, **arrays)
    return {"rows": [len(arrays[f"y{k}"]) for k in range(folds)], "p": arrays["X0"].shape[1]}


def load_folds(path: str) -> tuple[list, list[int]]:
    """The folds and seeds saved by :func:`prepare_folds`."""
    import numpy as np

    arrays = np.load(path)
    seeds = [int(seed) for seed in arrays["seeds"]]
    return [(arrays[f"X{k}"], arrays[f"y{k}"]) for k in range(len(seeds))], seeds


def timed(function) -> tuple[object, float, float]:
    """``function()``, its wall-clock seconds and its CPU seconds."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = function()
    return result, time.perf_counter() - start, time.process_time() - start_cpu


def batched_worker(folds_path: str, generator: str, profile: str, device: str) -> dict:
    """Time one generator alone, K alone, K batched, and both with ``width=8``; runs in its own process."""
    import resource

    import numpy as np
    import torch

    from radlib import generators
    from radlib.config import load_config

    torch.set_num_threads(1)
    config = load_config(profile, {"synthesis.device": device})
    snapshots = config["synthesis"]["snapshots"]
    folds, seeds = load_folds(folds_path)
    counts = {0: 100, 1: 100}
    # Warm-up: the first fit of a process pays one-time costs (kernels, lazy imports).
    generators.make(generator, config, steps=3).fit_folds(folds[:2], seeds[:2])

    def alone(**params) -> list:
        return [generators.make(generator, config, **params).fit(X, y, seed) for (X, y), seed in zip(folds, seeds)]

    def batched(**params) -> list:
        return generators.make(generator, config, **params).fit_folds(folds, seeds, snapshots)

    # The v1 worker fits with the same parameters (v1 read the same profile keys).
    params = {k: v for k, v in generators.make(generator, config).get_params().items() if k != "device"}
    result = {"generator": generator, "params": json.dumps(params)}
    _, result["one_s"], result["one_cpu_s"] = timed(lambda: generators.make(generator, config).fit(*folds[0], seeds[0]))
    models, result["alone_s"], result["alone_cpu_s"] = timed(alone)
    fitted, result["batched_s"], result["batched_cpu_s"] = timed(batched)
    result["identical"] = all(
        np.array_equal(model.sample(counts)[0], fold[1.0].sample(counts)[0]) for model, fold in zip(models, fitted)
    )
    _, result["overhead_one_s"], result["overhead_one_cpu_s"] = timed(
        lambda: generators.make(generator, config, width=8).fit(*folds[0], seeds[0])
    )
    _, result["overhead_batched_s"], result["overhead_batched_cpu_s"] = timed(lambda: batched(width=8))
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def v1_worker(folds_path: str, generator: str, params: str) -> dict:
    """One fit of fold 0 with whatever ``radlib`` is first on the path (the v1 tree); runs in its own process.

    ``params``: the generator's parameters, as JSON.
    """
    import torch

    from radlib import generators

    torch.set_num_threads(1)
    folds, seeds = load_folds(folds_path)
    params = json.loads(params)
    generators.make(generator, **{**params, "steps": 3}).fit(*folds[1], seeds[1])  # warm-up
    _, wall, cpu = timed(lambda: generators.make(generator, **params).fit(*folds[0], seeds[0]))
    return {"v1_s": wall, "v1_cpu_s": cpu, "v1_module": generators.__file__}


def worker_output(command: list[str], environment: dict) -> dict:
    """Run a worker subprocess; its last stdout line is a JSON object."""
    done = subprocess.run(command, capture_output=True, text=True, env=environment)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_batched(
    dataset: str, folds: int, generators: list[str], profile: str, device: str
) -> tuple[pd.DataFrame, dict]:
    """Section 1: one worker per generator for this code, one for :data:`V1_REF`'s, on the same saved folds."""
    environment = dict(os.environ, **SINGLE_THREAD)
    results = []
    with tempfile.TemporaryDirectory() as scratch:
        folds_path = str(Path(scratch) / "folds.npz")
        shape = prepare_folds(dataset, folds, profile, Path(folds_path))
        v1_tree = Path(scratch) / "v1"
        v1_tree.mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", V1_REF, "radlib"], capture_output=True)
        has_v1 = archive.returncode == 0
        if has_v1:
            subprocess.run(["tar", "-x", "-C", str(v1_tree)], input=archive.stdout, check=True)
        for generator in generators:
            command = [sys.executable, __file__, "--batched-worker", folds_path, generator, "--profile", profile]
            result = worker_output([*command, "--device", device], environment)
            if has_v1 and device == "cpu":
                v1_environment = dict(environment, PYTHONPATH=str(v1_tree))
                command = [sys.executable, __file__, "--v1-worker", folds_path, generator, result["params"]]
                v1 = worker_output(command, v1_environment)
                if not Path(v1.pop("v1_module")).is_relative_to(v1_tree):
                    raise RuntimeError(f"the v1 worker did not import radlib from {v1_tree}")
                result.update(v1)
            results.append(result)
            print(f"  done: batched {generator} {result['batched_s']:.1f}s", file=sys.stderr, flush=True)
    return pd.DataFrame(results), shape


def batched_table(results: pd.DataFrame, clock: str) -> str:
    """Section 1 as a Markdown table, one row per generator, in seconds of ``clock`` ("cpu" or "wall")."""
    suffix = "_cpu_s" if clock == "cpu" else "_s"
    table = results.copy()
    for column in ("v1", "one", "alone", "batched", "overhead_one", "overhead_batched"):
        if f"{column}_s" in table:
            table[column] = table[f"{column}{suffix}"]
    table["x_one"] = table["batched"] / table["one"]
    table["x_alone"] = table["batched"] / table["alone"]
    table["arithmetic_one"] = 1 - table["overhead_one"] / table["one"]
    table["arithmetic_batched"] = 1 - table["overhead_batched"] / table["batched"]
    if "v1" in table:
        table["x_v1"] = table["batched"] / table["v1"]
    table["identical"] = table["identical"].map({True: "yes", False: "NO"})
    columns = {
        "generator": ("generator", "{}"),
        "v1": ("v1 fit", "{:.2f}"),
        "one": ("one fit", "{:.2f}"),
        "alone": ("5 alone", "{:.2f}"),
        "batched": ("batched", "{:.2f}"),
        "x_one": ("batched / one fit", "{:.2f}"),
        "x_v1": ("batched / v1 fit", "{:.2f}"),
        "x_alone": ("batched / 5 alone", "{:.2f}"),
        "overhead_one": ("overhead one", "{:.2f}"),
        "overhead_batched": ("overhead batched", "{:.2f}"),
        "arithmetic_one": ("arithmetic share one", "{:.0%}"),
        "arithmetic_batched": ("arithmetic share batched", "{:.0%}"),
        "identical": ("= alone", "{}"),
        "batched_s": ("batched wall s", "{:.2f}"),
        "peak_mb": ("peak MB", "{:.0f}"),
    }
    return markdown(table, columns)


def markdown(table: pd.DataFrame, columns: dict[str, tuple[str, str]]) -> str:
    """Markdown table of the named columns present in ``table``: column -> (header, format)."""
    present = [c for c in columns if c in table]
    header = "| " + " | ".join(columns[c][0] for c in present) + " |"
    rule = "|" + "|".join("---" for _ in present) + "|"
    lines = [
        "| " + " | ".join("" if pd.isna(row[c]) else columns[c][1].format(row[c]) for c in present) + " |"
        for _, row in table.iterrows()
    ]
    return "\n".join([header, rule, *lines])


# --- section 2: quality, speed and memory per dataset --------------------------------------------


def run_worker(dataset: str, generator: str, repetitions: int, profile: str) -> dict:
    """Fit and sample one generator on one dataset for every repetition; runs in its own process."""
    import resource

    import numpy as np
    import torch
    from scipy.stats import ks_2samp
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import train_test_split

    from radlib import generators
    from radlib.classifiers import make_classifier
    from radlib.config import load_config
    from radlib.data import load_dataset
    from radlib.features import development_pipeline

    torch.set_num_threads(1)
    config = load_config(profile)
    data = load_dataset(dataset, config)
    logreg = config["classifiers"]["logreg"]

    def auc(X_train, y_train, X_test, y_test) -> float:
        # lbfgs is deterministic: the seed changes nothing.
        model = make_classifier("logreg", logreg, seed=0).fit(X_train, y_train)
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
    environment = dict(os.environ, **SINGLE_THREAD)
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


def quality_table(results: pd.DataFrame) -> str:
    """Section 2 as a Markdown table, one row per dataset and generator."""
    table = results.copy()
    ctgan_fit = table[table["generator"] == "ctgan"].set_index("dataset")["fit_s"]
    table["x_ctgan"] = table["fit_s"] / table["dataset"].map(ctgan_fit)
    table["dataset"] = table["dataset"] + " (n=" + table["n_train"].astype(str) + ")"
    columns = {
        "dataset": ("dataset (training rows)", "{}"),
        "generator": ("generator", "{}"),
        "fit_s": ("fit s", "{:.2f}"),
        "fit_cpu_s": ("fit cpu s", "{:.2f}"),
        "sample_s": ("sample s", "{:.3f}"),
        "x_ctgan": ("x ctgan", "{:.2f}"),
        "peak_mb": ("peak MB", "{:.0f}"),
        "growth_mb": ("+MB", "{:.0f}"),
        "ks": ("KS", "{:.3f}"),
        "tstr": ("TSTR", "{:.3f}"),
        "trtr": ("TRTR", "{:.3f}"),
    }
    return markdown(table, columns)


def machine() -> str:
    """Processor, cores, torch version and the load on the machine."""
    import torch

    return (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
        f"1-min load average {os.getloadavg()[0]:.1f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", nargs="+", choices=["batched", "quality"], default=["batched", "quality"])
    parser.add_argument("--batched-dataset", default=BATCHED_DATASET, help="radMLBench dataset of section 1")
    parser.add_argument("--folds", type=int, default=5, help="site-folds K of section 1 (default 5)")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="synthesis.device of section 1")
    parser.add_argument("--datasets", nargs="+", default=DEFAULT_DATASETS, help="radMLBench datasets of section 2")
    parser.add_argument("--generators", nargs="+", default=DEFAULT_GENERATORS, help="registered generator names")
    parser.add_argument("--repetitions", type=int, default=3, help="train/test splits per dataset (default 3)")
    parser.add_argument("--profile", default="full", help="profile giving the budgets, seeds and mirror")
    parser.add_argument("--output", help="also write the Markdown text to this file")
    parser.add_argument("--worker", nargs=2, metavar=("DATASET", "GENERATOR"), help=argparse.SUPPRESS)
    parser.add_argument("--batched-worker", nargs=2, metavar=("FOLDS", "GENERATOR"), help=argparse.SUPPRESS)
    parser.add_argument("--v1-worker", nargs=3, metavar=("FOLDS", "GENERATOR", "PARAMS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(*args.worker, args.repetitions, args.profile)))
        return 0
    if args.batched_worker:
        print(json.dumps(batched_worker(*args.batched_worker, args.profile, args.device)))
        return 0
    if args.v1_worker:
        print(json.dumps(v1_worker(*args.v1_worker)))
        return 0
    text = []
    if "batched" in args.sections:
        deep = [g for g in args.generators if g in DEEP]
        started, before = time.perf_counter(), machine()
        results, shape = run_batched(args.batched_dataset, args.folds, deep, args.profile, args.device)
        clock = "cpu" if args.device == "cpu" else "wall"
        text += [
            f"## Batched fits of the {args.folds} site-folds ({args.device})",
            "",
            f"{args.batched_dataset}: {args.folds} stratified folds, internal sets of {min(shape['rows'])}-"
            f"{max(shape['rows'])} rows x {shape['p']} features; the `{args.profile}` profile's budgets and "
            f"snapshots; one torch thread; {before} at the start, {os.getloadavg()[0]:.1f} at the end; total "
            f"{time.perf_counter() - started:.0f} s. {CLOCKS[clock]}",
            "",
            batched_table(results, clock),
            "",
        ]
    if "quality" in args.sections:
        started, before = time.perf_counter(), machine()
        results = run_all(args.datasets, args.generators, args.repetitions, args.profile)
        text += [
            "## Per dataset: speed, memory and sample quality",
            "",
            f"Generators at the `{args.profile}` profile's budgets; k=32 features; means over {args.repetitions} "
            f"stratified 70/30 splits; one torch thread per fit; {before} at the start, {os.getloadavg()[0]:.1f} "
            f"at the end (other processes on the machine slow the wall clock); total "
            f"{time.perf_counter() - started:.0f} s.",
            "",
            quality_table(results),
            "",
        ]
    print("\n".join(text))
    if args.output:
        Path(args.output).write_text("\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
