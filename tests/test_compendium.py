"""Checks of the compendium's own files: notebooks stored clean, environment files consistent."""

import ast
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "01_data_ingestion.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    dirty = [
        i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; strip them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_literal_parameters_cell(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters'"
    tree = ast.parse("".join(tagged[0]["source"]))
    assert any(isinstance(node, ast.Assign) and node.targets[0].id == "profile" for node in tree.body)
    for node in tree.body:
        assert isinstance(node, ast.Assign), f"{path.name}: parameters cell holds only assignments"
        ast.literal_eval(node.value)  # raises for anything but a literal


def _parameters(path: Path) -> dict:
    """The literal parameters of a notebook's cell tagged ``parameters``, name -> value."""
    cells = json.loads(path.read_text())["cells"]
    (tagged,) = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    tree = ast.parse("".join(tagged["source"]))
    return {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}


def test_shared_parameters_have_one_name_and_one_default():
    """A parameter that several notebooks take (profile, dataset, seed) is spelt and defaulted alike."""
    parameters = {path.name: _parameters(path) for path in NOTEBOOKS}
    names = {name for declared in parameters.values() for name in declared}
    assert not names & {"dataset_name", "random_state", "random_seed", "base_seed"}, "use `dataset` and `seed`"
    for name in ("profile", "dataset", "seed"):
        defaults = {notebook: declared[name] for notebook, declared in parameters.items() if name in declared}
        assert len(set(defaults.values())) == 1, f"'{name}' has different defaults: {defaults}"
    assert {n for n, declared in parameters.items() if "dataset" in declared} >= {
        "02_synthesis.ipynb",
        "03_quality_metrics.ipynb",
    }


def test_makefile_passes_only_parameters_the_notebooks_declare():
    makefile = (ROOT / "Makefile").read_text()
    runs = [line for line in makefile.splitlines() if line.strip().startswith("$(PAPERMILL)")]
    assert runs
    for line in runs:
        named = re.findall(r"notebooks/[0-9][0-9]_\w+\.ipynb", line)
        targets = [ROOT / n for n in named] if named else NOTEBOOKS  # `$<`: the pattern rule, every notebook
        for name in re.findall(r"-p (\w+)", line):
            for path in targets:
                assert name in _parameters(path), f"Makefile passes '{name}' to {path.name}, which does not declare it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_numbered_sections_come_in_order(path):
    """Sections numbered after the protocol's analyses ("## 2 · ...", "## 4 + 5 · ...") appear in that order."""
    cells = json.loads(path.read_text())["cells"]
    headings = [line for c in cells if c["cell_type"] == "markdown" for line in "".join(c["source"]).splitlines()]
    numbers = [int(m.group(1)) for line in headings if (m := re.match(r"## (\d+)\b", line))]
    assert numbers == sorted(numbers), f"{path.name}: sections numbered {numbers}"


def _lock_versions():
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version.strip()
    return pins


def test_environment_yml_agrees_with_the_lock():
    lock = _lock_versions()
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    specs = [d for d in env["dependencies"] if isinstance(d, str)]
    specs += next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    checked = 0
    for spec in specs:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==?([\w.]+)", spec.strip())
        if match and match.group(1) != "python":
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            assert lock.get(name) == match.group(2), (
                f"{name}: environment.yml {match.group(2)} vs lock {lock.get(name)}"
            )
            checked += 1
    assert checked >= 20
    assert lock["torch"] == "2.13.0"
