"""JSON Schemas of the app's pydantic models, self-contained and without noise.

The descriptions, OpenAPI and GraphQL all show these schemas. Their consumers want one object
per schema: every ``$ref`` is inlined and ``$defs`` is gone. The titles pydantic derives from
class and field names are dropped (they repeat the names); descriptions stay.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema

JsonSchema = dict[str, Any]
SchemaMode = Literal["validation", "serialization"]

# Keywords whose values are schemas, a list of schemas, or a mapping of names to schemas. Only
# these are walked: ``default``, ``enum``, ``const`` and ``examples`` hold data, whose keys
# (even one called ``title``) must stay untouched.
_SCHEMA_KEYWORDS = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
)
_SCHEMA_LIST_KEYWORDS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_MAP_KEYWORDS = frozenset({"properties", "patternProperties", "dependentSchemas"})

# Reads best when the shape comes first; the remaining keywords keep their order.
_KEY_ORDER = ("type", "description", "properties", "required", "additionalProperties", "items")


class _WithoutFieldTitles(GenerateJsonSchema):
    """Pydantic's generator, minus the titles it makes up from field names."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _without_name_title(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """Drops a class's title where it only repeats the class's (definition's) name."""
    title = schema.get("title")
    if isinstance(title, str) and name.endswith(title):
        return {key: value for key, value in schema.items() if key != "title"}
    return schema


def json_schema(model: type[BaseModel], mode: SchemaMode = "validation") -> JsonSchema:
    """The JSON Schema of ``model``, with every reference inlined.

    A model that contains itself cannot be inlined: where it recurs, the schema says ``{}``
    (any value). Pydantic's errors for types without a JSON Schema pass through.
    """
    generated = model.model_json_schema(mode=mode, schema_generator=_WithoutFieldTitles)
    definitions = {
        name: _without_name_title(definition, name)
        for name, definition in generated.pop("$defs", {}).items()
    }
    inlined: JsonSchema = _inline(
        _without_name_title(generated, model.__name__), definitions, expanding=()
    )
    return inlined


def _inline(schema: Any, definitions: dict[str, Any], expanding: tuple[str, ...]) -> Any:
    if not isinstance(schema, dict):
        # ``additionalProperties: false`` and friends are schemas too.
        return schema
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        name = reference.removeprefix("#/$defs/")
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        if name in expanding:
            return _inline(siblings, definitions, expanding)
        resolved = _inline(definitions[name], definitions, (*expanding, name))
        # A reference's own keywords (a field's description) win over the definition's.
        return _ordered({**resolved, **_inline(siblings, definitions, expanding)})

    result: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_KEYWORDS:
            result[key] = _inline(value, definitions, expanding)
        elif key in _SCHEMA_LIST_KEYWORDS and isinstance(value, list):
            result[key] = [_inline(item, definitions, expanding) for item in value]
        elif key in _SCHEMA_MAP_KEYWORDS and isinstance(value, dict):
            result[key] = {
                name: _inline(item, definitions, expanding) for name, item in value.items()
            }
        elif key != "$defs":
            result[key] = value
    return _ordered(result)


def _ordered(schema: dict[str, Any]) -> dict[str, Any]:
    first = {key: schema[key] for key in _KEY_ORDER if key in schema}
    return {**first, **{key: value for key, value in schema.items() if key not in first}}
