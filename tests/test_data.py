import numpy as np
import pandas as pd
import pytest

from radlib import data as data_module
from radlib.data import (
    DataError,
    check_name,
    clean_table,
    list_datasets,
    load_dataset,
    load_datasets,
    locate_dataset,
    overview_table,
    read_table,
)


def _table(n=20, seed=0, **extra):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "ID": [f"p{i}" for i in range(n)],
            "Target": np.arange(n) % 2,
            "f1": rng.normal(size=n),
            "f2": rng.normal(size=n),
        }
    )
    for name, values in extra.items():
        frame[name] = values
    return frame


def _write_gz(path, frame):
    frame.to_csv(path, index=False, compression="gzip")
    return path


def _offline_with_mirror(config, mirror):
    return config.with_overrides({"data.mirror_dir": str(mirror)})


def test_radmlbench_lists_fifty_datasets():
    names = list_datasets()
    assert len(names) == 50
    assert {"Ahn2021", "PI-CAI", "Zhang2024B"} <= set(names)


def test_unknown_name_suggests_close_names():
    with pytest.raises(DataError, match=r"unknown radMLBench dataset 'Ahn2012'.*Did you mean: Ahn2021"):
        check_name("Ahn2012")


def test_clean_drops_and_reports_columns():
    n = 20
    frame = _table(
        n,
        text=["a"] * n,
        empty=[np.nan] * n,
        flat=[3.0] * n,
        inf=[np.inf, -np.inf] + [float(i % 5) for i in range(n - 2)],
        flag=[True, False] * (n // 2),
    )
    data = clean_table(frame, "toy")
    assert data.feature_names == ["f1", "f2", "inf", "flag"]
    assert data.report["dropped"] == {
        "non_numeric": ["text"],
        "all_missing": ["empty"],
        "constant": ["flat"],
        "excluded": [],
    }
    assert data.report["infinite_values"] == 2
    assert np.isnan(data.X[:2, 2]).all()  # +-inf became missing
    assert data.report["p_raw"] == 7 and data.report["p_clean"] == 4
    assert data.y.tolist() == (np.arange(n) % 2).tolist()


@pytest.mark.parametrize("target", [[True, False] * 10, ["0", "1"] * 10, [0.0, 1.0] * 10])
def test_bool_and_string_targets_are_accepted(target):
    data = clean_table(_table(20, Target=target), "toy")
    expected = [1, 0] * 10 if target[0] is True else [0, 1] * 10
    assert data.y.tolist() == expected


@pytest.mark.parametrize(
    "target, message",
    [
        ([0, 1, 2, 0] * 5, "target must be binary.*3 values"),
        (["yes", "no"] * 10, r"target values \['no', 'yes'\] are not 0/1.*--positive-class VALUE"),
        ([1, 2] * 10, r"target values \['1', '2'\] are not 0/1.*--positive-class"),
        ([1] * 20, "single class"),
        ([0, 1, None, 1] * 5, "missing values"),
    ],
)
def test_non_binary_target_is_a_clear_error(target, message):
    with pytest.raises(DataError, match=message):
        clean_table(_table(20, Target=target), "toy")


@pytest.mark.parametrize(
    "target, positive, expected",
    [
        (["M", "B"] * 10, "M", [1, 0] * 10),
        (["yes", "no"] * 10, "no", [0, 1] * 10),
        ([1, 2] * 10, "2", [0, 1] * 10),
        ([-1, 1] * 10, "-1", [1, 0] * 10),
        ([0.0, 1.0] * 10, "0", [1, 0] * 10),  # 0/1 with the positive class named: 0 becomes 1
    ],
)
def test_positive_class_codes_a_two_valued_target(target, positive, expected):
    data = clean_table(_table(20, Target=target), "toy", positive_class=positive)
    assert data.y.tolist() == expected and data.report["positive_class"] == positive


@pytest.mark.parametrize(
    "target, positive, message",
    [
        (["M", "B"] * 10, "X", r"positive class 'X' is not a value of the target; its values are \['B', 'M'\]"),
        (["1", 1] * 10, "1", "positive class '1' matches more than one value of the target"),
        (["M", "B", "U", "M"] * 5, "M", "target must be binary.*found 3 values"),
        (["M"] * 20, "M", r"single class \(M\)"),
    ],
)
def test_positive_class_refuses_what_stays_ambiguous(target, positive, message):
    with pytest.raises(DataError, match=message):
        clean_table(_table(20, Target=target), "toy", positive_class=positive)


def test_extreme_values_become_missing_and_are_counted_with_their_columns():
    frame = _table(20, big=[1e308, -1e200, 1e100] + [float(i) for i in range(17)])
    frame.loc[3, "f1"] = -3e101
    data = clean_table(frame, "toy")
    big = data.feature_names.index("big")
    assert np.isnan(data.X[:2, big]).all() and data.X[2, big] == 1e100  # the limit itself is a value
    assert np.isnan(data.X[3, data.feature_names.index("f1")])
    assert data.report["extreme_values"] == 3 and data.report["extreme_value_columns"] == ["f1", "big"]
    assert data.report["infinite_values"] == 0 and data.report["missing_values"] == 3


@pytest.mark.parametrize(
    "column, values, reason",
    [
        ("PatientNo", [3, 1, 2, 2] * 5, "named like an identifier"),
        ("case_id", [7.0] * 19 + [np.nan], "named like an identifier"),
        ("subject", list(range(20)), "named like an identifier"),
        ("record", list(range(100, 120)), "a different integer in every row"),
    ],
)
def test_a_numeric_column_that_looks_like_an_identifier_is_refused_naming_it(column, values, reason):
    with pytest.raises(
        DataError,
        match=rf"'{column}' look\(s\) like a patient identifier \({column}: {reason}.*"
        rf"--id {column}, or use it as a feature with --keep {column}",
    ):
        clean_table(_table(20, **{column: values}), "toy")
    kept = clean_table(_table(20, **{column: values}), "toy", keep=[column])
    assert column in kept.feature_names or column in kept.report["dropped"]["constant"]
    assert kept.report["kept_identifier_like"] == [column]
    dropped = clean_table(_table(20, **{column: values}), "toy", id_column=["ID", column])
    assert column not in dropped.feature_names and dropped.report["id_columns"] == ["ID", column]


def test_float_features_named_like_id_and_repeated_integers_are_features():
    """pyradiomics' GLCM feature ``Id`` (inverse difference) is a float; a count with repeats is a feature."""
    rng = np.random.default_rng(1)
    data = clean_table(_table(20, Id=rng.uniform(0.2, 0.9, 20), voxels=[5, 9, 9, 12] * 5), "toy")
    assert data.feature_names == ["f1", "f2", "Id", "voxels"]


def test_the_target_cannot_be_the_id_or_a_kept_column():
    with pytest.raises(DataError, match="'Target' is both the target and an ID column"):
        clean_table(_table(20), "toy", id_column="Target")
    with pytest.raises(DataError, match="column 'Target' cannot be kept as a feature"):
        clean_table(_table(20), "toy", keep=["Target"])


def test_repeated_rows_are_counted_and_dropped_on_request():
    frame = _table(20)
    frame = pd.concat([frame, frame.iloc[[4, 4, 7]]], ignore_index=True)  # rows 21, 22 repeat row 5; 23 row 8
    frame["ID"] = [f"p{i}" for i in range(len(frame))]  # a repeated patient under new IDs: still a repeat
    kept = clean_table(frame, "toy")
    assert kept.n == 23 and kept.report["duplicate_rows"] == [[21, 5], [22, 5], [23, 8]]
    assert not kept.report["duplicate_rows_dropped"]
    dropped = clean_table(frame, "toy", drop_duplicates=True)
    assert dropped.n == 20 and dropped.report["n_raw"] == 23 and dropped.report["duplicate_rows_dropped"]
    np.testing.assert_array_equal(dropped.X, clean_table(_table(20), "toy").X)
    frame.loc[22, "Target"] = 1 - frame.loc[22, "Target"]  # same features, other outcome: not a repeat
    assert clean_table(frame, "toy").report["duplicate_rows"] == [[21, 5], [22, 5]]


def test_no_usable_feature_left():
    frame = pd.DataFrame({"ID": range(6), "Target": [0, 1] * 3, "c": [1.0] * 6, "s": list("abcdef")})
    with pytest.raises(DataError, match="no usable feature left.*1 non_numeric.*1 constant"):
        clean_table(frame, "toy")


def test_missing_target_column_lists_columns():
    with pytest.raises(DataError, match=r"target column 'Target' not found; columns are \['ID', 'f1', 'f2'\]"):
        clean_table(_table().drop(columns="Target"), "toy")


def test_header_only_and_empty_files(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataError, match="is empty"):
        read_table(empty)
    header = tmp_path / "header.csv"
    header.write_text("ID,Target,f1\n")
    with pytest.raises(DataError, match="header but no rows"):
        clean_table(read_table(header), "header")


def test_truncated_gzip_names_the_file(tmp_path, offline_config):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    good = _write_gz(tmp_path / "good.gz", _table(200))
    (mirror / "Ahn2021.gz").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    config = _offline_with_mirror(offline_config, mirror)
    with pytest.raises(DataError, match=r"Ahn2021.*Ahn2021\.gz is truncated or corrupt"):
        load_dataset("Ahn2021", config)
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_table(mirror / "Ahn2021.gz")


def test_not_gzip_names_the_file(tmp_path, offline_config):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "HNSCC.gz").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"HNSCC\.gz is truncated or corrupt"):
        load_dataset("HNSCC", _offline_with_mirror(offline_config, mirror))


