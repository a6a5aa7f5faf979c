"""The ladder's pair table of the configurations (generator x training fraction) and its nested sets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from radlib.analysis.pairs import METRICS, pair_table
from radlib.analysis.scores import add_composite, orient_quality
from radlib.records import (
    COMPOSITE,
    configuration_arms,
    parse_arm,
)

__all__ = [
    "sets_or_nested",
    "pair_values",
    "DELTA_AUC",
    "SCORES",
    "configuration_pairs",
    "nested_sets",
    "restrict_to_set",
]


#: The quality scores of every ladder analysis: the five metrics and the composite (primary).
SCORES = (*METRICS, COMPOSITE)
#: The name of ΔAUC among the quantities of :func:`variance_explained` and :func:`dose_response`.
DELTA_AUC = "delta_auc"


def configuration_pairs(
    records: pd.DataFrame, classifier: str = "logreg", datasets: Iterable[str] | None = None
) -> pd.DataFrame:
    """The pair table of the configurations: one row per (dataset, generator arm), with the composite.

    :func:`radlib.analysis.pair_table` (means over the valid evaluations; snapshot arms are arms
    of their own there), restricted to the generator arms (SMOTE out), with ``generator`` and
    ``fraction`` parsed from the arm (:func:`radlib.records.parse_arm`) and the ``composite``
    computed over all these pairs together (see the module notes). ``attrs["exclusions"]`` is
    the pair table's exclusion report: for the random forest it lists the snapshot pairs, which
    have no valid evaluation because the forest was not trained on them.
    """
    pairs = pair_table(records, classifier, datasets, arms="all")
    exclusions = dict(pairs.attrs["exclusions"])
    ladder = pairs[pairs["arm"].isin(configuration_arms(pairs["arm"]))].reset_index(drop=True)
    parsed = [parse_arm(arm) for arm in ladder["arm"]]
    ladder.insert(2, "generator", [generator for generator, _ in parsed])
    ladder.insert(3, "fraction", [fraction for _, fraction in parsed])
    ladder = add_composite(ladder)
    ladder.attrs.update(classifier=classifier, exclusions=exclusions)
    return ladder


def nested_sets(pairs: pd.DataFrame) -> dict[str, tuple[float, ...]]:
    """The nested sets of training fractions present: ``S1`` = the largest, ``S2`` = the two largest, ...

    With the default snapshots: ``{"S1": (1.0,), "S2": (0.25, 1.0), "S3": (0.0625, 0.25, 1.0)}``.
    """
    fractions = sorted(set(pairs["fraction"].astype(float)), reverse=True)
    if not fractions:
        raise ValueError("the pair table holds no configuration")
    return {f"S{k}": tuple(sorted(fractions[:k])) for k in range(1, len(fractions) + 1)}


def restrict_to_set(pairs: pd.DataFrame, fractions: Sequence[float]) -> pd.DataFrame:
    """The pairs whose training fraction is one of ``fractions`` (the composite is kept as it is)."""
    subset = pairs[pairs["fraction"].isin(list(fractions))]
    subset.attrs = dict(pairs.attrs)
    return subset


def sets_or_nested(pairs: pd.DataFrame, sets: Mapping[str, Sequence[float]] | None) -> dict[str, tuple[float, ...]]:
    """``sets`` as name -> fractions, or the nested sets of ``pairs`` (:func:`nested_sets`) when None."""
    return nested_sets(pairs) if sets is None else {name: tuple(f) for name, f in sets.items()}


def pair_values(pairs: pd.DataFrame, quantity: str) -> pd.Series:
    """ΔAUC or a quality score (:func:`radlib.analysis.orient_quality`) of each pair."""
    return pairs[DELTA_AUC].astype(float) if quantity == DELTA_AUC else orient_quality(pairs, quantity).astype(float)
