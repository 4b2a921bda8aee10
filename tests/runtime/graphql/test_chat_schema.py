"""The chat sample's GraphQL schema, against a committed snapshot named as the reference names
its types.

How the reference's names were established: by reading the sources of the library the
reference uses, thenativeweb/get-graphql-from-jsonschema 8.0.16 (the version pinned in
wolkenkit 4.0.0-internal.114's package.json): ``lib/getGraphqlSchemaFromJsonSchema.ts`` (the
path starts with ``rootName``), ``lib/parseType.ts`` (every schema with a ``type`` adds the
word ``T0``), ``lib/handleObjectType.ts`` (a property adds its name; ``required`` is ``!``),
``lib/handleArrayType.ts`` (items take the array's path, and are never ``!``),
``lib/parseSchema.ts`` and ``lib/parseUnion.ts`` (a union is named by its path, its members
add ``I<index>`` from 0), ``lib/toPascalCase.ts`` (each word's first letter upper-cased,
joined without separator), ``lib/scalarTypes.ts`` (``integer`` → ``Int``, ``number`` →
``Float``). And of thenativeweb/wolkenkit, ``lib/apis/graphql/v2/``: the root names it passes
(``handleCommand/getIndividualCommandFieldConfiguration.ts``:
``${contextName}_${aggregateName}_${commandName}``, input;
``handleCommand/getCancelCommandFieldConfiguration.ts``: ``CommandIdentifier``, input;
``observeDomainEvents/getDomainEventsFieldConfiguration.ts``: ``DomainEvent`` from
``common/schemas/getDomainEventSchemaForGraphql.ts``, where ``revision`` is a ``number`` and
``tags`` a required array; ``observeNotifications/getNotificationsFieldConfiguration.ts``:
``notification``; ``queryView/getQueryFieldConfiguration.ts``:
``${viewName}_${queryName}_resultItem`` and ``_options``, a stream as a plain list), and the
types it names itself, all nullable where used (``command``, ``cancel``, the view's type,
``AggregateIdentifier``, ``AggregateIdentifierOutput``).

After a deliberate change of the schema, write the new snapshot with
``WOLKENKIT_UPDATE_SNAPSHOTS=1`` and review its diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
from graphql import build_client_schema, get_introspection_query, print_schema

from tests.runtime.conftest import StartServer

SNAPSHOT = Path(__file__).parent / "snapshots" / "chat.graphql"


async def test_the_chat_samples_schema_has_the_reference_s_names(
    start_server: StartServer,
) -> None:
    async with (
        start_server(GRAPHQL_API={"enableIntegratedClient": False}) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}", timeout=10) as http,
    ):
        response = await http.post("/graphql/v2", json={"query": get_introspection_query()})
    assert response.status_code == 200, response.text
    printed = print_schema(build_client_schema(response.json()["data"])) + "\n"
    if os.environ.get("WOLKENKIT_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(printed)
    assert printed == SNAPSHOT.read_text()
