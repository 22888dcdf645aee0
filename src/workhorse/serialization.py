"""Job arguments, results and progress are JSON; this module is the gate."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from workhorse.errors import NotJSONError
from workhorse.types import JSON


def check_json(value: Any, where: str = "value") -> JSON:
    """Return ``value`` unchanged if it survives a JSON round trip, else raise NotJSONError."""
    _check(value, where)
    return value  # type: ignore[no-any-return]


def _check(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, int):
        return
    if isinstance(value, str):
        _check_text(value, where)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NotJSONError(f"{where} is {value!r}, which JSON cannot represent")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotJSONError(f"{where} has a non-string key {key!r}")
            _check_text(key, f"{where} key")
            _check(item, f"{where}[{key!r}]")
        return
    hint = " (use a list)" if isinstance(value, tuple) else ""
    raise NotJSONError(f"{where} is a {type(value).__name__}, which is not JSON{hint}")


def _check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise NotJSONError(f"{where} contains a NUL character, which databases cannot store")
    if any("\ud800" <= char <= "\udfff" for char in value):
        raise NotJSONError(f"{where} is not valid Unicode (it holds a lone surrogate)")


_LONG_NUMBER = re.compile(rb"[0-9]{19}")
"""Digits enough for an integer beyond 64 bits, which orjson would not keep exact."""


def dumps(value: Any, where: str = "value") -> str:
    """Serialise a JSON value compactly after checking it (orjson; the standard library for
    integers beyond 64 bits, which orjson refuses)."""
    check_json(value, where)
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes | None) -> JSON:
    """Parse stored JSON text; None stays None. Integers beyond 64 bits stay exact."""
    if text is None:
        return None
    data = text.encode() if isinstance(text, str) else text
    if _LONG_NUMBER.search(data):
        return json.loads(data)  # type: ignore[no-any-return]
    return orjson.loads(data)  # type: ignore[no-any-return]
