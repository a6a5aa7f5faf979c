"""Benchmark the experiment grid: v2 against v1's settings, throughput with 1 and 2 workers, stages, memory.

Runs a seeded sample of the full profile's tasks (one repetition per sampled dataset) into a
temporary output folder, so nothing is read from the cache:

1. **v1 vs v2, one worker, in-process**: the same tasks with v1's settings (``shift.folds=1``,
   no snapshots: ``synthesis.snapshots=[1.0]``, the forest's v1 size of 300 trees) and with v2's
   (the profile as it is: 5 site-folds, snapshot arms, batched fits); the ratio of their seconds
   per dataset x repetition (target: v2 <= 2.3x v1).
2. **v2 throughput** on a local Dask cluster of 1 and then 2 single-threaded workers (target:
   >= 1.7x with 2), peak memory per worker (target <= 1.5 GiB), seconds per task and arm by
   stage, and the full profile's extrapolated wall time.

    python benchmarks/bench_grid.py [--datasets 6] [--profile full]
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
from radlib.records import TIMING_COLUMNS

V1_SETTINGS = {"shift.folds": 1, "synthesis.snapshots": [1.0], "classifiers.rf.n_estimators": 300}


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed_run(config, sample, workers: int) -> tuple[float, pd.DataFrame, float]:
    """Seconds, records and peak worker memory (MiB) of the sample's tasks on ``workers`` workers."""
    with tempfile.TemporaryDirectory() as tmp:
        config = config.with_overrides({"repetitions": 1, "paths.processed": tmp})
        with dask_client(workers) as client:
            started = time.perf_counter()
            result = run_grid(config, datasets=sample, scheduler=client.scheduler.address, show_progress=False)
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("distributed").setLevel(logging.WARNING)  # the local cluster's INFO lines are noise here

    v2 = load_config(args.profile)
    v1 = v2.with_overrides(V1_SETTINGS)
    available, skipped = load_datasets(v2)
    rng = np.random.default_rng(args.seed)
    sample = sorted(rng.choice([d.name for d in available], size=min(args.datasets, len(available)), replace=False))
    n_full_tasks = len(available) * v2["repetitions"]
    print(
        f"profile {v2.profile}: {len(available)} datasets available ({len(skipped)} skipped), {n_full_tasks} tasks "
        f"(dataset x repetition; {v2['shift']['folds']} site-folds each); benchmark sample: {', '.join(sample)} "
        f"(1 repetition each); {platform.machine()}, {os.cpu_count()} cores, load average at start "
        f"{os.getloadavg()[0]:.1f}\n"
    )

    v1_wall, _, _ = _timed_run(v1, sample, 1)
    v2_rows, records = [], None
    for workers in (1, 2):
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
    v2_wall_1 = v2_rows[0]["wall_s"]
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
    per_task.loc["total per task"] = per_task.sum()
    print("\n## Seconds per task and arm, by stage, summed over the folds (2-worker run)\n")
    print(per_task.round(2).to_markdown())
    print(
        "\n(fit_seconds of a generator's arms is its batched fit over the folds, shared by its snapshot arms: "
        "the generator's fit cost is one of its arms' value, not their sum)"
    )

    per_task_2 = 60 / table["tasks_per_min"].iloc[-1]
    print(
        f"\nExtrapolated full profile ({n_full_tasks} tasks) with 2 workers: "
        f"{n_full_tasks * per_task_2 / 60:.0f} min (from {per_task_2:.1f} s per task)"
    )


if __name__ == "__main__":
    main()
