"""Workflows: a graph of jobs submitted together, and the state it settles in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class WorkflowState(StrEnum):
    RUNNING = "running"
    """Some step has not ended."""
    SUCCEEDED = "succeeded"
    """Every step succeeded."""
    FAILED = "failed"
    """Every step ended, and some step is dead."""
    CANCELLED = "cancelled"
    """Every step ended, none is dead, and some step was cancelled."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Workflow:
    """A snapshot of one workflow as stored: its counts of steps and its timings."""

    id: int
    tenant: str
    name: str
    state: WorkflowState
    steps: int
    steps_left: int
    steps_dead: int
    steps_cancelled: int
    created_at: datetime
    finished_at: datetime | None
