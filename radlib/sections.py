"""Read one section of the profile (``shift``, ``metrics``, ...) from whatever a caller holds.

Stage functions take their parameters as a :class:`~radlib.config.Config`, as the full
parameter mapping (``Config.params``), or as the section mapping alone (handy in tests
and notebooks). This module turns any of the three into the section mapping and checks
that the keys the stage needs are present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from radlib.config import Config

__all__ = ["read_section"]


def read_section(
    config_or_params: Config | Mapping[str, Any], section: str, keys: tuple[str, ...]
) -> Mapping[str, Any]:
    """Return the mapping of profile section ``section``.

    Parameters
    ----------
    config_or_params : Config or mapping
        A configuration, its full parameter mapping, or the section mapping itself.
    section : str
        Name of the section, e.g. ``"shift"``.
    keys : tuple of str
        Keys the caller needs.

    Returns
    -------
    mapping
        The section's parameters.

    Raises
    ------
    KeyError
        When a needed key is missing, naming the section and every missing key.
    """
    params = config_or_params.params if isinstance(config_or_params, Config) else config_or_params
    section_params = params[section] if section in params else params
    missing = [key for key in keys if key not in section_params]
    if missing:
        raise KeyError(f"profile section '{section}' lacks {', '.join(missing)}; it needs {', '.join(keys)}")
    return section_params
