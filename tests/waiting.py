"""Waiting for another process in the tests that start real processes (CLI runs, Dask workers)."""

import time


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until it is true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")
