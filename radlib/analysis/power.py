"""Power of the design to detect a correlation of quality with ΔAUC: simulated, and in closed form.

The question: if quality and ΔAUC correlated at ``|ρ| = 0.30`` (the size the study reports,
García-Hidalgo et al. 2026: pooled ``|ρ|`` 0.30-0.36), how often would this compendium's
analysis find it, with this design's datasets, generators and evaluation noise?

Simulation (:func:`simulate_power`)
-----------------------------------
Each replicate is a pair table with the real structure, ``n_datasets`` x the generators,
analysed by the study's own function, :func:`radlib.analysis.correlate_quality` (Spearman ρ,
pooled and within each generator). Per pair, in standard units (Spearman's ρ does not see
scales)::

    true value    X_dg = sqrt(s) A_d + sqrt(1 - s) U_dg               (unit variance)
    pair mean     x_dg = sqrt(r) X_dg + sqrt(1 - r) E_dg,  E_dg = sqrt(c) e_d + sqrt(1 - c) u_dg

for quality and, with its own parameters, ΔAUC; all terms independent standard normal except
that the dataset parts (A, B) and the pair parts (U, V) of quality and ΔAUC correlate at the
value that makes the true values correlate at ``rho`` (Pearson ``2 sin(π ρ / 6)`` for a
Spearman ``ρ``) over all pairs and within each generator alike. The parameters come from
the records (:func:`design_parameters`, one-way ANOVAs of :mod:`.reliability`):

* ``r``, the reliability of the pair mean within a generator (its true-value variance over
  its variance across the generator's pairs);
* ``s``, the share of the true-value variance that the pairs of one dataset share;
* ``c``, the share of the evaluation noise that the arms of one evaluation share (for ΔAUC
  mostly the common real-only baseline).

Generator means are not planted (a homogeneous association; :mod:`.positive_control` plants
structure between generators). Two readings of "ρ = 0.30" are simulated by
:func:`power_table`: on the *true values* (reliabilities as observed, so the pair means
correlate at ``ρ · sqrt(r_q r_Δ)``) and on the *pair means* themselves (``r = 1``).

**The BH family.** A replicate holds one quality score, so its Benjamini-Hochberg family is that
score's ``1 + n_generators`` tests (pooled and within each generator; 4 with three generators),
not the family of the study's analysis 1, every score x every group (6 x 4 = 24). How BH over
24 would change a test's rate depends on how the other scores' tests behave, which the
simulation does not model; the unadjusted rates (``*_unadjusted``) bound the rate after BH over
any family from above, since a q-value is never below its p-value. :func:`bh_family` says it in
the table.

**Size.** The pooled test treats the pairs as independent, but the pairs of one dataset share
their dataset part (``s``) and their noise (``c``), so under ``ρ = 0`` it rejects more often
than ``alpha``: when the ``m`` generators of a dataset share the pair means of quality and of
ΔAUC at ``s_q`` and ``s_Δ`` (``r s + (1 - r) c`` of each), the variance of the pooled ρ grows by
about the design effect ``1 + (m - 1) s_q s_Δ``.
:func:`power_table` therefore simulates each row also at ``ρ = 0`` with the same variance
components (``size_*`` columns): the rate at which the same test rejects without an effect,
to read next to its power. The within-generator tests (one pair per dataset) keep their level.

Closed form (:func:`fisher_z_power`)
------------------------------------
For ``n`` independent pairs from a bivariate normal, ``atanh`` of the sample correlation is
about normal with mean ``atanh ρ`` and variance ``c² / (n - 3)``, ``c² = 1`` for Pearson and
``1.06`` for Spearman (Fieller, Hartley & Pearson 1957). Two-sided power at level ``alpha``::

    power = Φ(|atanh ρ| sqrt(n - 3) / c - z_{1-α/2}) + Φ(-|atanh ρ| sqrt(n - 3) / c - z_{1-α/2})

(the second term, the far tail, is below 0.001 at these sizes). It applies to the unadjusted
test within a generator (one pair per dataset: independent pairs) and to the pooled test when
the pairs of a dataset share nothing (``s = c = 0``). With ``n = 43`` and ``ρ_s = 0.30`` it is
about 0.02 below the rejection rate of scipy's Spearman test (t approximation), measured in
20,000 direct simulations (0.498 vs 0.477).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from radlib import analysis
from radlib.analysis.options import ALPHA
from radlib.analysis.reliability import DELTA_AUC, evaluation_values, variance_components
from radlib.config import derive_seed
from radlib.parallel import run_calls
from radlib.quality import METRICS
from radlib.records import COMPOSITE, POOLED, classifiers_in

__all__ = [
    "TARGET_RHO",
    "SPEARMAN_Z_VARIANCE",
    "EFFECT_SCALES",
    "UnreachableCorrelation",
    "pearson_from_spearman",
    "spearman_from_pearson",
    "fisher_z_power",
    "design_parameters",
    "pair_mean_variances",
    "correlated_scores",
    "observe",
    "simulate_pair_table",
    "simulate_power",
    "bh_family",
    "power_table",
]

#: The smallest pooled |ρ| the study reports (García-Hidalgo et al., Eur Radiol 2026).
TARGET_RHO = 0.30
#: Fieller-Hartley-Pearson (1957): Var(atanh r_s) ≈ 1.06 / (n - 3) for Spearman's r_s.
SPEARMAN_Z_VARIANCE = 1.06
#: Where a simulated ρ sits: on the pairs' true values, or on the observed pair means.
EFFECT_SCALES = ("true values", "pair means")


class UnreachableCorrelation(ValueError):
    """A correlation that the measured structure (reliabilities, dataset shares) cannot produce."""


def pearson_from_spearman(rho):
    """Pearson correlation of a bivariate normal whose Spearman correlation is ``rho``: ``2 sin(π ρ / 6)``."""
    return 2.0 * np.sin(np.pi * np.asarray(rho, dtype=float) / 6.0)


def spearman_from_pearson(r):
    """Spearman correlation of a bivariate normal with Pearson correlation ``r``: ``(6 / π) asin(r / 2)``."""
    return 6.0 / np.pi * np.arcsin(np.asarray(r, dtype=float) / 2.0)


def fisher_z_power(rho: float, n: int, *, alpha: float = ALPHA, method: str = "spearman") -> float:
    """Two-sided power of a test of zero correlation, Fisher-z closed form (module notes).

    Parameters
    ----------
    rho : float
        The population correlation (Spearman's for ``method="spearman"``).
    n : int
        Independent pairs, at least 4.
    alpha : float
    method : {"spearman", "pearson"}
        ``c² = 1.06`` (Fieller-Hartley-Pearson) or 1.
    """
    if method not in ("spearman", "pearson"):
        raise ValueError(f"method must be 'spearman' or 'pearson', got '{method}'")
    if n < 4:
        raise ValueError(f"the Fisher-z closed form needs n >= 4 pairs, got {n}")
    if not -1 < rho < 1:
        raise ValueError(f"rho must lie strictly between -1 and 1, got {rho}")
    c = np.sqrt(SPEARMAN_Z_VARIANCE) if method == "spearman" else 1.0
    shift = abs(np.arctanh(rho)) * np.sqrt(n - 3) / c
    z = stats.norm.isf(alpha / 2)
    return float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))


def _closed_form(rho: float, n: int, *, alpha: float) -> float:
    """:func:`fisher_z_power`, with the level ``alpha`` itself for ``rho = 0``."""
    return fisher_z_power(rho, n, alpha=alpha) if rho != 0 else alpha


# --- the design's parameters, from the records ------------------------------------------------


def _clip_share(value: float) -> float:
    return float(np.clip(value, 0.0, 1.0)) if np.isfinite(value) else 0.0


def design_parameters(
    records: pd.DataFrame, quantity: str, classifier: str = "logreg", arms: Sequence[str] | None = None
) -> dict[str, Any]:
    """Variance components of one pair-level quantity, as the simulations need them.

    From the valid evaluations (:func:`.reliability.evaluation_values`), by one-way ANOVAs
    (:func:`.reliability.variance_components`):

    * ``sigma2_fold``: variance between the folds of one repetition of a pair (the ANOVA
      grouped by pair x repetition; 0 with one fold per repetition);
    * ``sigma2_repetition``: the variance of a pair's repetition means minus what their folds
      explain, ``max(0, MSW_rep - sigma2_fold / n_folds)``;
    * ``sigma2_pair``: the variance of the true pair values within a generator, the mean over
      the generators of the ANOVA's ``sigma2_between`` on the repetition means (may be
      negative: an estimate);
    * ``reliability``: ``max(sigma2_pair, 0) / (max(sigma2_pair, 0) + noise)`` with ``noise =
      sigma2_repetition / n_repetitions + sigma2_fold / (n_repetitions n_folds)``, the
      variance of a pair mean's error (harmonic mean counts);
    * ``error_share``: ICC(1) of the evaluation residuals (value minus its pair mean) grouped by
      evaluation: the share of the noise the arms of one evaluation share, clipped to [0, 1];
    * ``dataset_share``: from the generator-centred pair means grouped by dataset, the
      between-dataset variance less the shared noise, over ``sigma2_pair``, clipped to [0, 1];
    * ``dataset_share_observed``: ICC(1) of the same ANOVA, the share of the pair means'
      variance that the pairs of a dataset share (clipped to [0, 1]).

    Returns
    -------
    dict
        The above and ``quantity``, ``classifier``, ``n_datasets``, ``generators``,
        ``n_repetitions``, ``n_folds``, ``mean`` (of the pair means) and ``generator_means``.
    """
    values = evaluation_values(records, quantity, classifier, arms)
    if values["dataset"].nunique() < 2 or values["arm"].nunique() < 1:
        raise ValueError(f"design parameters of '{quantity}' need valid evaluations from 2 or more datasets")
    pair = ["dataset", "arm"]
    folds_per_rep = values.groupby([*pair, "repetition"]).size()
    n_folds = float(len(folds_per_rep) / (1.0 / folds_per_rep).sum())
    sigma2_fold = (
        variance_components(values["value"], values[[*pair, "repetition"]])["sigma2_within"]
        if (folds_per_rep > 1).any()
        else 0.0
    )
    repetitions = values.groupby([*pair, "repetition"], as_index=False)["value"].mean()
    reps_per_pair = repetitions.groupby(pair).size()
    n_repetitions = float(len(reps_per_pair) / (1.0 / reps_per_pair).sum())
    ms_within = variance_components(repetitions["value"], repetitions[pair])["sigma2_within"]
    sigma2_repetition = max(0.0, ms_within - sigma2_fold / n_folds)
    generators = sorted(values["arm"].unique())
    sigma2_pair = float(
        np.mean(
            [
                variance_components(group["value"], group["dataset"])["sigma2_between"]
                for _, group in repetitions.groupby("arm")
            ]
        )
    )
    components = {
        "n_repetitions": n_repetitions,
        "n_folds": n_folds,
        "sigma2_pair": sigma2_pair,
        "sigma2_repetition": sigma2_repetition,
        "sigma2_fold": float(sigma2_fold),
    }
    true_variance, noise = pair_mean_variances(components)
    reliability = true_variance / (true_variance + noise) if true_variance + noise > 0 else 0.0

    residual = values["value"] - values.groupby(pair)["value"].transform("mean")
    evaluation = values[["dataset", "repetition", "fold"]]
    error_share = _clip_share(variance_components(residual, evaluation)["icc1"]) if len(generators) > 1 else 0.0
    pair_means = values.groupby(pair, as_index=False)["value"].mean()
    centred = pair_means["value"] - pair_means.groupby("arm")["value"].transform("mean")
    if len(generators) > 1:
        by_dataset = variance_components(centred, pair_means["dataset"])
        shared_true = by_dataset["sigma2_between"] - error_share * noise
        dataset_share = _clip_share(shared_true / true_variance) if true_variance > 0 else 0.0
        dataset_share_observed = _clip_share(by_dataset["icc1"])
    else:
        dataset_share = dataset_share_observed = 0.0
    return {
        "quantity": quantity,
        "classifier": classifier,
        "n_datasets": int(values["dataset"].nunique()),
        "generators": tuple(generators),
        "mean": float(pair_means["value"].mean()),
        "generator_means": pair_means.groupby("arm")["value"].mean().to_dict(),
        **components,
        "reliability": float(reliability),
        "error_share": error_share,
        "dataset_share": dataset_share,
        "dataset_share_observed": dataset_share_observed,
    }


def pair_mean_variances(parameters: Mapping[str, Any]) -> tuple[float, float]:
    """(true, error) variance of a generator's pair means from :func:`design_parameters`' components.

    ``true = max(sigma2_pair, 0)``; ``error = sigma2_repetition / n_repetitions + sigma2_fold /
    (n_repetitions n_folds)``, the variance of the mean of the pair's evaluations.
    """
    n_repetitions, n_folds = parameters["n_repetitions"], parameters["n_folds"]
    error = parameters["sigma2_repetition"] / n_repetitions + parameters["sigma2_fold"] / (n_repetitions * n_folds)
    return max(float(parameters["sigma2_pair"]), 0.0), float(error)


# --- simulation ----------------------------------------------------------------------------------


def correlated_scores(
    rng: np.random.Generator,
    n_datasets: int,
    n_generators: int,
    rho: float,
    share_x: float = 0.0,
    share_y: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Two (n_datasets, n_generators) arrays of unit-variance true values correlated ``rho`` (Pearson).

    ``x = sqrt(share_x) a_d + sqrt(1 - share_x) u_dg`` and likewise ``y``, with
    ``corr(a, b) = corr(u, v) = rho / (sqrt(share_x share_y) + sqrt((1 - share_x)(1 - share_y)))``,
    so that ``x`` and ``y`` correlate at ``rho`` over all pairs and within each generator.

    Raises
    ------
    UnreachableCorrelation
        When the shares make ``rho`` unreachable: ``|rho|`` above ``sqrt(share_x share_y) +
        sqrt((1 - share_x)(1 - share_y))``, the largest correlation of two such variables.
    """
    for name, share in (("share_x", share_x), ("share_y", share_y)):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"{name} must lie in [0, 1], got {share}")
    overlap = np.sqrt(share_x * share_y) + np.sqrt((1 - share_x) * (1 - share_y))
    component = rho / overlap if overlap > 0 else (0.0 if rho == 0 else np.inf)
    if abs(component) > 1:
        raise UnreachableCorrelation(
            f"a correlation of {rho:.3f} is unreachable with dataset shares {share_x:.2f} and {share_y:.2f} "
            f"(at most {overlap:.3f})"
        )

    def pair_of(shape):
        first = rng.standard_normal(shape)
        return first, component * first + np.sqrt(1 - component**2) * rng.standard_normal(shape)

    a, b = pair_of((n_datasets, 1))
    u, v = pair_of((n_datasets, n_generators))
    x = np.sqrt(share_x) * a + np.sqrt(1 - share_x) * u
    y = np.sqrt(share_y) * b + np.sqrt(1 - share_y) * v
    return x, y


