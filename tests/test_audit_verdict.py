"""Tests of radlib.audit.verdict: the plain-language verdict of one table, its numbers formatted the one way."""

import numpy as np
import pytest
from audit_tables import hand_records
from scipy import stats

from radlib import audit as A
from radlib.config import load_config
from radlib.data import Dataset


@pytest.fixture(scope="module")
def verdict():
    arms = A.summarize_arms(hand_records())
    dataset = Dataset("T", np.zeros((40, 3)), np.arange(40) % 2, ["a", "b", "c"])
    config = load_config("smoke").with_overrides({"repetitions": 3})
    return A.render_verdict(arms, A.rank_agreement(arms), dataset, config, records=hand_records())


def test_verdict_gives_each_arm_its_mean_interval_and_call(verdict):
    half = stats.t.isf(0.025, 2) * 0.01 / np.sqrt(3)  # scipy: every arm has SD 0.01 over 3 repetitions
    assert f"{0.04 - half:+.3f}, {0.04 + half:+.3f}" == "+0.015, +0.065"  # the rounding shown below
    assert verdict.startswith(
        "Verdict for T: 40 patients, 3 features; generators wgan_gp, cvae, tabddpm + SMOTE, 3 repetitions (profile smoke)."
    )
    assert "Logistic regression: real-only external AUC 0.700." in verdict
    assert "  g1  ΔAUC +0.040 [+0.015, +0.065]  improved (3 of 3 repetitions up)" in verdict
    assert "  g2  ΔAUC +0.000 [-0.025, +0.025]  no clear change (1 of 3 repetitions up)" in verdict
    assert "  g3  ΔAUC -0.030 [-0.055, -0.005]  worsened (0 of 3 repetitions up)" in verdict
    assert "  Improved the external AUC: g1 by +0.040 [+0.015, +0.065]." in verdict
    assert "With 3 repetitions the intervals are wide" in verdict


def test_verdict_says_whether_quality_ranked_the_generators(verdict):
    # Composite order g2 > g3 > g1 against ΔAUC order g1 > g2 > g3: ρ = -0.5 (hand, test_audit_summaries).
    assert "Best composite quality: g2, not the best-ΔAUC generator (g1)" in verdict
    assert "over the 3 generators = -0.50: a partly different order" in verdict
    assert "quality order: g2 > g3 > g1;  ΔAUC order: g1 > g2 > g3." in verdict
    assert "0 of 5 single metrics ranked the best-ΔAUC generator first (none)." in verdict


def test_the_top_says_what_the_smoke_profile_is_and_which_profile_gives_results(verdict):
    second = verdict.splitlines()[1]
    # smoke.yaml: wgan_gp 30, cvae 150, tabddpm 150 steps; defaults.yaml: 250, 800, 800.
    assert second.startswith(
        "Profile smoke: a quick check that the audit runs on your table, not a result: its generators are barely "
        "trained (30 to 150 training steps instead of 250 to 800) and it has 3 repetitions"
    )
    assert (
        f"run the full profile (the default, --profile full: 10 repetitions, fully trained generators); it took {A.RECOMMENDED_PROFILE_TIME}"
        in second
    )


def test_plain_words_come_before_the_numbers(verdict):
    short = verdict.split("In short (logistic regression): ")[1].split("\n")[0]
    assert "the model's AUC at a simulated new hospital is 0.700" in short
    assert "Adding synthetic patients clearly helped with g1 (+0.040)." in short
    assert "It clearly hurt with g3 (-0.030)." in short
    assert (
        "(g2) was not the generator that did best (g1): choosing a generator by these quality scores would have picked"
        in short
    )
    # ΔAUC per repetition (HAND_DELTA): g1 0.03, 0.05, 0.04 is the largest in each of the 3.
    assert "How stable: g1, best on average, was the best arm in 3 of 3 repetitions." in short
    assert verdict.index("In short") < verdict.index("Details. ΔAUC = ") < verdict.index("  g1  ΔAUC +0.040")


def test_every_delta_of_zero_is_explained_by_its_cause():
    records = hand_records()
    records[["auc_logreg", "delta_auc_logreg"]] = [0.7, 0.0]
    records["n_synthetic"] = 0
    arms = A.summarize_arms(records)
    dataset = Dataset("T", np.zeros((40, 40)), np.arange(40) % 2, [f"x{j}" for j in range(40)])
    config = load_config("smoke").with_overrides({"repetitions": 3})
    verdict = A.render_verdict(arms, A.rank_agreement(arms), dataset, config, records=records)
    assert "every ΔAUC is exactly 0 (no synthetic row was added (every synthetic arm made 0 rows)" in verdict
    records["n_synthetic"] = 50
    verdict = A.render_verdict(arms, A.rank_agreement(arms), dataset, config, records=records)
    assert (
        "every ΔAUC is exactly 0 (the added rows did not change the order" in verdict and "one feature" not in verdict
    )


def test_a_rerun_that_computed_nothing_names_the_run_that_did():
    from radlib.grid import GridResult

    manifest = {
        "tasks_ok": 2, "tasks_total": 2, "tasks_reused": 2, "tasks_failed": {}, "arms_failed": 0,
        "config_hash": "abc123", "runs": [{"finished": "2026-12-01T10:00:00+00:00"}],
    }  # fmt: skip
    grid = GridResult(hand_records(), manifest, None, None)
    text = A.render_run(grid, [])
    assert (
        "This audit computed nothing new: it reused all 2 finished tasks, whose records were computed by the run "
        in text
    )
    assert (
        "finished 2026-12-01T10:00:00+00:00 (configuration abc123" in text and "describes the run finished" not in text
    )


def test_the_html_verdict_embeds_its_figures_and_escapes_the_text(tmp_path):
    png = tmp_path / "delta_auc.png"
    png.write_bytes(b"\x89PNG fake bytes")
    page = A.verdict_html("ΔAUC <0.1> & more", [png], "audit of T")
    assert "<pre>ΔAUC &lt;0.1&gt; &amp; more</pre>" in page
    assert 'src="data:image/png;base64,iVBORyBmYWtlIGJ5dGVz"' in page  # base64 of the 15 bytes above
    assert "http" not in page
