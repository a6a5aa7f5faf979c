"""Benchmark the experiment grid: v2 against v1's settings, throughput by worker count, stages, memory.

Runs a seeded sample of the full profile's tasks (one repetition per sampled dataset) into a
temporary output folder, so nothing is read from the cache:

1. **v1 vs v2, one worker, in-process**: the same tasks with v1's settings (``shift.folds=1``,
   no snapshots: ``synthesis.snapshots=[1.0]``, the forest's v1 size of 300 trees) and with v2's
   (the profile as it is: 5 site-folds, snapshot arms, batched fits); the ratio of their seconds
   per dataset x repetition (target: v2 <= 2.3x v1).
2. **v2 throughput** on a local Dask cluster of each ``--workers`` count of single-threaded workers (default 1 and 2; target:
   >= 1.7x with 2), peak memory per worker (target <= 1.5 GiB), seconds per task and arm by
   stage, and the full profile's extrapolated wall time.

    python benchmarks/bench_grid.py [--datasets 6] [--profile full]

On a bigger machine, e.g. one with a GPU: ``--workers 8,16 --device cuda --skip-v1 --full-tasks 430``
(``--full-tasks``: the task count to extrapolate to when the machine holds only the sampled
datasets).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import resource
import tempfile
import time

import numpy as np
import pandas as pd

from radlib.config import load_config
from radlib.data import load_datasets
from radlib.grid import dask_client, run_grid
from radlib.records import TIMING_COLUMNS, is_study_arm

V1_SETTINGS = {"shift.folds": 1, "synthesis.snapshots": [1.0], "classifiers.rf.n_estimators": 300}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed_run(config, sample, workers: int) -> tuple[float, pd.DataFrame, float]:
    """Seconds, records and peak worker memory (MiB) of the sample's tasks on ``workers`` workers."""
    with tempfile.TemporaryDirectory() as tmp:
        config = config.with_overrides({"repetitions": 1, "paths.processed": tmp})
        with dask_client(workers) as client:
            started = time.perf_counter()
            result = run_grid(
                config,
                datasets=sample,
                scheduler=client.scheduler.address,
                show_progress=False,
                specifications=["default"],
            )
            wall = time.perf_counter() - started
            peak = max(client.run(_peak_rss_mib).values())
    if result.manifest["tasks_failed"]:
        raise RuntimeError(f"benchmark tasks failed: {result.manifest['tasks_failed']}")
    return wall, result.records, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--datasets", type=int, default=6, help="number of datasets sampled (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts of the throughput runs")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="synthesis.device of the v2 runs")
    parser.add_argument("--skip-v1", action="store_true", help="skip section 1 (v1 against v2 on one worker)")
    parser.add_argument("--full-tasks", type=int, help="tasks of the full profile (default: from the datasets here)")
    args = parser.parse_args()
    worker_counts = [int(n) for n in args.workers.split(",")]
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.WARNING)  # the local cluster's INFO lines are noise here

    v2 = load_config(args.profile).with_overrides({"synthesis.device": args.device})
    v1 = v2.with_overrides(V1_SETTINGS)
    available, skipped = load_datasets(v2)
    rng = np.random.default_rng(args.seed)
    sample = sorted(rng.choice([d.name for d in available], size=min(args.datasets, len(available)), replace=False))
    n_full_tasks = args.full_tasks or len(available) * v2["repetitions"]
    print(
        f"profile {v2.profile}: {len(available)} datasets available ({len(skipped)} skipped), {n_full_tasks} tasks "
        f"(dataset x repetition; {v2['shift']['folds']} site-folds each); benchmark sample: {', '.join(sample)} "
        f"(1 repetition each); synthesis on {args.device}; {platform.machine()}, {os.cpu_count()} cores, load average at start "
        f"{os.getloadavg()[0]:.1f}\n"
    )

    if not args.skip_v1 and 1 not in worker_counts:
        parser.error("section 1 compares v1 and v2 on one worker: --workers must include 1, or pass --skip-v1")
    v2_rows, records = [], None
    for workers in worker_counts:
        wall, records, peak = _timed_run(v2, sample, workers)
        v2_rows.append(
            {
                "workers": workers,
                "tasks": len(sample),
                "wall_s": round(wall, 1),
                "tasks_per_min": round(60 * len(sample) / wall, 2),
                "peak_rss_per_worker_MiB": round(peak),
            }
        )
    if not args.skip_v1:
        v1_wall, _, _ = _timed_run(v1, sample, 1)
        v2_wall_1 = next(row["wall_s"] for row in v2_rows if row["workers"] == 1)
        print("## v2 against v1's settings (same tasks, 1 worker)\n")
        print(
            pd.DataFrame(
                [
                    {
                        "settings": "v1 (1 external site, no snapshots, 300 trees)",
                        "seconds per task": v1_wall / len(sample),
                    },
                    {
                        "settings": "v2 (5 site-folds, snapshot arms, batched fits)",
                        "seconds per task": v2_wall_1 / len(sample),
                    },
                ]
            )
            .round(1)
            .to_markdown(index=False)
        )
        print(f"\nratio v2 / v1 per dataset x repetition: {v2_wall_1 / v1_wall:.2f} (target <= 2.3)\n")

    table = pd.DataFrame(v2_rows)
    table["speedup"] = (table["tasks_per_min"] / table["tasks_per_min"].iloc[0]).round(2)
    print("## v2 throughput\n")
    print(table.to_markdown(index=False))

    per_task = records.groupby(["dataset", "arm"])[list(TIMING_COLUMNS)].sum().groupby("arm").mean()
    # A generator's snapshot arms share its one batched fit: the total counts it once.
    per_task.loc["total per task"] = per_task.sum()
    per_task.loc["total per task", "fit_seconds"] = per_task.loc[
        [arm for arm in per_task.index[:-1] if is_study_arm(arm)], "fit_seconds"
    ].sum()
    print(f"\n## Seconds per task and arm, by stage, summed over the folds ({worker_counts[-1]}-worker run)\n")
    print(per_task.round(2).to_markdown())
    print(
        "\n(fit_seconds of a generator's arms is its batched fit over the folds, shared by its snapshot arms: "
        "the generator's fit cost is one of its arms' value, not their sum, and the total counts it once)"
    )

    seconds_per_task = 60 / table["tasks_per_min"].iloc[-1]
    print(
        f"\nExtrapolated full profile ({n_full_tasks} tasks) with {worker_counts[-1]} workers: "
        f"{n_full_tasks * seconds_per_task / 60:.0f} min (from {seconds_per_task:.1f} s per task)"
    )


if __name__ == "__main__":
    main()