def observe(rng: np.random.Generator, true: np.ndarray, reliability: float, error_share: float = 0.0) -> np.ndarray:
    """Pair means of unit variance from true values: ``sqrt(r) true + sqrt(1 - r) E`` (module notes).

    ``E`` is standard normal noise of which the share ``error_share`` is common to the pairs
    of one dataset (a row of ``true``). ``reliability`` is clipped to [0, 1].
    """
    r = float(np.clip(reliability, 0.0, 1.0))
    shared = rng.standard_normal((true.shape[0], 1))
    own = rng.standard_normal(true.shape)
    noise = np.sqrt(error_share) * shared + np.sqrt(1 - error_share) * own
    return np.sqrt(r) * true + np.sqrt(1 - r) * noise


def _noise_of(parameters: Mapping[str, Any] | None) -> tuple[float, float, float]:
    """(reliability, dataset_share, error_share) of a parameter mapping; defaults 1, 0, 0."""
    parameters = parameters or {}
    return (
        float(parameters.get("reliability", 1.0)),
        float(parameters.get("dataset_share", 0.0)),
        float(parameters.get("error_share", 0.0)),
    )


def simulate_pair_table(
    rng: np.random.Generator,
    n_datasets: int,
    generators: Sequence[str],
    rho: float,
    quality: Mapping[str, Any] | None = None,
    delta: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One simulated pair table: ``dataset``, ``arm``, ``delta_auc`` and the quality score as ``composite``.

    ``rho`` is the Spearman correlation of the true values; ``quality`` and ``delta`` are
    mappings with ``reliability``, ``dataset_share`` and ``error_share`` (e.g.
    :func:`design_parameters`; missing keys: 1, 0, 0). The quality score goes into the
    ``composite`` column, which :func:`radlib.analysis.orient_quality` reads as a ready score
    (higher = better), so the analysis needs no metric columns.
    """
    (r_q, s_q, c_q), (r_d, s_d, c_d) = _noise_of(quality), _noise_of(delta)
    # A quantity without true variance (reliability 0) has no dataset share of it: its pair means
    # are noise whatever its true values, so it takes the other's share and never blocks rho.
    s_q, s_d = (s_d if r_q <= 0 else s_q), (s_q if r_d <= 0 else s_d)
    true_q, true_d = correlated_scores(rng, n_datasets, len(generators), float(pearson_from_spearman(rho)), s_q, s_d)
    observed_q, observed_d = observe(rng, true_q, r_q, c_q), observe(rng, true_d, r_d, c_d)
    return pd.DataFrame(
        {
            "dataset": np.repeat([f"D{i:03d}" for i in range(n_datasets)], len(generators)),
            "arm": np.tile(list(generators), n_datasets),
            "delta_auc": observed_d.ravel(),
            COMPOSITE: observed_q.ravel(),
        }
    )


def simulate_power(
    n_datasets: int,
    generators: Sequence[str],
    rho: float = TARGET_RHO,
    quality: Mapping[str, Any] | None = None,
    delta: Mapping[str, Any] | None = None,
    n_sim: int = 1000,
    seed: int = 0,
    alpha: float = ALPHA,
) -> dict[str, Any]:
    """Rejection rates of :func:`radlib.analysis.correlate_quality` on simulated pair tables.

    Parameters
    ----------
    n_datasets : int
    generators : sequence of str
        The generator arms (one pair per dataset and generator).
    rho : float
        Spearman correlation of the true values (0 gives the false-positive rate).
    quality, delta : mapping, optional
        ``reliability``, ``dataset_share``, ``error_share`` of each (see
        :func:`simulate_pair_table`).
    n_sim : int
        Replicates, all drawn from ``numpy.random.default_rng(seed)``.
    alpha : float
        Level of the tests and of the Benjamini-Hochberg q-values.

    Returns
    -------
    dict
        ``rho``, ``ceiling`` (``sqrt(r_q r_Δ)``), ``rho_expected`` (Spearman ρ of the pair
        means), ``n_datasets``, ``n_generators``, ``n_sim``; ``power_pooled`` (pooled q <
        alpha, BH over the score's ``1 + n_generators`` tests: :func:`bh_family`),
        ``power_within`` (share of the within-generator tests with q < alpha),
        ``power_any_within`` (some generator with q < alpha), the same unadjusted
        (``*_unadjusted``: p < alpha), their Monte-Carlo SEs (``*_se``: binomial for the
        pooled test, the SE of the mean per-replicate share for the within tests), and the
        closed forms ``closed_form_within`` (:func:`fisher_z_power` with ``n_datasets``) and
        ``closed_form_pooled`` (with all pairs; NaN unless they are independent, ``s = c = 0``
        for both).
    """
    if n_sim < 1:
        raise ValueError(f"n_sim must be at least 1, got {n_sim}")
    generators = list(generators)
    rng = np.random.default_rng(seed)
    pooled = np.zeros((n_sim, 2), dtype=bool)
    within = np.zeros((n_sim, 2, len(generators)), dtype=bool)
    for i in range(n_sim):
        pairs = simulate_pair_table(rng, n_datasets, generators, rho, quality, delta)
        table = analysis.correlate_quality(pairs, metrics=(COMPOSITE,), n_boot=0, alpha=alpha).set_index("group")
        pooled[i] = table.at[POOLED, "significant"], table.at[POOLED, "p_value"] < alpha
        within[i, 0] = table.loc[generators, "significant"].to_numpy(bool)
        within[i, 1] = table.loc[generators, "p_value"].to_numpy(float) < alpha
    (r_q, s_q, c_q), (r_d, s_d, c_d) = _noise_of(quality), _noise_of(delta)
    ceiling = float(np.sqrt(np.clip(r_q, 0, 1) * np.clip(r_d, 0, 1)))
    rho_expected = float(spearman_from_pearson(pearson_from_spearman(rho) * ceiling))
    independent = s_q == s_d == c_q == c_d == 0.0
    out: dict[str, Any] = {
        "rho": float(rho),
        "ceiling": ceiling,
        "rho_expected": rho_expected,
        "n_datasets": int(n_datasets),
        "n_generators": len(generators),
        "n_sim": int(n_sim),
    }
    for j, suffix in enumerate(("", "_unadjusted")):
        rate_pooled = float(pooled[:, j].mean())
        share_within = within[:, j].mean(axis=1)
        out[f"power_pooled{suffix}"] = rate_pooled
        out[f"power_pooled{suffix}_se"] = float(np.sqrt(rate_pooled * (1 - rate_pooled) / n_sim))
        out[f"power_within{suffix}"] = float(share_within.mean())
        out[f"power_within{suffix}_se"] = float(share_within.std(ddof=1) / np.sqrt(n_sim)) if n_sim > 1 else np.nan
        out[f"power_any_within{suffix}"] = float(within[:, j].any(axis=1).mean())
    out["closed_form_within"] = _closed_form(rho_expected, n_datasets, alpha=alpha)
    out["closed_form_pooled"] = (
        _closed_form(rho_expected, n_datasets * len(generators), alpha=alpha) if independent else np.nan
    )
    return out


def bh_family(n_generators: int, n_scores: int = len(METRICS) + 1) -> str:
    """The Benjamini-Hochberg family of :func:`simulate_power`'s adjusted rates, in words, next to analysis 1's.

    Parameters
    ----------
    n_generators : int
        Generators of the design (the within-generator tests of a score).
    n_scores : int
        Quality scores of analysis 1 (five metrics and the composite).
    """
    groups = n_generators + 1
    return (
        f"BH over the score's {groups} tests, pooled and {n_generators} generators; analysis 1 adjusts over "
        f"{n_scores * groups} = {n_scores} scores x {groups} groups; the unadjusted rates bound any family's"
    )


def _rates(result: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """The rejection rates (``power_*``) of a :func:`simulate_power` result, renamed ``<prefix>_*``."""
    return {key.replace("power", prefix, 1): value for key, value in result.items() if key.startswith("power_")}


def _simulate_or_note(*args: Any) -> tuple[dict[str, Any], str]:
    """:func:`simulate_power` of ``args``, or an empty result and the reason where ``rho`` is unreachable."""
    try:
        return simulate_power(*args), ""
    except UnreachableCorrelation as error:
        return {}, str(error)


def power_table(
    records: pd.DataFrame,
    classifiers: Sequence[str] | None = None,
    metrics: Sequence[str] = (*METRICS, COMPOSITE),
    rho: float = TARGET_RHO,
    n_sim: int = 1000,
    *,
    seed: int = 0,
    alpha: float = ALPHA,
    n_datasets: int | None = None,
    arms: Sequence[str] | None = None,
    n_jobs: int = 1,
    show_progress: bool = False,
) -> pd.DataFrame:
    """Power of the design for each classifier x quality score, with the records' variance components.

    For each classifier and score: :func:`design_parameters` of the score and of ΔAUC, then
    :func:`simulate_power` twice, with ``rho`` on the true values (the observed reliabilities
    and dataset shares) and on the pair means (reliability 1, the pair means' observed
    dataset shares); and for each of the two, the *size* of the same tests: the same
    simulation at ``rho = 0`` (module notes: the pooled test ignores the clustering of pairs
    by dataset, so its size can exceed ``alpha``). Each simulation has its own seed,
    ``derive_seed(seed, classifier, score, scale)`` and ``derive_seed(seed, classifier, score,
    scale, "size")``, so the table does not depend on ``n_jobs``. The adjusted rates use BH
    over the score's own tests (``bh_family``), not analysis 1's family of every score x every
    group.

    Parameters
    ----------
    records : DataFrame
    classifiers : sequence of str, optional
        Default: every classifier with an AUC column.
    metrics : sequence of str
        Quality metrics and/or ``"composite"``.
    rho, n_sim, seed, alpha
        As for :func:`simulate_power`.
    n_datasets : int, optional
        Datasets of the simulated design; default the records' (e.g. 50 for the study's).
    arms : sequence of str, optional
        Generator arms (default the study's generators).
    n_jobs : int
        Processes running the simulations (``joblib.Parallel``); 1 runs them here.
    show_progress : bool
        A progress bar over the simulation runs (``n_sim`` simulations each), with the time left.

    Returns
    -------
    DataFrame
        ``classifier``, ``metric``, ``effect_on`` (one of :data:`EFFECT_SCALES`),
        ``reliability_quality``, ``reliability_delta``, ``dataset_share_quality``,
        ``dataset_share_delta``, then the fields of :func:`simulate_power`, the size of each
        rate at ``rho = 0`` (``size_pooled``, ``size_pooled_se``, ``size_within``, ...,
        ``size_pooled_unadjusted``, ...: the ``power_*`` fields of the simulation without an
        effect), ``bh_family`` (:func:`bh_family`) and ``note``: where the measured dataset
        shares make ``rho`` unreachable (:class:`UnreachableCorrelation`, e.g. a quality score
        that varies only within datasets against a ΔAUC that varies only between them), the
        reason, and no power simulation (the size is still simulated).
    """
    classifiers = classifiers_in(records.columns) if classifiers is None else list(classifiers)
    rows, simulations = [], []
    for classifier in classifiers:
        delta = design_parameters(records, DELTA_AUC, classifier, arms)
        n = delta["n_datasets"] if n_datasets is None else int(n_datasets)
        for metric in metrics:
            score = design_parameters(records, metric, classifier, arms)
            for scale in EFFECT_SCALES:
                if scale == "true values":
                    q, d = score, delta
                else:
                    q = {"reliability": 1.0, "dataset_share": score["dataset_share_observed"]}
                    d = {"reliability": 1.0, "dataset_share": delta["dataset_share_observed"]}
                rows.append(
                    {
                        "classifier": classifier,
                        "metric": metric,
                        "effect_on": scale,
                        "reliability_quality": _noise_of(q)[0],
                        "reliability_delta": _noise_of(d)[0],
                        "dataset_share_quality": _noise_of(q)[1],
                        "dataset_share_delta": _noise_of(d)[1],
                    }
                )
                generators = delta["generators"]
                effect_seed = derive_seed(seed, classifier, metric, scale)
                size_seed = derive_seed(seed, classifier, metric, scale, "size")
                simulations.append((n, generators, rho, q, d, n_sim, effect_seed, alpha))
                simulations.append((n, generators, 0.0, q, d, n_sim, size_seed, alpha))
    label = f"power: runs of {n_sim} simulations" if show_progress else None
    outcomes = run_calls(_simulate_or_note, simulations, n_jobs=n_jobs, progress=label)
    for row, (n, generators, *_), (result, note), (null, _) in zip(
        rows, simulations[::2], outcomes[::2], outcomes[1::2], strict=True
    ):
        if note:
            result = {"rho": float(rho), "n_datasets": n, "n_sim": 0}
        row.update(result)
        row.update(_rates(null, "size"))
        row["bh_family"] = bh_family(len(generators))
        row["note"] = note
    return pd.DataFrame(rows)
