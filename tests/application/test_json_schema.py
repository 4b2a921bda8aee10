"""JSON Schemas of pydantic models: self-contained, without made-up titles."""

from __future__ import annotations

import enum
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from wolkenkit.application.json_schema import json_schema


class SendData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Author(BaseModel):
    """Who wrote the message."""

    name: str = Field(description="As shown to others.")


class Post(BaseModel):
    title: str = Field(title="Headline")
    author: Author = Field(description="The post's author.")
    reviewer: Author | None = None
    color: Color
    tags: list[str] = Field(default_factory=list, examples=[{"title": "kept"}])


class Comment(BaseModel):
    text: str
    replies: list[Comment] = []


def walk(schema: Any) -> list[str]:
    """Every key anywhere in ``schema``."""
    if isinstance(schema, dict):
        return [key for key, value in schema.items() for key in [key, *walk(value)]]
    if isinstance(schema, list):
        return [key for item in schema for key in walk(item)]
    return []


def test_a_flat_model_gives_exactly_its_shape() -> None:
    assert json_schema(SendData) == {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    }


def test_the_shape_comes_first_when_serialized() -> None:
    assert list(json_schema(SendData)) == ["type", "properties", "required", "additionalProperties"]


def test_nested_models_are_inlined_with_their_descriptions() -> None:
    schema = json_schema(Post)

    assert "$ref" not in walk(schema)
    assert "$defs" not in walk(schema)
    # The field's description wins over the model's docstring.
    assert schema["properties"]["author"] == {
        "type": "object",
        "description": "The post's author.",
        "properties": {"name": {"type": "string", "description": "As shown to others."}},
        "required": ["name"],
    }
    assert schema["properties"]["reviewer"]["anyOf"][0]["description"] == "Who wrote the message."
    assert schema["properties"]["color"] == {"type": "string", "enum": ["red", "green"]}


def test_made_up_titles_go_and_given_ones_stay() -> None:
    schema = json_schema(Post)

    assert "title" not in schema
    assert schema["properties"]["title"] == {"type": "string", "title": "Headline"}
    assert "title" not in schema["properties"]["author"]
    # Examples are data, not schemas: their keys are left alone.
    assert schema["properties"]["tags"]["examples"] == [{"title": "kept"}]


def test_a_model_that_contains_itself_ends_in_any_value() -> None:
    schema = json_schema(Comment)

    assert schema["properties"]["replies"] == {"type": "array", "items": {}, "default": []}
    json.dumps(schema)
