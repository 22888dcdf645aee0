"""The small vocabulary shared by the whole package."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

JSON = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
"""A value that survives a JSON round trip unchanged."""

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime; injected so tests control time."""
