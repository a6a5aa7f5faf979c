"""The way in: `make lab` starts anywhere, the Makefile runs every numbered notebook, the report's names."""

import importlib.util
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


def _dry_run(*args, cwd=ROOT, env=None) -> list[str]:
    """The commands `make -n` would run (the venv counts as built)."""
    command = ["make", "--no-print-directory", "-n", "-o", ".venv/.installed", *args]
    return subprocess.run(command, cwd=cwd, check=True, capture_output=True, text=True, env=env).stdout.splitlines()


def _lab_command(*args, env=None) -> str:
    (line,) = [line for line in _dry_run("lab", *args, env=env) if " lab " in line]
    return line


def test_lab_takes_extra_arguments_and_saves_through_the_git_hook():
    line = _lab_command("LAB_ARGS=--no-browser --port 8899 --ip 0.0.0.0")
    assert line.startswith(".venv/bin/jupyter lab --notebook-dir=notebooks")
    assert line.endswith("--no-browser --port 8899 --ip 0.0.0.0") and line.count("--no-browser") == 1
    assert "--ContentsManager.post_save_hook=radlib.notebook_files.refresh_git_index" in line


@pytest.mark.skipif(shutil.which("id") is None, reason="needs id(1)")
def test_lab_allows_root_exactly_when_run_as_root():
    as_root = subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() == "0"
    assert ("--allow-root" in _lab_command()) == as_root


def test_lab_opens_no_browser_on_a_linux_machine_without_display():
    if subprocess.run(["uname", "-s"], capture_output=True, text=True).stdout.strip() != "Linux":
        pytest.skip("the headless rule is for Linux")
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    assert "--no-browser" in _lab_command(env=env)
    assert "--no-browser" not in _lab_command(env={**env, "DISPLAY": ":0"})


def _papermill_runs(lines):
    """(notebook, executed copy, parameters) of each papermill run."""
    runs = []
    for line in lines:
        if "/papermill " in line:
            notebook, output = re.findall(r"(\S+\.ipynb)", line)[:2]
            runs.append((notebook, output, dict(re.findall(r"-p (\w+) (\S+)", line))))
    return runs


@pytest.fixture
def tree_with_a_new_notebook(tmp_path):
    """The Makefile in a tree whose notebooks/ holds the repository's notebooks and a new 09."""
    shutil.copy2(ROOT / "Makefile", tmp_path / "Makefile")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "radlib").mkdir()
    for path in ROOT.glob("notebooks/[0-9][0-9]_*.ipynb"):
        shutil.copy2(path, tmp_path / "notebooks" / path.name)
    (tmp_path / "notebooks" / "09_new_analysis.ipynb").write_text("{}")
    # A built venv: its stamp newer than what it is built from.
    for name in ("requirements.lock", "pyproject.toml"):
        (tmp_path / name).write_text("")
    (tmp_path / ".venv").mkdir()
    stamp = tmp_path / ".venv" / ".installed"
    stamp.write_text("")
    os.utime(stamp, (time.time() + 60, time.time() + 60))
    return tmp_path


def test_all_runs_every_numbered_notebook_and_the_grid_and_renders_the_report(tree_with_a_new_notebook):
    runs = _papermill_runs(_dry_run("all", "PROFILE=smoke", cwd=tree_with_a_new_notebook))
    executed = [Path(output).name for _, output, _ in runs]
    assert executed[:4] == [
        f"{n}.partial.ipynb"
        for n in ("01_data_ingestion", "02_synthesis", "03_quality_metrics", "04_external_validation")
    ]
    assert "09_new_analysis.partial.ipynb" in executed
    assert next(p for n, _, p in runs if n.endswith("04_external_validation.ipynb"))["recompute"] == "True"
    # The three runs of 05, each named <classifier>_<subset> with the parameters that name says.
    fallacy = {Path(o).name: p for n, o, p in runs if n.endswith("05_ecological_fallacy.ipynb")}
    assert fallacy == {
        f"05_ecological_fallacy_{c}_{s}.partial.ipynb": {
            "publish": "True",
            "profile": "smoke",
            "classifier": c,
            "subset": s,
        }
        for c, s in (("logreg", "all"), ("rf", "all"), ("logreg", "sensitivity"))
    }
    assert all(parameters["publish"] == "True" for _, _, parameters in runs)  # make publishes; Lab explores
    html = [
        line.split()[-1]
        for line in _dry_run("all", "PROFILE=smoke", cwd=tree_with_a_new_notebook)
        if "nbconvert" in line
    ]
    assert len(html) == len(runs) and all(h.startswith("build/smoke/") for h in html)


