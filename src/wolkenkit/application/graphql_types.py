"""What a model says to get a GraphQL type other than the one its JSON Schema maps to.

An ``int`` is GraphQL's ``Int``, 32 bits, as in the reference. A field that needs wider
integers says so with ``BigInt``: its JSON Schema stays ``integer`` and carries the keyword
``x-graphql-type: BigInt``, and GraphQL shows it as the scalar ``BigInt``, a whole JSON number
of any size.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

#: The JSON Schema keyword that names the GraphQL type of a value.
GRAPHQL_TYPE_KEYWORD = "x-graphql-type"

#: An ``int`` that GraphQL shows as ``BigInt`` rather than ``Int``.
BigInt = Annotated[int, Field(json_schema_extra={GRAPHQL_TYPE_KEYWORD: "BigInt"})]
