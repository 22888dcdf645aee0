"""The API's pure parts: key tokens, cursors and the checks on client values."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from workhorse.api.pagination import CURSOR_PATTERN, decode_cursor, encode_cursor
from workhorse.api.types import (
    EARLIEST,
    LATEST,
    MAX_DEPTH,
    check_json_value,
    check_text,
    check_time,
)
from workhorse.apikeys import hash_token, token_prefix

TOKEN = "wh_0123456789ab_" + "A" * 43


def test_token_prefix_of_a_well_formed_token() -> None:
    assert token_prefix(TOKEN) == "wh_0123456789ab"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "wh_0123456789ab",
        TOKEN + "A",
        TOKEN[:-1],
        "wh_0123456789AB_" + "A" * 43,
        "xx_0123456789ab_" + "A" * 43,
        "wh_0123456789ab_" + "A" * 42 + "=",
        "wh_0123456789ab_" + "A" * 42 + "\x00",
    ],
)
def test_token_prefix_refuses_anything_else(token: str) -> None:
    assert token_prefix(token) is None


def test_hash_token_is_hex_sha256_and_differs_per_token() -> None:
    digest = hash_token(TOKEN)
    assert len(digest) == 64
    assert int(digest, 16) >= 0
    assert hash_token(TOKEN[:-1] + "B") != digest


@given(st.integers(min_value=1, max_value=2**63 - 1))
def test_cursor_round_trips_and_has_the_documented_shape(last_id: int) -> None:
    cursor = encode_cursor(last_id)
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    assert decode_cursor(cursor) == last_id


@given(st.from_regex(CURSOR_PATTERN, fullmatch=True))
def test_every_cursor_of_the_documented_shape_names_an_id(cursor: str) -> None:
    assert 0 <= decode_cursor(cursor) <= 2**63 - 1


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "ok\udfff"])
def test_check_text_refuses_what_no_database_stores(text: str) -> None:
    with pytest.raises(ValueError, match="must"):
        check_text(text)


def test_check_text_accepts_any_other_unicode() -> None:
    assert check_text("héllo 🐎 \u2028") == "héllo 🐎 \u2028"


@pytest.mark.parametrize(
    "value",
    [
        [float("nan")],
        {"a": [1, {"b": float("inf")}]},
        {"k\x00": 1},
        ["\ud800"],
    ],
)
def test_check_json_value_refuses_unstorable_values(value: object) -> None:
    with pytest.raises(ValueError, match="must"):
        check_json_value(value)


def test_check_json_value_bounds_nesting() -> None:
    deep: object = 1
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert check_json_value(deep) == deep
    with pytest.raises(ValueError, match="deep"):
        check_json_value([deep])


def test_check_time_converts_to_utc_within_range() -> None:
    paris = timezone(timedelta(hours=1))
    converted = check_time(datetime(2030, 1, 1, 10, tzinfo=paris))
    assert converted == datetime(2030, 1, 1, 9, tzinfo=UTC)
    assert converted.tzinfo is UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))), EARLIEST),
        (datetime(1969, 12, 31, 23, tzinfo=UTC), EARLIEST),
        (datetime(9999, 12, 31, 20, tzinfo=timezone(timedelta(hours=-5))), LATEST),
        (datetime(9999, 1, 1, tzinfo=UTC), LATEST),
        (datetime(1970, 1, 1, tzinfo=UTC), EARLIEST),
    ],
)
def test_times_outside_the_stored_range_are_taken_as_its_nearer_end(
    value: datetime, expected: datetime
) -> None:
    assert check_time(value) == expected
