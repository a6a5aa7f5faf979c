"""The notebooks' helpers: which records they use, the smoke line, clean outputs, git's view of a save."""

import json
from pathlib import Path

import pandas as pd
import pytest

from radlib.analysis import CHANCE_FILE
from radlib.config import load_config
from radlib.notebook import (
    RecordsUnavailableError,
    load_chance_table,
    load_records,
    profile_line,
    records_line,
    shown_path,
    skipped_line,
    source_line,
)

ROOT = Path(__file__).resolve().parents[1]


def _store(folder, records_name, config_hash, rows=3, manifest_hash=None):
    """Records of ``config_hash`` (and their manifest) as the grid or publish_records writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    records = pd.DataFrame({"dataset": [f"d{i}" for i in range(rows)], "config_hash": config_hash})
    records.to_parquet(folder / records_name, index=False)
    manifest = {
        "config_hash": manifest_hash or config_hash,
        "records": rows,
        "tasks_ok": rows,
        "tasks_total": rows,
        "external_folds": 5 * rows,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder / records_name


@pytest.fixture
def config(offline_config):
    return offline_config


def test_records_of_the_grid_come_first(config, capsys):
    grid_output = _store(config.path("processed"), "results.parquet", config.hash, rows=2)
    _store(config.path("tables"), "records.parquet", config.hash, rows=5)
    result = load_records(config)
    assert result.results_path == grid_output and len(result.records) == 2
    assert result.manifest["config_hash"] == config.hash and result.manifest["records"] == 2
    assert (
        capsys.readouterr().out
        == f"records: configuration {config.hash}, 2 records (2 of 2 tasks, 10 external evaluations)\n"
    )


def test_committed_records_are_used_when_the_grid_output_is_absent(config, capsys):
    committed = _store(config.path("tables"), "records.parquet", config.hash, rows=5)
    result = load_records(config)
    assert result.results_path == committed and len(result.records) == 5
    assert result.manifest_path == config.path("tables") / "manifest.json"
    assert (
        capsys.readouterr().out
        == f"records: configuration {config.hash}, 5 records (5 of 5 tasks, 25 external evaluations)\n"
    )


def test_the_same_records_print_the_same_line_from_the_grid_s_output_and_the_committed_copy(config, capsys):
    _store(config.path("tables"), "records.parquet", config.hash, rows=4)
    load_records(config)
    from_committed = capsys.readouterr().out
    _store(config.path("processed"), "results.parquet", config.hash, rows=4)
    assert load_records(config).results_path.name == "results.parquet"
    assert capsys.readouterr().out == from_committed
    assert str(config.root) not in from_committed and "parquet" not in from_committed


def test_grid_output_of_another_configuration_gives_way_to_matching_committed_records(config, capsys):
    _store(config.path("processed"), "results.parquet", "0123456789ab", rows=2)
    committed = _store(config.path("tables"), "records.parquet", config.hash, rows=5)
    assert load_records(config).results_path == committed
    assert "0123456789ab" not in capsys.readouterr().out  # the line names the records used


def test_records_of_another_configuration_are_never_used(config):
    _store(config.path("processed"), "results.parquet", "0123456789ab")
    _store(config.path("tables"), "records.parquet", "75771e64d46f")
    with pytest.raises(RecordsUnavailableError) as error:
        load_records(config)
    message = str(error.value)
    assert f"configuration {config.hash}" in message
    assert "are of configuration 0123456789ab" in message and "are of configuration 75771e64d46f" in message
    assert "make grid PROFILE=smoke" in message and "recompute = True" in message
    assert len(message.splitlines()) == 1


def test_no_records_at_all_says_what_to_run_in_one_line(config):
    with pytest.raises(RecordsUnavailableError, match=r"yet; run `make grid PROFILE=smoke`") as error:
        load_records(config)
    # In a notebook IPython shows this line instead of a traceback.
    assert error.value._render_traceback_() == [f"RecordsUnavailableError: {error.value}"]


def test_records_that_contradict_their_manifest_are_refused(config):
    _store(config.path("tables"), "records.parquet", "0123456789ab", manifest_hash=config.hash)
    with pytest.raises(RecordsUnavailableError, match=r"holds records of configuration\(s\) \['0123456789ab'\]"):
        load_records(config)


def test_a_missing_manifest_means_no_records(config):
    (config.path("tables") / "manifest.json").parent.mkdir(parents=True)
    pd.DataFrame({"config_hash": [config.hash]}).to_parquet(config.path("tables") / "records.parquet")
    with pytest.raises(RecordsUnavailableError, match="yet"):
        load_records(config)


def test_recompute_runs_the_grid_and_publishes_it_only_when_asked(mirror_config, capsys):
    config = mirror_config.with_overrides(
        {"synthesis.generators": [], "repetitions": 1, "datasets": ["Ahn2021", "BraTS-2021"], "run.n_jobs": 1}
    )
    stale = _store(config.path("tables"), "records.parquet", "0123456789ab")
    result = load_records(config, recompute=True, show_progress=False)
    assert result.results_path == config.path("processed") / "results.parquet"
    assert result.manifest["tasks_ok"] == 1 and result.manifest["config_hash"] == config.hash
    out, err = capsys.readouterr()
    assert (
        out
        == f"records: configuration {config.hash}, {len(result.records)} records (1 of 1 tasks, 5 external evaluations)\n"
    )
    assert "dataset skipped" not in err  # the skipped dataset is skipped_line's, from the manifest
    assert skipped_line(result.manifest).startswith("1 of 2 datasets skipped, not available here: BraTS-2021")
    assert pd.read_parquet(stale)["config_hash"].tolist() == ["0123456789ab"] * 3  # exploring publishes nothing
    load_records(config, recompute=True, publish=True, show_progress=False)
    reread = load_records(config)  # the grid's output from now on
    assert reread.results_path == result.results_path
    published = pd.read_parquet(config.path("tables") / "records.parquet")
    pd.testing.assert_frame_equal(published, result.records)


def _chance(config_hash, datasets=("Ahn2021", "HNSCC")):
    return pd.DataFrame(
        {
            "dataset": list(datasets),
            "auc": 0.8,
            "p_value": 0.01,
            "significant": True,
            "dataset_fingerprint": "f",
            "config_hash": config_hash,
        }
    )


def test_chance_table_comes_from_the_committed_copy_when_it_matches(config):
    committed = config.path("tables") / CHANCE_FILE
    committed.parent.mkdir(parents=True)
    _chance(config.hash).to_parquet(committed, index=False)
    table = load_chance_table(config)
    assert table.attrs["cached"] and list(table["dataset"]) == ["Ahn2021", "HNSCC"]
    assert (config.path("interim") / CHANCE_FILE).exists()


def test_chance_table_in_the_cache_is_published_only_when_asked(config):
    cached = config.path("interim") / CHANCE_FILE
    cached.parent.mkdir(parents=True)
    _chance(config.hash, datasets=("Wang2024",)).to_parquet(cached, index=False)
    load_chance_table(config)
    assert not (config.path("tables") / CHANCE_FILE).exists()
    load_chance_table(config, publish=True)
    published = pd.read_parquet(config.path("tables") / CHANCE_FILE)
    assert list(published["dataset"]) == ["Wang2024"]


def test_profile_line_marks_the_smoke_profile_only():
    smoke, full = load_config("smoke"), load_config("full")
    line = profile_line(smoke)
    assert line.startswith(
        f"profile smoke, configuration {smoke.hash}. SMOKE PROFILE: 4 small datasets × 2 repetitions"
    )
    assert "not results" in line and len(line.splitlines()) == 1
    assert profile_line(full) == f"profile full, configuration {full.hash}"


def test_shown_path_is_relative_under_the_root_and_full_elsewhere(tmp_path):
    # An output folder outside the project (paths.* may be absolute) must print, not raise.
    config = load_config("smoke")
    assert shown_path(config.root / "figures" / "smoke" / "a.png", config) == "figures/smoke/a.png"
    assert shown_path(tmp_path / "a.png", config) == str(tmp_path / "a.png")


def test_records_line_names_the_configuration_and_counts_not_the_file():
    manifest = {"config_hash": "abc123", "tasks_ok": 9, "tasks_total": 10, "external_folds": 45}
    assert records_line(pd.DataFrame({"arm": ["real"] * 7}), manifest) == (
        "records: configuration abc123, 7 records (9 of 10 tasks, 45 external evaluations)"
    )


def test_skipped_line_lists_names_without_their_paths():
    manifest = {
        "datasets_requested": 3,
        "datasets_skipped": {"Zeta": "not in mirror /home/a/mirror or cache /home/a/raw", "Alpha": "not in mirror"},
    }
    line = skipped_line(manifest)
    assert line == "2 of 3 datasets skipped, not available here: Alpha, Zeta (notebook 01 lists why)"
    assert "/" not in line


def test_source_line_names_the_settings_not_the_machine_s_folders(config):
    with_mirror = config.with_overrides({"data.mirror_dir": "/somewhere/on/this/machine", "data.download": False})
    line = source_line(with_mirror)
    assert (
        line
        == f"raw data: a local radMLBench mirror (data.mirror_dir), then the cache {config['paths']['raw']}/; downloads off"
    )
    assert "/somewhere" not in line
    assert source_line(config.with_overrides({"data.mirror_dir": "", "data.download": True})).endswith("; downloads on")


def test_an_earlier_engines_records_are_used_when_the_settings_agree():
    """The committed v2 manifest's configuration and the v3 full profile compute the same default records
    (v3 only adds settings whose defaults keep them); a changed protocol setting does not."""
    import json

    from radlib.config import load_config
    from radlib.notebook import computes_same_records

    stored = json.loads((load_config("full").root / "results" / "full" / "manifest.json").read_text())["config"]
    full = load_config("full")
    assert computes_same_records(stored, full)
    assert not computes_same_records(stored, full.with_overrides({"shift.severity": 0.2}))
    assert not computes_same_records(
        stored,
        full.with_overrides({"evaluation.classifiers": ["logreg"], "evaluation.predictor_classifiers": ["logreg"]}),
    )
