"""The schema made from an app: types from pydantic models, and start-up errors for schemas
GraphQL cannot express."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
import pytest
from graphql import GraphQLSchema, print_type
from pydantic import BaseModel, ConfigDict, Field

from tests.domain.chat_app import MessageState, build_application
from tests.runtime.conftest import StartServer
from wolkenkit import Aggregate, BigInt, Everyone
from wolkenkit.application.json_schema import json_schema
from wolkenkit.errors import GraphQlError, SchemaNotExpressible
from wolkenkit.runtime.graphql.types import TypeFactory

GRAPHQL_API = {"enableIntegratedClient": False}


class Address(BaseModel):
    """Where someone lives."""

    street: str
    number: int | None = None


class Person(BaseModel):
    name: str
    nickname: str | None = None
    age: Annotated[int, Field(ge=0, le=200)]
    born: int
    population: BigInt
    height: float
    admin: bool = False
    tags: list[str]
    address: Address
    homes: list[Address]
    kind: Literal["human", "robot"]


class Cat(BaseModel):
    kind: Literal["cat"]
    lives: Annotated[int, Field(ge=0, le=9)]


class Dog(BaseModel):
    kind: Literal["dog"]
    good: bool


class Owner(BaseModel):
    pet: Cat | Dog


def printed(graphql_type: Any) -> str:
    """The type and the types it contains, in SDL."""
    types = GraphQLSchema(types=[graphql_type]).type_map
    return "\n".join(print_type(types[name]) for name in sorted(types) if name.startswith("Person"))


PERSON = '''type PersonT0 {
  name: String!
  nickname: String
  age: Int!
  born: Int!
  population: BigInt!
  height: Float!
  admin: Boolean
  tags: [String]!

  """Where someone lives."""
  address: PersonT0AddressT0!
  homes: [PersonT0HomesT0T0]!
  kind: String!
}
"""Where someone lives."""
type PersonT0AddressT0 {
  street: String!
  number: Int
}
"""Where someone lives."""
type PersonT0HomesT0T0 {
  street: String!
  number: Int
}'''


def test_models_become_object_types_named_as_the_reference_names_them() -> None:
    # Optional fields and fields with defaults are nullable, list items always (as in the
    # reference); an int is an Int, unless the model asks for a BigInt; a Literal is its JSON
    # type. Names follow get-graphql-from-jsonschema: the path of words, each capitalised,
    # with ``T0`` for each schema with a type (see test_chat_schema for how we know).
    assert printed(TypeFactory().output(json_schema(Person), "Person")) == PERSON


def test_output_unions_pick_their_member_by_shape() -> None:
    owner = TypeFactory().output(json_schema(Owner), "Owner")
    pet = owner.fields["pet"].type.of_type  # type: ignore[union-attr]
    # The reference's names: the union by its path, its members by their index from 0.
    assert pet.name == "OwnerT0Pet"
    assert [member.name for member in pet.types] == ["OwnerT0PetI0T0", "OwnerT0PetI1T0"]
    assert pet.resolve_type({"kind": "dog", "good": True}, None, pet) == "OwnerT0PetI1T0"
    assert pet.resolve_type({"kind": "cat", "lives": 9}, None, pet) == "OwnerT0PetI0T0"


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ({"type": "object", "additionalProperties": {"type": "integer"}}, "a map"),
        ({"type": "array", "prefixItems": [{"type": "string"}]}, "a tuple"),
        ({}, "no single JSON type"),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "a union"),
    ],
)
def test_what_graphql_cannot_express_is_refused(schema: dict[str, Any], why: str) -> None:
    with pytest.raises(SchemaNotExpressible, match=why):
        TypeFactory().input(schema, "Data")


class TallyData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    counts: dict[str, int]


#: The command these tests add to the chat aggregate.
with_tally = Aggregate(MessageState, authorize=Everyone)


@with_tally.command
def tally(command: TallyData) -> None:
    """Counts words; its data is a map, which GraphQL has no type for."""


async def test_a_command_graphql_cannot_express_stops_the_start_naming_it(
    start_server: StartServer,
) -> None:
    application = build_application(extra_commands=with_tally.command_handlers)
    with pytest.raises(GraphQlError) as raised:
        async with start_server(application, GRAPHQL_API=GRAPHQL_API):
            pass
    assert raised.value.message == (
        "The schema of command 'communication.message.tally' cannot be expressed in GraphQL: "
        "the value at 'counts' is a map with keys of any name; GraphQL needs named fields."
    )


async def test_without_graphql_api_there_is_no_endpoint(start_server: StartServer) -> None:
    # The same app starts fine without GraphQL, which is off unless GRAPHQL_API says so.
    application = build_application(extra_commands=with_tally.command_handlers)
    async with (
        start_server(application) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        response = await client.post("/graphql/v2", json={"query": "{ _ }"})
    assert (response.status_code, response.json()["code"]) == (404, "NotFound")
