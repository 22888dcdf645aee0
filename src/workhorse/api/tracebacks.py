"""What a tenant sees of a failed attempt's traceback: the task's own frames, no server paths.

A worker stores the whole traceback of a failed attempt, and admin keys read it whole. A tenant
key reads it trimmed, here at read time (the stored record stays complete): the frames of the job
runner that called the task (Workhorse's worker and the standard library's thread and event loop
machinery, before the first frame of other code) are replaced by one line saying how many were
hidden, and every file path is cut to its file name, so neither the server's layout nor
Workhorse's internals reach a tenant. The task's frames, the calls it made (standard library
ones included) and the exception messages are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_FRAME = re.compile(r'^(?P<lead>[ |+-]*)File "(?P<path>[^"]*)", line (?P<rest>.*)$')
_RUNNER = re.compile(
    r"[/\\]workhorse[/\\]"  # Workhorse's own modules, installed or from a checkout
    r"|[/\\]lib[/\\]python3\.\d+[/\\](?!site-packages|dist-packages)"  # the standard library
)
_HEADER = "Traceback (most recent call last):"


@dataclass(slots=True)
class _Trimmer:
    out: list[str] = field(default_factory=list)
    in_runner: bool = False
    """Still in the frames that lead from a traceback's header to the task."""
    hidden: int = 0
    hidden_lead: str = ""
    skip_prefix: str | None = None
    """Lines of the hidden frame being skipped (its source and carets) start with this."""

    def line(self, line: str) -> None:
        frame = _FRAME.match(line.rstrip("\n"))
        if frame is not None:
            self._frame(line, frame)
            return
        if self.skip_prefix is not None and line.startswith(self.skip_prefix):
            return
        self._flush()
        self.in_runner = _HEADER in line
        self.out.append(line)

    def _frame(self, line: str, frame: re.Match[str]) -> None:
        lead, path = frame["lead"], frame["path"]
        if self.in_runner and _RUNNER.search(path):
            self.hidden += 1
            self.hidden_lead = lead
            self.skip_prefix = lead + "  "
            return
        self._flush()
        self.in_runner = False
        name = re.split(r"[/\\]", path)[-1]
        end = "\n" if line.endswith("\n") else ""
        self.out.append(f'{lead}File "{name}", line {frame["rest"]}{end}')

    def text(self) -> str:
        """Everything trimmed so far."""
        self._flush()
        return "".join(self.out)

    def _flush(self) -> None:
        self.skip_prefix = None
        if self.hidden:
            plural = "" if self.hidden == 1 else "s"
            self.out.append(
                f"{self.hidden_lead}[{self.hidden} frame{plural} of the job runner hidden]\n"
            )
            self.hidden = 0


def task_frames(traceback: str) -> str:
    """``traceback`` with the job runner's frames hidden and file paths cut to file names; text
    that is no traceback comes back as it was."""
    trimmer = _Trimmer()
    for line in traceback.splitlines(keepends=True):
        trimmer.line(line)
    return trimmer.text()
