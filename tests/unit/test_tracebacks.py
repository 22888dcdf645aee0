"""What a tenant key sees of a failed attempt's traceback: its task's frames, no server paths."""

from __future__ import annotations

from workhorse.api.tracebacks import task_frames

SYNC = """\
Traceback (most recent call last):
  File "/srv/venv/lib/python3.12/site-packages/workhorse/worker/runtime.py", line 355, in _execute
    result = await self._call(running)
             ^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/venv/lib/python3.12/site-packages/workhorse/worker/runtime.py", line 412, in _call_sync
    return await asyncio.wrap_future(future)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/lib/python3.12/concurrent/futures/thread.py", line 58, in run
    result = self.fn(*self.args, **self.kwargs)
             ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/app/billing/jobs.py", line 9, in charge
    helper(x)
  File "/srv/app/billing/cards.py", line 6, in helper
    raise ValueError(f"bad {x}")
ValueError: bad 1
"""

SYNC_TRIMMED = """\
Traceback (most recent call last):
  [3 frames of the job runner hidden]
  File "jobs.py", line 9, in charge
    helper(x)
  File "cards.py", line 6, in helper
    raise ValueError(f"bad {x}")
ValueError: bad 1
"""

CHAINED = """\
Traceback (most recent call last):
  File "/srv/app/jobs.py", line 13, in aboom
    json.loads(x)
  File "/usr/lib/python3.12/json/__init__.py", line 346, in loads
    return _default_decoder.decode(s)
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/opt/workhorse/src/workhorse/worker/runtime.py", line 398, in _invoke
    return await task.fn(*job.args, **job.kwargs)  # type: ignore[no-any-return]
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/srv/app/jobs.py", line 15, in aboom
    raise RuntimeError("wrapped") from e
RuntimeError: wrapped
"""

CHAINED_TRIMMED = """\
Traceback (most recent call last):
  File "jobs.py", line 13, in aboom
    json.loads(x)
  File "__init__.py", line 346, in loads
    return _default_decoder.decode(s)
json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  [1 frame of the job runner hidden]
  File "jobs.py", line 15, in aboom
    raise RuntimeError("wrapped") from e
RuntimeError: wrapped
"""


def test_the_runners_frames_and_server_paths_are_hidden() -> None:
    assert task_frames(SYNC) == SYNC_TRIMMED


def test_each_exception_of_a_chain_is_trimmed_and_stdlib_calls_of_the_task_stay() -> None:
    assert task_frames(CHAINED) == CHAINED_TRIMMED


def test_an_error_raised_by_the_runner_itself_shows_no_frame() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/x/workhorse/worker/runtime.py", line 1, in _deadline\n'
        "    raise JobTimeoutError()\n"
        "workhorse.errors.JobTimeoutError: the job ran past its timeout\n"
    )
    assert task_frames(text) == (
        "Traceback (most recent call last):\n"
        "  [1 frame of the job runner hidden]\n"
        "workhorse.errors.JobTimeoutError: the job ran past its timeout\n"
    )


def test_text_that_is_no_traceback_is_left_alone() -> None:
    for text in ("", "worker lost", "…d line 3, in f\n    x()\nValueError: cut short\n"):
        assert task_frames(text) == text
