"""``radlib audit`` as a user runs it: a real process, its exit code, its messages, no traceback (issue 12).

Each test starts ``python -m radlib.cli audit`` on a small table (:func:`audit_tables.make_table`,
80 patients x 8 features unless said otherwise) with one site-fold, the full-budget arms only,
2 repetitions and SMOTE (or a Gaussian plug-in generator where the case needs a generator arm),
and asserts on the exit code, stdout, stderr and the output folder. Cleaning and configuration
rules themselves are tested in test_data.py, test_config.py and test_features.py; the output
folder's swap in test_audit_folder.py.
"""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from audit_tables import make_table
from waiting import paused_at_gate

from radlib.records import valid_mask

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "RADLIB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
FAST = [
    "--profile",
    "smoke",
    "--set",
    "shift.folds=1",
    "--set",
    "synthesis.snapshots=[1.0]",
    "--set",
    "repetitions=2",
    "--set",
    "classifiers.rf.n_estimators=10",
    "--set",
    "sensitivity.permutations=20",
    "--n-jobs",
    "1",
]
GAUSS_PLUGIN = '''
import numpy as np
from radlib.generators import Generator, register


class GaussianCopy(Generator):
    """Class-conditional Gaussian with a diagonal covariance."""

    def _fit(self, X, y, seed):
        self.mean_ = {c: X[y == c].mean(axis=0) for c in (0, 1)}
        self.sd_ = {c: X[y == c].std(axis=0) + 1e-9 for c in (0, 1)}

    def _sample_class(self, label, n, seed):
        rng = np.random.default_rng(seed)
        return self.mean_[label] + self.sd_[label] * rng.standard_normal((n, len(self.mean_[label])))


register("gauss", GaussianCopy, replace=True)
'''

pytestmark = pytest.mark.slow  # every test starts radlib in a subprocess


def _command(*args) -> list[str]:
    return [sys.executable, "-m", "radlib.cli", "audit", *map(str, args)]


