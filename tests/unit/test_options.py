"""Task registration and per-call options are validated eagerly, before any database work."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from workhorse import Workhorse
from workhorse.errors import ConfigurationError, NotJSONError, UnknownTaskError
from workhorse.retry import RetryPolicy
from workhorse.tasks import JobOptions, JobSpec

RUN_AT = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "never-opened.db"


@pytest.fixture
def app(db_path: Path) -> Iterator[Workhorse]:
    """An app whose database must never be opened by these tests."""
    app = Workhorse(f"sqlite:///{db_path}")
    yield app
    assert app._backend is None, "a validation path opened the database"
    assert not db_path.exists()


# -- JobOptions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"delay": 5, "run_at": RUN_AT},
        {"run_at": datetime(2030, 1, 1)},  # naive on purpose
        {"priority": "high"},
        {"priority": 1.5},
        {"priority": True},
        {"max_attempts": 0},
        {"max_attempts": -1},
        {"max_attempts": 2.0},
        {"max_attempts": True},
        {"timeout": -1},
        {"timeout": 0},
        {"timeout": timedelta(seconds=-1)},
        {"timeout": "10"},
        {"delay": -1},
        {"delay": timedelta(seconds=-5)},
        {"tenant": ""},
        {"tenant": "t" * 201},
        {"tenant": 7},
        {"queue": ""},
        {"unique_key": ""},
    ],
    ids=repr,
)
def test_invalid_job_options_raise_configuration_error(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        JobOptions(**options)


def test_configuration_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="delay or run_at"):
        JobOptions(delay=1, run_at=RUN_AT)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"delay": 5},
        {"delay": timedelta(minutes=1)},
        {"run_at": RUN_AT},
        {"priority": -10},
        {"max_attempts": 1},
        {"timeout": 0.5},
        {"tenant": "acme", "queue": "emails", "unique_key": "k" * 200},
    ],
    ids=repr,
)
def test_valid_job_options_are_accepted(options: dict[str, Any]) -> None:
    assert JobOptions(**options) is not None


def test_with_options_validates_each_call(app: Workhorse) -> None:
    @app.task
    def send(to: str) -> None: ...

    bound = send.with_options(priority=5)
    assert bound.options.priority == 5
    with pytest.raises(ConfigurationError):
        send.with_options(max_attempts=0)
    with pytest.raises(ConfigurationError):
        bound.with_options(delay=1, run_at=RUN_AT)
    with pytest.raises(TypeError):
        send.with_options(no_such_option=1)


def test_with_options_chains_without_losing_earlier_options(app: Workhorse) -> None:
    @app.task
    def send(to: str) -> None: ...

    bound = send.with_options(tenant="acme").with_options(priority=3)
    assert bound.options == JobOptions(tenant="acme", priority=3)


# -- Task registration ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "config",
    [
        {"max_attempts": 0},
        {"max_attempts": -1},
        {"timeout": -1},
        {"timeout": timedelta(0)},
        {"queue": "q" * 201},
        {"name": "n" * 201},
        {"priority": "high"},
    ],
    ids=repr,
)
def test_invalid_task_configuration_raises(app: Workhorse, config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        app.task(**config)(lambda: None)
    assert app.tasks == {}


def test_app_rejects_a_default_max_attempts_below_one(db_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        Workhorse(f"sqlite:///{db_path}", default_max_attempts=0)


def test_sync_task_stays_callable_directly(app: Workhorse) -> None:
    @app.task
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    assert add(2, 3) == 5
    assert add.name == "add"
    assert not add.is_async
    assert add.__doc__ == "Add two numbers."
    assert app.get_task("add") is add


def test_async_task_stays_callable_directly(app: Workhorse) -> None:
    @app.task(name="twice", queue="math", max_attempts=7, timeout=2.5, priority=4)
    async def double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    assert asyncio.run(double(21)) == 42
    assert double.is_async
    assert (double.name, double.queue, double.max_attempts) == ("twice", "math", 7)
    assert (double.timeout, double.priority) == (2.5, 4)
    assert app.get_task("twice") is double


def test_task_defaults_come_from_the_app(db_path: Path) -> None:
    policy = RetryPolicy(base=timedelta(seconds=9))
    app = Workhorse(
        f"sqlite:///{db_path}",
        default_queue="bulk",
        default_max_attempts=9,
        default_retry=policy,
    )

    @app.task
    def job() -> None: ...

    assert (job.queue, job.max_attempts, job.retry, job.timeout) == ("bulk", 9, policy, None)


def test_duplicate_task_name_raises(app: Workhorse) -> None:
    @app.task
    def report() -> None: ...

    with pytest.raises(ConfigurationError, match="'report' is already registered"):

        @app.task(name="report")
        def other() -> None: ...

    assert app.tasks == {"report": report}


def test_same_function_name_under_another_name_is_fine(app: Workhorse) -> None:
    @app.task
    def report() -> None: ...

    @app.task(name="report_v2")
    def report_() -> None: ...

    assert set(app.tasks) == {"report", "report_v2"}


# -- enqueue-time validation (before any database work) -----------------------------------


def test_enqueue_unknown_task_raises_unknown_task_error(app: Workhorse) -> None:
    @app.task
    def known() -> None: ...

    with pytest.raises(UnknownTaskError, match=r"'missing' \(registered: known\)"):
        app.enqueue("missing")


def test_get_task_of_an_empty_registry_says_none_are_registered(app: Workhorse) -> None:
    with pytest.raises(UnknownTaskError, match="registered: none"):
        app.get_task("anything")


@pytest.mark.parametrize(
    ("args", "kwargs", "where"),
    [
        ((1, {2, 3}), {}, r"args\[1\]"),
        ((), {"when": RUN_AT}, r"kwargs\['when'\]"),
        (([b"x"],), {}, r"args\[0\]\[0\]"),
        ((float("nan"),), {}, r"args\[0\]"),
    ],
)
def test_enqueue_non_json_arguments_raise_not_json_error(
    app: Workhorse, args: tuple[Any, ...], kwargs: dict[str, Any], where: str
) -> None:
    @app.task
    def work(*args: Any, **kwargs: Any) -> None: ...

    with pytest.raises(NotJSONError, match=rf"^{where} "):
        app.enqueue("work", args, kwargs)
    with pytest.raises(NotJSONError, match=rf"^{where} "):
        work.enqueue(*args, **kwargs)


def test_enqueue_with_invalid_options_raises_before_the_database(app: Workhorse) -> None:
    @app.task
    def work() -> None: ...

    with pytest.raises(ConfigurationError):
        app.enqueue("work", priority="urgent")


def test_prepare_builds_a_job_spec(app: Workhorse) -> None:
    @app.task
    def send(to: str, *, subject: str) -> None: ...

    spec = send.with_options(tenant="acme").prepare("a@example.com", subject="hi")
    assert spec == JobSpec(
        task="send",
        args=["a@example.com"],
        kwargs={"subject": "hi"},
        options=JobOptions(tenant="acme"),
    )


def test_enqueue_many_of_nothing_does_nothing(app: Workhorse) -> None:
    assert app.enqueue_many([]) == []
