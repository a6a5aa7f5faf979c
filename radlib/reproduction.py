"""Compare two record tables bit for bit: a rerun against the committed records (engine v3's reproduction check).

Every column both tables have is compared, except the ones that cannot repeat (wall-clock timings,
versions, the configuration hash, which names the engine). Two values are equal when they are the
same number (NaN equals NaN) or the same object; a record is reproduced when every compared column is.
:func:`recompute_task` computes one task's default records on this machine the way the grid does, to
compare with the committed ones.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence

import numpy as np
import pandas as pd

from radlib.config import Config
from radlib.data import load_datasets
from radlib.grid import _task_records
from radlib.records import TIMING_COLUMNS
from radlib.samples import samples_path, write_samples

__all__ = ["IGNORED_COLUMNS", "RECORD_KEYS", "compare_records", "recompute_task"]

#: Columns that differ between two runs of the same computation, or that name the engine.
IGNORED_COLUMNS = (*TIMING_COLUMNS, "versions", "config_hash")
#: What identifies a record.
RECORD_KEYS = ("dataset", "repetition", "fold", "arm")


def _equal(a: pd.Series, b: pd.Series) -> np.ndarray:
    x, y = a.to_numpy(), b.to_numpy()
    if x.dtype.kind in "fcib" and y.dtype.kind in "fcib":
        x, y = x.astype(float), y.astype(float)
        return (x == y) | (np.isnan(x) & np.isnan(y))
    return np.array([u == v or (pd.isna(u) and pd.isna(v)) for u, v in zip(x, y)], dtype=bool)


def compare_records(
    computed: pd.DataFrame, reference: pd.DataFrame, keys: Sequence[str] = RECORD_KEYS
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Per column, how many records of ``reference`` ``computed`` reproduces exactly.

    Returns
    -------
    columns : DataFrame
        ``column``, ``compared``, ``equal``, ``max_abs_difference`` (numeric columns) for each
        column of ``reference`` but :data:`IGNORED_COLUMNS`; a column ``computed`` lacks has
        ``equal`` 0.
    summary : dict
        ``reference`` (records), ``matched`` (found in ``computed`` by ``keys``), ``identical``
        (every compared column equal), ``missing`` (reference records not computed).
    """
    keys = [k for k in keys if k in reference.columns]
    merged = reference.merge(computed, on=keys, how="left", suffixes=("", "__computed"), indicator=True)
    matched = merged["_merge"] == "both"
    rows, identical = [], matched.to_numpy().copy()
    for column in reference.columns:
        if column in keys or column in IGNORED_COLUMNS:
            continue
        other = f"{column}__computed"
        if other not in merged:
            rows.append({"column": column, "compared": int(matched.sum()), "equal": 0, "max_abs_difference": np.nan})
            identical[:] = False
            continue
        equal = _equal(merged[column], merged[other]) & matched.to_numpy()
        identical &= equal
        difference = np.nan
        if merged[column].dtype.kind in "fi" and merged[other].dtype.kind in "fi":
            gaps = (merged[column] - merged[other]).abs()[matched]
            difference = float(gaps.max()) if gaps.notna().any() else np.nan
        rows.append(
            {
                "column": column,
                "compared": int(matched.sum()),
                "equal": int(equal.sum()),
                "max_abs_difference": difference,
            }
        )
    summary = {
        "reference": len(reference),
        "matched": int(matched.sum()),
        "identical": int(identical.sum()),
        "missing": int((~matched).sum()),
    }
    return pd.DataFrame(rows), summary


def recompute_task(config: Config, name: str, repetition: int) -> pd.DataFrame:
    """One task's default-specification records, computed here through the sample store, as the grid does.

    The task is synthesized in a scratch folder, its samples written, and the records evaluated from
    the samples read back, both steps as a grid worker runs them (:func:`radlib.grid._task_records`:
    its torch and BLAS threads, which stay set in this process afterwards). The outputs go to the
    scratch folder; a dataset missing from the mirror and the cache is downloaded into ``paths.raw``
    as for any run.

    Parameters
    ----------
    config : Config
        The profile whose records are to be reproduced (e.g. ``load_config("full")``).
    name : str
        A dataset of the profile.
    repetition : int

    Returns
    -------
    DataFrame
        The task's records, comparable with :func:`compare_records`.

    Raises
    ------
    ValueError
        The dataset could not be loaded (the reason).
    """
    with tempfile.TemporaryDirectory() as scratch:
        config = config.with_overrides({"paths.processed": scratch})
        loaded, skipped = load_datasets(config, [name])
        if not loaded:
            raise ValueError(f"dataset {name!r} could not be loaded: {skipped.get(name, 'not in the profile')}")
        configs = {"default": config}
        samples, _ = _task_records(loaded[0], repetition, configs, None)
        if samples is None:  # only stored samples make _task_records skip the synthesis
            raise RuntimeError("the task was not synthesized")
        path = samples_path(config, loaded[0], repetition)
        write_samples(samples, path)
        return _task_records(loaded[0], repetition, configs, path)[1]["default"]
