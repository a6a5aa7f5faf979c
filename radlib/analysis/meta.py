"""Analysis 3: random-effects meta-analysis of ΔAUC per generator, with a subgroup test.

Within each generator the datasets are the studies (effect: the pair's mean ΔAUC; variance:
the variance of its repetitions over their number), pooled by DerSimonian-Laird with τ²
truncated at zero (docs/protocol.md: statsmodels 0.15 returns a negative τ² when Q < df).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from radlib.analysis.association import compute_by_generator
from radlib.analysis.options import ALPHA

__all__ = ["combine_random_effects", "meta_analyze_generators"]


def combine_random_effects(effect: Sequence[float], variance: Sequence[float], *, alpha: float = ALPHA) -> dict:
    """DerSimonian-Laird random-effects pooling with τ² truncated at zero.

    Uses ``statsmodels.stats.meta_analysis.combine_effects(method_re="dl")`` for the
    fixed-effect weights w_i = 1/v_i, Q = Σ w_i (y_i - ȳ_FE)² and the random-effects
    estimate. statsmodels 0.15 returns the *untruncated* τ² = (Q - df)/C,
    C = Σw - Σw²/Σw, which is negative when Q < df (and then gives negative weights and
    I²); here τ² = max(0, (Q - df)/C), and when it is truncated the random-effects
    estimate is the fixed-effect one (τ² = 0). The CI is the normal (Wald) interval
    estimate ± z·SE with SE = sqrt(1/Σ 1/(v_i + τ²)). I² = max(0, (Q - df)/Q).
    With one study, the estimate is that study, τ² and I² are NaN.

    Returns
    -------
    dict
        ``k``, ``estimate``, ``se``, ``ci_low``, ``ci_high``, ``z``, ``p_value``, ``tau2``,
        ``tau2_untruncated`` (what statsmodels returned), ``q``, ``df``, ``p_q``, ``i2``,
        ``estimate_fixed``, ``weights`` (relative random-effects weights, summing to 1).
    """
    y, v = np.asarray(effect, float), np.asarray(variance, float)
    k = len(y)
    crit = stats.norm.isf(alpha / 2)
    out = dict(
        k=k,
        estimate=np.nan,
        se=np.nan,
        ci_low=np.nan,
        ci_high=np.nan,
        z=np.nan,
        p_value=np.nan,
        tau2=np.nan,
        tau2_untruncated=np.nan,
        q=np.nan,
        df=k - 1,
        p_q=np.nan,
        i2=np.nan,
        estimate_fixed=np.nan,
        weights=np.ones(k) / max(k, 1),
    )
    if k == 0:
        return out
    if k == 1:
        estimate, se = float(y[0]), float(np.sqrt(v[0]))
        out.update(estimate_fixed=estimate, q=0.0)
    else:
        with np.errstate(invalid="ignore"):  # statsmodels takes sqrt of a negative τ²-based term
            res = combine_effects(y, v, method_re="dl", alpha=alpha)
        q, df = float(res.q), k - 1
        tau2_raw = float(res.tau2)
        tau2 = max(0.0, tau2_raw)
        if tau2_raw >= 0:
            estimate, se = float(res.mean_effect_re), float(res.sd_eff_w_re)
        else:  # truncated: the random-effects model with τ² = 0 is the fixed-effect one
            estimate, se = float(res.mean_effect_fe), float(res.sd_eff_w_fe)
        weights = 1.0 / (v + tau2)
        out.update(
            q=q,
            p_q=float(stats.chi2.sf(q, df)),
            tau2=tau2,
            tau2_untruncated=tau2_raw,
            i2=max(0.0, (q - df) / q) if q > 0 else 0.0,
            estimate_fixed=float(res.mean_effect_fe),
            weights=weights / weights.sum(),
        )
    z = estimate / se if se > 0 else np.nan
    out.update(
        estimate=estimate,
        se=se,
        ci_low=estimate - crit * se,
        ci_high=estimate + crit * se,
        z=z,
        p_value=float(2 * stats.norm.sf(abs(z))) if np.isfinite(z) else np.nan,
    )
    return out


def _study_rows(subset: pd.DataFrame) -> pd.DataFrame:
    """Per-study effect and variance of one generator, with inclusion notes."""
    studies = (
        subset[["dataset", "arm", "n_valid", "n_repetitions", "delta_auc", "delta_auc_rep_var"]]
        .rename(columns={"arm": "generator", "delta_auc": "effect"})
        .reset_index(drop=True)
    )
    studies["variance"] = studies["delta_auc_rep_var"] / studies["n_repetitions"]
    studies["included"] = studies["n_repetitions"] >= 2
    studies["note"] = np.where(studies["included"], "", "fewer than 2 repetitions: no within-study variance")
    positive = studies.loc[studies["included"] & (studies["variance"] > 0), "variance"]
    zero = studies["included"] & (studies["variance"] <= 0)
    if zero.any():
        if len(positive):
            studies.loc[zero, "variance"] = positive.min()
            studies.loc[zero, "note"] = "zero variance floored at the smallest positive study variance"
        else:
            studies.loc[zero, "included"] = False
            studies.loc[zero, "note"] = "zero variance and no positive variance to floor it"
    return studies.drop(columns="delta_auc_rep_var")


def meta_analyze_generators(pairs: pd.DataFrame, *, alpha: float = ALPHA) -> dict[str, pd.DataFrame]:
    """Analysis 3: random-effects meta-analysis of ΔAUC per generator, with subgroup test.

    Within each generator the datasets are the studies: effect = mean ΔAUC over the valid
    evaluations, variance = sample variance of the repetitions' mean ΔAUC / ``n_repetitions``
    (the site-folds of a repetition share its split, so the repetition is the independent
    unit; with one fold per repetition this is the variance of the evaluations / ``n_valid``).
    Studies with fewer than 2 repetitions have no variance estimate and are excluded (shown
    with a note). A study whose repetitions all gave the same ΔAUC (variance 0, infinite weight)
    gets the smallest positive study variance of its generator (noted). Each generator is
    pooled by :func:`combine_random_effects` (DerSimonian-Laird, τ² truncated at 0).

    Subgroup differences: Q_between = Σ_g w_g (θ_g - θ̄)², w_g = 1/SE_g², θ̄ = Σ w_g θ_g / Σ w_g
    over the G generators' random-effects estimates θ_g, compared with χ²(G - 1)
    (random-effects model with a separate τ² per subgroup; Borenstein et al. 2009, ch. 19).
    Caveat: the generators share their datasets, so the subgroup estimates are not
    independent as the test assumes; read its p-value as descriptive.

    Returns
    -------
    dict of DataFrame
        ``studies``: ``generator``, ``dataset``, ``n_valid``, ``effect``, ``variance``,
        ``se``, ``ci_low``, ``ci_high``, ``included``, ``note``, ``weight`` (relative
        random-effects weight within the generator) - the rows of a forest plot.
        ``generators``: ``generator``, ``k`` and the fields of
        :func:`combine_random_effects`. ``between``: one row with ``q_between``, ``df``,
        ``p_value``, ``n_generators``.
    """
    crit = stats.norm.isf(alpha / 2)
    study_frames = []

    def pool(subset: pd.DataFrame) -> dict:
        studies = _study_rows(subset)
        used = studies[studies["included"]]
        result = combine_random_effects(used["effect"], used["variance"], alpha=alpha)
        studies["weight"] = 0.0
        studies.loc[studies["included"], "weight"] = result.pop("weights")
        study_frames.append(studies)
        return result

    generators = compute_by_generator(pairs, pool, pooled=False).rename(columns={"group": "generator"})
    studies = (
        pd.concat(study_frames, ignore_index=True)
        if study_frames
        else pd.DataFrame(
            columns=[
                "dataset",
                "generator",
                "n_valid",
                "n_repetitions",
                "effect",
                "variance",
                "included",
                "note",
                "weight",
            ]
        )
    )
    studies["se"] = np.sqrt(studies["variance"].astype(float))
    studies["ci_low"] = studies["effect"] - crit * studies["se"]
    studies["ci_high"] = studies["effect"] + crit * studies["se"]
    studies = studies[
        [
            "generator",
            "dataset",
            "n_valid",
            "n_repetitions",
            "effect",
            "variance",
            "se",
            "ci_low",
            "ci_high",
            "included",
            "note",
            "weight",
        ]
    ]

    if len(generators):
        se = generators["se"].astype(float)
        ok = generators[np.isfinite(se) & (se > 0) & np.isfinite(generators["estimate"].astype(float))]
    else:
        ok = generators
    if len(ok) >= 2:
        w = 1.0 / ok["se"].to_numpy() ** 2
        theta = ok["estimate"].to_numpy()
        q_between = float((w * (theta - (w * theta).sum() / w.sum()) ** 2).sum())
        df = len(ok) - 1
        between = {"q_between": q_between, "df": df, "p_value": float(stats.chi2.sf(q_between, df))}
    else:
        between = {"q_between": np.nan, "df": max(len(ok) - 1, 0), "p_value": np.nan}
    between["n_generators"] = int(len(ok))
    return {"studies": studies, "generators": generators, "between": pd.DataFrame([between])}
