"""Checks of the compendium's own files: notebooks stored clean, environment files consistent.

The notebook checks read what git stores (the index), not the working copy: Lab saves outputs and
metadata into the working copy, and the nbstripout filter (.gitattributes, `make git-filter`) keeps
them out of every commit.
"""

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path

import nbformat
import pytest
import yaml
from jupyter_client.kernelspec import KernelSpecManager

from radlib.notebook_files import refresh_git_index

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _git(*args, cwd=ROOT, **kwargs) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, **kwargs).stdout


@cache
def _stored_text(path: Path) -> str:
    """The notebook as git stores it (the index); the file itself outside a git checkout or before `git add`."""
    relative = path.relative_to(ROOT).as_posix()
    if (ROOT / ".git").exists() and _git("ls-files", "--", relative).strip():
        return _git("show", f":{relative}")
    return path.read_text()


def _stored(path: Path) -> dict:
    return json.loads(_stored_text(path))


def test_there_are_numbered_notebooks():
    assert NOTEBOOKS and NOTEBOOKS[0].name == "01_data_ingestion.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    cells = _stored(path)["cells"]
    dirty = [
        i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; `make git-filter` strips them when git stores it"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_metadata_is_what_lab_writes(path):
    """Lab rewrites the kernelspec to the kernel's own; stored so, opening a notebook changes nothing git sees."""
    spec = KernelSpecManager().get_kernel_spec("python3")
    metadata = _stored(path)["metadata"]
    assert metadata["kernelspec"] == {"display_name": spec.display_name, "language": spec.language, "name": "python3"}
    assert "language_info" not in metadata, f"{path.name}: language_info is machine-specific; the filter leaves it out"


def _makefile_variable(name: str) -> str:
    (value,) = re.findall(rf"^{name} := (.+)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    return value.replace("$(VENV)", ".venv")


def test_git_stores_every_notebook_through_the_hooks_nbstripout():
    """.gitattributes routes the notebooks through the filter, and the filter runs the pre-commit hook's command."""
    if not (ROOT / ".git").exists():
        pytest.skip("the repository is not a git checkout")
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    hook = next(h for h in hooks if h["id"] == "nbstripout")
    assert _makefile_variable("NBSTRIPOUT") == hook["entry"]
    for path in NOTEBOOKS:
        relative = path.relative_to(ROOT).as_posix()
        attributes = _git("check-attr", "filter", "diff", "--", relative)
        assert f"{relative}: filter: nbstripout" in attributes and f"{relative}: diff: ipynb" in attributes


def _save_as_lab_does(path: Path) -> None:
    """Write what Lab saves after running a notebook: outputs, counts, widget state, the kernel's metadata."""
    notebook = nbformat.read(path, as_version=4)
    for count, cell in enumerate((c for c in notebook.cells if c.cell_type == "code"), start=1):
        cell.execution_count = count
        cell.metadata["scrolled"] = True
        cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00.000000Z"}
        cell.outputs = [
            nbformat.v4.new_output("stream", name="stdout", text="wrote figures/smoke/x.png\n"),
            nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}),
            nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=count),
        ]
    notebook.metadata["language_info"] = {"name": "python", "version": "3.99.0", "pygments_lexer": "ipython3"}
    notebook.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2}}
    nbformat.write(notebook, path)


@pytest.mark.slow
def test_a_notebook_run_and_saved_in_lab_leaves_git_clean(tmp_path):
    """With the filter `make git-filter` installs and the hook `make lab` sets, git sees no change; the outputs stay."""
    if not (ROOT / ".git").exists() or not (ROOT / ".venv" / "bin" / "nbstripout").exists():
        pytest.skip("needs a git checkout with .venv (make venv)")
    clone = tmp_path / "clone"
    _git("clone", "--quiet", "--shared", str(ROOT), str(clone), cwd=tmp_path)
    # The working tree's filter set-up, committed in the clone; the clone uses this checkout's .venv.
    for name in ("Makefile", ".gitattributes"):
        shutil.copy2(ROOT / name, clone / name)
    (clone / ".venv").symlink_to(ROOT / ".venv")
    with (clone / ".git" / "info" / "exclude").open("a") as exclude:
        exclude.write(".venv\n")
    _git("add", "Makefile", ".gitattributes", cwd=clone)
    _git(
        "-c",
        "user.name=test",
        "-c",
        "user.email=test@example.org",
        "commit",
        "--quiet",
        "--allow-empty",
        "-m",
        "filter",
        cwd=clone,
    )
    subprocess.run(["make", "--no-print-directory", "git-filter"], cwd=clone, check=True, capture_output=True)
    notebook = clone / "notebooks" / NOTEBOOKS[0].name
    _save_as_lab_does(notebook)
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    subprocess.run(["git", "diff", "--exit-code"], cwd=clone, check=True, capture_output=True, env=env)
    # `git status` may trust the changed file size over the filter; Lab's post-save hook (`make lab`) settles it.
    refresh_git_index(str(notebook))
    assert _git("status", "--porcelain", cwd=clone, env=env) == ""
    assert json.loads(notebook.read_text())["cells"][1]["outputs"], "the outputs stay in the working copy"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_one_literal_parameters_cell(path):
    cells = _stored(path)["cells"]
    tagged = [c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: expected exactly one cell tagged 'parameters'"
    tree = ast.parse("".join(tagged[0]["source"]))
    assert any(isinstance(node, ast.Assign) and node.targets[0].id == "profile" for node in tree.body)
    for node in tree.body:
        assert isinstance(node, ast.Assign), f"{path.name}: parameters cell holds only assignments"
        ast.literal_eval(node.value)  # raises for anything but a literal


def _parameters(path: Path) -> dict:
    """The literal parameters of a notebook's cell tagged ``parameters``, name -> value."""
    cells = _stored(path)["cells"]
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
    cells = _stored(path)["cells"]
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


def test_the_version_has_one_source():
    """radlib.__version__ is the version: pyproject reads it, CITATION.cff states the same, CHANGELOG names it."""
    import radlib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "radlib.__version__"}
    assert yaml.safe_load((ROOT / "CITATION.cff").read_text())["version"] == radlib.__version__
    assert f"## {radlib.__version__}" in (ROOT / "CHANGELOG.md").read_text()


def _third_party_imports() -> set[str]:
    """Top-level names of the third-party packages radlib imports (anywhere in a module)."""
    names = set()
    for path in (ROOT / "radlib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return {name for name in names if name != "radlib" and name not in sys.stdlib_module_names}


# Import names that differ from their distribution's name.
_DISTRIBUTIONS = {
    "distributed": "dask",
    "yaml": "pyyaml",
    "sklearn": "scikit-learn",
    "imblearn": "imbalanced-learn",
    "radMLBench": "radmlbench",
}


def test_every_package_radlib_imports_is_a_declared_dependency():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {re.split(r"[<>=\[ ]", spec)[0].lower() for spec in pyproject["project"]["dependencies"]}
    imported = {_DISTRIBUTIONS.get(name, name).lower() for name in _third_party_imports()}
    assert {"threadpoolctl", "joblib", "cycler"} <= imported
    assert sorted(imported - declared) == []
