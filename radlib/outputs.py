"""Where the notebooks write, and the names of what they write: one home, as ``records.py`` is for columns.

The committed study lives in ``results/<profile>/`` and ``figures/<profile>/``. Only a run that
asks to publish writes there (the Makefile's targets pass ``publish = True`` to every notebook);
exploring (a notebook opened in Lab, whatever its profile) writes to a scratch folder,
``build/explore/<profile>/results/`` and ``.../figures/``, which git ignores
(:func:`output_folders`). A configuration publishes into a built-in profile's folders only when it
*is* that profile's configuration: a user's profile file named ``full.yaml`` with other settings
is refused there (:func:`check_publishable`), so it never overwrites the committed study.

Names
-----
The grid writes :data:`GRID_RECORDS` and :data:`GRID_MANIFEST` to ``data/processed/<profile>/``
and publishes :data:`PUBLISHED_RECORDS` and :data:`PUBLISHED_MANIFEST` to the results folder;
:data:`ANALYSES` are the three runs of notebook 05 (``<classifier>_<subset>``), whose tables are
:data:`ANALYSIS_TABLES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from radlib.config import PROFILES, Config, load_config

__all__ = [
    "GRID_RECORDS",
    "GRID_MANIFEST",
    "PUBLISHED_RECORDS",
    "PUBLISHED_MANIFEST",
    "CHANCE_FILE",
    "SUMMARY_MD",
    "SUMMARY_JSON",
    "SIDE_BY_SIDE",
    "ANALYSES",
    "ANALYSIS_TABLES",
    "LADDER_PREFIX",
    "DESIGN_PREFIX",
    "CURVE_PREFIX",
    "PREDICTORS_PREFIX",
    "ladder_prefix",
    "EXPLORE_FOLDER",
    "Outputs",
    "NotPublishableError",
    "check_publishable",
    "output_folders",
]

#: The grid's consolidated records and manifest in ``data/processed/<profile>/``.
GRID_RECORDS = "results.parquet"
GRID_MANIFEST = "manifest.json"
#: Their published copies in ``results/<profile>/``.
PUBLISHED_RECORDS = "records.parquet"
PUBLISHED_MANIFEST = "manifest.json"
#: The chance tests of the sensitivity subset (``data/interim/<profile>/``, published beside the records).
CHANCE_FILE = "chance.parquet"
#: The generated summary and its numbers.
SUMMARY_MD = "summary.md"
SUMMARY_JSON = "summary.json"
#: The study's numbers next to ours (``side_by_side.csv`` / ``.md``).
SIDE_BY_SIDE = "side_by_side"
#: The three runs of notebook 05, by table prefix ``<classifier>_<subset>``: the primary analysis, the
#: random-forest replication and the sensitivity subset.
ANALYSES = ("logreg_all", "rf_all", "logreg_sensitivity")
#: The tables of :func:`radlib.analysis.run_analyses`, in the order they are written.
ANALYSIS_TABLES = (
    "pairs",
    "exclusions",
    "correlations",
    "roc",
    "meta_studies",
    "meta_generators",
    "meta_between",
    "selection",
    "selection_summary",
    "smote_delta",
    "smote_quality",
    "within_between",
)
#: Prefix of notebook 06's files (``ladder_<classifier>_<table>``) and of notebook 07's (``design_<table>``).
LADDER_PREFIX = "ladder"
DESIGN_PREFIX = "design"
#: Prefixes of notebook 08's tables (``curve_<table>``) and notebook 09's (``predictors_<table>``).
CURVE_PREFIX = "curve"
PREDICTORS_PREFIX = "predictors"
#: The scratch folder of exploring runs, under the project root: ``build/explore/<profile>/``.
EXPLORE_FOLDER = Path("build") / "explore"


def ladder_prefix(classifier: str) -> str:
    """Prefix of the fidelity ladder's files of one classifier: ``ladder_logreg``."""
    return f"{LADDER_PREFIX}_{classifier}"


class NotPublishableError(ValueError):
    """A configuration that may not write into a built-in profile's committed folders."""


@dataclass(frozen=True)
class Outputs:
    """The folders a notebook writes its tables and figures to.

    Attributes
    ----------
    tables, figures : Path
    published : bool
        Whether these are the profile's published folders (``results/<profile>/``, ``figures/<profile>/``).
    """

    tables: Path
    figures: Path
    published: bool

    def line(self, root: Path) -> str:
        """One line saying where the notebook writes (paths relative to ``root`` where they lie under it)."""

        def shown(path: Path) -> str:
            try:
                return f"{path.relative_to(root)}/"
            except ValueError:
                return f"{path}/"

        where = f"tables to {shown(self.tables)}, figures to {shown(self.figures)}"
        if self.published:
            return f"publishing: {where}"
        return f"exploring: {where} (scratch; publish = True writes into the committed study)"


def check_publishable(config: Config) -> None:
    """Raise :class:`NotPublishableError` when ``config`` would overwrite another configuration's study.

    A configuration named after a built-in profile (``smoke``, ``quick``, ``full``, ``internal``) publishes
    into that profile's own folders (``results/<profile>/``, ``figures/<profile>/``; the internal grid's
    are under ``results/full/internal/``) only with the
    built-in configuration's hash: a user's ``full.yaml`` with other settings would otherwise
    replace the committed ``results/full/``. Folders moved elsewhere (``paths.tables``,
    ``paths.figures``) take any configuration.
    """
    if config.profile not in PROFILES:
        return
    builtin = load_config(config.profile)
    own_folders = {config.path("tables"), config.path("figures")}
    if not own_folders & {builtin.path("tables"), builtin.path("figures")}:
        return
    if config.hash != builtin.hash:
        raise NotPublishableError(
            f"the configuration {config.hash} is named '{config.profile}' but is not the built-in "
            f"{config.profile} profile's ({builtin.hash}): it does not publish into results/{config.profile}/; "
            "give its profile file another name"
        )


def output_folders(config: Config, *, publish: bool = False) -> Outputs:
    """The folders a notebook of ``config`` writes to: the published ones, or the scratch folder.

    Parameters
    ----------
    config : Config
    publish : bool
        Write into the profile's published folders (``paths.tables`` and ``paths.figures``,
        :func:`check_publishable` first); otherwise into ``build/explore/<profile>/results/`` and
        ``.../figures/`` under the project root.

    Returns
    -------
    Outputs
    """
    if publish:
        check_publishable(config)
        return Outputs(config.path("tables"), config.path("figures"), published=True)
    scratch = config.root / EXPLORE_FOLDER / config.profile
    return Outputs(scratch / "results", scratch / "figures", published=False)
