"""The audit's output folder: checked before anything runs, and written as one set.

An audit writes its outputs (:data:`OUTPUTS`: records, manifest, verdict, data report,
tables, figures) into ``<out>/.staging`` and, once every one is written, swaps them into
``<out>`` (:func:`staged_outputs`). A run that fails, or is killed before the swap, leaves
the previous run's set as it was. The swap is a few renames in one folder; a run killed in
the middle of it leaves the previous set in ``<out>/.previous``, and the next audit into
the folder puts it back before it starts (:func:`recover`). Whatever is in ``<out>`` is
therefore one run's outputs, and ``verdict.md`` names that run (the last entry of
``manifest.json``'s ``runs``).

The task cache ``<out>/tasks`` is not part of the set: it holds one file per finished task,
each written atomically, so the staging folder links to it and a failed run keeps the
tasks it finished. Call these functions under the output folder's lock
(:func:`radlib.grid.run_lock`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from radlib.audit.inputs import AuditError

__all__ = ["OUTPUTS", "check_out_folder", "recover", "staged_outputs"]

#: What one audit run writes into its output folder, replaced together.
OUTPUTS = ("results.parquet", "manifest.json", "verdict.md", "data_report.json", "tables", "figures")
_STAGING = ".staging"
_PREVIOUS = ".previous"
_SWAPPED = ".previous-swapped"


def check_out_folder(out: Path) -> Path:
    """Check that ``out`` can be the output folder (it is created when missing); return it.

    Raises
    ------
    AuditError
        ``out``, or a folder above it, is a file; or the nearest existing folder cannot be written.
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
    return out


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

    The staging folder has ``tasks`` linked to ``<out>/tasks`` (the shared cache) and a copy
    of ``<out>/manifest.json`` (so that the run history goes on). When the block raises,
    the staging folder is deleted and ``out`` keeps its previous set.
    """
    out = Path(out)
    recover(out)
    staging = out / _STAGING
    staging.mkdir(parents=True)
    (out / "tasks").mkdir(exist_ok=True)
    (staging / "tasks").symlink_to(Path("..") / "tasks", target_is_directory=True)
    if (out / "manifest.json").is_file():
        shutil.copyfile(out / "manifest.json", staging / "manifest.json")
    try:
        yield staging
    except BaseException:
        _remove(staging)
        raise
    _swap(staging, out)
