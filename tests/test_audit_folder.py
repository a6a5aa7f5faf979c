"""Tests of radlib.audit.folder: the output folder is checked, and one run's outputs replace the last as a set."""

import json
import os
import subprocess
from pathlib import Path

import pytest

from radlib import audit as A
from radlib.audit import folder as F


def _write_set(folder, tag, names=A.OUTPUTS):
    """Write every output of one run, each holding ``tag``; the marker lists the files of the set."""
    for name in names:
        path = folder / name
        if name == A.MARKER:
            files = [n if "." in n else f"{n}/a.csv" for n in A.OUTPUTS if n != A.MARKER]
            path.write_text(json.dumps({"written_by": tag, "files": files}))
        elif "." in name:
            path.write_text(tag)
        else:
            path.mkdir()
            (path / "a.csv").write_text(tag)


def _read_set(folder):
    """What each output of the set in ``folder`` holds (the marker: whom it names)."""
    return {
        name: (
            json.loads((folder / name).read_text()).get("written_by")
            if name == A.MARKER
            else (folder / name).read_text()
            if "." in name
            else (folder / name / "a.csv").read_text()
        )
        for name in A.OUTPUTS
        if (folder / name).exists()
    }


@pytest.fixture
def previous(tmp_path):
    """An output folder holding a finished run ("old") and a task cache."""
    out = tmp_path / "out"
    out.mkdir()
    _write_set(out, "old")
    (out / "tasks").mkdir()
    (out / "tasks" / "t.parquet").write_text("task")
    return out


def test_a_finished_run_replaces_the_whole_set_and_shares_the_task_cache(previous):
    with A.staged_outputs(previous) as staging:
        assert (staging / "manifest.json").read_text() == "old"  # the run history goes on
        (staging / "tasks" / "new.parquet").write_text("task")  # written through the link to the cache
        for name in A.OUTPUTS:
            if name != "figures":  # this run makes no figure: the old figures must not stay
                _write_set(staging, "new", [name] if name != "manifest.json" else [])
        (staging / "manifest.json").write_text("new")
    new_set = _read_set(previous)
    assert new_set.pop(A.MARKER) == "radlib audit"  # the run's own marker, listing what it staged
    assert new_set == {name: "new" for name in A.OUTPUTS if name not in ("figures", A.MARKER)}
    staged = json.loads((previous / A.MARKER).read_text())["files"]
    assert staged == sorted(n if "." in n else f"{n}/a.csv" for n in A.OUTPUTS if n not in ("figures", A.MARKER))
    assert sorted(p.name for p in (previous / "tasks").iterdir()) == ["new.parquet", "t.parquet"]
    assert sorted(p.name for p in previous.iterdir()) == sorted({*A.OUTPUTS, "tasks", "runs"} - {"figures"})


def test_a_failed_run_leaves_the_previous_set_untouched(previous):
    with pytest.raises(RuntimeError, match="no task finished"), A.staged_outputs(previous) as staging:
        _write_set(staging, "new", ["results.parquet", "tables"])
        raise RuntimeError("no task finished")
    assert _read_set(previous) == {name: "old" for name in A.OUTPUTS}
    assert not (previous / ".staging").exists() and (previous / "tasks" / "t.parquet").exists()


@pytest.mark.parametrize("moved_out", [0, 3, len(A.OUTPUTS)])
@pytest.mark.parametrize("moved_in", [0, 2])
def test_a_swap_killed_half_way_is_undone_by_the_next_run(previous, moved_out, moved_in):
    """Kill between the renames of the swap: the previous set comes back whole."""
    staging = previous / ".staging"
    staging.mkdir()
    _write_set(staging, "new")
    (previous / ".previous").mkdir()
    for name in A.OUTPUTS[:moved_out]:
        os.replace(previous / name, previous / ".previous" / name)
    if moved_out == len(A.OUTPUTS):
        for name in A.OUTPUTS[:moved_in]:
            os.replace(staging / name, previous / name)
    F.recover(previous)
    assert _read_set(previous) == {name: "old" for name in A.OUTPUTS}
    assert sorted(p.name for p in previous.iterdir()) == sorted({*A.OUTPUTS, "tasks"})