def test_binary_file_is_not_a_text_table(tmp_path):
    path = tmp_path / "image.csv"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(DataError, match="image.csv"):
        read_table(path)


def test_mirror_is_read_in_place_and_cache_is_second(tmp_path, offline_config):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _write_gz(mirror / "Ahn2021.gz", _table(30, seed=1))
    cache = offline_config.path("raw")
    cache.mkdir(parents=True)
    _write_gz(cache / "HNSCC.gz", _table(40, seed=2))
    config = _offline_with_mirror(offline_config, mirror)
    assert locate_dataset("Ahn2021", config).source == "mirror"
    assert locate_dataset("HNSCC", config).source == "cache"
    data = load_dataset("HNSCC", config)
    assert data.n == 40 and data.metadata["modality"] == "CT"
    assert sorted(p.name for p in mirror.iterdir()) == ["Ahn2021.gz"]  # nothing written to the mirror


def test_unavailable_offline_is_reported_not_raised(tmp_path, offline_config):
    config = _offline_with_mirror(offline_config, tmp_path / "nowhere")
    where = locate_dataset("PI-CAI", config)
    assert not where.available and "downloads are off" in where.reason
    datasets, skipped = load_datasets(config, ["PI-CAI", "Ahn2021"])
    assert datasets == [] and set(skipped) == {"PI-CAI", "Ahn2021"}
    assert "unavailable" in skipped["PI-CAI"]


