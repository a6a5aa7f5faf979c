"""Tests of radlib.audit.folder: the output folder is checked, and one run's outputs replace the last as a set."""

import os

import pytest

from radlib import audit as A
from radlib.audit import folder as F


def _write_set(folder, tag, names=A.OUTPUTS):
    """Write every output of one run, each holding ``tag``."""
    for name in names:
        path = folder / name
        if "." in name:
            path.write_text(tag)
        else:
            path.mkdir()
            (path / "a.csv").write_text(tag)


def _read_set(folder):
    return {
        name: ((folder / name).read_text() if "." in name else (folder / name / "a.csv").read_text())
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
    assert _read_set(previous) == {name: "new" for name in A.OUTPUTS if name != "figures"}
    assert sorted(p.name for p in (previous / "tasks").iterdir()) == ["new.parquet", "t.parquet"]
    assert sorted(p.name for p in previous.iterdir()) == sorted({*A.OUTPUTS, "tasks"} - {"figures"})


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
