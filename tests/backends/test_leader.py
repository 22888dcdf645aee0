"""leader_elect and leader_resign: at most one holder of a name at any instant."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from workhorse.backends import Backend
from workhorse.backends import base as b

from .conftest import OpenStore
from .support import at

TTL = timedelta(seconds=10)


def _elect(backend: Backend, holder: str, seconds: float, name: str = "maintenance") -> bool:
    return backend.leader_elect(
        b.LeaderElectParams(name=name, holder=holder, ttl=TTL, now=at(seconds))
    )


def _resign(backend: Backend, holder: str, name: str = "maintenance") -> None:
    backend.leader_resign(b.LeaderResignParams(name=name, holder=holder))


def test_leader_elect_has_one_holder_at_a_time(backend: Backend) -> None:
    assert _elect(backend, "a", 0)
    assert not _elect(backend, "b", 1)
    assert not _elect(backend, "b", 10), "the lease is held until it has expired"
    assert _elect(backend, "a", 2)


def test_leader_elect_another_takes_over_after_the_ttl_expires(backend: Backend) -> None:
    assert _elect(backend, "a", 0)
    assert _elect(backend, "b", 11)
    assert not _elect(backend, "a", 12)


def test_leader_elect_holder_renews_its_lease(backend: Backend) -> None:
    assert _elect(backend, "a", 0)
    assert _elect(backend, "a", 8)  # now held to at(18)
    assert not _elect(backend, "b", 15)
    assert _elect(backend, "b", 19)


def test_leader_elect_names_are_independent(backend: Backend) -> None:
    assert _elect(backend, "a", 0, name="maintenance")
    assert _elect(backend, "b", 0, name="cron")
    assert not _elect(backend, "b", 1, name="maintenance")
    assert not _elect(backend, "a", 1, name="cron")


def test_leader_resign_frees_the_name_at_once(backend: Backend) -> None:
    assert _elect(backend, "a", 0)
    _resign(backend, "a")
    assert _elect(backend, "b", 1)


def test_leader_resign_by_a_non_holder_changes_nothing(backend: Backend) -> None:
    assert _elect(backend, "a", 0)
    _resign(backend, "b")
    _resign(backend, "a", name="other")
    assert not _elect(backend, "b", 1)
    assert _elect(backend, "a", 1)


def test_leader_resign_when_nobody_holds_is_harmless(backend: Backend) -> None:
    _resign(backend, "a")
    assert _elect(backend, "a", 0)


def test_leader_elect_racing_candidates_elect_exactly_one(open_store: OpenStore) -> None:
    candidates = [open_store() for _ in range(6)]
    start = threading.Barrier(len(candidates))

    def run(index: int) -> bool:
        start.wait(30)
        return _elect(candidates[index], f"c{index}", 0)

    with ThreadPoolExecutor(len(candidates)) as pool:
        won = list(pool.map(run, range(len(candidates))))
    assert won.count(True) == 1
    winner = won.index(True)
    assert [_elect(c, f"c{i}", 5) for i, c in enumerate(candidates)] == [
        i == winner for i in range(len(candidates))
    ]
