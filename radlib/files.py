"""Atomic file writes: a reader sees the old file or the whole new one, never half of it.

Each write goes to a temporary file next to the target (``.<name>.<pid>.partial``, same
folder so the same file system), is flushed to disk with ``fsync`` and then renamed onto
the target with :func:`os.replace`, which is atomic on POSIX. A failure at any point
removes the temporary file and leaves the target as it was. A temporary file left behind
by a killed process never has the target's name, so nothing reads it as finished.

A Parquet file written with ``content_hash=True`` carries the SHA-256 of its table
(:func:`content_hash`) in its key-value metadata, and :func:`read_parquet_verified` checks it:
a bit flipped on disk after the write is an error, never a changed number. Parquet's own page
checksums (pyarrow's ``write_page_checksum``) leave the footer unchecked: flipping one bit in
every 7th byte of a task file written with them, 122 of the flips still read back as a different
table without an error; with the content hash none of ~15,000 flips (every 3rd byte of three
task files) did (tests/test_files.py and tests/test_grid.py repeat the trial). The hash is of the
table as Parquet reads it back, so the file is written twice: writing and verifying 300 task files
of the v3 grid took 6.5 s (about 22 ms each, against tens of seconds of computing per task).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

__all__ = [
    "ContentHashError",
    "content_hash",
    "read_parquet_verified",
    "write_parquet_atomically",
    "write_text_atomically",
    "copy_atomically",
]

PARTIAL_SUFFIX = ".partial"
#: The Parquet key-value metadata entry that holds a table's content hash.
CONTENT_HASH_KEY = b"radlib.content_sha256"


class ContentHashError(ValueError):
    """A Parquet file's table is not the one its stored content hash was computed from."""


def content_hash(frame: pd.DataFrame) -> str:
    """SHA-256 (hex) of a table's column names, dtypes (and inferred value types) and values, row order included.

    Each column's values are hashed with :func:`pandas.util.hash_pandas_object` (NaN and None
    hash alike wherever they are), so the hash is the same for a table and its Parquet round trip.

    >>> content_hash(pd.DataFrame({"a": [1.0, 2.0]})) == content_hash(pd.DataFrame({"a": [1.0, 2.0]}))
    True
    >>> content_hash(pd.DataFrame({"a": [1.0, 2.0]})) == content_hash(pd.DataFrame({"a": [1.0, 2.5]}))
    False
    """
    digest = hashlib.sha256()
    for name in frame.columns:
        column = frame[name]
        # infer_dtype tells str from bytes, which hash_pandas_object hashes alike.
        digest.update(f"{name}\x1f{column.dtype}\x1f{pd.api.types.infer_dtype(column)}\x1e".encode())
        try:
            digest.update(pd.util.hash_pandas_object(column, index=False).to_numpy().tobytes())
        except TypeError:  # unhashable cells (lists, arrays, dicts): their pickled values
            digest.update(pickle.dumps(column.tolist(), protocol=4))
    return digest.hexdigest()


def read_parquet_verified(path: str | Path) -> pd.DataFrame:
    """Read a Parquet file and check its content hash, when it has one (:func:`write_parquet_atomically`).

    Raises
    ------
    ContentHashError
        The table read is not the one written (a changed byte on disk, or a file edited since).
    """
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    frame = table.to_pandas()
    stored = (table.schema.metadata or {}).get(CONTENT_HASH_KEY)
    if stored is not None and stored.decode() != content_hash(frame):
        raise ContentHashError(f"{Path(path).name}: its table does not match the content hash written with it")
    return frame


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


def write_parquet_atomically(
    frame: pd.DataFrame,
    path: str | Path,
    compression: str = "snappy",
    *,
    compression_level: int | None = None,
    content_hash_stored: bool = False,
) -> None:
    """Write ``frame`` to the Parquet file ``path`` (without its index), atomically.

    Parameters
    ----------
    frame : DataFrame
    path : str or Path
        The target; missing parent folders are created.
    compression : str
        Parquet's codec (pandas' default, snappy, unless said).
    compression_level : int, optional
        The codec's level (its default unless said; zstd: 1-22, higher is smaller and slower to write).
    content_hash_stored : bool
        Store :func:`content_hash` in the file's metadata, for :func:`read_parquet_verified`
        (caches read back by the code; the published tables stay plain Parquet).
    """
    with _replacing(Path(path)) as partial:
        if not content_hash_stored:
            frame.to_parquet(partial, index=False, compression=compression, compression_level=compression_level)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        # The hash is of the table as Parquet gives it back (ints with None become floats, integer
        # categories plain ints, ...): written once, read back, hashed, written again with its hash.
        table = pa.Table.from_pandas(frame, preserve_index=False)
        pq.write_table(table, partial, compression=compression, compression_level=compression_level)
        table = pq.read_table(partial)
        metadata = {**(table.schema.metadata or {}), CONTENT_HASH_KEY: content_hash(table.to_pandas()).encode()}
        pq.write_table(
            table.replace_schema_metadata(metadata),
            partial,
            compression=compression,
            compression_level=compression_level,
        )


def write_text_atomically(text: str, path: str | Path) -> None:
    """Write ``text`` (UTF-8) to ``path``, atomically; missing parent folders are created."""
    with _replacing(Path(path)) as partial:
        partial.write_text(text, encoding="utf-8")


def copy_atomically(source: str | Path, destination: str | Path) -> None:
    """Copy the file ``source`` byte for byte to ``destination``, atomically; missing parent folders are created."""
    with _replacing(Path(destination)) as partial:
        shutil.copyfile(source, partial)
