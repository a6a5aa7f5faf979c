"""The fidelity ladder: does between-configuration spread of quality create the pooled correlation?

The pre-specified analyses of docs/protocol.md, section "Pre-specified analyses of version 2
(fidelity ladder)". A *configuration* is a generator at one training fraction, i.e. one
generator arm of the records (``cvae@0.0625``, ``cvae@0.25``, ``cvae``;
:func:`radlib.records.configuration_arms`, :func:`radlib.records.parse_arm`); a *pair* is
(dataset, configuration), the mean over its valid evaluations
(:func:`radlib.analysis.pair_table` with ``arms="all"``). Every analysis reuses the study's
functions with the configuration in the place of the generator (their group column is ``arm``):
:func:`~radlib.analysis.correlate_quality` for ρ,
:func:`~radlib.analysis.decompose_within_between` for the between and within slopes (one group
mean per configuration: 9 instead of 3), :func:`~radlib.analysis.meta_analyze_generators` for the
random-effects pooling of the dose-response slopes.

Nested sets of growing spread: S1 = {1.0}, S2 = {0.25, 1.0}, S3 = {0.0625, 0.25, 1.0}, taken
from the fractions present (:func:`nested_sets`), so the random forest, which the engine trains
on the fully trained arms only, gets S1 alone: its ladder is the study's three configurations.

Choices (the protocol is silent on them)
----------------------------------------
* **The composite** is computed once, over every configuration pair of the ladder
  (:func:`configuration_pairs`), so a pair has the same score in S1, S2 and S3 and a change of ρ
  between the sets comes from the pairs added, not from a new standardisation.
* **Share of variance explained by configuration** (:func:`variance_explained`): type II sums of
  squares of the additive model ``value ~ dataset + configuration`` (the dataset a blocking
  factor). The primary share is ``SS_configuration / SS_total``: in a complete ladder (every
  dataset has every configuration) the two factors are orthogonal and it equals the plain
  one-way η²; the dataset block only matters when pairs are missing. Why the share of the
  total: the pooled analyses correlate across all pairs, most of whose variance is between
  datasets (80-94 % in version 1), so the share of the total is the part of the pooled variation
  that configuration can carry, and it is the quantity of version 1's "generator explains 2-8 %".
  The partial η², ``SS_configuration / (SS_configuration + SS_residual)``, is reported alongside:
  how well configuration separates the pairs of one dataset.
* **BH families.** Pooled ρ: every score (five metrics and composite) in every set. Within a
  configuration: per score, over the configurations (9), as the protocol says. The size-adjusted
  table (:func:`adjusted_by_set`) uses the same families for its raw and its partial ρ.
* **H2's parenthesis** "(and within-configuration ρ survive BH)" is read as: at least one
  configuration's ρ is positive with q < alpha. When more than one decision rule holds (H2 and
  H0 can, e.g. a within slope with no pooled ρ), the verdict is "mixed" and names the rules.
* **Dose-response slopes**: per evaluation, the OLS slope of the value on log2(fraction) over the
  generator's snapshots; averaged over the folds of a repetition (they share the repetition's
  split, so the repetition is the independent unit, as in :mod:`radlib.analysis.reliability`);
  a dataset's slope is the mean over its repetitions with the variance of that mean
  (sample variance / n). Metrics enter as distances from their ideal
  (:func:`radlib.quality.distance_from_ideal`, lower = closer to real), so "fidelity improves with
  training" is a negative slope for every metric.
* **Groups.** The study's functions group the pairs they are given by ``arm``
  (:func:`radlib.analysis.generators_of`); the ladder gives them configuration pairs, so each
  configuration is a group.
* **The placebo** permutes the arm labels of whole records among the configuration arms of one
  evaluation: a record keeps its quality and its ΔAUC together. The placebo groups are then random
  mixtures of configurations, and their between slope estimates the association of quality and
  ΔAUC *across the arms of an evaluation* at the scale of the mixtures, attenuated by the
  record-level noise of quality: with no configuration effect on ΔAUC it centres on 0; with a
  configuration effect on both, it centres on that effect times
  var(configuration)/(var(configuration) + var(quality noise within a configuration)), so it is
  near 0 only where a record's quality is noisy relative to the configuration spread. The
  permutation p-value is exact under exchangeability of the configuration labels within
  evaluations.

One module per sub-analysis; every name is importable from here:

=====================  ===================================================================
:mod:`.configurations`  the pair table of the configurations, the nested sets
:mod:`.variance`        (a) the share of variance explained by configuration
:mod:`.correlations`    (b) pooled ρ over the nested sets, (d) ρ within each configuration
:mod:`.slopes`          (c) pooled, between and within slopes; per configuration; size-adjusted ρ
:mod:`.dose`            the dose-response over the training fraction
:mod:`.placebo`         the placebo between slope
:mod:`.verdict`         the pre-specified decision rules
:mod:`.result`          :func:`run_ladder`, :class:`LadderResult` (``.tables()``, ``.summary()``)
=====================  ===================================================================
"""

from __future__ import annotations

from radlib.analysis.ladder.configurations import DELTA_AUC, SCORES, configuration_pairs, nested_sets, restrict_to_set
from radlib.analysis.ladder.correlations import pooled_by_set, within_configurations
from radlib.analysis.ladder.dose import dose_response
from radlib.analysis.ladder.placebo import permute_within_evaluations, placebo_between
from radlib.analysis.ladder.result import LADDER_TABLES, LadderResult, run_ladder, summarize_ladder
from radlib.analysis.ladder.slopes import adjusted_by_set, configuration_slopes, slopes_by_set
from radlib.analysis.ladder.variance import variance_explained
from radlib.analysis.ladder.verdict import VERDICTS, ladder_verdict

__all__ = [
    "SCORES",
    "DELTA_AUC",
    "VERDICTS",
    "configuration_pairs",
    "nested_sets",
    "restrict_to_set",
    "variance_explained",
    "pooled_by_set",
    "within_configurations",
    "slopes_by_set",
    "configuration_slopes",
    "adjusted_by_set",
    "dose_response",
    "permute_within_evaluations",
    "placebo_between",
    "ladder_verdict",
    "LADDER_TABLES",
    "LadderResult",
    "run_ladder",
    "summarize_ladder",
]
