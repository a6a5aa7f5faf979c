"""The ``radlib`` command line: ``radlib datasets``, ``radlib run``, ``radlib evaluate``, ``radlib audit``.

Exit codes: 0 done; 1 a task failed, nothing valid was computed, no dataset could be loaded (the
previous outputs are kept) or a file could not be read or written; 2 a usage, configuration or data
error; 3 another run holds the output folder; 4 the Dask scheduler did not answer, was lost or has no
worker; 5 a Dask worker runs other code than this client; 130 interrupted (finished tasks are kept).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time

import pandas as pd

from radlib.audit import MIN_CLASS_ROWS, AuditError, AuditFailedError, audit
from radlib.config import ConfigError, load_config, parse_override
from radlib.data import DataError, overview_table
from radlib.grid import (
    GridLockedError,
    NoDatasetError,
    SchedulerUnreachableError,
    WorkerMismatchError,
    publish_run,
    run_grid,
    subset_label,
)
from radlib.notebook import shown_path
from radlib.outputs import NotPublishableError, check_publishable
from radlib.samples import MissingSynthesisError

__all__ = ["main"]


def _add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--profile", default="full", help="smoke, quick, full, or a YAML file (default: full)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a configuration value, e.g. --set shift.severity=0.2 (repeatable)",
    )


def _worker_count(text: str) -> int:
    """``--n-jobs``: a whole number of local worker processes, at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of worker processes, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (local worker processes), got {value}")
    return value


def _overrides(args: argparse.Namespace) -> dict:
    return dict(parse_override(text) for text in args.overrides)


def _config(args: argparse.Namespace):
    return load_config(args.profile, _overrides(args))


def _datasets(args: argparse.Namespace) -> int:
    config = _config(args)
    table = overview_table(config)
    shown = pd.DataFrame(
        {
            "dataset": table["dataset"],
            "n": table["n"].astype("Int64"),
            "p": table["p_clean"].astype("Int64"),
            "positive": table["positive_fraction"].round(2),
            "modality": table["modality"],
            "available": table["available"].map({True: "yes", False: "no"}),
            "reason": table["reason"],
        }
    )
    with pd.option_context("display.max_rows", None, "display.width", 250, "display.max_colwidth", 120):
        print(shown.to_string(index=False))
    n_available = int(table["available"].sum())
    print(
        f"\n{n_available} of {len(table)} datasets available; {len(table) - n_available} unavailable"
        + (f" (mirror: {config.mirror_dir})" if config.mirror_dir else "")
    )
    return 0


def _fail(exc: Exception | str, code: int) -> int:
    """Print ``exc`` as the command's error and return the exit code ``code``."""
    print(f"radlib: error: {exc}", file=sys.stderr)
    return code


