"""Acceptance tests: the real ``workhorse`` CLI as subprocesses, with signals and SIGKILL."""
