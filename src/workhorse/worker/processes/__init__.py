"""Process isolation: a pool of pre-started child processes that run jobs with hard limits.

``forkserver`` starts them (from a process forked before the worker starts its threads),
``child`` is the loop each one runs, ``pool`` is the worker's side (leasing children, limits,
recycling) and ``procfs`` reads what a process consumes.
"""

from workhorse.worker.processes.pool import Limits, ProcessPool, RemoteError

__all__ = ["Limits", "ProcessPool", "RemoteError"]
