"""Waiting for another process in the tests that start real processes (CLI runs, Dask workers)."""

import time
from contextlib import contextmanager


def wait_for(predicate, timeout, what):
    """Poll ``predicate`` until it is true; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@contextmanager
def paused_at_gate(process, gate, what, timeout=180, marker="writing"):
    """Run the block while ``process`` waits at ``gate``, then let it finish and reap it, however the block ends.

    ``process`` (a ``subprocess.Popen`` with pipes) creates ``gate / marker`` when it reaches the
    step it pauses at and goes on once ``gate / "release"`` exists. Yields a dict that holds the
    process's ``stdout`` and ``stderr`` after the block; a process still running then is killed.
    """
    output = {}
    try:
        wait_for(lambda: (gate / marker).exists() or process.poll() is not None, timeout, what)
        assert process.poll() is None, process.communicate()
        yield output
        (gate / "release").touch()
        output["stdout"], output["stderr"] = process.communicate(timeout=timeout)
    finally:
        (gate / "release").touch()
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
