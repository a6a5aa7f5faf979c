"""Small seeded datasets and a comparison helper shared by the task, grid and fault tests."""

import numpy as np
import pandas as pd

from radlib.data import Dataset
from radlib.records import TIMING_COLUMNS


def toy_dataset(name="Toy", seed=0, n=160, p=40, informative=5, missing=0.01):
    """Two alternating classes, mean shift 1 on the first ``informative`` features, a ``missing`` share of NaN."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    X = rng.normal(size=(n, p))
    X[:, :informative] += 1.0 * y[:, None]
    if missing:
        X[rng.random(size=X.shape) < missing] = np.nan
    return Dataset(name, X, y, [f"f{j}" for j in range(p)])


def comparable(records: pd.DataFrame) -> pd.DataFrame:
    """Records without wall-clock timings, in a canonical order."""
    return (
        records.drop(columns=list(TIMING_COLUMNS))
        .sort_values(["dataset", "repetition", "fold", "arm"])
        .reset_index(drop=True)
    )
