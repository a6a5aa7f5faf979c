"""The notebooks' helpers: which records they use, the smoke line, clean outputs, git's view of a save."""

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from radlib.analysis import CHANCE_FILE
from radlib.config import load_config
from radlib.notebook import (
    RecordsUnavailableError,
    load_chance_table,
    load_records,
    output_problems,
    profile_line,
    refresh_git_index,
    settle_injected_cell,
    shown_path,
)

ROOT = Path(__file__).resolve().parents[1]


def _store(folder, records_name, config_hash, rows=3, manifest_hash=None):
    """Records of ``config_hash`` (and their manifest) as the grid or publish_records writes them."""
    folder.mkdir(parents=True, exist_ok=True)
    records = pd.DataFrame({"dataset": [f"d{i}" for i in range(rows)], "config_hash": config_hash})
    records.to_parquet(folder / records_name, index=False)
    manifest = {"config_hash": manifest_hash or config_hash, "records": rows}
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
    assert result.manifest == {"config_hash": config.hash, "records": 2}
    assert "the grid's output" in capsys.readouterr().out


def test_committed_records_are_used_when_the_grid_output_is_absent(config, capsys):
    committed = _store(config.path("tables"), "records.parquet", config.hash, rows=5)
    result = load_records(config)
    assert result.results_path == committed and len(result.records) == 5
    assert result.manifest_path == config.path("tables") / "manifest.json"
    assert f"the committed records of configuration {config.hash}" in capsys.readouterr().out


def test_grid_output_of_another_configuration_gives_way_to_matching_committed_records(config, capsys):
    _store(config.path("processed"), "results.parquet", "0123456789ab", rows=2)
    committed = _store(config.path("tables"), "records.parquet", config.hash, rows=5)
    assert load_records(config).results_path == committed
    assert "are of configuration 0123456789ab" in capsys.readouterr().out


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


def test_recompute_runs_the_grid_and_publishes_it(mirror_config, capsys):
    config = mirror_config.with_overrides(
        {"synthesis.generators": [], "repetitions": 1, "datasets": ["Ahn2021"], "run.n_jobs": 1}
    )
    _store(config.path("tables"), "records.parquet", "0123456789ab")  # stale committed records are replaced
    result = load_records(config, recompute=True, show_progress=False)
    assert result.results_path == config.path("processed") / "results.parquet"
    assert result.manifest["tasks_ok"] == 1 and result.manifest["config_hash"] == config.hash
    assert "computed now (1 of 1 tasks done" in capsys.readouterr().out
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


def test_chance_table_in_the_cache_is_published(config):
    cached = config.path("interim") / CHANCE_FILE
    cached.parent.mkdir(parents=True)
    _chance(config.hash, datasets=("Wang2024",)).to_parquet(cached, index=False)
    load_chance_table(config)
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


def test_output_problems_flags_errors_stderr_and_stray_results():
    new = nbformat.v4.new_output
    clean = [
        new("stream", name="stdout", text="wrote figures/smoke/a.png\n"),
        new("display_data", data={"image/png": "iVBOR", "text/plain": "<Figure size 640x480>"}),
        new("execute_result", data={"text/html": "<table/>", "text/plain": "   a\n0  1"}, execution_count=1),
        new("execute_result", data={"text/markdown": "**ρ**", "text/plain": "<Markdown>"}, execution_count=2),
        new("display_data", data={"application/vnd.jupyter.widget-view+json": {}, "text/plain": "grid 0%"}),
    ]
    assert output_problems(clean) == []
    dirty = [
        new("stream", name="stderr", text="\n/x.py:3: TqdmWarning: IProgress not found.\n  warn(\n"),
        new("execute_result", data={"text/plain": "PosixPath('/work/results')"}, execution_count=3),
        new("error", ename="KeyError", evalue="'fold'", traceback=[]),
    ]
    assert output_problems(dirty) == [
        "stderr: /x.py:3: TqdmWarning: IProgress not found.",
        "bare result: PosixPath('/work/results')",
        "error KeyError: 'fold'",
    ]


