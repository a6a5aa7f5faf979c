"""The ``radlib`` command line: ``radlib datasets``, and the later stages' commands."""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from radlib.config import ConfigError, load_config, parse_override
from radlib.data import DataError, overview_table

__all__ = ["main"]


def _add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="full", help="smoke, quick, full, or a YAML file (default: full)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a configuration value, e.g. --set shift.severity=0.2 (repeatable)")


def _config(args: argparse.Namespace):
    return load_config(args.profile, dict(parse_override(text) for text in args.overrides))


def _datasets(args: argparse.Namespace) -> int:
    config = _config(args)
    table = overview_table(config)
    shown = pd.DataFrame({
        "dataset": table["dataset"],
        "n": table["n"].astype("Int64"),
        "p": table["p_clean"].astype("Int64"),
        "positive": table["positive_fraction"].round(2),
        "modality": table["modality"],
        "available": table["available"].map({True: "yes", False: "no"}),
        "reason": table["reason"],
    })
    with pd.option_context("display.max_rows", None, "display.width", 250, "display.max_colwidth", 120):
        print(shown.to_string(index=False))
    n_available = int(table["available"].sum())
    print(f"\n{n_available} of {len(table)} datasets available; {len(table) - n_available} unavailable"
          + (f" (mirror: {config.mirror_dir})" if config.mirror_dir else ""))
    return 0


def _run(args: argparse.Namespace) -> int:
    import logging

    from radlib.experiment import GridLockedError, run_grid

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    config = _config(args)
    try:
        result = run_grid(config, datasets=args.datasets, n_jobs=args.n_jobs, scheduler=args.scheduler)
    except GridLockedError as exc:
        print(f"radlib: error: {exc}", file=sys.stderr)
        return 3
    m = result.manifest
    print(f"{m['tasks_ok']} of {m['tasks_total']} tasks done ({m['tasks_reused']} reused), "
          f"{len(m['tasks_failed'])} failed, {m['arms_failed']} failed arms, "
          f"{m['undefined_auc_tasks']} tasks with an undefined external AUC, "
          f"{len(m['datasets_skipped'])} datasets skipped; {m['wall_seconds']} s")
    print(f"records: {result.results_path}\nmanifest: {result.manifest_path}")
    return 1 if m["tasks_failed"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    datasets = commands.add_parser("datasets", help="list the profile's datasets: size, balance, availability")
    _add_profile_arguments(datasets)
    datasets.set_defaults(handler=_datasets)
    run = commands.add_parser("run", help="run the experiment grid (parallel, cached, resumable)")
    _add_profile_arguments(run)
    run.add_argument("--n-jobs", type=int, default=None, help="local worker processes (default: the profile's)")
    run.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    run.add_argument("--datasets", nargs="+", default=None, help="restrict to these datasets")
    run.set_defaults(handler=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, DataError) as exc:
        print(f"radlib: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
