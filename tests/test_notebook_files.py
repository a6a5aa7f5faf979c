"""Executed notebooks as files: clean outputs, git's view of a save, the settled injected cell, no widget state."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from radlib.notebook_files import (
    coalesce_streams,
    drop_widget_state,
    output_problems,
    refresh_git_index,
    settle_executed_notebook,
    settle_injected_cell,
)

ROOT = Path(__file__).resolve().parents[1]


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


def test_a_progress_bar_and_its_widget_state_are_dropped_and_the_other_outputs_kept(tmp_path):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"model-1": {}}}}
    cell = nbformat.v4.new_code_cell("run()")
    view = {"application/vnd.jupyter.widget-view+json": {"model_id": "model-1"}, "text/plain": "grid 100% [00:03]"}
    printed = nbformat.v4.new_output("stream", name="stdout", text="records: configuration abc\n")
    cell.outputs = [nbformat.v4.new_output("display_data", data=view), printed]
    notebook.cells = [cell]
    path = tmp_path / "run.ipynb"
    nbformat.write(notebook, path)
    settle_executed_notebook(path)
    settled = nbformat.read(path, as_version=4)
    assert "widgets" not in settled.metadata
    assert settled.cells[0].outputs == [printed]
    assert drop_widget_state(settled) is False  # nothing left to drop


def test_printed_text_cut_into_pieces_is_one_output_per_stream(tmp_path):
    stream = nbformat.v4.new_output
    cell = nbformat.v4.new_code_cell("print(a); print(b)")
    cell.outputs = [
        stream("stream", name="stdout", text="records: 3\n"),
        stream("stream", name="stdout", text="3 datasets\n"),
        stream("stream", name="stderr", text="a warning\n"),
        stream("stream", name="stdout", text="after\n"),
    ]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    path = tmp_path / "run.ipynb"
    nbformat.write(notebook, path)
    settle_executed_notebook(path)
    outputs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [(o["name"], o["text"]) for o in outputs] == [
        ("stdout", "records: 3\n3 datasets\n"),
        ("stderr", "a warning\n"),
        ("stdout", "after\n"),
    ]
    assert coalesce_streams(nbformat.read(path, as_version=4)) is False
