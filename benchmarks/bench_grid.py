"""Benchmark the experiment grid: throughput with 1 and 2 workers, time per stage, peak memory.

Runs a seeded sample of the full profile's tasks (one repetition per sampled dataset) on a
local Dask cluster of 1 and then 2 single-threaded workers, into a temporary output folder
so nothing is read from the cache, and extrapolates the full profile's wall time.

    python benchmarks/bench_grid.py [--datasets 8] [--profile full]
"""

from __future__ import annotations

import argparse
import logging
import resource
import tempfile
import time

import numpy as np
import pandas as pd

from radlib.config import load_config
from radlib.data import load_datasets
from radlib.grid import dask_client, run_grid
from radlib.records import TIMING_COLUMNS


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="full")
    parser.add_argument("--datasets", type=int, default=8, help="number of datasets sampled (seeded)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    full = load_config(args.profile)
    available, skipped = load_datasets(full)
    rng = np.random.default_rng(args.seed)
    sample = sorted(rng.choice([d.name for d in available], size=min(args.datasets, len(available)), replace=False))
    n_full_tasks = len(available) * full["repetitions"]
    print(
        f"profile {full.profile}: {len(available)} datasets available ({len(skipped)} skipped), "
        f"{n_full_tasks} tasks; benchmark sample: {', '.join(sample)} (1 repetition each)\n"
    )

    rows, records = [], None
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            config = full.with_overrides({"repetitions": 1, "paths.processed": tmp})
            with dask_client(workers) as client:
                started = time.perf_counter()
                result = run_grid(config, datasets=sample, scheduler=client.scheduler.address, show_progress=False)
                wall = time.perf_counter() - started
                peaks = client.run(_peak_rss_mib)
            records = result.records
            rows.append(
                {
                    "workers": workers,
                    "tasks": result.manifest["tasks_ok"],
                    "wall_s": round(wall, 1),
                    "tasks_per_min": round(60 * result.manifest["tasks_ok"] / wall, 2),
                    "peak_rss_per_worker_MiB": round(max(peaks.values())),
                }
            )
    table = pd.DataFrame(rows)
    table["speedup"] = (table["tasks_per_min"] / table["tasks_per_min"].iloc[0]).round(2)
    print("## Throughput\n")
    print(table.to_markdown(index=False))

    stage = records.groupby("arm")[list(TIMING_COLUMNS)].mean().round(2)
    stage.loc["total per task"] = stage.sum()
    print("\n## Mean seconds per task and arm, by stage (2-worker run)\n")
    print(stage.to_markdown())

    per_task_2 = 60 / table["tasks_per_min"].iloc[-1]
    print(
        f"\nExtrapolated full profile ({n_full_tasks} tasks) with 2 workers: "
        f"{n_full_tasks * per_task_2 / 60:.0f} min (from {per_task_2:.1f} s per task)"
    )


if __name__ == "__main__":
    main()
