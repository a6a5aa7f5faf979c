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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="radlib", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    datasets = commands.add_parser("datasets", help="list the profile's datasets: size, balance, availability")
    _add_profile_arguments(datasets)
    datasets.set_defaults(handler=_datasets)
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
