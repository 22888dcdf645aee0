"""What one worker did, counted as it runs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class WorkerStats:
    """Counts of one run; ``stranded`` is what its shutdown could not hand back."""

    claimed: int = 0
    succeeded: int = 0
    failed: int = 0
    lost: int = 0
    released: int = 0
    stranded: int = 0
    """Jobs left running under this worker's lease because the database could not be reached at
    the end (neither handed back nor their outcome written): they return through lease expiry."""
    claim_batches: list[int] = field(default_factory=list)
