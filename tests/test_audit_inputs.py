"""Tests of radlib.audit.inputs: finding, reading and checking tables; loading plug-ins.

Bad inputs through the command line are tested in test_audit_run.py; the reading and cleaning
functions themselves in test_data.py.
"""

import sys

import numpy as np
import pandas as pd
import pytest
from audit_tables import make_table

from radlib import audit as A
from radlib import generators
from radlib.data import DataError, Dataset


def test_exactly_the_minimum_class_size_is_accepted(tmp_path):
    path = tmp_path / "small.csv"
    make_table(n=40, positives=A.MIN_CLASS_ROWS).to_csv(path, index=False)
    assert np.bincount(A.load_table(path, "Target").y).tolist() == [30, A.MIN_CLASS_ROWS]
    with pytest.raises(DataError, match=f"class 1 of 'Target' has {A.MIN_CLASS_ROWS} rows"):
        A.load_table(path, "Target", min_class_rows=A.MIN_CLASS_ROWS + 1)


def test_tables_with_the_same_name_are_refused(tmp_path):
    make_table().to_csv(tmp_path / "x.csv", index=False)
    make_table().to_parquet(tmp_path / "x.parquet", index=False)
    with pytest.raises(A.AuditError, match="distinct names.*x occur"):
        A.find_tables([tmp_path / "x.csv", tmp_path / "x.parquet"])


def test_a_folder_contributes_its_tables_sorted_and_a_missing_path_is_an_error(tmp_path):
    for name in ("b.csv", "a.parquet", "c.csv.gz", "notes.txt"):
        (tmp_path / name).write_text("x")
    assert [p.name for p in A.find_tables([tmp_path])] == ["a.parquet", "b.csv", "c.csv.gz"]
    assert [A.table_name(p) for p in A.find_tables([tmp_path])] == ["a", "b", "c"]
    with pytest.raises(DataError, match="does not exist"):
        A.find_tables([tmp_path / "missing.csv"])
    with pytest.raises(DataError, match="no table given"):
        A.find_tables([])


def test_a_plugin_file_is_imported_once_and_a_missing_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(generators, "_REGISTRY", dict(generators._REGISTRY))
    plugin = tmp_path / "my-plugin.py"
    plugin.write_text(
        "from radlib.generators import register\n"
        "from radlib.generators.smote import SMOTEAugmenter\n"
        "register('smote_copy', SMOTEAugmenter, replace=True)\n"
        "LOADED = globals().get('LOADED', 0) + 1\n"
    )
    module = A.load_plugin(str(plugin))
    try:
        assert module.__name__ == "radlib_plugin_my_plugin" and "smote_copy" in generators.available()
        assert A.load_plugin(str(plugin)) is module and module.LOADED == 1  # same source: not run again
        A.PluginLoader([str(plugin)]).setup()  # what each Dask worker runs: a no-op here
        assert module.LOADED == 1
    finally:
        sys.modules.pop(module.__name__, None)
    with pytest.raises(A.AuditError, match="plug-in file .*absent.py does not exist"):
        A.load_plugin(str(tmp_path / "absent.py"))
    with pytest.raises(A.AuditError, match="plug-in module 'no_such_module_here' not found"):
        A.load_plugin("no_such_module_here")


def test_a_patient_id_on_two_rows_is_refused_or_its_first_row_kept(tmp_path):
    frame = make_table(n=40)
    twice = frame.iloc[[3, 8]].assign(f0=lambda f: f["f0"] + 0.01)  # p003 and p008 again, slightly different
    frame = pd.concat([frame, twice], ignore_index=True)
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    with pytest.raises(
        DataError, match=r"2 row\(s\) repeat a patient ID \(e.g. ID 'p003' on rows 4, 41\).*--first-row-per-id"
    ):
        A.load_table(tmp_path / "cohort.csv", "Target")
    data = A.load_table(tmp_path / "cohort.csv", "Target", first_row_per_id=True)
    assert data.n == 40 and data.report["n_raw"] == 42
    assert data.report["repeated_id_rows"] == [[41, 4], [42, 9]]
    assert "2 rows of a patient ID seen before dropped (--first-row-per-id): 41 (= row 4), 42 (= row 9)" in (
        A.describe_dataset(data)
    )


def test_a_feature_that_alone_separates_the_classes_is_a_warning():
    y = np.array([0, 1] * 10)
    X = np.column_stack([y * 5.0 + 0.001 * np.arange(20), np.r_[y[:18], 0, 1][::-1], np.arange(20.0)])
    X[0, 2] = np.nan
    dataset = Dataset("t", X, y, ["copy", "other", "index"])
    # copy: AUC 1; other: the labels reversed in order, 1 - 1 = folded 1.0; index (row 0 missing): 45 of 90 (positive, negative) pairs ordered, 0.5
    found = A.separating_features(dataset)
    assert found == {"copy": 1.0, "other": 1.0}
    assert A.separating_features(dataset, threshold=0.5) == {"copy": 1.0, "other": 1.0, "index": 0.5}
