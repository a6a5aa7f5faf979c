"""Where notebooks write: the committed study only when publishing, and only for its own configuration."""

import json
from pathlib import Path

import pytest

from radlib.config import load_config
from radlib.outputs import (
    ANALYSES,
    EXPLORE_FOLDER,
    NotPublishableError,
    check_publishable,
    ladder_prefix,
    output_folders,
)
from radlib.report import table_prefix


def test_exploring_writes_to_the_scratch_folder_of_the_profile():
    config = load_config("full")
    outputs = output_folders(config)
    assert not outputs.published
    assert outputs.tables == config.root / "build" / "explore" / "full" / "results"
    assert outputs.figures == config.root / EXPLORE_FOLDER / "full" / "figures"
    assert outputs.line(config.root) == (
        "exploring: tables to build/explore/full/results/, figures to build/explore/full/figures/ "
        "(scratch; publish = True writes into the committed study)"
    )


def test_publishing_writes_to_the_profile_s_committed_folders():
    config = load_config("full")
    outputs = output_folders(config, publish=True)
    assert outputs.published
    assert (outputs.tables, outputs.figures) == (config.root / "results" / "full", config.root / "figures" / "full")
    assert outputs.line(config.root) == "publishing: tables to results/full/, figures to figures/full/"


def test_a_user_profile_named_full_does_not_publish_into_the_committed_study(tmp_path):
    user_profile = tmp_path / "full.yaml"
    user_profile.write_text("repetitions: 3\n")
    config = load_config(user_profile)
    assert config.profile == "full" and config.path("tables") == load_config("full").path("tables")
    with pytest.raises(NotPublishableError, match="is not the built-in full profile's"):
        output_folders(config, publish=True)
    assert output_folders(config).tables == config.root / "build" / "explore" / "full" / "results"


def test_the_built_in_configuration_or_folders_of_its_own_may_publish(tmp_path):
    check_publishable(load_config("full", {"run.n_jobs": 1}))  # not a protocol parameter: the same records
    moved = load_config(
        "smoke", {"repetitions": 3, "paths.tables": str(tmp_path / "t"), "paths.figures": str(tmp_path)}
    )
    check_publishable(moved)
    user_profile = tmp_path / "mine.yaml"
    user_profile.write_text("repetitions: 3\n")
    check_publishable(load_config(user_profile))  # results/mine/: nobody else's


def test_the_output_names_are_the_ones_the_report_and_the_ladder_use():
    assert ANALYSES == (table_prefix("logreg", "all"), table_prefix("rf", "all"), table_prefix("logreg", "sensitivity"))
    assert ladder_prefix("rf") == "ladder_rf"


NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_notebook_writes_where_output_folders_says_and_publishes_only_when_asked(path):
    code = "\n".join(
        "".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "code"
    )
    assert "publish = False" in code  # the parameter, off unless the Makefile asks
    assert "output_folders(config, publish=publish)" in code and "print(outputs.line(config.root))" in code
    assert 'config.path("tables")' not in code and 'config.path("figures")' not in code
    # Whatever would copy records or the chance table into the results folder is told whether to publish.
    for line in code.splitlines():
        if "load_chance_table(config" in line or ("load_records(config" in line and "recompute" in line):
            assert "publish=publish" in line, line


def test_the_makefile_asks_every_notebook_to_publish():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    papermill = next(line for line in makefile.splitlines() if line.startswith("PAPERMILL :="))
    assert papermill.endswith("-p publish True")


def test_the_makefile_runs_notebook_05_once_per_analysis_of_radlib_outputs():
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    runs = next(line for line in makefile.splitlines() if line.startswith("FALLACY_RUNS :="))
    assert tuple(runs.split("$(foreach analysis,")[1].split(",")[0].split()) == ANALYSES
