"""The audit's output folder: checked before anything runs, owned by the audit, and written as one set.

An audit writes only into a folder that is new, empty, or marked as an audit's own by the
marker file :data:`MARKER`, which only an audit writes (:func:`claim_out_folder`). It refuses
the project itself, any folder git tracks files in, the folder of an input table (or one that
holds an input table), and an empty ``--out``: an audit must never remove or overwrite a file
it did not write. The marker lists the files of the set it belongs to, and a file under one of
the :data:`OUTPUTS` that the marker does not list (a user's ``figures/my_plot.png``) stops the
run before anything is moved (:func:`staged_outputs`).

An audit writes its outputs (:data:`OUTPUTS`: records, manifest, verdict, data report,
tables, figures and the marker) into ``<out>/.staging`` and, once every one is written, swaps
them into ``<out>`` (:func:`staged_outputs`). A run that fails, or is killed before the swap,
leaves the previous run's set as it was. The swap is a few renames in one folder; a run killed
in the middle of it leaves the previous set in ``<out>/.previous``, and the next audit into
the folder puts it back before it starts (:func:`recover`). Whatever is in ``<out>`` is
therefore one run's outputs, and ``verdict.md`` names that run (the last entry of
``manifest.json``'s ``runs``).

The task cache ``<out>/tasks`` and the run history ``<out>/runs`` are not part of the set:
the cache holds one file per finished task, each written atomically, and the history one file
per configuration, so the staging folder links to both and a failed, interrupted or killed run
keeps the tasks it finished and its entry in the history. Call :func:`recover` and :func:`staged_outputs` under the output folder's
lock (:func:`radlib.grid.run_lock`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from radlib.audit.inputs import AuditError
from radlib.config import project_root
from radlib.files import write_text_atomically

__all__ = ["MARKER", "OUTPUTS", "check_out_folder", "claim_out_folder", "recover", "staged_outputs"]

#: The file that marks a folder as an audit's own; it lists the files of the set it belongs to.
MARKER = ".radlib-audit.json"
#: What one audit run writes into its output folder, replaced together.
OUTPUTS = (
    "results.parquet",
    "manifest.json",
    "verdict.md",
    "verdict.html",
    "data_report.json",
    "tables",
    "figures",
    MARKER,
)
_STAGING = ".staging"
_PREVIOUS = ".previous"
_SWAPPED = ".previous-swapped"
#: Entries an audit keeps in its folder, by kind: a file or folder of the wrong kind stops the run.
#: The folders the staging folder links to (shared by every run into the folder), by name.
_SHARED = ("tasks", "runs")
_FOLDERS = (*_SHARED, "tables", "figures", "interim", "build", _STAGING, _PREVIOUS, _SWAPPED)
_FILES = ("results.parquet", "manifest.json", "verdict.md", "verdict.html", "data_report.json", MARKER)
_SHOWN = 5


def _listed(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown + (f", ... ({len(names)} in all)" if len(names) > _SHOWN else "")


def _tracked_files(out: Path) -> list[str]:
    """Files git tracks under ``out`` (empty outside a git work tree, or without git)."""
    existing = next(p for p in (out, *out.parents) if p.is_dir())
    try:
        listing = subprocess.run(
            ["git", "-C", str(existing), "ls-files", "-z", "--", str(out)], capture_output=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listing.returncode != 0:  # not a git work tree
        return []
    return [name for name in listing.stdout.decode(errors="replace").split("\0") if name]


def _is_audit_folder(out: Path) -> bool:
    """Whether ``out`` holds an audit's marker (or a swap killed half-way holds it in ``.previous``)."""
    return (out / MARKER).is_file() or (out / _PREVIOUS / MARKER).is_file()


def check_out_folder(out: Path, inputs: Sequence[Path] = ()) -> Path:
    """Check that an audit may write into ``out`` (it is created when missing); return it.

    Parameters
    ----------
    out : Path
        The output folder, absolute.
    inputs : sequence of Path
        The input table files.

    Raises
    ------
    AuditError
        ``out``, or a folder above it, is a file; the nearest existing folder cannot be
        written; ``out`` is the project or a folder above it, holds files git tracks, is the
        folder of an input table or holds one; or ``out`` holds files and no audit's marker.
    """
    out = Path(out)
    for path in (out, *out.parents):
        if path.exists() and not path.is_dir():
            where = "is a file" if path == out else f"lies under {path}, which is a file"
            raise AuditError(f"--out {out} {where}; give a folder (it is created when missing)")
        if path.is_dir():
            if not os.access(path, os.W_OK | os.X_OK):
                raise AuditError(f"--out {out}: cannot write to {path} (permission denied)")
            break
    resolved = out.resolve()
    root = project_root()
    if resolved == root or resolved in root.parents:
        raise AuditError(
            f"--out {out} is the project folder {root}{'' if resolved == root else ' or a folder above it'}; "
            "an audit writes into a folder of its own: give a new folder (default: results/audit/<table name>)"
        )
    tracked = _tracked_files(resolved)
    if tracked:
        raise AuditError(
            f"--out {out} holds {len(tracked)} file(s) tracked by git ({_listed(tracked)}); an audit writes only "
            "into a new folder, an empty one or an earlier audit's: give another --out"
        )
    for table in inputs:
        table = Path(table).resolve()
        if table.parent == resolved or resolved in table.parents:
            raise AuditError(
                f"--out {out} holds the input table {table}; an audit writes into a folder of its own, so that it "
                "never overwrites its input nor reads its outputs as input: give another --out"
            )
    if resolved.is_dir() and not _is_audit_folder(resolved):
        entries = sorted(p.name for p in resolved.iterdir())
        if entries:
            raise AuditError(
                f"--out {out} already holds {len(entries)} entries that no audit wrote ({_listed(entries)}); an "
                f"audit writes only into a new folder, an empty one or an earlier audit's (marked by {MARKER}): "
                "give another --out"
            )
    return out


