"""Shared fixtures: configurations that never touch the network and write into tmp folders."""

from __future__ import annotations

import matplotlib
import pytest

from radlib.config import load_config

# Tests draw figures off-screen, with or without a display; set once here, before a test module imports pyplot.
matplotlib.use("Agg")


@pytest.fixture
def offline_config(tmp_path, monkeypatch):
    """The smoke profile, offline, with the cache and outputs in a temporary folder.

    The mirror stays whatever the environment or profile says (the shared radMLBench
    mirror on this machine and in CI).
    """
    monkeypatch.setenv("RADLIB_OFFLINE", "1")
    config = load_config("smoke")
    paths = {f"paths.{name}": str(tmp_path / name) for name in config["paths"]}
    return config.with_overrides(paths)


@pytest.fixture
def mirror_config(offline_config):
    """Like offline_config, but skips the test when no radMLBench mirror is reachable."""
    if offline_config.mirror_dir is None or not offline_config.mirror_dir.is_dir():
        pytest.skip("no radMLBench mirror (set RADLIB_RADMLBENCH_DIR)")
    return offline_config