def _git(repo, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


@pytest.fixture
def filtered_repo(tmp_path):
    """A repository whose clean filter drops '#' lines from notebooks, one notebook committed."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "--quiet")
    _git(repo, "config", "filter.strip.clean", "sed '/^#/d'")
    (repo / ".gitattributes").write_text("*.ipynb filter=strip\n")
    (repo / "notebooks").mkdir()
    (repo / "notebooks" / "a.ipynb").write_text("source\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "--quiet", "-m", "a")
    # Past git's racy window, the index remembers the file's size (not 0, which would force a content check).
    time.sleep(1.1)
    _git(repo, "update-index", "--really-refresh")
    return repo


def test_a_save_git_would_not_store_leaves_status_clean_after_the_hook(filtered_repo):
    notebook = filtered_repo / "notebooks" / "a.ipynb"
    notebook.write_text("source\n# an output\n")
    assert (
        _git(filtered_repo, "status", "--porcelain") == " M notebooks/a.ipynb\n"
    )  # git trusts the size, not the filter
    refresh_git_index(str(notebook), model={}, contents_manager=None)
    assert _git(filtered_repo, "status", "--porcelain") == ""
    assert notebook.read_text() == "source\n# an output\n"


def test_the_hook_never_stages_a_real_change(filtered_repo):
    notebook = filtered_repo / "notebooks" / "a.ipynb"
    notebook.write_text("edited source\n# an output\n")
    refresh_git_index(str(notebook))
    assert _git(filtered_repo, "status", "--porcelain") == " M notebooks/a.ipynb\n"
    assert _git(filtered_repo, "diff", "--cached", "--name-only") == ""


def test_the_hook_leaves_untracked_and_outside_files_alone(filtered_repo, tmp_path):
    (filtered_repo / "notebooks" / "b.ipynb").write_text("new\n")
    refresh_git_index(str(filtered_repo / "notebooks" / "b.ipynb"))
    assert _git(filtered_repo, "status", "--porcelain") == "?? notebooks/b.ipynb\n"
    outside = tmp_path / "c.ipynb"
    outside.write_text("{}")
    refresh_git_index(str(outside))  # not a repository: nothing to do, nothing raised


@pytest.mark.slow
def test_nbval_fails_a_notebook_cell_with_a_warning_or_a_stray_result(tmp_path):
    """notebooks/conftest.py under nbval, as `make test` runs it, on cells that warn, leave a path, show a table."""
    shutil.copy2(ROOT / "notebooks" / "conftest.py", tmp_path / "conftest.py")
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell('import warnings\nwarnings.warn("noisy")'),
        nbformat.v4.new_code_cell('from pathlib import Path\nPath("results")'),
        nbformat.v4.new_code_cell('import pandas as pd\npd.DataFrame({"a": [1]})'),
    ]
    nbformat.write(notebook, tmp_path / "probe.ipynb")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", "probe.ipynb"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert "2 failed, 1 passed" in run.stdout
    assert "stderr: " in run.stdout and "UserWarning: noisy" in run.stdout
    assert "bare result: PosixPath('results')" in run.stdout


def test_shown_path_is_relative_under_the_root_and_full_elsewhere(tmp_path):
    # An output folder outside the project (paths.* may be absolute) must print, not raise.
    config = load_config("smoke")
    assert shown_path(config.root / "figures" / "smoke" / "a.png", config) == "figures/smoke/a.png"
    assert shown_path(tmp_path / "a.png", config) == str(tmp_path / "a.png")


def test_the_injected_parameters_cell_gets_a_fixed_id(tmp_path):
    """papermill's injected cell has a random id; settled, two runs' notebooks are the same bytes."""
    written = []
    for run in range(2):
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [
            nbformat.v4.new_code_cell("profile = 'smoke'", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("profile = 'full'", metadata={"tags": ["injected-parameters"]}),
            nbformat.v4.new_code_cell("print(profile)"),
        ]
        notebook.cells[0].id, notebook.cells[2].id = "parameters-cell", "body"  # as stored in notebooks/
        path = tmp_path / f"run{run}.ipynb"
        nbformat.write(notebook, path)
        settle_injected_cell(path)
        written.append(path.read_bytes())
    assert written[0] == written[1]
    settled = nbformat.read(tmp_path / "run0.ipynb", as_version=4)
    assert [cell.id for cell in settled.cells] == ["parameters-cell", "injected-parameters", "body"]
    nbformat.validate(settled)


def test_a_notebook_without_an_injected_cell_is_left_untouched(tmp_path):
    path = tmp_path / "plain.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), path)
    before = path.stat().st_mtime_ns, path.read_bytes()
    settle_injected_cell(path)
    assert (path.stat().st_mtime_ns, path.read_bytes()) == before
