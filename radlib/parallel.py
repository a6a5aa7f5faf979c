"""Independent calls in processes, in order, with a progress bar: the simulations of notebook 07.

:func:`run_calls` runs ``function(*arguments)`` for each entry of a list in ``n_jobs``
processes (``joblib.Parallel``; 1 runs them here) and returns the results in the order of the
list, so a seeded simulation gives the same table whatever ``n_jobs``. With ``progress`` a tqdm bar
(a widget in a notebook) counts the finished calls; the first call runs here, timed, and the bar
shows the estimated time of the rest before they start (the calls are independent, so running the
first one alone changes no result), then tqdm's own time left. The estimate lives in the bar, not in
the cell's text, so a published notebook (whose widgets are dropped) does not depend on the machine.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import joblib
from tqdm.auto import tqdm

__all__ = ["run_calls"]


def run_calls(
    function: Callable[..., Any],
    arguments: Sequence[tuple],
    *,
    n_jobs: int = 1,
    progress: str | None = None,
) -> list[Any]:
    """``[function(*args) for args in arguments]``, in ``n_jobs`` processes, optionally with a progress bar.

    Parameters
    ----------
    function : callable
        A module-level function (it is sent to the worker processes).
    arguments : sequence of tuple
        The positional arguments of each call.
    n_jobs : int
        Processes (``joblib.Parallel``); 1 runs the calls here, one after another.
    progress : str, optional
        The progress bar's label; None shows no bar. Given, the first call runs here first and
        the bar shows its time and the estimated time of the rest.

    Returns
    -------
    list
        The results, in the order of ``arguments``.

    Examples
    --------
    >>> run_calls(pow, [(2, 3), (3, 2)])
    [8, 9]
    """
    if progress is None:
        return list(_in_processes(function, arguments, n_jobs))
    with tqdm(total=len(arguments), desc=progress, unit="run") as bar:
        collected = []
        for args in arguments[:1]:  # the first call, timed here (none when there is no call)
            started = time.perf_counter()
            collected.append(function(*args))
            first, rest = time.perf_counter() - started, len(arguments) - 1
            if rest:
                workers = min(joblib.effective_n_jobs(n_jobs), rest)
                bar.set_postfix_str(
                    f"the first took {_duration(first)}; about {_duration(first * math.ceil(rest / workers))} "
                    f"for the other {rest} in {workers} process(es)",
                    refresh=False,
                )
            bar.update()
        for result in _in_processes(function, arguments[1:], n_jobs):
            collected.append(result)
            bar.update()
    return collected


def _in_processes(function: Callable[..., Any], arguments: Sequence[tuple], n_jobs: int) -> Any:
    return joblib.Parallel(n_jobs=n_jobs, return_as="generator")(joblib.delayed(function)(*args) for args in arguments)


def _duration(seconds: float) -> str:
    """``"0.4 s"`` below 10 s, ``"42 s"`` below two minutes, else ``"13 min"``."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"