def test_failed_download_is_reported(tmp_path, offline_config, monkeypatch):
    import radMLBench.radMLBench as rmb

    def refuse(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(rmb.requests, "get", refuse)
    config = _offline_with_mirror(offline_config, tmp_path / "nowhere").with_overrides({"data.download": True})
    assert locate_dataset("PI-CAI", config).source == "download"
    _, skipped = load_datasets(config, ["PI-CAI"])
    assert "download failed (ConnectionError: no route to host)" in skipped["PI-CAI"]


def test_a_download_prints_nothing(tmp_path, offline_config, monkeypatch, capsys):
    # radMLBench prints "Downloading to <absolute cache path>..." to stdout, which reached report page 04.
    import radMLBench.radMLBench as rmb

    def refuse(*args, **kwargs):
        raise ConnectionError("no route to host")

    monkeypatch.setattr(rmb.requests, "get", refuse)
    config = _offline_with_mirror(offline_config, tmp_path / "nowhere").with_overrides({"data.download": True})
    _, skipped = load_datasets(config, ["PI-CAI"])
    assert "download failed" in skipped["PI-CAI"] and capsys.readouterr().out == ""


def test_shared_mirror_has_43_of_50(mirror_config):
    table = overview_table(mirror_config.with_overrides({"datasets": "all"}))
    assert len(table) == 50
    assert table["available"].sum() == 43
    missing = set(table.loc[~table["available"], "dataset"])
    assert missing == {
        "BraTS-2021",
        "Hunter2023",
        "PI-CAI",
        "Prostate-MRI-US-Biopsy",
        "UCSF-PDGM",
        "UPENN-GBM",
        "Zhang2024A",
    }
    # Cleaned sizes agree with radMLBench's metadata (n exactly; p after dropping ID/Target/broken).
    ok = table[table["available"]]
    assert (ok["n"] == ok["n_metadata"]).all()
    assert (ok["p_clean"] <= ok["p_metadata"]).all()


def test_bool_target_dataset_from_mirror(mirror_config):
    data = load_dataset("Fusco2022", mirror_config)
    assert set(np.unique(data.y)) == {0, 1}
    assert data.X.dtype == float and not np.isinf(data.X).any()


@pytest.mark.parametrize(
    "column, values, reason",
    [
        ("Accession", [501, 501, 502, 502, 503, 503, 777, 777] * 1, "named like an identifier"),
        ("MRN", [9_000_123.0, np.nan, 9_000_077.0, 9_000_045.0, 9_001_999.0, 9_000_500.0, 9_000_006.0, 9_000_001.0],
         "named like an identifier"),
        ("study_instance_uid", [4, 8, 15, 16, 23, 42, 108, 4], "named like an identifier"),
        ("sopinstanceUID", [1, 2, 3, 4, 5, 6, 7, 8], "named like an identifier"),
        ("rowkey", [10, 12, 13, 19, 30, 31, 40, 41], "numbered in file order"),
        ("rowkey", [5, 2, 8, 1, 3, 7, 6, 4], "a dense numbering"),
        ("rowkey", [70, 70, 12, 12, 12, 5, 5, 40], "repeated in blocks of consecutive rows"),
    ],
)  # fmt: skip
def test_identifiers_by_name_in_any_case_or_by_values(column, values, reason):
    assert reason in data_module.identifier_reason(column, np.asarray(values, float))


@pytest.mark.parametrize(
    "column, values",
    [
        ("original_shape_VoxelVolume", [10, 11, 12, 13, 14, 15, 16, 17]),  # a pyradiomics feature, even in order
        ("VoxelCount", [1033, 87, 45_001, 912, 3_500, 77_777, 640, 12_345]),  # distinct, unordered, sparse
        ("energy", [2.0**53, 2.0**54, 3 * 2.0**53, 2.0**55, 2.0**53 + 2, 2.0**56, 5 * 2.0**53, 2.0**57]),
        ("grade", [1, 2, 1, 3, 3, 2, 1, 2]),  # repeated, not in blocks
        ("original_glcm_Id", [0.2, 0.4, 0.3, 0.9, 0.5, 0.6, 0.1, 0.7]),
        ("Study", [1] * 20 + [2] * 20),  # a centre, not a study UID (that needs the suffix); sorted, but few values
    ],
)
def test_measurements_are_not_identifiers(column, values):
    assert data_module.identifier_reason(column, np.asarray(values, float)) is None


def test_the_suggested_id_is_shell_quoted():
    frame = _table(20, **{"Unnamed: 0": list(range(20))})
    with pytest.raises(
        DataError, match=r"Drop it with --id 'Unnamed: 0', or use it as a feature with --keep 'Unnamed: 0'"
    ):
        clean_table(frame, "toy")


def test_columns_with_an_excluded_prefix_are_listed_and_ignored_by_the_repeat_check():
    frame = _table(20, diagnostics_Versions_PyRadiomics=["v3.1.0"] * 20, diagnostics_Mask_VoxelNum=list(range(20)))
    frame = pd.concat([frame, frame.iloc[[4]].assign(diagnostics_Mask_VoxelNum=99)], ignore_index=True)
    data = clean_table(frame, "toy", excluded_prefixes=("diagnostics_",))
    assert data.report["dropped"]["excluded"] == ["diagnostics_Versions_PyRadiomics", "diagnostics_Mask_VoxelNum"]
    assert data.feature_names == ["f1", "f2"] and data.report["p_raw"] == 4
    assert data.report["duplicate_rows"] == [[21, 5]]


@pytest.mark.parametrize(
    "suffix, start", [(".xlsx", b"PK\x03\x04rest"), (".csv", b"PK\x03\x04rest"), (".xls", b"a,b\n")]
)
def test_a_spreadsheet_says_save_it_as_csv(tmp_path, suffix, start):
    path = tmp_path / f"cohort{suffix}"
    path.write_bytes(start)
    with pytest.raises(DataError, match="is a spreadsheet workbook .*save the sheet as CSV"):
        read_table(path)
