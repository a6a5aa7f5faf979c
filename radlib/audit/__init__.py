"""Audit your own radiomics table(s) with the study's protocol: ``radlib audit``.

One table (CSV, gzip-compressed CSV or Parquet) runs the same grid as a radMLBench
dataset (repetitions, simulated external site with acquisition shift, every generator,
SMOTE, both classifiers) through :func:`radlib.grid.run_grid`, and gets

* its records, manifest and task cache (the folder given by ``--out``);
* a per-arm summary of ΔAUC and of every quality metric with 95% t-intervals over the
  repetitions (:func:`summarize_arms`, :func:`summarize_quantities`);
* whether the quality metrics ranked the generators in the order of their ΔAUC
  (:func:`rank_agreement`) and the rank correlations across repetitions;
* the figures that make sense for one dataset (ΔAUC per arm; quality vs ΔAUC across
  repetitions) and a short plain-language verdict (:func:`render_verdict`).

Several tables (a folder, or a list) run as one grid and get the full set of analyses of
notebook 05 (:func:`radlib.analysis.run_analyses` for each classifier and for the
sensitivity subset, :func:`radlib.report.write_tables`, ``summary.md``, the key figure), as
for radMLBench.

One module per job:

=======================  ============================================================
:mod:`.inputs`           reading and checking the tables; plug-ins (also on Dask workers)
:mod:`.summaries`        per-arm summaries with t-intervals; rank agreement
:mod:`.verdict`          the plain-language verdicts
:mod:`.folder`           the output folder: checked, owned, and written as one set
:mod:`.run`              configuration, the grid run, and every output written
=======================  ============================================================
"""

from radlib.audit.folder import MARKER, OUTPUTS, check_out_folder, claim_out_folder, staged_outputs
from radlib.audit.inputs import (
    DIAGNOSTICS_PREFIX,
    MAX_NAME_BYTES,
    MIN_CLASS_ROWS,
    SEPARATING_AUC,
    TABLE_SUFFIXES,
    AuditError,
    PluginLoader,
    describe_dataset,
    find_tables,
    load_plugin,
    load_table,
    separating_features,
    table_name,
)
from radlib.audit.run import (
    UNUSED_SETTINGS,
    AuditFailedError,
    AuditResult,
    audit,
    audit_config,
    check_generators,
    check_overrides,
    estimate_memory,
)
from radlib.audit.summaries import (
    best_arm_by_repetition,
    interval_decision,
    rank_agreement,
    repetition_pairs,
    summarize_arms,
    summarize_quantities,
)
from radlib.audit.verdict import (
    RECOMMENDED_PROFILE,
    RECOMMENDED_PROFILE_TIME,
    profile_lines,
    render_collection_verdict,
    render_run,
    render_verdict,
    verdict_html,
)

__all__ = [
    "MIN_CLASS_ROWS",
    "MAX_NAME_BYTES",
    "SEPARATING_AUC",
    "DIAGNOSTICS_PREFIX",
    "separating_features",
    "TABLE_SUFFIXES",
    "AuditError",
    "AuditResult",
    "AuditFailedError",
    "MARKER",
    "OUTPUTS",
    "check_out_folder",
    "claim_out_folder",
    "staged_outputs",
    "PluginLoader",
    "find_tables",
    "table_name",
    "load_table",
    "describe_dataset",
    "load_plugin",
    "check_generators",
    "audit_config",
    "UNUSED_SETTINGS",
    "check_overrides",
    "estimate_memory",
    "summarize_arms",
    "summarize_quantities",
    "interval_decision",
    "rank_agreement",
    "repetition_pairs",
    "best_arm_by_repetition",
    "render_verdict",
    "RECOMMENDED_PROFILE",
    "RECOMMENDED_PROFILE_TIME",
    "profile_lines",
    "verdict_html",
    "render_collection_verdict",
    "render_run",
    "audit",
]
