"""The ladder's placebo: the between slope with quality permuted within evaluations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from radlib.analysis.ladder.configurations import configuration_pairs
from radlib.analysis.ladder.dose import configuration_records
from radlib.analysis.within_between import decompose_within_between
from radlib.records import (
    COMPOSITE,
    evaluation_keys,
)

__all__ = ["permute_within_evaluations", "placebo_between"]


def permute_within_evaluations(records: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """A copy of ``records`` whose ``arm`` labels are permuted among the rows of each evaluation.

    Each evaluation (:func:`radlib.records.evaluation_keys`) gets an independent uniform
    permutation of its rows' arm labels; every other column stays with its row.
    """
    codes = pd.MultiIndex.from_frame(records[evaluation_keys(records)]).factorize()[0]
    arms = records["arm"].to_numpy()
    in_order = np.argsort(codes, kind="stable")
    shuffled = np.lexsort((rng.random(len(codes)), codes))
    permuted = arms.copy()
    permuted[in_order] = arms[shuffled]
    return records.assign(arm=permuted)


def _between_slope(records: pd.DataFrame, classifier: str, score: str) -> float:
    """The between slope of the decomposition on the configuration pairs of ``records`` (no bootstrap)."""
    pairs = configuration_pairs(records, classifier)
    return float(decompose_within_between(pairs, (score,), n_boot=0)["between_slope"].iloc[0])


def placebo_between(
    records: pd.DataFrame,
    classifier: str = "logreg",
    score: str = COMPOSITE,
    n_permutations: int = 200,
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """The placebo: the between slope after permuting configuration labels within each evaluation.

    The valid records of the configuration arms (:func:`radlib.records.valid_mask`) have their
    arm labels permuted within each dataset x repetition x fold
    (:func:`permute_within_evaluations`, ``n_permutations`` times from
    ``numpy.random.default_rng(seed)``); each time the configuration pair table, the composite
    and the decomposition are recomputed exactly as for the observed slope
    (:func:`configuration_pairs`, :func:`radlib.analysis.decompose_within_between` without
    bootstrap). p = (1 + #{|placebo| >= |observed|}) / (1 + n_permutations). What the placebo
    distribution centres on: see the module notes.

    Returns
    -------
    dict
        ``score``, ``classifier``, ``observed`` (between slope), ``placebo`` (ndarray of the
        placebo slopes), ``n_permutations``, ``n_finite``, ``placebo_mean``, ``placebo_median``,
        ``placebo_sd``, ``placebo_low``/``placebo_high`` (2.5 and 97.5 percentiles), ``p_value``.
    """
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be at least 1, got {n_permutations}")
    valid = configuration_records(records, classifier)
    observed = _between_slope(valid, classifier, score)
    rng = np.random.default_rng(seed)
    placebo = np.array(
        [_between_slope(permute_within_evaluations(valid, rng), classifier, score) for _ in range(n_permutations)]
    )
    finite = placebo[np.isfinite(placebo)]
    extreme = int((np.abs(finite) >= abs(observed)).sum()) if np.isfinite(observed) else 0
    return {
        "score": score,
        "classifier": classifier,
        "observed": observed,
        "placebo": placebo,
        "n_permutations": n_permutations,
        "n_finite": int(len(finite)),
        "placebo_mean": float(finite.mean()) if len(finite) else np.nan,
        "placebo_median": float(np.median(finite)) if len(finite) else np.nan,
        "placebo_sd": float(finite.std(ddof=1)) if len(finite) > 1 else np.nan,
        "placebo_low": float(np.percentile(finite, 2.5)) if len(finite) else np.nan,
        "placebo_high": float(np.percentile(finite, 97.5)) if len(finite) else np.nan,
        "p_value": (1 + extreme) / (1 + len(finite)) if np.isfinite(observed) and len(finite) else np.nan,
    }
