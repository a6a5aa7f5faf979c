import numpy as np
import pandas as pd
import pytest

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
        inf=[np.inf, -np.inf] + list(range(n - 2)),
        flag=[True, False] * (n // 2),
    )
    data = clean_table(frame, "toy")
    assert data.feature_names == ["f1", "f2", "inf", "flag"]
    assert data.report["dropped"] == {"non_numeric": ["text"], "all_missing": ["empty"], "constant": ["flat"]}
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
        (["yes", "no"] * 10, "target must be binary"),
        ([1] * 20, "single class"),
        ([0, 1, None, 1] * 5, "missing values"),
    ],
)
def test_non_binary_target_is_a_clear_error(target, message):
    with pytest.raises(DataError, match=message):
        clean_table(_table(20, Target=target), "toy")


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