def test_a_swap_killed_after_the_new_set_was_complete_keeps_the_new_set(previous):
    (previous / ".previous-swapped").mkdir()
    (previous / ".previous-swapped" / "verdict.md").write_text("old")
    F.recover(previous)
    assert not (previous / ".previous-swapped").exists() and _read_set(previous)["verdict.md"] == "old"


def test_out_must_be_a_folder(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(A.AuditError, match=r"--out .*file.txt is a file; give a folder"):
        A.check_out_folder(tmp_path / "file.txt")
    with pytest.raises(A.AuditError, match=r"--out .*file.txt/sub/dir lies under .*file.txt, which is a file"):
        A.check_out_folder(tmp_path / "file.txt" / "sub" / "dir")
    assert A.check_out_folder(tmp_path / "new" / "folder") == tmp_path / "new" / "folder"  # created later
    assert not (tmp_path / "new").exists()


def test_a_folder_of_files_no_audit_wrote_is_refused_naming_them(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "figures").mkdir()
    with pytest.raises(A.AuditError, match=r"already holds 2 entries that no audit wrote \(figures, notes.txt\)"):
        A.check_out_folder(tmp_path)
    A.check_out_folder(tmp_path / "empty")  # missing: created later
    (tmp_path / "empty").mkdir()
    assert A.check_out_folder(tmp_path / "empty") == tmp_path / "empty"


def test_the_project_and_the_folders_above_it_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RADLIB_ROOT", str(tmp_path / "project"))
    (tmp_path / "project").mkdir()
    for out in (tmp_path / "project", tmp_path):
        with pytest.raises(A.AuditError, match="is the project folder"):
            A.check_out_folder(out)


def test_a_folder_with_files_git_tracks_is_refused_even_when_marked(tmp_path):
    repo = tmp_path / "repo"
    (repo / "results").mkdir(parents=True)
    (repo / "results" / "table.csv").write_text("a")
    (repo / "results" / A.MARKER).write_text('{"files": []}')
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "results/table.csv"], check=True)
    with pytest.raises(A.AuditError, match=r"holds 1 file\(s\) tracked by git \(table.csv\)"):
        A.check_out_folder(repo / "results")
    assert A.check_out_folder(repo / "new") == repo / "new"  # untracked and new: fine


def test_the_folder_of_an_input_table_or_one_above_it_is_refused(tmp_path):
    table = tmp_path / "data" / "cohort.csv"
    table.parent.mkdir()
    table.write_text("a")
    for out in (tmp_path / "data", tmp_path):
        with pytest.raises(A.AuditError, match="holds the input table"):
            F.check_out_folder(out, [table])
    assert F.check_out_folder(tmp_path / "data" / "audit", [table]) == tmp_path / "data" / "audit"


def test_claiming_marks_a_new_folder_and_names_one_that_cannot_be_made(tmp_path):
    F.claim_out_folder(tmp_path / "new")
    assert json.loads((tmp_path / "new" / A.MARKER).read_text())["files"] == []
    A.check_out_folder(tmp_path / "new")  # an audit's folder now
    with pytest.raises(A.AuditError, match="--out /proc/radlib-audit: cannot create the output folder there"):
        F.claim_out_folder(Path("/proc/radlib-audit"))


def test_a_file_the_marker_does_not_list_stops_the_swap_before_anything_moves(previous):
    (previous / "tables" / "thesis_table1.csv").write_text("mine")
    with pytest.raises(A.AuditError, match=r"holds 1 file\(s\) that no audit wrote \(tables/thesis_table1.csv\)"):
        with A.staged_outputs(previous):
            raise AssertionError("the run must not start")
    assert (previous / "tables" / "thesis_table1.csv").read_text() == "mine"
    assert _read_set(previous)["verdict.md"] == "old"
