"""The measured systems by name (each module reads the settings when it is imported)."""

from __future__ import annotations

from measure import Peer

PEERS = ("celery", "dramatiq", "procrastinate", "rq", "rq-simple", "taskiq", "arq", "saq")
WORKHORSE = ("workhorse-postgresql", "workhorse-sqlite")
DEFAULT = ("celery", "dramatiq", "procrastinate", "rq-simple", "taskiq", "arq", "saq")
"""`rq` forks a process per job (about 40 no-ops/s here): measured only when asked for."""


def make(name: str) -> Peer:
    """The peer called ``name`` (its module is imported here, with the settings in force)."""
    if name in WORKHORSE:
        from peer_workhorse import WorkhorsePeer

        return WorkhorsePeer(name.removeprefix("workhorse-"))
    if name.startswith("rq"):
        from peer_rq import RQPeer

        return RQPeer(name, "rq.worker.SimpleWorker" if name == "rq-simple" else None)
    return _simple(name)


def _simple(name: str) -> Peer:
    if name == "celery":
        from peer_celery import CeleryPeer

        return CeleryPeer()
    if name == "dramatiq":
        from peer_dramatiq import DramatiqPeer

        return DramatiqPeer()
    if name == "procrastinate":
        from peer_procrastinate import ProcrastinatePeer

        return ProcrastinatePeer()
    if name == "taskiq":
        from peer_taskiq import TaskiqPeer

        return TaskiqPeer()
    if name == "arq":
        from peer_arq import ArqPeer

        return ArqPeer()
    if name == "saq":
        from peer_saq import SaqPeer

        return SaqPeer()
    raise ValueError(f"unknown system {name!r}")
