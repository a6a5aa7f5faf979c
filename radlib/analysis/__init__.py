"""The statistical analyses of the compendium: does synthetic-data quality predict ΔAUC?

Everything works on the *pair table* (:func:`pair_table`): one row per (dataset, arm) with
the mean over the valid evaluations (repetitions x site-folds) of ΔAUC, the AUC and the five quality metrics. The
analyses of docs/protocol.md and the within-between decomposition each have one function; :func:`run_analyses` runs them all for one classifier (and
optionally a subset of datasets) and :func:`summarize` extracts the key numbers.

One module per job:

==========================  ==========================================================
:mod:`.pairs`               records -> pair table, exclusion report; ΔAUC per arm
:mod:`.scores`              quality scores (higher = closer to real), the composite (4)
:mod:`.bootstrap`           the cluster bootstrap over datasets
:mod:`.association`         pooled and within-generator ρ (1) and ROC AUC (2), BH q-values
:mod:`.meta`                random-effects meta-analysis per generator (3)
:mod:`.selection`           quality-guided generator selection (5), SMOTE (6)
:mod:`.within_between`      the within-between decomposition (7)
:mod:`.run`                 every analysis at once, and the key numbers
:mod:`.side_by_side`        the study's published numbers next to this compendium's
:mod:`.reliability`         reliability of pair means, attenuation, disattenuated ρ
:mod:`.power`               power of the design (simulation and Fisher-z closed form)
:mod:`.positive_control`    planted between-only / within-only / null structures
:mod:`.ladder`              the pre-specified fidelity ladder over generator x snapshot
:mod:`.floor`               metrics against their sampling floor; size-adjusted ρ
==========================  ==========================================================

The study's analyses (the first block) are importable from ``radlib.analysis`` directly;
the version-2 analyses (the last five) from their modules, e.g.
``from radlib.analysis import ladder``. The chance tests of the sensitivity subset are a stage
that trains on the raw datasets, :mod:`radlib.chance`; their names are importable from here too.

Conventions used throughout
---------------------------
* **Generators** are all arms other than real-only and SMOTE
  (:func:`radlib.records.generator_arms`). SMOTE is kept out of every generator analysis
  (1-5, 7) and has its own comparison (6).
* **Quality score** (:func:`orient_quality`): every metric is turned into a score where
  *higher = better quality* (closer to the real data), :func:`radlib.quality.quality_score`.
  So in analyses 1, 2 and 7 a **positive** ρ / AUC > 0.5 / slope means "better quality goes
  with a larger ΔAUC", for every metric alike. (ρ of the raw distance is the negative of
  the reported ρ.)
* **"Pooled and within each generator"** is computed by one function,
  :func:`compute_by_generator`, used by analyses 1, 2 and 3.
* **Bootstrap**: all bootstrap CIs resample *datasets* (clusters) with replacement, taking
  every pair of a drawn dataset along (:mod:`radlib.analysis.bootstrap`); ``n_boot``
  resamples (default 2000) from ``numpy.random.default_rng(seed)``; none from fewer than
  :data:`MIN_BOOTSTRAP_DATASETS` datasets.
* **p-values of analysis 1** are scipy's and feed the BH correction; for the *pooled* group
  they can be optimistic where the cluster-bootstrap CI is not. Where the two disagree,
  trust the CI.
* **Within-between decomposition (7)** uses the cluster bootstrap, refitting everything
  per resample, for its CIs and p-values; analytic OLS SEs are also reported but are
  misleading for the between slope (see :func:`decompose_within_between`).
"""

from radlib.analysis.association import (
    EXACT_SPEARMAN_MAX_N,
    adjust_fdr,
    compute_by_generator,
    compute_by_metric,
    correlate_quality,
    discriminate_quality,
    spearman_p_value,
)
from radlib.analysis.bootstrap import MIN_BOOTSTRAP_DATASETS
from radlib.analysis.meta import combine_random_effects, meta_analyze_generators
from radlib.analysis.pairs import (
    EXCLUSION_REASONS,
    METRICS,
    delta_auc_by_arm,
    generator_pairs,
    generators_of,
    pair_table,
)
from radlib.analysis.run import run_analyses, summarize
from radlib.analysis.scores import add_composite, orient_quality, score_composite, standardize_quality, with_composite
from radlib.analysis.selection import compare_smote, locate_smote_quality, select_generators
from radlib.analysis.within_between import decompose_within_between
from radlib.chance import CHANCE_FILE, assess_chance, chance_table, chance_test, sensitivity_subset
from radlib.records import CLASSIFIERS, COMPOSITE, POOLED, REAL_ARM, SMOTE_ARM

__all__ = [
    "REAL_ARM",
    "SMOTE_ARM",
    "METRICS",
    "COMPOSITE",
    "POOLED",
    "CLASSIFIERS",
    "EXCLUSION_REASONS",
    "MIN_BOOTSTRAP_DATASETS",
    "EXACT_SPEARMAN_MAX_N",
    "CHANCE_FILE",
    "pair_table",
    "generators_of",
    "generator_pairs",
    "delta_auc_by_arm",
    "orient_quality",
    "standardize_quality",
    "score_composite",
    "add_composite",
    "with_composite",
    "compute_by_generator",
    "compute_by_metric",
    "adjust_fdr",
    "spearman_p_value",
    "correlate_quality",
    "discriminate_quality",
    "combine_random_effects",
    "meta_analyze_generators",
    "select_generators",
    "compare_smote",
    "locate_smote_quality",
    "decompose_within_between",
    "chance_test",
    "assess_chance",
    "chance_table",
    "sensitivity_subset",
    "run_analyses",
    "summarize",
]
