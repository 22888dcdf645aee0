"""Sizes in bytes, written as people write them: ``512MiB``, ``1.5GB``, ``2048``."""

from __future__ import annotations

import re

from workhorse.errors import ConfigurationError

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*")
_MAX = 2**63 - 1

Size = int | str
"""A size: a number of bytes, or text such as ``512MiB`` or ``1.5GB``."""


def to_bytes(value: Size | None, what: str) -> int | None:
    """Bytes of a positive size, or None; anything else is a ConfigurationError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigurationError(f"{what} must be a size such as 512MiB, got {value!r}")
    size = value if isinstance(value, int) else _parse(value, what)
    if not 0 < size <= _MAX:
        raise ConfigurationError(f"{what} must be a positive size, got {value!r}")
    return size


def _parse(text: str, what: str) -> int:
    match = _SIZE.fullmatch(text.lower())
    if match is None or match.group(2) not in _UNITS:
        raise ConfigurationError(f"{what} must be a size such as 512MiB or 2GB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def human(size: int) -> str:
    """``size`` bytes in binary units, e.g. ``1.4 GiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{_number(value)} {unit}"
        value /= 1024
    return f"{_number(value)} TiB"


def _number(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")
