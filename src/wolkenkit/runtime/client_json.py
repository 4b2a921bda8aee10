"""JSON from clients, parsed within limits: the one parser for request bodies, query-string
values, GraphQL requests and WebSocket messages.

``json.loads`` alone lets a client cost us more than its bytes: about 1,000 levels of nesting
(2 KB) exhaust Python's recursion limit, and the escape ``"\\ud800"`` gives a string that no
store can encode. So text nested deeper than ``MAX_DEPTH`` levels, or holding a lone surrogate,
is refused, and so are ``NaN`` and ``Infinity``, which are not JSON (as in JavaScript's
``JSON.parse``). 64 levels is far more than any command, filter or query option needs.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from wolkenkit.errors import JsonRefused

#: Objects and arrays may nest this deep; deeper JSON is refused.
MAX_DEPTH = 64

# A string literal, its closing quote optional so that an unterminated one ends the text
# instead of making the search start again at every later quote.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# Only an escape makes a lone surrogate (decoding bytes as UTF-8 refuses encoded ones).
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_client_json(text: str | bytes) -> Any:
    """The value of ``text`` (bytes must be UTF-8); ``JsonRefused`` for JSON beyond the limits,
    another ``ValueError`` for text that is no JSON."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig")
    if _nests_too_deep(text):
        raise JsonRefused(f"JSON nested deeper than {MAX_DEPTH} levels is not accepted")
    value = json.loads(text, parse_constant=_refuse_constant)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise JsonRefused("JSON with a lone surrogate (\\ud800-\\udfff unpaired) is not accepted")
    return value


def _nests_too_deep(text: str) -> bool:
    """Whether objects and arrays nest deeper than ``MAX_DEPTH`` (brackets in strings do not
    count). Text with too few brackets to go that deep, the usual case, costs two counts."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_lone_surrogate(value: Any) -> bool:
    # Encoding finds any lone surrogate, in keys as in values; a pair decodes to one character.
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
