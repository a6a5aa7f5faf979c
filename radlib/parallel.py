"""Independent calls in processes, in order, with a progress bar: the simulations of notebook 07.

:func:`run_calls` runs ``function(*arguments)`` for each entry of a list in ``n_jobs``
processes (``joblib.Parallel``; 1 runs them here) and returns the results in the order of the
list, so a seeded simulation gives the same table whatever ``n_jobs``. With ``progress`` a
tqdm bar (a widget in a notebook) counts the finished calls and shows the time left.
"""

from __future__ import annotations

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
        The progress bar's label; None shows no bar.

    Returns
    -------
    list
        The results, in the order of ``arguments``.

    Examples
    --------
    >>> run_calls(pow, [(2, 3), (3, 2)])
    [8, 9]
    """
    results = joblib.Parallel(n_jobs=n_jobs, return_as="generator")(
        joblib.delayed(function)(*args) for args in arguments
    )
    if progress is None:
        return list(results)
    with tqdm(total=len(arguments), desc=progress, unit="run") as bar:
        collected = []
        for result in results:
            collected.append(result)
            bar.update()
    return collected
