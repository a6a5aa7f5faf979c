"""The command line's ``run``: its report, exit codes and errors (``audit`` is tested in test_audit.py)."""

import json
import re

import pandas as pd
import pytest

from radlib import cli, grid


@pytest.fixture
def run_args(offline_config):
    """``radlib run`` of one radMLBench dataset, one repetition, SMOTE only, into the test's folders."""
    paths = [f"paths.{name}={offline_config.path(name)}" for name in offline_config["paths"]]
    settings = [
        "synthesis.generators=[]",
        "classifiers.rf.n_estimators=10",
        "repetitions=1",
        "run.n_jobs=1",
        "datasets=[Ahn2021]",
        *paths,
    ]
    return ["run", "--profile", "smoke", *[arg for s in settings for arg in ("--set", s)]]


def test_run_reports_the_grid_and_where_it_wrote(run_args, offline_config, capsys):
    assert cli.main(run_args) == 0
    out = capsys.readouterr().out.splitlines()
    manifest_path = offline_config.path("processed") / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert re.fullmatch(
        re.escape(
            f"1 of 1 tasks done (0 reused), 0 failed, 0 failed arms, {manifest['undefined_external_folds']} of "
            f"{manifest['external_folds']} external folds with an undefined AUC, 0 datasets skipped; "
        )
        + r"\d+\.\d s "
        + re.escape(f"(the records: {manifest['wall_seconds']} s over 1 computing run(s))"),
        out[0],
    )
    assert out[1:3] == [f"records: {manifest_path.with_name('results.parquet')}", f"manifest: {manifest_path}"]
    # The smoke profile's small specification curve, evaluated from the same samples.
    assert out[3] == f"11 specification(s), records under {manifest_path.parent}:"
    assert "  logreg_r2_s0.3: 10 records in specifications/logreg_r2_s0.3/results.parquet" in out[4:]
    assert cli.main(run_args) == 0
    assert capsys.readouterr().out.startswith("1 of 1 tasks done (1 reused)")


def test_run_of_a_subset_says_where_its_records_are(run_args, offline_config, capsys):
    # Issue 21, section 4: a subset's records are named as such, never the profile's results.parquet.
    subset = [*run_args, "--set", "datasets=[Ahn2021, HNSCC]", "--datasets", "Ahn2021"]
    assert cli.main(subset) == 0
    out = capsys.readouterr().out.splitlines()
    folder = offline_config.path("processed") / grid.SUBSETS_FOLDER / "Ahn2021"
    assert out[1:3] == [f"records: {folder / 'results.parquet'}", f"manifest: {folder / 'manifest.json'}"]
    assert not (offline_config.path("processed") / "results.parquet").exists()


def test_run_on_a_locked_folder_exits_3(run_args, offline_config, capsys):
    with grid.run_lock(offline_config.path("processed")):
        assert cli.main(run_args) == 3
    assert capsys.readouterr().err.startswith("radlib: error: another radlib run is writing to")


def test_bad_override_exits_2_naming_it(capsys):
    assert cli.main(["run", "--profile", "smoke", "--set", "repetitions"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("radlib: error: ") and "repetitions" in err


def test_evaluate_reads_the_stored_samples_and_names_the_missing_synthesis(run_args, offline_config, capsys):
    evaluate = ["evaluate", *run_args[1:], "--specifications", "default", "hgb_r2_s0.1"]
    assert cli.main(evaluate) == 2
    assert "`radlib run --profile smoke`" in capsys.readouterr().err
    assert cli.main(run_args) == 0
    capsys.readouterr()
    assert cli.main(evaluate) == 0
    out = capsys.readouterr().out
    assert "2 specification(s)" in out and "hgb_r2_s0.1: 10 records" in out


def test_a_folder_that_cannot_be_written_is_one_sentence(capsys):
    code = cli.main(["run", "--profile", "smoke", "--datasets", "Ahn2021", "--set", "paths.processed=/proc/radlib-run"])
    err = capsys.readouterr().err
    assert code == 1 and err == "radlib: error: cannot use /proc/radlib-run: No such file or directory\n"


@pytest.mark.parametrize("value", ["0", "-1"])
def test_run_refuses_fewer_than_one_worker(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["run", "--profile", "smoke", "--n-jobs", value])
    assert exit_info.value.code == 2
    assert f"argument --n-jobs: must be at least 1 (local worker processes), got {value}" in capsys.readouterr().err


def test_run_publish_copies_the_records_and_every_specification_into_the_results_folder(
    run_args, offline_config, capsys
):
    assert cli.main([*run_args, "--publish"]) == 0
    tables = offline_config.path("tables")
    assert capsys.readouterr().out.splitlines()[-1] == f"published 13 files to {tables}"
    published = sorted(path.relative_to(tables).as_posix() for path in tables.rglob("*") if path.is_file())
    # records and manifest, and the study arms' records of each of the smoke curve's 11 specifications
    assert published[:2] == ["manifest.json", "records.parquet"] and len(published) == 13
    assert published[2:] == sorted(
        f"specifications/{name}.parquet" for name in grid.specification_configs(offline_config)
    )
    manifest = json.loads((tables / "manifest.json").read_text())
    for name, spec in manifest["specifications"].items():
        records = pd.read_parquet(tables / "specifications" / f"{name}.parquet")
        assert len(records) and not records["arm"].str.contains("@").any()  # the study arms, no snapshot
        assert len(records) <= spec["records"]


def test_run_publish_refuses_a_subset_some_specifications_and_another_configuration_in_a_built_in_folder(
    run_args, offline_config, capsys
):
    tables = offline_config.path("tables")
    assert cli.main([*run_args, "--publish", "--set", "datasets=[Ahn2021, HNSCC]", "--datasets", "Ahn2021"]) == 2
    assert "a run with --datasets of some of its datasets is a subset" in capsys.readouterr().err
    assert cli.main([*run_args, "--publish", "--specifications", "hgb_r2_s0.1"]) == 2
    assert "leave out --specifications" in capsys.readouterr().err
    # The built-in smoke profile's figures folder, with this run's settings: not smoke's configuration. (The
    # run would publish into the test's own results folder, so a broken refusal writes nothing of the repository.)
    assert cli.main([*run_args, "--publish", "--set", "paths.figures=figures/{profile}"]) == 2
    assert "is not the built-in smoke profile's" in capsys.readouterr().err
    assert not tables.exists()
    # --datasets naming every dataset of the profile is the whole profile, not a subset.
    assert cli.main([*run_args, "--publish", "--datasets", "Ahn2021"]) == 0
    assert (tables / "records.parquet").is_file()


def test_evaluate_has_no_publish(run_args, capsys):
    with pytest.raises(SystemExit):
        cli.main(["evaluate", *run_args[1:], "--publish"])
    assert "unrecognized arguments: --publish" in capsys.readouterr().err


def test_run_publish_after_a_failed_task_publishes_nothing(run_args, offline_config, capsys, monkeypatch):
    real_run_grid = cli.run_grid

    def failing(*args, **kwargs):
        result = real_run_grid(*args, **kwargs)
        result.manifest["tasks_failed"] = {"Ahn2021 r0": "a made-up failure"}
        return result

    monkeypatch.setattr(cli, "run_grid", failing)
    assert cli.main([*run_args, "--publish"]) == 1
    assert "not published: 1 task(s) failed; the published records are unchanged" in capsys.readouterr().out
    assert not offline_config.path("tables").exists()
