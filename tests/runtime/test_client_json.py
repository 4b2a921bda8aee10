"""JSON from clients: what the limits let through and what they refuse."""

from __future__ import annotations

import pytest

from wolkenkit.errors import JsonRefused
from wolkenkit.runtime.client_json import MAX_DEPTH, parse_client_json


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_json_up_to_the_depth_limit_parses_and_brackets_in_strings_do_not_count() -> None:
    in_strings = '{"a":"' + "[" * 500 + '","b":"\\"{{{{"}'

    assert parse_client_json(nested(MAX_DEPTH)) is not None
    assert parse_client_json(in_strings)["a"] == "[" * 500
    # A surrogate pair is one character, and an escaped backslash no escape.
    assert parse_client_json('"\\ud83d\\ude00"') == "\N{GRINNING FACE}"
    assert parse_client_json('"\\\\ud800"') == "\\ud800"


@pytest.mark.parametrize(
    "text",
    [nested(MAX_DEPTH + 1), nested(100_000), '"\\ud800"', '{"\\udc00":1}', '["a\\uDBFFb"]'],
    ids=["one level too deep", "far too deep", "lone high", "lone low in a key", "upper case"],
)
def test_json_beyond_the_limits_is_refused(text: str) -> None:
    with pytest.raises(JsonRefused):
        parse_client_json(text)


@pytest.mark.parametrize(
    "text",
    [b'"\xed\xa0\x80"', "NaN", "[Infinity]", '"unterminated' + '\\"[' * 10_000],
    ids=["an encoded surrogate", "NaN", "Infinity", "unterminated with brackets"],
)
def test_what_is_no_json_is_no_json(text: str | bytes) -> None:
    with pytest.raises(ValueError) as raised:
        parse_client_json(text)

    assert not isinstance(raised.value, JsonRefused)
