"""How many of the committed records the v3 grid's default specification reproduces bit for bit.

    python tools/compare_default_records.py                 # the checkpointed tasks (results/full/checkpoint/default/)
    python tools/compare_default_records.py --from-grid     # the grid's consolidated records (data/processed/full/)
    python tools/compare_default_records.py --recompute Ahn2021 0   # one task recomputed here (about a minute)
    python tools/compare_default_records.py --from-grid --reference a9faebe   # against the records of a commit

``--reference REV`` compares against ``results/full/records.parquet`` as git commit ``REV`` holds it (e.g. the
version-2 records once version 3's are published); without it, against the file in the working tree.

``--recompute`` synthesizes one committed task on this machine through the sample store (stored, read
back, evaluated under the default specification, as the grid does) and compares it: whether this
machine's CPU kernels reproduce the committed records of each generator.

Compares, with :func:`radlib.reproduction.compare_records`, the default specification's records against
the committed ``results/full/records.parquet`` over the tasks both hold, in all and per generator, and
prints the columns that differ with their largest absolute difference.
"""

from __future__ import annotations

import argparse
import io
import subprocess
from pathlib import Path

import pandas as pd

from radlib.config import load_config
from radlib.records import parse_arm
from radlib.reproduction import compare_records, recompute_task


def main() -> None:
    """Print the comparison."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--from-grid", action="store_true", help="read data/processed/full/results.parquet")
    source.add_argument(
        "--recompute", nargs=2, metavar=("DATASET", "REPETITION"), help="recompute one committed task on this machine"
    )
    parser.add_argument(
        "--reference", metavar="REV", help="compare against results/full/records.parquet at git commit REV"
    )
    args = parser.parse_args()
    config = load_config("full")
    if args.recompute:
        name, repetition = args.recompute
        if not repetition.isdigit():
            parser.error(f"REPETITION must be a whole number, got {repetition!r}")
        computed = recompute_task(config, name, int(repetition))
    elif args.from_grid:
        computed = pd.read_parquet(config.path("processed") / "results.parquet")
    else:
        parts = sorted((config.path("tables") / "checkpoint" / "default").glob("part-*.parquet"))
        computed = pd.concat([pd.read_parquet(part) for part in parts], ignore_index=True)
    committed = committed_records(config.path("tables") / "records.parquet", config.root, args.reference)
    tasks = computed[["dataset", "repetition"]].drop_duplicates()
    reference = committed.merge(tasks, on=["dataset", "repetition"])
    columns, summary = compare_records(computed, reference)
    print(f"{len(tasks)} tasks: {summary}")
    generators = reference["arm"].map(lambda arm: parse_arm(arm)[0])
    for generator, group in reference.groupby(generators):
        print(f"  {generator}: {compare_records(computed, group)[1]}")
    differing = columns[columns["equal"] < columns["compared"]]
    print(differing.to_string(index=False) if len(differing) else "every compared column equal")


def committed_records(path: Path, root: Path, revision: str | None) -> pd.DataFrame:
    """The committed records: the working tree's file, or the one git commit ``revision`` holds."""
    if revision is None:
        return pd.read_parquet(path)
    relative = path.resolve().relative_to(root.resolve()).as_posix()
    shown = subprocess.run(["git", "show", f"{revision}:{relative}"], capture_output=True, check=False)
    if shown.returncode != 0:
        raise SystemExit(f"git cannot show {relative} at {revision}: {shown.stderr.decode().strip()}")
    return pd.read_parquet(io.BytesIO(shown.stdout))


if __name__ == "__main__":
    main()