def audit_cli(*args, timeout=300, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    """Run ``radlib audit`` with ``args`` in a new process (in ``cwd``, ``env`` added); stdout and stderr as text."""
    return subprocess.run(
        _command(*args), capture_output=True, text=True, env={**ENV, **(env or {})}, cwd=cwd, timeout=timeout
    )


def assert_no_traceback(run: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in run.stderr and "Traceback" not in run.stdout, run.stderr[-3000:]


def assert_refused(run: subprocess.CompletedProcess, message: str, code: int = 2) -> None:
    """Exit ``code``, one ``radlib: error:`` line holding ``message``, no traceback."""
    assert run.returncode == code, (run.stdout[-2000:], run.stderr[-3000:])
    errors = [line for line in run.stderr.splitlines() if line.startswith("radlib: error: ")]
    assert len(errors) == 1 and message in errors[0], run.stderr[-3000:]
    assert_no_traceback(run)


def _plugin(folder: Path) -> Path:
    path = folder / "gauss_plugin.py"
    path.write_text(GAUSS_PLUGIN)
    return path


def _digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` except the task cache and the lock, by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.parts[len(folder.parts)] not in ("tasks", ".run.lock", "interim")
    }


# --- 1. finite extreme values --------------------------------------------------------------


def test_extreme_values_are_set_to_missing_counted_and_every_task_runs(tmp_path):
    frame = make_table()
    frame.loc[3, "f1"] = 1e308
    frame.loc[7, "f2"] = -1e308
    frame.loc[[10, 11], "f3"] = [3e200, -2e160]  # finite, but their squares overflow
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli(
        "--csv",
        tmp_path / "cohort.csv",
        "--target",
        "Target",
        *FAST,
        "--generators",
        "smote",
        "--out",
        tmp_path / "out",
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "4 values beyond ±1e+100 set to missing, in f1, f2, f3" in run.stdout
    assert "2 of 2 tasks done (0 reused), 0 failed, 0 failed arms" in run.stdout
    assert json.loads((tmp_path / "out" / "data_report.json").read_text())["cohort"]["extreme_values"] == 4
    assert_no_traceback(run)
    assert "Warning" not in run.stderr  # no overflow warnings from numpy or scikit-learn either


# --- 2. a failed run leaves the previous outputs as they were -------------------------------


def test_a_run_where_no_task_finishes_leaves_the_previous_outputs_untouched(tmp_path):
    table, out = tmp_path / "cohort.csv", tmp_path / "out"
    make_table().to_csv(table, index=False)
    first = audit_cli("--csv", table, "--target", "Target", *FAST, "--generators", "smote", "--out", out)
    assert first.returncode == 0, first.stderr[-3000:]
    before = _digests(out)
    assert {"results.parquet", "manifest.json", "verdict.md", "data_report.json", "tables/audit_arms.csv"} <= set(
        before
    )
    # The verdict names the run it describes: the last run of the manifest.
    finished = json.loads((out / "manifest.json").read_text())["runs"][-1]["finished"]
    assert f"This verdict describes the run finished {finished}" in (out / "verdict.md").read_text()

    # The same file now holds 4 patients: too few for 5 site-folds, so every task fails. (A fold
    # whose training rows hold a single class fails alone, as failed records; the task goes on.)
    make_table(n=4, positives=2).to_csv(table, index=False)
    second = audit_cli(
        "--csv", table, "--target", "Target", *FAST, "--set", "shift.folds=5", "--min-class-rows", "1",
        "--generators", "smote", "--out", out,
    )  # fmt: skip
    assert_refused(second, "no task finished (2 of 2 failed: cohort r0: ValueError:", code=1)
    assert f"no output was replaced: {out} keeps its previous outputs" in second.stderr
    # Records, manifest, verdict, tables and figures of the first run; the failed run of the other
    # configuration is in that configuration's history (issue 21, section 4: history never lost).
    after = _digests(out)
    added = {name for name in after if name not in before}
    assert {name: after[name] for name in before} == before and len(added) == 1
    (history,) = added
    assert history.startswith("runs/") and json.loads((out / history).read_text())["runs"][0]["tasks_failed"] == 2
    hidden = sorted(p.name for p in out.iterdir() if p.name.startswith("."))
    assert hidden == [".radlib-audit.json", ".run.lock"]  # the marker and the lock; no staging left


# --- 3. the ID column cannot leak into the features -----------------------------------------


def test_the_target_as_id_column_is_refused(tmp_path):
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli(
        "--csv", tmp_path / "cohort.csv", "--target", "Target", "--id", "Target", *FAST, "--out", tmp_path / "out"
    )
    assert_refused(run, "'Target' is both the target and an ID column to drop")
    assert not (tmp_path / "out").exists()


def test_a_numeric_identifier_under_another_name_is_refused_naming_it_and_the_way_to_keep_it(tmp_path):
    """A patient number sorted with the classes would raise the real-only AUC to near 1 (issue 12: 0.53 -> 0.97)."""
    frame = make_table().sort_values("Target", kind="stable").reset_index(drop=True)
    frame.insert(1, "PatientNo", np.arange(1001, 1001 + len(frame)))
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli("--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--out", tmp_path / "out")
    assert_refused(run, "'PatientNo' look(s) like a patient identifier (PatientNo: named like an identifier")
    assert "Drop it with --id PatientNo, or use it as a feature with --keep PatientNo" in run.stderr
    assert not (tmp_path / "out").exists()


# --- 4. the lock covers the whole run, writes included --------------------------------------

SLOW_VERDICT_WRITE = """
import os, time
import radlib.audit.run as run

_write = run.write_text_atomically


def slow_write(text, path):
    if os.path.basename(path) == "verdict.md":
        open(os.path.join({gate!r}, "writing"), "w").close()
        deadline = time.time() + 120
        while not os.path.exists(os.path.join({gate!r}, "release")) and time.time() < deadline:
            time.sleep(0.05)
    return _write(text, path)


run.write_text_atomically = slow_write
"""


def test_a_second_audit_is_refused_while_the_first_writes_its_outputs(tmp_path):
    gate = tmp_path / "gate"
    gate.mkdir()
    slow = tmp_path / "slow_write.py"
    slow.write_text(SLOW_VERDICT_WRITE.format(gate=str(gate)))
    table, out = tmp_path / "cohort.csv", tmp_path / "out"
    make_table().to_csv(table, index=False)
    args = ["--csv", table, "--target", "Target", *FAST, "--generators", "smote", "--out", out]
    first = subprocess.Popen(
        _command(*args, "--plugin", slow), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, cwd=ROOT
    )
    # The first run has trained and is writing its verdict (deliberately slowly) ...
    with paused_at_gate(first, gate, "the first run's verdict") as output:
        # ... when a second audit (another configuration) reaches the same folder: refused.
        second = audit_cli(*args[:-2], "--set", "repetitions=1", "--out", out)
        assert_refused(second, f"another radlib run is writing to {out}", code=3)
    assert first.returncode == 0, output["stderr"][-3000:]
    assert f"written to {out}" in output["stdout"]
    records = pd.read_parquet(out / "results.parquet")
    assert sorted(records["repetition"].unique()) == [0, 1]  # the first run's records, not the second's
    assert "2 repetitions" in (out / "verdict.md").read_text()


# --- 5. failures after training cost nothing that finished ----------------------------------


def test_a_table_whose_tasks_all_fail_does_not_cost_the_others_their_verdict(tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    make_table(seed=1).to_csv(folder / "good.csv", index=False)
    make_table(n=4, positives=2, seed=2).to_csv(folder / "broken.csv", index=False)  # too few rows for 5 folds
    out = tmp_path / "out"
    run = audit_cli(
        "--csv", folder, "--target", "Target", *FAST, "--set", "shift.folds=5", "--min-class-rows", "1",
        "--plugin", _plugin(tmp_path), "--generators", "gauss", "smote", "--out", out,
    )  # fmt: skip
    assert run.returncode == 1, run.stderr[-3000:]
    assert_no_traceback(run)
    assert "2 of 4 tasks done (0 reused), 2 failed" in run.stdout
    verdict = (out / "verdict.md").read_text()
    assert "gauss: pooled ΔAUC" in verdict  # the good table's analyses
    assert "broken r0: ValueError: shift.folds must be an integer between 1 and the number of rows" in verdict
    assert "Tables without a finished task, left out of every analysis: broken." in verdict
    assert (out / "tables" / "logreg_all_pairs.csv").is_file() and (out / "figures" / "04_delta_auc.png").is_file()


def test_a_class_of_two_rows_gets_a_verdict_naming_what_did_not_finish(tmp_path):
    make_table(n=60, positives=2).to_csv(tmp_path / "tiny.csv", index=False)
    out = tmp_path / "out"
    run = audit_cli(
        "--csv",
        tmp_path / "tiny.csv",
        "--target",
        "Target",
        *FAST,
        "--min-class-rows",
        "1",
        "--plugin",
        _plugin(tmp_path),
        "--generators",
        "gauss",
        "smote",
        "--out",
        out,
    )
    assert run.returncode in (0, 1), run.stderr[-3000:]
    assert_no_traceback(run)
    verdict = (out / "verdict.md").read_text()
    assert verdict.startswith("Verdict for tiny: 60 patients")
    assert "\ntiny: 60 patients (58 of class 0, 2 of class 1)" in verdict
    manifest = json.loads((out / "manifest.json").read_text())
    for task in manifest["tasks_failed"]:
        assert f"  {task}: " in verdict
    records = pd.read_parquet(out / "results.parquet")
    for classifier, label in (("logreg", "Logistic regression"), ("rf", "Random forest")):
        if not valid_mask(records, classifier).any():
            assert f"{label}: no valid repetition (every external site held a single class" in verdict
    assert "This verdict describes the run finished" in verdict
    assert run.returncode == (1 if manifest["tasks_failed"] else 0)


# --- 6. smaller user-visible cases ----------------------------------------------------------


@pytest.mark.parametrize("where", ["the file", "under the file"])
def test_out_at_or_under_a_file_is_bad_input(tmp_path, where):
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    (tmp_path / "notes.txt").write_text("a file")
    out = tmp_path / "notes.txt" if where == "the file" else tmp_path / "notes.txt" / "audit"
    run = audit_cli("--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--out", out)
    expected = (
        "is a file; give a folder" if where == "the file" else f"lies under {tmp_path / 'notes.txt'}, which is a file"
    )
    assert_refused(run, f"--out {out} {expected}")


@pytest.mark.parametrize("value", ["0", "-3"])
def test_min_class_rows_below_one_is_refused(tmp_path, value):
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli(
        "--csv",
        tmp_path / "cohort.csv",
        "--target",
        "Target",
        *FAST,
        "--min-class-rows",
        value,
        "--out",
        tmp_path / "out",
    )
    assert_refused(run, f"--min-class-rows must be at least 1, got {value}")


def test_a_two_valued_target_that_is_not_0_1_says_how_to_choose_the_positive_class(tmp_path):
    frame = make_table()
    frame["Target"] = np.where(frame["Target"] == 1, "M", "B")
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli("--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--out", tmp_path / "out")
    assert_refused(run, "target values ['B', 'M'] are not 0/1, True/False or '0'/'1'; say which value is the positive")
    assert "--positive-class VALUE" in run.stderr and "must be binary" not in run.stderr


LONG_NAME = "cohort_" + "x" * 225  # a 236-character file name with ".csv"


@pytest.fixture(scope="module")
def ordinary_run(tmp_path_factory):
    """One audit of an ordinary-looking table that exercises the rest of case 6 at once.

    M/B target with ``--positive-class M``; three repeated rows; six columns that vary in one
    row each (so constant in the training rows whenever that row is at the external site);
    a 236-character file name; ``--set shift.severity=1e-3``.
    """
    folder = tmp_path_factory.mktemp("ordinary")
    frame = make_table()
    frame["Target"] = np.where(frame["Target"] == 1, "M", "B")
    for j in range(6):
        frame[f"rare{j}"] = 0.0
        frame.loc[10 * j + 3, f"rare{j}"] = 1.0
    frame = pd.concat([frame, frame.iloc[[1, 1, 6]].assign(ID=["q1", "q2", "q3"])], ignore_index=True)
    table = folder / f"{LONG_NAME}.csv"
    frame.to_csv(table, index=False)
    out = folder / "out"
    run = audit_cli("--csv", table, "--target", "Target", "--positive-class", "M", *FAST,
                    "--set", "shift.severity=1e-3", "--generators", "smote", "--out", out)  # fmt: skip
    return run, out


def test_scientific_notation_in_set_is_a_number(ordinary_run):
    run, out = ordinary_run
    assert run.returncode == 0, run.stderr[-3000:]
    assert json.loads((out / "manifest.json").read_text())["config"]["shift"]["severity"] == 0.001


def test_positive_class_codes_a_two_valued_target(ordinary_run):
    run, out = ordinary_run
    assert run.returncode == 0, run.stderr[-3000:]
    assert "80 patients (40 of class 0, 40 of class 1; positive class (1): M)" in run.stdout


def test_repeated_rows_are_counted_dropped_and_listed(ordinary_run):
    run, out = ordinary_run
    assert run.returncode == 0, run.stderr[-3000:]
    assert "3 repeated rows dropped: 81 (= row 2), 82 (= row 2), 83 (= row 7)" in run.stdout
    report = next(iter(json.loads((out / "data_report.json").read_text()).values()))
    assert report["duplicate_rows"] == [[81, 2], [82, 2], [83, 7]] and report["n_raw"] == 83 and report["n"] == 80


def test_a_long_file_name_is_shortened_for_files_and_shown_whole(ordinary_run):
    run, out = ordinary_run
    assert run.returncode == 0, run.stderr[-3000:]
    assert_no_traceback(run)
    name = pd.read_parquet(out / "results.parquet")["dataset"].unique().tolist()
    assert len(name) == 1 and len(name[0]) == 100 and name[0].startswith("cohort_xxx") and name[0][-9] == "~"
    assert f"name shortened from the file {LONG_NAME}.csv" in run.stdout
    assert all(len(p.name) < 255 for p in (out / "tasks").rglob("*"))


def test_columns_constant_in_training_give_no_warning(ordinary_run):
    run, out = ordinary_run
    assert run.returncode == 0, run.stderr[-3000:]
    assert "are constant" not in run.stderr and "Warning" not in run.stderr, run.stderr[-3000:]
    report = next(iter(json.loads((out / "data_report.json").read_text()).values()))
    assert report["dropped"]["constant"] == [] and report["p_clean"] == 14  # constant in training only, not overall


def test_one_feature_column_says_no_arm_differs_from_real_only(tmp_path):
    frame = make_table()[["ID", "Target", "f0"]]
    frame.to_csv(tmp_path / "single.csv", index=False)
    run = audit_cli("--csv", tmp_path / "single.csv", "--target", "Target", *FAST, "--plugin", _plugin(tmp_path),
                    "--generators", "gauss", "smote", "--out", tmp_path / "out")  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    logreg = run.stdout.split("Logistic regression:")[1].split("Random forest:")[0]
    assert "No arm differs from real-only training: every ΔAUC is exactly 0" in logreg
    assert "largest mean gain" not in logreg
    assert_no_traceback(run)


# --- issue 21, 1. --out never removes or overwrites a file an audit did not write -----------


def _every_file(folder: Path) -> dict[str, str]:
    """SHA-256 of every file under ``folder`` (git's own folder left out), by relative path."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }


@pytest.fixture
def project_clone(tmp_path):
    """A git repository standing in for the project (``RADLIB_ROOT``): committed figures, a committed
    study manifest, and a user's table in ``data/``."""
    repo = tmp_path / "project"
    for name, text in {
        "figures/full/05_key.png": "figure",
        "results/full/manifest.json": '{"config_hash": "e0c216f7c940"}',
        "results/full/records.parquet": "records",
        "pyproject.toml": "[project]",
    }.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "study"], check=True)
    (repo / "data").mkdir()
    make_table().to_csv(repo / "data" / "cohort.csv", index=False)
    return repo


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", "is the project folder"),
        ("", "--out is empty (an unset variable?)"),
        ("results/full", "holds 2 file(s) tracked by git (manifest.json, records.parquet)"),
        ("figures", "holds 1 file(s) tracked by git (full/05_key.png)"),
    ],
)
def test_out_in_the_project_or_empty_is_refused_and_nothing_is_touched(project_clone, out, message):
    before = _every_file(project_clone)
    run = audit_cli(
        "--csv", "data/cohort.csv", "--target", "Target", *FAST, "--generators", "smote", "--out", out,
        cwd=project_clone, env={"RADLIB_ROOT": str(project_clone)},
    )  # fmt: skip
    assert_refused(run, message)
    assert _every_file(project_clone) == before


def test_a_user_folder_with_files_is_refused_and_its_files_stay(tmp_path):
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    out = tmp_path / "thesis"
    (out / "figures").mkdir(parents=True)
    (out / "tables").mkdir()
    (out / "figures" / "my_plot.png").write_text("my plot")
    (out / "tables" / "thesis_table1.csv").write_text("a,b")
    run = audit_cli(
        "--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--generators", "smote", "--out", out
    )
    assert_refused(run, f"--out {out} already holds 2 entries that no audit wrote (figures, tables)")
    assert _every_file(out) == {
        "figures/my_plot.png": hashlib.sha256(b"my plot").hexdigest(),
        "tables/thesis_table1.csv": hashlib.sha256(b"a,b").hexdigest(),
    }


def test_the_input_tables_folder_is_refused(tmp_path):
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    before = _every_file(tmp_path)
    for paths in (["cohort.csv"], ["."]):  # the table, or its folder
        run = audit_cli("--csv", *paths, "--target", "Target", *FAST, "--out", ".", cwd=tmp_path)
        assert_refused(run, f"--out {tmp_path} holds the input table {tmp_path / 'cohort.csv'}")
    assert _every_file(tmp_path) == before


@pytest.fixture(scope="module")
def earlier_audit(tmp_path_factory):
    """A folder an audit wrote (SMOTE only), and the table it read."""
    folder = tmp_path_factory.mktemp("earlier")
    make_table().to_csv(folder / "cohort.csv", index=False)
    out = folder / "out"
    run = audit_cli("--csv", folder / "cohort.csv", "--target", "Target", *FAST, "--generators", "smote", "--out", out)
    assert run.returncode == 0, run.stderr[-3000:]
    return folder / "cohort.csv", out


def test_an_audit_marks_its_folder_and_a_rerun_replaces_only_its_own_files(earlier_audit, tmp_path):
    table, first = earlier_audit
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    marker = json.loads((out / ".radlib-audit.json").read_text())
    assert "verdict.md" in marker["files"] and "figures/delta_auc.png" in marker["files"]
    run = audit_cli("--csv", table, "--target", "Target", *FAST, "--generators", "smote", "--out", out)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 of 2 tasks done (2 reused)" in run.stdout

    # A file of the user's among the audit's outputs stops the next audit before anything moves.
    (out / "figures" / "my_plot.png").write_text("my plot")
    before = _every_file(out)
    run = audit_cli("--csv", table, "--target", "Target", *FAST, "--generators", "smote", "--out", out)
    assert_refused(run, f"--out {out} holds 1 file(s) that no audit wrote (figures/my_plot.png)")
    after = _every_file(out)
    assert after.pop(".run.lock") and before.pop(".run.lock")  # the lock's holder (pid) changed, nothing else
    assert after == before


def test_the_audits_own_records_as_input_are_refused(earlier_audit):
    _, out = earlier_audit
    before = _every_file(out)
    run = audit_cli("--csv", out / "results.parquet", "--target", "arm", *FAST, "--out", out)
    assert_refused(run, f"--out {out} holds the input table {out / 'results.parquet'}")
    assert _every_file(out) == before


@pytest.mark.parametrize(("name", "kind"), [("tasks", "file"), (".previous", "file"), ("verdict.md", "folder")])
def test_an_entry_of_the_wrong_kind_in_an_audits_folder_is_refused_before_the_grid(earlier_audit, tmp_path, name, kind):
    table, first = earlier_audit
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    path = out / name
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.mkdir() if kind == "folder" else path.write_text("x")
    run = audit_cli("--csv", table, "--target", "Target", *FAST, "--generators", "smote", "--out", out)
    where = "keeps a folder" if kind == "file" else "writes a file"
    assert_refused(run, f"--out {out}: '{name}' is a {kind} where an audit {where}")


# --- issue 21, 2. identifiers that leak, patients counted twice, a copy of the outcome -----


def _twice(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every patient of ``frame`` on two consecutive rows, the second with slightly different features."""
    rng = np.random.default_rng(seed)
    second = frame.copy()
    features = [c for c in frame.columns if c.startswith("f")]
    second[features] += rng.normal(scale=0.01, size=(len(frame), len(features)))
    return pd.concat([frame, second]).sort_index(kind="stable").reset_index(drop=True)


def test_an_accession_on_two_rows_per_patient_is_refused_then_its_repeats(tmp_path):
    frame = _twice(make_table(n=40).drop(columns="ID"))
    frame.insert(0, "Accession", np.repeat(np.arange(7_001, 7_041), 2))
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    args = ["--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--out", tmp_path / "out"]
    run = audit_cli(*args)
    assert_refused(run, "'Accession' look(s) like a patient identifier (Accession: named like an identifier")
    run = audit_cli(*args, "--id", "Accession")
    assert_refused(
        run, "40 row(s) repeat a patient ID (e.g. Accession 7001 on rows 1, 2), so the same patient could sit"
    )
    assert "--first-row-per-id" in run.stderr and not (tmp_path / "out").exists()


def test_an_mrn_of_floats_with_a_missing_value_is_refused(tmp_path):
    frame = make_table()
    frame.insert(1, "mrn", np.random.default_rng(3).permutation(80) * 17.0 + 4_000_000)
    frame.loc[5, "mrn"] = np.nan
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli("--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--out", tmp_path / "out")
    assert_refused(run, "'mrn' look(s) like a patient identifier (mrn: named like an identifier, integer values)")


def test_the_same_id_on_two_rows_is_refused_or_each_patients_first_row_kept(tmp_path):
    frame = make_table(n=120)
    frame = pd.concat([frame, _twice(frame.iloc[:30]).iloc[1::2]], ignore_index=True)  # 30 patients again
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    args = ["--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--generators", "smote"]
    run = audit_cli(*args, "--out", tmp_path / "out")
    assert_refused(run, "30 row(s) repeat a patient ID (e.g. ID 'p000' on rows 1, 121)")
    run = audit_cli(*args, "--first-row-per-id", "--out", tmp_path / "out")
    assert run.returncode == 0, run.stderr[-3000:]
    assert "cohort: 120 patients (60 of class 0, 60 of class 1)" in run.stdout
    assert (
        "30 rows of a patient ID seen before dropped (--first-row-per-id): 121 (= row 1), 122 (= row 2)" in run.stdout
    )
    assert pd.read_parquet(tmp_path / "out" / "results.parquet")["status"].eq("ok").all()


def pyradiomics_export(n: int = 80, seed: int = 0) -> pd.DataFrame:
    """A table as pyradiomics' batch extraction writes it: paths, ``diagnostics_*`` columns, shape features
    that are whole numbers distinct in every row, a first-order energy beyond 2^53, and an outcome."""
    rng = np.random.default_rng(seed)
    y = np.arange(n) % 2
    voxels = rng.choice(np.arange(500, 90_000), size=n, replace=False) + 300 * y
    return pd.DataFrame(
        {
            "Image": [f"/data/case{i:03d}/image.nrrd" for i in range(n)],
            "Mask": [f"/data/case{i:03d}/mask.nrrd" for i in range(n)],
            "outcome": y,
            "diagnostics_Versions_PyRadiomics": "v3.1.0",
            "diagnostics_Configuration_Settings": "{'binWidth': 25, 'resampledPixelSpacing': None}",
            "diagnostics_Image-original_Hash": [f"{rng.integers(2**60):x}" for _ in range(n)],
            "diagnostics_Image-original_Mean": rng.normal(100, 10, n),
            "diagnostics_Mask-original_VoxelNum": voxels,
            "diagnostics_Mask-original_BoundingBox": [f"({i}, 3, 7, 20, 20, 9)" for i in range(n)],
            "original_shape_VoxelVolume": voxels,
            "original_shape_MeshVolume": voxels * 0.98 + rng.normal(0, 5, n),
            "original_firstorder_Energy": (rng.uniform(1, 4, n) + y) * 2.0**60,
            "original_glcm_Id": rng.uniform(0.2, 0.9, n) + 0.1 * y,
            "original_glrlm_RunEntropy": rng.normal(4, 0.5, n) + 0.8 * y,
        }
    )


def test_a_pyradiomics_export_gets_a_verdict_without_a_flag(tmp_path):
    pyradiomics_export().to_csv(tmp_path / "features.csv", index=False)
    run = audit_cli("--csv", tmp_path / "features.csv", "--target", "outcome", *FAST, "--generators", "smote",
                    "--out", tmp_path / "out")  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    assert "features: 80 patients (40 of class 0, 40 of class 1), 5 of 13 feature columns used" in run.stdout
    assert (
        "excluded 6 diagnostics_* columns (pyradiomics' versions, settings, image and mask statistics; not features): "
        "diagnostics_Versions_PyRadiomics, diagnostics_Configuration_Settings" in run.stdout
    )
    assert "dropped 2 non-numeric: Image, Mask" in run.stdout
    assert (tmp_path / "out" / "verdict.md").is_file()


def test_a_copy_of_the_outcome_is_named_in_a_warning(tmp_path):
    frame = make_table()
    frame["f_leak"] = frame["Target"] * 3.0 + np.random.default_rng(5).normal(0, 0.1, len(frame))
    frame.to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli("--csv", tmp_path / "cohort.csv", "--target", "Target", *FAST, "--generators", "smote",
                    "--out", tmp_path / "out")  # fmt: skip
    assert run.returncode == 0, run.stderr[-3000:]
    warning = "warning: f_leak alone separates the classes (AUC 1.000): a copy of the outcome, or measured after it?"
    assert warning in run.stdout and warning in (tmp_path / "out" / "verdict.md").read_text()
    assert "f0 alone" not in run.stdout


# --- issue 21, 3. settings that cannot be computed are refused before anything runs ---------

BROKEN_PLUGIN = """
from radlib.generators import Generator, register


class Broken(Generator):
    def _fit(self, X, y, seed):
        raise RuntimeError("this generator always fails")

    def _sample_class(self, label, n, seed):
        raise RuntimeError("never fitted")


register("broken", Broken, replace=True)
"""


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--set", "shift.severity=.nan"], "'shift.severity' must be a finite number, got nan"),
        (["--set", "synthesis.ratio=.inf"], "'synthesis.ratio' must be a finite number, got inf"),
        (["--set", "shift.severity=.inf"], "'shift.severity' must be a finite number, got inf"),
        (["--set", "metrics.mmd_max_rows=0"], "'metrics.mmd_max_rows' must lie in [2, 20000], got 0"),
        (["--set", "repetitions=1000000000"], "'repetitions' must lie in [1, 1000], got 1000000000"),
        (["--set", "synthesis.ratio=1e6"], "'synthesis.ratio' must lie in (0, 100], got 1000000.0"),
        (["--set", "k=!!python/object/apply:os.getpid []"], "could not determine a constructor for the tag"),
        (["--set", "shift.severity=[1,"], "override 'shift.severity': the value '[1,' is not valid YAML here"),
        (["--set", "synthesis.params={a: &a [1, 1], b: [*a, *a], c: [*a, *a]}"], "YAML aliases (*name) are not accepted"),
        (["--set", "paths.processed=/tmp/elsewhere"], "--set paths.processed: an audit does not use 'paths'"),
        (["--set", "datasets=[Ahn2021]"], "--set datasets: an audit does not use 'datasets'"),
    ],
)  # fmt: skip
def test_a_setting_that_cannot_be_computed_is_one_sentence_and_the_previous_outputs_stay(
    earlier_audit, tmp_path, options, message
):
    table, first = earlier_audit
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    before = _every_file(out)
    run = audit_cli("--csv", table, "--target", "Target", *FAST, "--generators", "smote", *options, "--out", out)
    assert_refused(run, message)
    assert _every_file(out) == before


@pytest.mark.parametrize("value", ["-1", "0", "two"])
def test_n_jobs_below_one_is_refused(tmp_path, value):
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    run = audit_cli("--csv", tmp_path / "cohort.csv", "--target", "Target", "--n-jobs", value, "--out", tmp_path / "o")
    assert run.returncode == 2 and "argument --n-jobs: must be" in run.stderr.splitlines()[-1], run.stderr[-2000:]
    assert_no_traceback(run)


def test_a_profile_that_is_a_folder_or_binary_and_an_unwritable_out_are_one_sentence(tmp_path):
    make_table().to_csv(tmp_path / "cohort.csv", index=False)
    (tmp_path / "lab.yaml").mkdir()
    (tmp_path / "bin.yaml").write_bytes(bytes(range(256)))
    args = ["--csv", tmp_path / "cohort.csv", "--target", "Target"]
    assert_refused(audit_cli(*args, "--profile", tmp_path / "lab.yaml"), "cannot be read as a file")
    assert_refused(audit_cli(*args, "--profile", tmp_path / "bin.yaml"), f"profile file {tmp_path / 'bin.yaml'} is not")
    assert_refused(audit_cli(*args, *FAST, "--out", "/proc/radlib-audit"), "cannot create the output folder there")


def test_nothing_valid_computed_exits_1_and_keeps_the_previous_outputs(earlier_audit, tmp_path):
    table, first = earlier_audit
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    before = _every_file(out)
    (tmp_path / "broken.py").write_text(BROKEN_PLUGIN)
    run = audit_cli("--csv", table, "--target", "Target", *FAST, "--plugin", tmp_path / "broken.py",
                    "--generators", "broken", "--set", "synthesis.smote=false", "--out", out)  # fmt: skip
    assert_refused(run, "nothing valid was computed: no arm with synthetic rows has a defined external AUC", code=1)
    assert "this generator always fails" in run.stderr and f"{out} keeps its previous outputs" in run.stderr
    after = _every_file(out)
    assert after.pop(".run.lock") and before.pop(".run.lock")
    # The task cache and the run history (the failed run is in it) grow; every output stays as it was.
    assert {k: v for k, v in after.items() if not k.startswith(("tasks/", "runs/"))} == {
        k: v for k, v in before.items() if not k.startswith(("tasks/", "runs/"))
    }


# --- issue 21, 6. a verdict a clinician can read ----------------------------------------------


def test_the_breast_cancer_table_gets_a_readable_verdict_and_a_rerun_says_what_it_reused(tmp_path):
    """scikit-learn's breast-cancer table (569 x 30) in the smoke profile, snapshot arms included, as a user runs it."""
    from sklearn.datasets import load_breast_cancer

    load_breast_cancer(as_frame=True).frame.to_csv(tmp_path / "breast_cancer.csv", index=False)
    out = tmp_path / "out"
    args = ["--csv", tmp_path / "breast_cancer.csv", "--target", "target", "--profile", "smoke",
            "--set", "shift.folds=1", "--set", "classifiers.rf.n_estimators=10", "--n-jobs", "1",
            "--generators", "cvae", "smote", "--out", out]  # fmt: skip
    run = audit_cli(*args, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    verdict = (out / "verdict.md").read_text()
    first, second = verdict.splitlines()[:2]
    assert (
        first
        == "Verdict for breast_cancer: 569 patients, 30 features; generators cvae + SMOTE, 2 repetitions (profile smoke)."
    )
    assert second.startswith(
        "Profile smoke: a quick check that the audit runs on your table, not a result: its generators are barely "
        "trained (150 training steps instead of 800)"
    )
    assert "For results, run the full profile" in second and "569 patients and 30 features" in second
    assert verdict.index("In short (logistic regression): ") < verdict.index("Details. ΔAUC")
    assert "How stable: " in verdict and "configuration" not in verdict.split("Details.")[0]
    assert "@" not in verdict  # the snapshot arms are the ladder's business, in the tables only
    records = pd.read_parquet(out / "results.parquet")
    assert {"cvae@0.0625", "cvae@0.25"} <= set(records["arm"])
    assert f"verdict with its figures, to open in a browser: {out / 'verdict.html'}" in run.stdout
    page = (out / "verdict.html").read_text()
    assert page.count('src="data:image/png;base64,') == 3 and "http" not in page  # ΔAUC and 2 quality figures

    rerun = audit_cli(*args, timeout=900)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    finished = json.loads((out / "manifest.json").read_text())["runs"][-1]["finished"]
    assert (
        f"This audit computed nothing new: it reused all 2 finished tasks, whose records were computed by the run "
        f"finished {finished}" in (out / "verdict.md").read_text()
    )


# --- issue 21, 4 (first point). a cached task file is checked against its own name -------------


def test_a_task_file_copied_over_another_is_recomputed_not_reused(earlier_audit, tmp_path):
    table, first = earlier_audit
    out = tmp_path / "out"
    shutil.copytree(first, out, symlinks=True)
    (r0,) = out.glob("tasks/*/cohort__*__r000.parquet")
    r1 = r0.with_name(r0.name.replace("__r000", "__r001"))
    shutil.copyfile(r0, r1)  # repetition 0's records under repetition 1's name
    run = audit_cli("--csv", table, "--target", "Target", *FAST, "--generators", "smote", "--out", out)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"cached task file {r1.name} will be recomputed: it holds the records of cohort (" in run.stderr
    assert "2 of 2 tasks done (1 reused)" in run.stdout
    records = pd.read_parquet(out / "results.parquet")
    assert sorted(records["repetition"].unique()) == [0, 1]
    assert records.groupby("repetition")["split_seed"].nunique().eq(1).all()
    assert records.groupby("repetition")["split_seed"].first().nunique() == 2  # two different splits, not one twice


# --- issue 21, 4 (third point). a killed audit's run stays in the history ----------------------


def test_a_killed_audit_keeps_its_run_in_the_history(tmp_path):
    table = tmp_path / "cohort.csv"
    make_table().to_csv(table, index=False)
    out = tmp_path / "out"
    args = ["--csv", table, "--target", "Target", *FAST, "--generators", "smote", "--out", out]
    process = subprocess.Popen(_command(*args), env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and not list(out.glob("tasks/*/*.parquet")):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # after its first task: no manifest, no swap
    process.wait()
    assert len(list(out.glob("tasks/*/*.parquet"))) == 1, "the kill should land after the first of two tasks"
    rerun = audit_cli(*args)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    assert [(run["interrupted"], run["tasks_computed"]) for run in runs] == [(True, 1), (False, 1)]
