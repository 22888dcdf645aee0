"""Bounds on label values that clients choose (queue names, tenant names).

Every distinct label value is a series that Prometheus stores and this process keeps in memory,
and a client can invent queue names at will: so a fixed number of values get series of their own
and the rest share one, ``other``. Gauges are re-ranked at every reading (``top``); counters must
keep one series per value for as long as it lives, so they admit values first come and let idle
ones go (``LabelBudget``).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

OTHER = "other"
"""The label value the values without a series of their own share."""

DEFAULT_TOP_QUEUES = 50
IDLE = timedelta(minutes=10)
"""A counter's label value unseen this long gives its place up (and its series goes)."""


def tenant_label(name: str) -> str:
    """The label that stands for tenant ``name`` when names are not shown: ``t_`` and the first
    12 hex digits of the name's SHA-256. Stable (dashboards and alerts can follow one tenant), and
    an operator who knows the name can compute it; a reader of the metrics cannot read it back."""
    return "t_" + hashlib.sha256(name.encode()).hexdigest()[:12]


def top(totals: Mapping[str, float], limit: int) -> set[str]:
    """The ``limit`` keys of ``totals`` with the largest values (ties broken by name);
    ``other`` is never one of them, since it names what is left."""
    ranked = sorted((key for key in totals if key != OTHER), key=lambda key: (-totals[key], key))
    return set(ranked[:limit])


class LabelBudget:
    """Which values of a counter's label have series of their own: at most ``limit`` at once,
    in the order they first appear; the others are counted under ``other``.

    A counter's series must rise steadily for as long as it exists, so a value keeps its place
    while it is in use: re-ranking at every scrape would make series appear and vanish (and
    ``rate()`` meaningless). A value unseen for ``idle`` is let go by ``sweep``, which makes room
    for a new one: a burst of one-off names leaves nothing behind once it is over.

    Not thread-safe: its owner holds a lock around it.
    """

    def __init__(
        self, limit: int, *, idle: timedelta = IDLE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 0:
            raise ValueError("limit must not be negative")
        self.limit = limit
        self._idle = idle.total_seconds()
        self._clock = clock
        self._last_seen: dict[str, float] = {}

    def admit(self, value: str) -> str:
        """The label ``value`` is counted under: itself if it has (or now gets) a place, else
        ``other``."""
        if value in self._last_seen or (value != OTHER and len(self._last_seen) < self.limit):
            self._last_seen[value] = self._clock()
            return value
        return OTHER

    def sweep(self) -> list[str]:
        """Let go of the values unseen for ``idle``; returns them, so their series are dropped."""
        cutoff = self._clock() - self._idle
        idle = [value for value, seen in self._last_seen.items() if seen < cutoff]
        for value in idle:
            del self._last_seen[value]
        return idle
