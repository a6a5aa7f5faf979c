"""The defaults of the analyses' options, in one place.

Every analysis takes its data first and its options after them, by keyword only
(``n_boot=..., seed=..., alpha=...``); the defaults are these.
"""

__all__ = ["ALPHA", "N_BOOT"]

#: The significance level of every test and the miscoverage of every interval (95 % CIs).
ALPHA = 0.05
#: Bootstrap resamples of every CI (datasets resampled; docs/protocol.md).
N_BOOT = 2000
