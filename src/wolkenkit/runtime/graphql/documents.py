"""Operations parsed and validated once: clients send the same few texts over and over.

Validating an operation against the schema costs more than running a mutation, so both the
parsed document and its validation errors are remembered per operation text (the schema and
the rules never change while a server runs). Only a bounded number of texts are kept.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Collection
from typing import Any

from graphql import ASTValidationRule, DocumentNode, GraphQLError, GraphQLSchema, parse

from wolkenkit.runtime.graphql.errors import validate_query

DEFAULT_SIZE = 1_000


class DocumentCache:
    """ariadne's ``query_parser`` and ``query_validator``, remembering what they found."""

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._size = size
        self._documents: OrderedDict[str, DocumentNode] = OrderedDict()
        # By the identity of a remembered document, which the entry keeps alive.
        self._validated: dict[int, tuple[DocumentNode, list[GraphQLError]]] = {}

    def parse(self, _context: Any, data: dict[str, Any]) -> DocumentNode:
        text: str = data["query"]
        document = self._documents.get(text)
        if document is not None:
            self._documents.move_to_end(text)
            return document
        document = parse(text)
        self._documents[text] = document
        if len(self._documents) > self._size:
            _, forgotten = self._documents.popitem(last=False)
            self._validated.pop(id(forgotten), None)
        return document

    def validate(
        self,
        schema: GraphQLSchema,
        document_ast: DocumentNode,
        rules: Collection[type[ASTValidationRule]] | None = None,
        max_errors: int | None = None,
        **options: Any,
    ) -> list[GraphQLError]:
        remembered = self._validated.get(id(document_ast))
        if remembered is not None and remembered[0] is document_ast:
            return remembered[1]
        found = validate_query(schema, document_ast, rules, max_errors, **options)
        if len(self._validated) < self._size:
            self._validated[id(document_ast)] = (document_ast, found)
        return found
