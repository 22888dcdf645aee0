"""Latency figures from the producers' and the workers' timestamps (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Latency:
    """Enqueue call returned → job started, at one offered rate."""

    offered_per_s: float
    achieved_per_s: float
    """The rate at which the producers' calls returned."""
    p50_ms: float
    p99_ms: float
    max_ms: float
    jobs: int
    missing: int
    """Jobs enqueued but not started when the run gave up waiting."""
    saturated: bool = False
    """Not measured: the rate is above what the system drained in the same round, so its
    queue would only grow and the wait would measure the length of the run."""

    @classmethod
    def above(cls, rate: float) -> Latency:
        """The record of a rate the system cannot sustain."""
        nan = float("nan")
        return cls(rate, nan, nan, nan, nan, 0, 0, saturated=True)


def summarise_latency(
    rate: float,
    start_at: float,
    returned: dict[int, float],
    found: dict[int, tuple[float, float]],
) -> Latency:
    """Percentiles of started - returned over the jobs both sides saw."""
    waits = sorted(found[seq][0] - stamp for seq, stamp in returned.items() if seq in found)
    last = max(returned.values(), default=start_at)
    return Latency(
        offered_per_s=rate,
        achieved_per_s=len(returned) / (last - start_at) if last > start_at else float("nan"),
        p50_ms=percentile(waits, 0.50) * 1000,
        p99_ms=percentile(waits, 0.99) * 1000,
        max_ms=waits[-1] * 1000 if waits else float("nan"),
        jobs=len(returned),
        missing=len(returned) - len(waits),
    )


def percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values; NaN for none."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]
