"""Checks of the Makefile and the commit hooks: `make clean` never deletes a tracked file, `make help`
lists every target, the nbstripout hook stores the notebooks exactly as they are committed."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# What the pipeline writes for a profile whose outputs are not committed, plus a cache file that must stay.
GENERATED = [
    "build/smoke/01_data_ingestion.ipynb",
    "data/interim/smoke/cleaned.parquet",
    "data/processed/smoke/results.parquet",
    "figures/smoke/a.png",
    "results/smoke/b.csv",
    "results/audit/breast_cancer/verdict.md",
]
CACHE = "data/raw/radmlbench/dataset.csv"


def _run(args, cwd, **kwargs):
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True, **kwargs)


def _tracked_outputs():
    listed = _run(["git", "ls-files", "figures", "results", "data"], ROOT).stdout.split()
    assert any(p.startswith("figures/full/") for p in listed) and any(p.startswith("results/full/") for p in listed)
    return listed


def _make_clean(tree, env=None):
    """Run `make clean` in `tree` with the working tree's Makefile.

    PYTHON=false makes the venv's rule fail at once, so the call fails if `clean` ever needs the venv.
    """
    shutil.copy2(ROOT / "Makefile", tree / "Makefile")
    for relative in [*GENERATED, CACHE]:
        (tree / relative).parent.mkdir(parents=True, exist_ok=True)
        (tree / relative).write_text("generated")
    _run(["make", "clean", "PYTHON=false"], tree, env=env)
    assert not (tree / ".venv").exists()
    for relative in GENERATED:
        assert not (tree / relative).exists(), f"{relative} survived make clean"
    assert not (tree / "build").exists()
    assert (tree / CACHE).read_text() == "generated"


@pytest.fixture
def tracked_outputs():
    if not (ROOT / ".git").exists():
        pytest.skip("the repository is not a git checkout")
    return _tracked_outputs()


def test_clean_in_a_git_checkout_removes_only_untracked_outputs(tmp_path, tracked_outputs):
    clone = tmp_path / "clone"
    _run(["git", "clone", "--quiet", "--local", "--no-hardlinks", str(ROOT), str(clone)], tmp_path)
    _make_clean(clone)
    status = _run(["git", "status", "--porcelain"], clone).stdout.splitlines()
    assert not [line for line in status if "D" in line[:2]], f"make clean deleted tracked files: {status}"
    assert all((clone / path).is_file() for path in tracked_outputs)


def test_clean_outside_git_keeps_the_committed_figures_and_results(tmp_path, tracked_outputs):
    """A downloaded archive has no .git: figures/full and results/full are kept all the same."""
    archive = tmp_path / "archive"
    archive.mkdir()
    _run(["git", "archive", "--format=tar", f"--output={tmp_path / 'repo.tar'}", "HEAD"], ROOT)
    _run(["tar", "-xf", str(tmp_path / "repo.tar"), "-C", str(archive)], tmp_path)
    # Stop git from finding a repository above the temporary folder.
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path)}
    _make_clean(archive, env=env)
    assert all((archive / path).is_file() for path in tracked_outputs)


def test_help_lists_every_documented_target_with_its_description():
    documented = re.findall(r"^([a-zA-Z_-]+):.*?## (.+)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE)
    assert {"lint", "test", "test-fast", "clean"} <= {target for target, _ in documented}
    shown = _run(["make", "--no-print-directory", "help"], ROOT).stdout.splitlines()
    for target, description in documented:
        assert any(line.split(None, 1) == [target, description] for line in shown), f"make help misses {target}"


def test_nbstripout_hook_leaves_the_committed_notebooks_unchanged():
    """The hook strips what the repository already stores stripped, so committing never rewrites a notebook."""
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    hook = next(h for h in hooks if h["id"] == "nbstripout")
    entry = hook["entry"].split()
    if not (ROOT / entry[0]).exists():
        pytest.skip(f"{entry[0]} is not installed (make venv)")
    notebooks = subprocess.run(
        ["git", "ls-files", "notebooks/*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    assert notebooks and all(re.search(hook["files"], p) for p in notebooks)
    for notebook in notebooks:  # what git stores, not the working copy a researcher may have executed
        stored = subprocess.run(["git", "show", f":{notebook}"], cwd=ROOT, capture_output=True, text=True, check=True)
        result = subprocess.run([*entry, "--verify"], input=stored.stdout, cwd=ROOT, capture_output=True, text=True)
        assert result.returncode == 0, f"{notebook}: {result.stdout + result.stderr}"
