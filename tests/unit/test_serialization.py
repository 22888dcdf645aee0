"""check_json is the gate for arguments, results and progress: JSON in, or a NotJSONError naming
where the offending value is."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workhorse.errors import NotJSONError, WorkhorseError
from workhorse.serialization import check_json, dumps, loads

storable_text = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))
"""Text every database stores: no NUL characters, no lone surrogates."""

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | storable_text,
    lambda children: st.lists(children) | st.dictionaries(storable_text, children),
    max_leaves=20,
)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        0,
        -(2**70),
        1.5,
        "",
        "ünïcode",
        [],
        {},
        [1, "two", 3.0, None, False],
        {"a": {"b": [{"c": [1, 2, {"d": None}]}]}},
    ],
)
def test_check_json_accepts_json_and_returns_it_unchanged(value: Any) -> None:
    assert check_json(value) is value


@settings(database=None, deadline=None)
@given(value=json_values)
def test_check_json_accepts_what_survives_a_round_trip(value: Any) -> None:
    assert check_json(value) is value
    assert loads(dumps(value)) == value


@pytest.mark.parametrize(
    ("value", "where", "kind"),
    [
        ((1, 2), "value", "tuple"),
        ({1, 2}, "value", "set"),
        (frozenset(), "value", "frozenset"),
        (b"raw", "value", "bytes"),
        (datetime(2030, 1, 1, tzinfo=UTC), "value", "datetime"),
        (Decimal("1.5"), "value", "Decimal"),
        (object(), "value", "object"),
    ],
)
def test_check_json_rejects_non_json_types(value: Any, where: str, kind: str) -> None:
    with pytest.raises(NotJSONError, match=rf"^{where} is a {kind}\b"):
        check_json(value)


def test_tuple_error_suggests_a_list() -> None:
    with pytest.raises(NotJSONError, match="use a list"):
        check_json((1,))


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_check_json_rejects_non_finite_floats(number: float) -> None:
    with pytest.raises(NotJSONError, match=r"^args\[1\] is "):
        check_json([1, number], "args")


@pytest.mark.parametrize("key", [1, 2.5, None, (1, 2), True])
def test_check_json_rejects_non_string_keys(key: Any) -> None:
    with pytest.raises(NotJSONError, match=r"^kwargs\['opts'\] has a non-string key"):
        check_json({"opts": {key: 1}}, "kwargs")


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ([1, b"x"], "args[1]"),
        ([[0, [0, 0, {1, 2}]]], "args[0][1][2]"),
        ([{"when": datetime(2030, 1, 1, tzinfo=UTC)}], "args[0]['when']"),
        ([0, {"a": [(1,)]}], "args[1]['a'][0]"),
    ],
)
def test_error_message_names_the_path(value: Any, path: str) -> None:
    with pytest.raises(NotJSONError) as caught:
        check_json(value, "args")
    assert str(caught.value).startswith(f"{path} is a ")


def test_not_json_error_is_a_type_error_and_a_workhorse_error() -> None:
    with pytest.raises(NotJSONError) as caught:
        check_json({1})
    assert isinstance(caught.value, TypeError)
    assert isinstance(caught.value, WorkhorseError)


def test_dumps_is_compact_and_checked() -> None:
    assert dumps({"a": [1, 2]}) == '{"a":[1,2]}'
    with pytest.raises(NotJSONError, match=r"^result is a set"):
        dumps(set(), "result")


def test_loads_keeps_none() -> None:
    assert loads(None) is None
    assert loads("null") is None
    assert loads(json.dumps([1, {"a": "b"}])) == [1, {"a": "b"}]


@pytest.mark.parametrize(
    ("value", "where"),
    [
        (["a\x00b"], r"args\[0\] contains a NUL"),
        ({"k\x00": 1}, r"args key contains a NUL"),
        (["\ud800"], r"args\[0\] is not valid Unicode"),
    ],
)
def test_check_json_refuses_text_no_database_stores(value: Any, where: str) -> None:
    with pytest.raises(NotJSONError, match=rf"^{where}"):
        check_json(value, "args")