def test_figures_reads_the_records_in_its_own_build_folder(tree_with_a_new_notebook):
    lines = _dry_run("figures", "PROFILE=full", cwd=tree_with_a_new_notebook)
    runs = _papermill_runs(lines)
    notebooks = {Path(n).name for n, _, _ in runs}
    records_notebooks = {p.name for p in (tree_with_a_new_notebook / "notebooks").glob("*.ipynb") if p.name >= "04"}
    if not (tree_with_a_new_notebook / "results" / "full" / "specifications").exists():  # v3 records not published
        records_notebooks -= {"08_specification_curve.ipynb", "09_what_predicts_the_gain.ipynb"}
    assert notebooks == records_notebooks and "09_new_analysis.ipynb" in notebooks
    assert all(Path(o).parent == Path("build/full/from-records") for _, o, _ in runs)
    assert next(p for n, _, p in runs if n.endswith("04_external_validation.ipynb"))["recompute"] == "False"
    report = [line for line in lines if "nbconvert" in line]
    assert len(report) == len(runs) and all("--output-dir report " in line for line in report)


def test_the_full_report_goes_to_report_and_other_profiles_stay_in_build():
    # -B: every page counts as out of date, whatever a researcher has built in this checkout already.
    full = [line for line in _dry_run("-B", "report", "PROFILE=full") if "nbconvert" in line]
    smoke = [line for line in _dry_run("-B", "report", "PROFILE=smoke") if "nbconvert" in line]
    assert full and all("--output-dir report " in line for line in full)
    assert smoke and all("--output-dir build/smoke/report " in line for line in smoke)


def _check_lab_module():
    spec = importlib.util.spec_from_file_location("check_lab", ROOT / "tools" / "check_lab.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_server_errors_are_the_5xx_responses_without_their_tokens():
    check_lab = _check_lab_module()
    log = """[I 2026-11-28 14:34:41.407 ServerApp] Jupyter Server 2.21.1 is running at:
[W 2026-11-28 14:34:47.096 ServerApp] 403 GET /api/contents (@127.0.0.1) 12.07ms referer=None
[E 2026-11-28 14:35:02.001 ServerApp] 500 PUT /api/contents/01_data_ingestion.ipynb?token=abc (@127.0.0.1) 8.10ms
[W 2026-11-28 14:35:03.000 ServerApp] 503 GET /api/kernels/x/channels?session_id=1 (@127.0.0.1) 1.00ms"""
    assert check_lab.server_errors(log) == [
        "500 PUT /api/contents/01_data_ingestion.ipynb",
        "503 GET /api/kernels/x/channels",
    ]


def test_a_run_is_finished_when_every_cell_ran_or_one_failed_and_the_kernel_is_idle():
    finished = _check_lab_module()._finished
    assert finished({"status": "idle", "pending": 0, "errors": 0})
    assert finished({"status": "idle", "pending": 3, "errors": 1})  # a failing cell stops the run
    assert not finished({"status": "busy", "pending": 0, "errors": 0})
    assert not finished({"status": "idle", "pending": 2, "errors": 0})
    assert not finished(None)  # no kernel yet


def test_missing_browser_says_how_to_install_it(monkeypatch):
    check_lab = _check_lab_module()
    monkeypatch.setattr(check_lab.shutil, "which", lambda name: None)
    with pytest.raises(check_lab.CheckFailed, match="apt-get install chromium"):
        check_lab.find_browser()


@pytest.mark.slow
def test_check_lab_reports_stderr_and_a_failing_cell_in_a_real_browser(tmp_path, capsys):
    """JupyterLab and headless Chromium for real, on a notebook that writes to stderr and then fails."""
    check_lab = _check_lab_module()
    try:
        check_lab.find_browser()
    except check_lab.CheckFailed as missing:
        pytest.skip(str(missing))
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    notebook.cells = [
        nbformat.v4.new_code_cell('import sys\nprint("careful", file=sys.stderr)'),
        nbformat.v4.new_code_cell("1 / 0"),
        nbformat.v4.new_code_cell('print("never reached")'),
    ]
    path = tmp_path / "failing.ipynb"
    nbformat.write(notebook, path)
    root = ["--allow-root"] if os.geteuid() == 0 else []
    assert check_lab.main([str(path), "--screenshot", str(tmp_path / "shots"), "--timeout", "180", "--", *root]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "check-lab: failing.ipynb: cell 0: stderr: careful",
        "check-lab: failing.ipynb: cell 1: error ZeroDivisionError: division by zero",
    ]
    assert (tmp_path / "shots" / "failing.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_readme_links_every_page_of_the_full_report():
    pages = {
        f"report/{Path(line.split()[-1]).stem}.html"
        # The committed report is what `make figures` renders (RECOMPUTE=False), also when it is up to date.
        for line in _dry_run("--always-make", "report", "PROFILE=full", "RECOMPUTE=False")
        if "nbconvert" in line
    }
    linked = set(re.findall(r"\]\((report/[^)]+\.html)\)", (ROOT / "README.md").read_text()))
    assert pages and linked == pages


def test_the_committed_report_fits_in_15_mib():
    if not (ROOT / ".git").exists():
        pytest.skip("the repository is not a git checkout")
    listed = subprocess.run(["git", "ls-files", "report"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not listed:
        pytest.skip("no report committed yet (`make all` writes it for the full profile)")
    assert sum((ROOT / path).stat().st_size for path in listed) <= 15 * 2**20
