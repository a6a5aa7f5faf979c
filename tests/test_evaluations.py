"""The count of undefined external AUCs: per evaluation (dataset × repetition × fold), not per task."""

import math

import pandas as pd

from radlib.evaluations import UndefinedCount, count_undefined, undefined_by_evaluation


def _records(rows):
    return pd.DataFrame(rows, columns=["dataset", "repetition", "fold", "arm", "undefined"])


def test_an_undefined_second_fold_counts_although_the_first_fold_of_its_task_is_defined():
    # Two tasks with three folds each and two arms per fold; folds (a, 0, 2) and (b, 1, 0) are undefined.
    rows = [
        (dataset, repetition, fold, arm, (dataset, repetition, fold) in {("a", 0, 2), ("b", 1, 0)})
        for dataset, repetition in (("a", 0), ("b", 1))
        for fold in range(3)
        for arm in ("real", "cvae")
    ]
    count = count_undefined(_records(rows))
    assert (count.undefined, count.total) == (2, 6)
    assert math.isclose(count.share, 1 / 3)


def test_version_1_records_without_folds_count_one_evaluation_per_repetition():
    records = _records([("a", 0, 0, "real", True), ("a", 1, 0, "real", False)]).drop(columns="fold")
    assert undefined_by_evaluation(records).to_dict() == {("a", 0): True, ("a", 1): False}


def test_the_sentence_names_the_unit_and_the_share():
    assert UndefinedCount(26, 2150).sentence() == (
        "undefined external AUC: 26 of 2150 external evaluations (dataset × repetition × fold), 1.2%"
    )
    assert math.isnan(count_undefined(_records([])).share)
