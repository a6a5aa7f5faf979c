"""How far is a batched generator fit from this core's limit? Achieved GFLOP/s against a plain ``torch.bmm``.

For each deep generator, one batched fit of a task's K = 5 folds (the full profile's budgets, a seeded
table of 113 internal rows x 32 features, the average internal set of the full profile) is timed on one
thread without the profiler. Its floating-point operations in matrix products come from
``torch.profiler`` (``with_flops=True``) on two short fits of the same networks (``PROFILED_STEPS``
steps and twice that): their difference is the work of one step, which is the same at every step, so
the full budget's count is the short fit's plus the remaining steps' (profiling the whole fit keeps every
operator event and ran out of 21 GiB of memory). The achieved GFLOP/s is printed next to ``torch.bmm``
of the shapes the generator multiplies (K models x batch rows x width, by width x width), timed on the
same thread. The networks and their numerics are not changed (engine v3 keeps the committed records
reproducible).

    python benchmarks/bench_fit_flops.py [--repeats 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

from radlib import generators
from radlib.config import load_config

ROWS, FEATURES, FOLDS = 113, 32, 5
PROFILED_STEPS = 20


def _bmm_gflops(batch: int, rows: int, width: int, repeats: int) -> float:
    a, b = torch.randn(batch, rows, width), torch.randn(batch, width, width)
    torch.bmm(a, b)
    started = time.perf_counter()
    for _ in range(repeats):
        torch.bmm(a, b)
    seconds = (time.perf_counter() - started) / repeats
    return 2 * batch * rows * width * width / seconds / 1e9


def _matmul_flops(name: str, steps: int, folds: list) -> float:
    """Floating-point operations of the matrix products of one batched fit of ``steps`` steps."""
    config = load_config("full", {f"synthesis.params.{name}.steps": steps})
    generator = generators.from_config(name, config)
    with profile(activities=[ProfilerActivity.CPU], with_flops=True) as prof:
        generator.fit_folds(folds, list(range(FOLDS)), (1.0,))
    return float(sum(event.flops for event in prof.key_averages() if event.flops))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200, help="repetitions of the bmm timing")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config("full")
    rng = np.random.default_rng(0)
    folds = []
    for _ in range(FOLDS):
        y = (np.arange(ROWS) % 3 == 0).astype(int)
        folds.append((rng.normal(size=(ROWS, FEATURES)) + y[:, None] * 0.5, y))
    print(f"one thread; K = {FOLDS} folds of {ROWS} rows x {FEATURES} features; torch {torch.__version__}\n")
    print("| generator | fit s | GFLOP in matmuls | achieved GFLOP/s | bmm GFLOP/s (K x batch x width²) | share |")
    print("|---|---|---|---|---|---|")
    for name in config["synthesis"]["generators"]:
        generator = generators.from_config(name, config)
        params = config["synthesis"]["params"][name]
        started = time.perf_counter()
        generator.fit_folds(folds, list(range(FOLDS)), (1.0,))
        seconds = time.perf_counter() - started  # timed without the profiler, whose bookkeeping is slow
        short, double = (_matmul_flops(name, steps, folds) for steps in (PROFILED_STEPS, 2 * PROFILED_STEPS))
        flops = short + (double - short) / PROFILED_STEPS * (params["steps"] - PROFILED_STEPS)
        achieved = flops / seconds / 1e9
        reference = _bmm_gflops(FOLDS, params["batch_size"], params["width"], args.repeats)
        print(
            f"| {name} | {seconds:.2f} | {flops / 1e9:.2f} | {achieved:.2f} | {reference:.2f} | "
            f"{achieved / reference:.0%} |"
        )


if __name__ == "__main__":
    main()
