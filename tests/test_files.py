"""Atomic writes: the target holds the old content or the whole new one, and no temporary file stays."""

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from radlib import files
from radlib.files import copy_atomically, write_parquet_atomically, write_text_atomically


def _frame(seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"dataset": ["A", "B", "C"], "auc": rng.random(3), "ok": [True, False, True]})


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(files.PARTIAL_SUFFIX)]


def test_parquet_is_written_whole_into_new_folders(tmp_path):
    target = tmp_path / "a" / "b" / "records.parquet"
    write_parquet_atomically(_frame(0), target)
    pd.testing.assert_frame_equal(pd.read_parquet(target), _frame(0))
    assert sorted(p.name for p in target.parent.iterdir()) == ["records.parquet"]


def test_parquet_replaces_an_existing_file_without_its_index(tmp_path):
    target = tmp_path / "records.parquet"
    write_parquet_atomically(_frame(0), target)
    write_parquet_atomically(_frame(1).set_index("dataset", drop=False), target)
    pd.testing.assert_frame_equal(pd.read_parquet(target), _frame(1))


def test_text_is_written_as_utf8(tmp_path):
    target = tmp_path / "out" / "manifest.json"
    write_text_atomically("ΔAUC ≥ 0\n", target)
    assert target.read_bytes() == "ΔAUC ≥ 0\n".encode()
    write_text_atomically("second", target)
    assert target.read_text(encoding="utf-8") == "second" and not _leftovers(target.parent)


def test_copy_is_byte_for_byte(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(bytes(range(256)) * 100)
    target = tmp_path / "tables" / "copy.bin"
    copy_atomically(source, target)
    assert target.read_bytes() == source.read_bytes()


def test_parquet_failing_half_way_leaves_the_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "records.parquet"
    write_parquet_atomically(_frame(0), target)
    before = target.read_bytes()
    original = pd.DataFrame.to_parquet

    def half_then_enospc(self, path, *args, **kwargs):
        buffer = io.BytesIO()
        original(self, buffer, *args, **kwargs)
        Path(path).write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_enospc)
    with pytest.raises(OSError, match="No space left"):
        write_parquet_atomically(_frame(1), target)
    assert target.read_bytes() == before and not _leftovers(tmp_path)


def test_text_failing_half_way_leaves_the_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    write_text_atomically("old", target)

    def half_then_enospc(self, text, *args, **kwargs):
        Path.write_bytes(self, text[: len(text) // 2].encode())
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", half_then_enospc)
    with pytest.raises(OSError, match="No space left"):
        write_text_atomically("new content", target)
    monkeypatch.undo()
    assert target.read_text() == "old" and not _leftovers(tmp_path)


@pytest.mark.parametrize("failing", ["fsync", "replace"])
def test_failing_sync_or_rename_leaves_the_old_file_intact(tmp_path, monkeypatch, failing):
    target = tmp_path / "manifest.json"
    write_text_atomically("old", target)

    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files.os, failing, fail)
    with pytest.raises(OSError, match="Input/output error"):
        write_text_atomically("new", target)
    monkeypatch.undo()
    assert target.read_text() == "old" and not _leftovers(tmp_path)


def test_copy_of_a_missing_file_leaves_no_trace(tmp_path):
    with pytest.raises(FileNotFoundError):
        copy_atomically(tmp_path / "missing", tmp_path / "copy")
    assert os.listdir(tmp_path) == []


def test_a_content_hash_catches_every_flipped_bit_that_changes_the_table(tmp_path):
    # The trial of radlib.files' docstring: one bit flipped in every 3rd byte of a file written with the
    # content hash either fails to read or reads back the very same table, never another one.
    frame = pd.DataFrame(
        {
            "dataset": ["Ahn2021"] * 30,
            "arm": ["real", "smote", "cvae"] * 10,
            "auc": np.random.default_rng(0).random(30),
            "n": np.arange(30),
            "error": [None] * 30,
        }
    )
    path = tmp_path / "task.parquet"
    write_parquet_atomically(frame, path, content_hash_stored=True)
    pd.testing.assert_frame_equal(files.read_parquet_verified(path), frame)
    raw, changed = path.read_bytes(), 0
    for position in range(0, len(raw), 3):
        damaged = bytearray(raw)
        damaged[position] ^= 0x10
        path.write_bytes(bytes(damaged))
        try:
            read = files.read_parquet_verified(path)
        except Exception:  # ContentHashError, or a file pyarrow cannot read
            changed += 1
            continue
        assert read.equals(frame), f"a flip at byte {position} changed the table silently"
    assert changed > len(raw) // 6


def test_the_content_hash_tells_str_from_bytes_and_a_plain_file_is_read_unverified(tmp_path):
    # hash_pandas_object hashes "a" and b"a" alike; the inferred type keeps them apart.
    assert files.content_hash(pd.DataFrame({"c": ["a"]})) != files.content_hash(pd.DataFrame({"c": [b"a"]}))
    plain = tmp_path / "plain.parquet"
    write_parquet_atomically(_frame(1), plain)  # no hash: published tables stay plain Parquet
    pd.testing.assert_frame_equal(files.read_parquet_verified(plain), _frame(1))


@pytest.mark.parametrize(
    "column",
    [
        pd.Series([1, None, 3], dtype=object),  # read back as float64
        pd.Categorical([1, 2, 1]),  # read back as int64
        pd.Series([{"x": 1}, {"x": 2}, None]),  # read back with float values; dicts are unhashable
        pd.Series([[1, 2], [3], []]),
        pd.Series([True, None, False]),
    ],
    ids=["ints-with-none", "integer-categories", "dicts", "lists", "bools-with-none"],
)
def test_a_table_parquet_changes_on_the_way_still_verifies(tmp_path, column):
    # The hash describes the table as Parquet gives it back, so a legitimate write never reads as "changed".
    path = tmp_path / "t.parquet"
    write_parquet_atomically(pd.DataFrame({"a": column}), path, content_hash_stored=True)
    files.read_parquet_verified(path)
