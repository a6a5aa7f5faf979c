"""Atomic file writes: a reader sees the old file or the whole new one, never half of it.

Each write goes to a temporary file next to the target (``.<name>.<pid>.partial``, same
folder so the same file system), is flushed to disk with ``fsync`` and then renamed onto
the target with :func:`os.replace`, which is atomic on POSIX. A failure at any point
removes the temporary file and leaves the target as it was. A temporary file left behind
by a killed process never has the target's name, so nothing reads it as finished.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = ["write_parquet_atomically", "write_text_atomically", "copy_atomically"]

PARTIAL_SUFFIX = ".partial"


@contextmanager
def _replacing(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success make it ``path`` atomically and durably."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}{PARTIAL_SUFFIX}")
    try:
        yield partial
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, path)
        # The rename lives in the folder's entry: sync it too, so it survives a power cut.
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    finally:
        partial.unlink(missing_ok=True)


def write_parquet_atomically(frame: pd.DataFrame, path: str | Path, compression: str = "snappy") -> None:
    """Write ``frame`` to the Parquet file ``path`` (without its index), atomically.

    Parameters
    ----------
    frame : DataFrame
    path : str or Path
        The target; missing parent folders are created.
    compression : str
        Parquet's codec (pandas' default, snappy, unless said).
    """
    with _replacing(Path(path)) as partial:
        frame.to_parquet(partial, index=False, compression=compression)


def write_text_atomically(text: str, path: str | Path) -> None:
    """Write ``text`` (UTF-8) to ``path``, atomically; missing parent folders are created."""
    with _replacing(Path(path)) as partial:
        partial.write_text(text, encoding="utf-8")


def copy_atomically(source: str | Path, destination: str | Path) -> None:
    """Copy the file ``source`` byte for byte to ``destination``, atomically; missing parent folders are created."""
    with _replacing(Path(destination)) as partial:
        shutil.copyfile(source, partial)
