"""External evaluations and their undefined AUCs: the one count every page reports.

An *evaluation* is one site-fold of one repetition of one dataset
(:data:`radlib.records.EVALUATION_KEYS`; version-1 records have no fold, one evaluation per
repetition). Its external AUC is undefined when the external site holds a single class: the
``undefined`` flag of every arm of the evaluation. The grid's manifest
(``undefined_external_folds`` of ``external_folds``), the exclusion report of the pair table
(``evaluations_undefined`` of ``evaluations_total``) and notebook 04 count the same thing, and
this module is where it is counted (:func:`count_undefined`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from radlib.records import evaluation_keys

__all__ = ["EVALUATION_UNIT", "undefined_by_evaluation", "UndefinedCount", "count_undefined"]

#: What one evaluation is, in prose.
EVALUATION_UNIT = "external evaluations (dataset × repetition × fold)"


def undefined_by_evaluation(records: pd.DataFrame) -> pd.Series:
    """Per evaluation (indexed by :func:`radlib.records.evaluation_keys`): whether its external AUC is undefined.

    An evaluation counts as undefined when any of its records says so (all its arms share the
    external site, so they agree).

    Examples
    --------
    >>> records = pd.DataFrame(
    ...     {"dataset": ["a"] * 4, "repetition": [0, 0, 1, 1], "fold": [0, 1, 0, 0],
    ...      "arm": ["real", "real", "real", "cvae"], "undefined": [False, True, False, False]}
    ... )
    >>> undefined_by_evaluation(records).tolist()
    [False, True, False]
    """
    if records.empty:
        return pd.Series(dtype=bool)
    return records.groupby(evaluation_keys(records))["undefined"].any().astype(bool)


@dataclass(frozen=True)
class UndefinedCount:
    """How many external evaluations have an undefined AUC, of how many."""

    undefined: int
    total: int

    @property
    def share(self) -> float:
        """The undefined share of the evaluations (NaN without any)."""
        return self.undefined / self.total if self.total else float("nan")

    def sentence(self) -> str:
        """``undefined external AUC: 26 of 2150 external evaluations (dataset × repetition × fold), 1.2%``.

        >>> UndefinedCount(26, 2150).sentence()
        'undefined external AUC: 26 of 2150 external evaluations (dataset × repetition × fold), 1.2%'
        """
        return f"undefined external AUC: {self.undefined} of {self.total} {EVALUATION_UNIT}, {100 * self.share:.1f}%"


def count_undefined(records: pd.DataFrame) -> UndefinedCount:
    """The evaluations of ``records`` with an undefined external AUC, and all of them.

    Parameters
    ----------
    records : DataFrame
        Records with ``dataset``, ``repetition``, ``undefined`` and (version 2) ``fold``.

    Returns
    -------
    UndefinedCount
    """
    flags = undefined_by_evaluation(records)
    return UndefinedCount(int(flags.sum()), int(len(flags)))
