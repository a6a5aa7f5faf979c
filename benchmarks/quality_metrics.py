"""Time the quality metrics on one real-sized comparison (200 x 32 vs 200 x 32).

Prints the time of :func:`radlib.quality.quality_metrics` and of each metric, and the
per-feature Wasserstein and KS of radlib (one pooled sort for all features) against
scipy's one-feature-at-a-time ``wasserstein_distance`` and ``ks_2samp``.

Run: ``python benchmarks/quality_metrics.py`` (prints; not a test).
"""

from __future__ import annotations

import timeit

import numpy as np
from scipy import stats

from radlib import quality

N_ROWS, N_FEATURES = 200, 32
PARAMS = {"detection_folds": 5, "mmd_max_rows": 1000}


def best_seconds(call, repeats: int = 5, number: int = 3) -> float:
    """Best mean time of ``number`` calls over ``repeats`` rounds (least disturbed by other load)."""
    return min(timeit.repeat(call, repeat=repeats, number=number)) / number


def main() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(N_ROWS, N_FEATURES))
    synth = rng.normal(loc=0.1, scale=1.1, size=(N_ROWS, N_FEATURES))
    print(f"quality metrics, {N_ROWS} x {N_FEATURES} real vs {N_ROWS} x {N_FEATURES} synthetic")
    print(
        f"  quality_metrics (all five): {best_seconds(lambda: quality.quality_metrics(real, synth, 0, PARAMS)) * 1e3:8.1f} ms"
    )
    per_metric = {
        "wasserstein": lambda: quality.compute_wasserstein(real, synth),
        "ks": lambda: quality.compute_ks(real, synth),
        "mmd2": lambda: quality.compute_mmd2(real, synth, 0, PARAMS["mmd_max_rows"]),
        "corr_diff": lambda: quality.compute_corr_diff(real, synth),
        "detection_auc": lambda: quality.compute_detection_auc(real, synth, 0, PARAMS["detection_folds"]),
    }
    for name, call in per_metric.items():
        print(f"  {name:26s}: {best_seconds(call) * 1e3:8.2f} ms")
    columns = range(N_FEATURES)
    comparisons = {
        "wasserstein per feature": (
            lambda: quality.compute_wasserstein_per_feature(real, synth),
            lambda: [stats.wasserstein_distance(real[:, j], synth[:, j]) for j in columns],
        ),
        "ks per feature": (
            lambda: quality.compute_ks_per_feature(real, synth),
            lambda: [stats.ks_2samp(real[:, j], synth[:, j]).statistic for j in columns],
        ),
    }
    for name, (radlib_call, scipy_call) in comparisons.items():
        np.testing.assert_allclose(radlib_call(), scipy_call(), rtol=1e-12)
        ours, theirs = best_seconds(radlib_call), best_seconds(scipy_call)
        print(f"  {name:26s}: radlib {ours * 1e3:7.2f} ms, scipy loop {theirs * 1e3:7.2f} ms ({theirs / ours:.0f}x)")


if __name__ == "__main__":
    main()