def claim_out_folder(out: Path) -> None:
    """Create ``out`` and mark it as an audit's folder, unless an audit's marker is there already.

    Call after :func:`check_out_folder`. Raises :class:`AuditError` when the folder cannot be
    created or written (``/proc/x``, a read-only file system).
    """
    out = Path(out)
    if _is_audit_folder(out):
        return
    try:
        out.mkdir(parents=True, exist_ok=True)
        _write_marker(out, [])
    except OSError as exc:
        raise AuditError(f"--out {out}: cannot create the output folder there ({exc.strerror or exc})") from exc


def _write_marker(folder: Path, files: Sequence[str]) -> None:
    text = json.dumps({"written_by": "radlib audit", "files": sorted(files)}, indent=1) + "\n"
    write_text_atomically(text, folder / MARKER)


def _set_files(folder: Path) -> list[str]:
    """The files of the output set in ``folder`` (under :data:`OUTPUTS`, the marker left out), relative."""
    found = []
    for name in OUTPUTS:
        path = folder / name
        if name == MARKER or not (path.exists() or path.is_symlink()):
            continue
        if path.is_dir() and not path.is_symlink():
            found += [p.relative_to(folder).as_posix() for p in sorted(path.rglob("*")) if not p.is_dir()]
        else:
            found.append(name)
    return found


def _check_kinds(out: Path) -> None:
    """Raise :class:`AuditError` for an entry of the wrong kind (a file named ``tasks``, a folder named ``verdict.md``)."""
    for name in _FOLDERS:
        if (out / name).exists() and not (out / name).is_dir():
            raise AuditError(
                f"--out {out}: '{name}' is a file where an audit keeps a folder; move it, or give another --out"
            )
    for name in _FILES:
        if (out / name).is_dir():
            raise AuditError(
                f"--out {out}: '{name}' is a folder where an audit writes a file; move it, or give another --out"
            )


def _check_owned(out: Path) -> None:
    """Raise :class:`AuditError` unless every file of the output set in ``out`` is one the marker lists."""
    try:
        listed = set(json.loads((out / MARKER).read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AuditError(
            f"--out {out}: the audit's marker {MARKER} cannot be read ({exc}); give another --out"
        ) from exc
    foreign = [name for name in _set_files(out) if name not in listed]
    if foreign:
        raise AuditError(
            f"--out {out} holds {len(foreign)} file(s) that no audit wrote ({_listed(foreign)}), where the audit "
            "replaces its outputs; move them, or give another --out"
        )


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


def recover(out: Path) -> None:
    """Finish or undo what a killed run left in ``out``: a half-done swap, a staging folder."""
    _remove(out / _SWAPPED)  # the new set was complete; only the old one was still being deleted
    previous = out / _PREVIOUS
    if previous.is_dir():  # the swap stopped half-way: put the previous set back
        for item in previous.iterdir():
            _remove(out / item.name)
            os.replace(item, out / item.name)
        previous.rmdir()
    _remove(out / _STAGING)


def _swap(staging: Path, out: Path) -> None:
    previous = out / _PREVIOUS
    previous.mkdir()
    for name in OUTPUTS:
        if (out / name).exists():
            os.replace(out / name, previous / name)
    for name in OUTPUTS:
        if (staging / name).exists():
            os.replace(staging / name, out / name)
    os.replace(previous, out / _SWAPPED)  # from here on the new set is complete
    _remove(out / _SWAPPED)
    _remove(staging)


@contextmanager
def staged_outputs(out: Path) -> Iterator[Path]:
    """Yield a fresh staging folder for one run's outputs; swap them into ``out`` when the block ends.

    Before anything is moved, ``out`` must be an audit's folder (:func:`claim_out_folder`)
    whose output set holds only files its marker lists; else :class:`AuditError`. The
    staging folder has ``tasks`` and ``runs`` linked to ``<out>/tasks`` (the shared cache) and
    ``<out>/runs`` (the run history) and a copy of ``<out>/manifest.json`` (an earlier engine's history); when the block ends, a new
    marker listing the staged files joins the set. When the block raises, the staging folder
    is deleted and ``out`` keeps its previous set.
    """
    out = Path(out)
    _check_kinds(out)
    recover(out)
    _check_owned(out)
    staging = out / _STAGING
    staging.mkdir(parents=True)
    for shared in _SHARED:
        (out / shared).mkdir(exist_ok=True)
        (staging / shared).symlink_to(Path("..") / shared, target_is_directory=True)
    if (out / "manifest.json").is_file():
        shutil.copyfile(out / "manifest.json", staging / "manifest.json")
    try:
        yield staging
        _write_marker(staging, _set_files(staging))
    except BaseException:
        _remove(staging)
        raise
    _swap(staging, out)