class _ConsoleFormatter(logging.Formatter):
    """``LEVEL logger: message``, without tracebacks: the manifest keeps each failed task's error."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage().split("\nTraceback (most recent call last):")[0].rstrip()
        return f"{record.levelname} {record.name}: {message}"


def _log_warnings() -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(_ConsoleFormatter())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])


def _run(args: argparse.Namespace) -> int:
    _log_warnings()
    evaluate_only = args.command == "evaluate"
    try:
        config = _config(args)
        if args.publish:
            if args.datasets and subset_label(config, args.datasets) is not None:
                raise ConfigError(
                    "--publish publishes the profile's whole records; a run with --datasets of some of its "
                    "datasets is a subset (its records stay under subsets/ in the processed folder)"
                )
            if args.specifications:
                raise ConfigError("--publish publishes every specification of the profile; leave out --specifications")
            check_publishable(config)
        started = time.perf_counter()
        result = run_grid(
            config,
            datasets=args.datasets,
            n_jobs=args.n_jobs,
            scheduler=args.scheduler,
            specifications=args.specifications,
            synthesize=not evaluate_only,
        )
    except GridLockedError as exc:
        return _fail(exc, 3)
    except (MissingSynthesisError, ConfigError, NotPublishableError) as exc:
        return _fail(exc, 2)
    m = result.manifest
    print(
        f"{result.summary()}, {m['undefined_external_folds']} of {m['external_folds']} external folds with an "
        "undefined AUC, "
        f"{len(m['datasets_skipped'])} datasets skipped; {time.perf_counter() - started:.1f} s "
        f"(the records: {m['wall_seconds']} s over {len(m['runs'])} computing run(s))"
    )
    print(f"records: {result.results_path}\nmanifest: {result.manifest_path}")
    others = {name: spec for name, spec in m["specifications"].items() if spec["file"] != "results.parquet"}
    if len(m["specifications"]) > 1 or evaluate_only:
        print(f"{len(m['specifications'])} specification(s), records under {result.manifest_path.parent}:")
        for name, spec in others.items():
            print(f"  {name}: {spec['records']} records in {spec['file']}")
    if args.publish and m["tasks_failed"]:
        print(f"not published: {len(m['tasks_failed'])} task(s) failed; the published records are unchanged")
    elif args.publish:
        written = publish_run(result, config)
        print(f"published {len(written)} files to {shown_path(config.path('tables'), config)}")
    return 1 if m["tasks_failed"] else 0


def _audit(args: argparse.Namespace) -> int:
    _log_warnings()
    try:
        result = audit(
            args.paths,
            args.target,
            id_column=args.id_columns,
            profile=args.profile,
            overrides=_overrides(args),
            generator_names=args.generators,
            out=args.out,
            n_jobs=args.n_jobs,
            scheduler=args.scheduler,
            plugins=args.plugins,
            min_class_rows=MIN_CLASS_ROWS if args.min_class_rows is None else args.min_class_rows,
            positive_class=args.positive_class,
            keep=args.keep,
            first_row_per_id=args.first_row_per_id,
        )
    except GridLockedError as exc:
        return _fail(exc, 3)
    except AuditError as exc:
        return _fail(exc, 2)
    except AuditFailedError as exc:
        return _fail(exc, 1)
    print(result.verdict)
    print(f"{result.grid.summary()}; {result.seconds:.1f} s")
    print(
        f"written to {result.out}: records {result.grid.results_path.name}, manifest "
        f"{result.grid.manifest_path.name}, verdict.md, tables/ and figures/"
    )
    print(f"verdict with its figures, to open in a browser: {result.out / 'verdict.html'}")
    return 1 if result.grid.manifest["tasks_failed"] or result.problems else 0


def _add_grid_arguments(parser: argparse.ArgumentParser, specifications_help: str) -> None:
    """The arguments of the two grid commands, ``run`` and ``evaluate`` (both handled by :func:`_run`)."""
    _add_profile_arguments(parser)
    parser.add_argument(
        "--n-jobs", type=_worker_count, default=None, help="local worker processes (default: the profile's)"
    )
    parser.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler, e.g. tcp://host:8786")
    parser.add_argument("--datasets", nargs="+", default=None, help="restrict to these datasets")
    parser.add_argument("--specifications", nargs="+", default=None, metavar="NAME", help=specifications_help)
    parser.set_defaults(handler=_run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="radlib", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    datasets = commands.add_parser("datasets", help="list the profile's datasets: size, balance, availability")
    _add_profile_arguments(datasets)
    datasets.set_defaults(handler=_datasets)
    run = commands.add_parser("run", help="run the experiment grid (parallel, cached, resumable)")
    _add_grid_arguments(run, "evaluate these specifications (default: every one of the profile's `specifications`)")
    run.add_argument(
        "--publish",
        action="store_true",
        help="then copy the records, the manifest and every specification's records into the profile's "
        "results folder (the committed study for a built-in profile); not for a subset or after a failed task",
    )
    evaluate = commands.add_parser(
        "evaluate",
        help="evaluate specifications from the stored samples of `radlib run` (fits no generator)",
        description="Evaluate named specifications (another synthetic ratio, classifier, shift severity) "
        "from the samples `radlib run` stored; fails with one sentence when they are not there.",
    )
    _add_grid_arguments(evaluate, "the specifications to evaluate (default: the profile's default specification)")
    evaluate.set_defaults(publish=False)  # an evaluation of some specifications is not the study
    audit = commands.add_parser(
        "audit",
        help="run the study's protocol on your own table(s) and print a verdict",
        description="Run the study's protocol (repetitions, simulated external site, generators, SMOTE, "
        "both classifiers) on your own radiomics table(s); several tables get the full analyses.",
    )
    audit.add_argument(
        "--csv",
        dest="paths",
        nargs="+",
        required=True,
        metavar="PATH",
        help="table(s): CSV, .csv.gz or Parquet files, or folders of them",
    )
    audit.add_argument("--target", required=True, help="the binary outcome column")
    audit.add_argument(
        "--id",
        dest="id_columns",
        nargs="+",
        default=None,
        metavar="COLUMN",
        help="patient ID column(s) to drop (default: ID)",
    )
    audit.add_argument(
        "--keep",
        nargs="+",
        default=[],
        metavar="COLUMN",
        help="numeric column(s) that look like patient IDs but are features (otherwise refused)",
    )
    audit.add_argument(
        "--first-row-per-id",
        action="store_true",
        help="a patient ID on several rows: keep its first row, drop the others (listed); otherwise refused",
    )
    audit.add_argument(
        "--positive-class",
        default=None,
        metavar="VALUE",
        help="the target value coded 1, for a target that is not 0/1 (e.g. M for M/B)",
    )
    _add_profile_arguments(audit)
    audit.add_argument(
        "--generators",
        nargs="+",
        default=None,
        metavar="NAME",
        help="generators to run instead of the profile's (registered names; 'smote' adds SMOTE)",
    )
    audit.add_argument("--out", default=None, help="output folder (default: results/audit/<table name>/)")
    audit.add_argument(
        "--n-jobs", type=_worker_count, default=None, help="local worker processes (default: the profile's)"
    )
    audit.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    audit.add_argument(
        "--plugin",
        dest="plugins",
        action="append",
        default=[],
        metavar="MODULE_OR_FILE",
        help="a .py file or module that registers generators/metrics (repeatable)",
    )
    audit.add_argument(
        "--min-class-rows",
        type=int,
        default=None,
        help="fewest rows a class may have (default: radlib.audit.MIN_CLASS_ROWS, 10)",
    )
    audit.set_defaults(handler=_audit)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the ``radlib`` command line; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, DataError) as exc:
        return _fail(exc, 2)
    except NoDatasetError as exc:
        return _fail(exc, 1)
    except SchedulerUnreachableError as exc:
        return _fail(exc, 4)
    except WorkerMismatchError as exc:
        return _fail(exc, 5)
    except OSError as exc:  # a folder that cannot be written (read-only, /proc), a file that cannot be read
        where = f" {exc.filename}" if exc.filename else ""
        return _fail(f"cannot use{where}: {exc.strerror or exc}", 1)
    except KeyboardInterrupt as exc:  # finished tasks are kept; the same command resumes
        print(f"radlib: interrupted: {exc or 'stopped'}; finished tasks are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
