"""GraphQL types from the JSON Schemas of the app's pydantic models (reference §4.2).

``string`` → ``String``, ``integer`` → ``Int``, ``number`` → ``Float``, ``boolean`` →
``Boolean``, ``array`` → a list, ``object`` → an object or input type, ``required`` →
non-null, ``anyOf``/``oneOf`` with ``null`` → nullable, several object alternatives of an
output → a union. ``Int`` has 32 bits: a value beyond them is GraphQL's error for that field
or variable. A model that needs wider integers says so (``wolkenkit.BigInt``, the keyword
``x-graphql-type: BigInt``) and gets the scalar ``BigInt``, a whole JSON number. ``format``,
``pattern`` and other constraints are pydantic's to check. A schema GraphQL cannot express (a
map, a tuple, a value of any type, an input union) raises ``SchemaNotExpressible``, saying
where; the schema builder turns that into a start-up error naming the command or query.

Types are named as the reference's get-graphql-from-jsonschema names them, so documents
written for the reference (typed variables, fragments) validate here. A name is its path of
words, each with its first letter capitalised, joined without separator: the root name, then
``T0`` for each schema that has a type, a property's name for each property, ``I<n>`` for the
n-th alternative of a union (counted from 0). So the input of ``communication_message_send``
is ``Communication_message_sendT0``, its property ``author`` an object
``Communication_message_sendT0AuthorT0``, the objects in its list ``tags``
``Communication_message_sendT0TagsT0T0``. A union is named by its path without the last
``T0``. Lists keep the reference's nullable items (``[String]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal, cast

from graphql import (
    GraphQLBoolean,
    GraphQLField,
    GraphQLFloat,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInt,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
    GraphQLUnionType,
    IntValueNode,
    ValueNode,
    value_from_ast_untyped,
)

from wolkenkit.application.graphql_types import GRAPHQL_TYPE_KEYWORD
from wolkenkit.errors import SchemaNotExpressible

Direction = Literal["input", "output"]
JsonSchema = Mapping[str, Any]
#: The words a type's name is made of (see the module's docstring).
TypePath = tuple[str, ...]

_NAME = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")


#: The one word get-graphql-from-jsonschema adds to the path of every schema with a type.
_TYPED = "T0"


def _whole_number(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"BigInt cannot represent {value!r}.")
    return value


def _whole_number_literal(node: ValueNode, _variables: Any = None) -> int:
    if not isinstance(node, IntValueNode):
        raise TypeError("BigInt needs an integer literal.")
    return int(node.value)


BigInt = GraphQLScalarType(
    "BigInt",
    description="A whole number of any size, sent as a JSON number (a Python int).",
    serialize=_whole_number,
    parse_value=_whole_number,
    parse_literal=_whole_number_literal,
)


def _as_is(value: Any) -> Any:
    return value


def _json_literal(node: ValueNode, variables: Any = None) -> Any:
    return value_from_ast_untyped(node, variables)


JSON = GraphQLScalarType(
    "JSON",
    description="Any JSON value, for data that has no schema.",
    serialize=_as_is,
    parse_value=_as_is,
    parse_literal=_json_literal,
)


class TypeFactory:
    """Makes GraphQL types from JSON Schemas, each under a name no other type has."""

    def __init__(self, reserved: tuple[str, ...] = ()) -> None:
        self._names: set[str] = set(reserved)

    def claim(self, name: str) -> str:
        """``name``, or ``name_2``, ``name_3``, … if a type has it already."""
        if not _NAME.match(name) or name.startswith("__"):
            raise SchemaNotExpressible(f"'{name}' is not a GraphQL name")
        candidate, number = name, 1
        while candidate in self._names:
            number += 1
            candidate = f"{name}_{number}"
        self._names.add(candidate)
        return candidate

    def output(self, schema: JsonSchema, name: str) -> GraphQLOutputType:
        """The (nullable) output type of ``schema``; its types are named after ``name``."""
        converted: GraphQLOutputType = self._convert(schema, (name,), "output", "")[0]
        return converted

    def input(self, schema: JsonSchema, name: str) -> GraphQLInputType:
        converted: GraphQLInputType = self._convert(schema, (name,), "input", "")[0]
        return converted

    def _convert(
        self, schema: JsonSchema, path: TypePath, direction: Direction, where: str
    ) -> tuple[Any, bool]:
        """The nullable GraphQL type of ``schema`` and whether the schema admits ``null``.
        ``path`` names the schema (see the module's docstring); ``where`` locates it in
        messages."""
        schema, nullable = _without_null(schema, where)
        alternatives = schema.get("anyOf") or schema.get("oneOf")
        if alternatives:
            return self._union(alternatives, schema, path, direction, where), nullable
        kind = _type_of(schema, where)
        typed = (*path, _TYPED)
        if kind == "object":
            return self._object(schema, typed, direction, where), nullable
        if kind == "array":
            return self._list(schema, typed, direction, where), nullable
        if kind == "integer":
            return _integer_type(schema, where), nullable
        scalars = {"string": GraphQLString, "number": GraphQLFloat, "boolean": GraphQLBoolean}
        return scalars[kind], nullable

    def _object(
        self, schema: JsonSchema, path: TypePath, direction: Direction, where: str
    ) -> GraphQLNamedType:
        additional = schema.get("additionalProperties", False)
        if additional is not False:
            raise SchemaNotExpressible(
                f"{_at(where)}is a map with keys of any name; GraphQL needs named fields"
            )
        properties: Mapping[str, JsonSchema] = schema.get("properties") or {}
        if not properties:
            raise SchemaNotExpressible(f"{_at(where)}is an object without properties")
        required = set(schema.get("required") or ())
        type_name = self.claim(type_name_of(path))
        fields: dict[str, Any] = {}
        for property_name, property_schema in properties.items():
            at = f"{where}.{property_name}" if where else property_name
            if not _NAME.match(property_name) or property_name.startswith("__"):
                raise SchemaNotExpressible(f"{_at(at)}is not a GraphQL field name")
            field_type, nullable = self._convert(
                property_schema, (*path, property_name), direction, at
            )
            if property_name in required and not nullable:
                field_type = GraphQLNonNull(field_type)
            description = property_schema.get("description")
            fields[property_name] = (
                GraphQLInputField(field_type, description=description)
                if direction == "input"
                else GraphQLField(field_type, description=description)
            )
        description = schema.get("description")
        if direction == "input":
            return GraphQLInputObjectType(type_name, fields, description=description)
        return GraphQLObjectType(type_name, fields, description=description)

    def _list(
        self, schema: JsonSchema, path: TypePath, direction: Direction, where: str
    ) -> GraphQLList[Any]:
        items = schema.get("items")
        if "prefixItems" in schema or not isinstance(items, Mapping):
            raise SchemaNotExpressible(f"{_at(where)}is a tuple or a list of anything")
        # The items are nullable whatever their schema says, as in the reference.
        item_type, _ = self._convert(items, path, direction, f"{where}[]")
        return GraphQLList(item_type)

    def _union(
        self,
        alternatives: list[JsonSchema],
        schema: JsonSchema,
        path: TypePath,
        direction: Direction,
        where: str,
    ) -> GraphQLUnionType:
        if direction == "input":
            raise SchemaNotExpressible(f"{_at(where)}is a union; GraphQL inputs cannot be unions")
        members: list[tuple[JsonSchema, GraphQLObjectType]] = []
        for index, alternative in enumerate(alternatives):
            if _type_of(alternative, where) != "object":
                raise SchemaNotExpressible(
                    f"{_at(where)}is a union of other things than objects, which GraphQL "
                    "cannot express"
                )
            # An output object: inputs never get here.
            member = cast(
                GraphQLObjectType,
                self._object(alternative, (*path, f"I{index}", _TYPED), direction, where),
            )
            members.append((alternative, member))

        def resolve_type(value: Any, _info: Any, _type: Any) -> str | None:
            return next((member.name for alt, member in members if _matches(alt, value)), None)

        return GraphQLUnionType(
            self.claim(type_name_of(path)),
            [member for _, member in members],
            resolve_type=resolve_type,
            description=schema.get("description"),
        )


def type_name_of(path: TypePath) -> str:
    """The words of ``path``, each with its first letter capitalised, joined."""
    return "".join(word[:1].upper() + word[1:] for word in path)


def _integer_type(schema: JsonSchema, where: str) -> GraphQLScalarType:
    wanted = schema.get(GRAPHQL_TYPE_KEYWORD, GraphQLInt.name)
    if wanted == BigInt.name:
        return BigInt
    if wanted != GraphQLInt.name:
        raise SchemaNotExpressible(
            f"{_at(where)}asks for the GraphQL type '{wanted}'; an integer is "
            f"'{GraphQLInt.name}' or '{BigInt.name}'"
        )
    return GraphQLInt


def _without_null(schema: JsonSchema, where: str) -> tuple[JsonSchema, bool]:
    """``schema`` without its ``null`` alternative, and whether it had one."""
    if not isinstance(schema, Mapping):
        raise SchemaNotExpressible(f"{_at(where)}is not a schema object")
    all_of = schema.get("allOf")
    if isinstance(all_of, list):
        if len(all_of) != 1:
            raise SchemaNotExpressible(f"{_at(where)}combines schemas with allOf")
        merged = {key: value for key, value in schema.items() if key != "allOf"}
        return _without_null({**all_of[0], **merged}, where)
    kind = schema.get("type")
    if isinstance(kind, list):
        others = [entry for entry in kind if entry != "null"]
        if len(others) != 1:
            raise SchemaNotExpressible(f"{_at(where)}has several types: {', '.join(others)}")
        return {**schema, "type": others[0]}, len(others) < len(kind)
    for keyword in ("anyOf", "oneOf"):
        alternatives = schema.get(keyword)
        if not isinstance(alternatives, list):
            continue
        others = [entry for entry in alternatives if entry.get("type") != "null"]
        rest = {key: value for key, value in schema.items() if key != keyword}
        nullable = len(others) < len(alternatives)
        if len(others) == 1:
            # The field's own description wins over its type's.
            single, _ = _without_null({**others[0], **rest}, where)
            return single, nullable
        return {**rest, keyword: others}, nullable
    return schema, False


def _type_of(schema: JsonSchema, where: str) -> str:
    kind = schema.get("type")
    if kind is None:
        values = schema["enum"] if "enum" in schema else [schema.get("const", ...)]
        kinds = {_json_type(value) for value in values}
        kind = kinds.pop() if len(kinds) == 1 else None
    if kind not in {"object", "array", "integer", "string", "number", "boolean"}:
        raise SchemaNotExpressible(f"{_at(where)}has no single JSON type")
    return str(kind)


def _json_type(value: Any) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    kinds = {str: "string", float: "number", dict: "object", list: "array"}
    return kinds.get(type(value))


def _matches(schema: JsonSchema, value: Any) -> bool:
    """Whether ``value`` has the shape of the object ``schema`` (to pick a union member)."""
    if not isinstance(value, Mapping):
        return False
    properties: Mapping[str, JsonSchema] = schema.get("properties") or {}
    if not set(schema.get("required") or ()) <= set(value) or not set(value) <= set(properties):
        return False
    return all(
        "const" not in property_schema or value.get(key) == property_schema["const"]
        for key, property_schema in properties.items()
        if key in value
    )


def _at(where: str) -> str:
    return f"the value at '{where}' " if where else "the value "
