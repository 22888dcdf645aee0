"""Sizes as people write them, and the options that take them."""

from __future__ import annotations

import pytest

from workhorse import Isolation, Workhorse
from workhorse.errors import ConfigurationError
from workhorse.sizes import human, to_bytes
from workhorse.tasks import JobOptions


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("512MiB", 512 * 1024**2),
        ("1.5GB", 1_500_000_000),
        ("2g", 2_000_000_000),
        (" 64 kib ", 64 * 1024),
        ("2048", 2048),
        (4096, 4096),
    ],
)
def test_sizes_are_read_in_bytes(text: str | int, size: int) -> None:
    assert to_bytes(text, "memory_limit") == size


@pytest.mark.parametrize("bad", ["", "12zz", "-5MiB", "MiB", 0, -1, True, 1.5])
def test_bad_sizes_are_refused_by_name(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="memory_limit"):
        to_bytes(bad, "memory_limit")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("size", "text"),
    [(512, "512 B"), (512 * 1024**2, "512 MiB"), (int(1.4 * 1024**3), "1.4 GiB")],
)
def test_sizes_are_written_in_binary_units(size: int, text: str) -> None:
    assert human(size) == text


def test_tasks_take_isolation_memory_limit_and_slots() -> None:
    app = Workhorse("sqlite:///:memory:")

    @app.task(isolation="process", memory_limit="256MiB", slots=2)
    def heavy() -> None: ...

    assert heavy.isolation is Isolation.PROCESS
    assert heavy.memory_limit == 256 * 1024**2
    assert heavy.slots == 2
    assert app.isolates_any()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"isolation": "thread"}, "isolation must be one of"),
        ({"slots": 0}, "slots must be an int >= 1"),
        ({"memory_limit": "lots"}, "memory_limit must be a size"),
    ],
)
def test_bad_task_options_are_refused(options: dict[str, object], message: str) -> None:
    app = Workhorse("sqlite:///:memory:")
    with pytest.raises(ConfigurationError, match=message):
        app.task(**options)(lambda: None)  # type: ignore[call-overload]


def test_per_call_options_are_checked() -> None:
    assert JobOptions(isolation="process", memory_limit="1GiB").isolation == "process"
    with pytest.raises(ConfigurationError, match="isolation"):
        JobOptions(isolation="vm")
