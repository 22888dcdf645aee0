"""Backoff with full jitter for reconnecting and retrying infrastructure calls."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(slots=True)
class Backoff:
    """Successive delays drawn from ``[0, min(cap, base * 2**n)]``; ``reset`` after a success.

    The floor keeps a failing loop from spinning when the draw is near zero.
    """

    base: float = 0.1
    cap: float = 5.0
    floor: float = 0.05
    failures: int = 0

    def next(self) -> float:
        ceiling = min(self.cap, self.base * 2 ** min(self.failures, 30))
        self.failures += 1
        return max(self.floor, random.uniform(0, ceiling))

    def reset(self) -> None:
        self.failures = 0
