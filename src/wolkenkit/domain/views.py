"""Querying views (reference §1.4, §3.4): options in, validated and authorized items out."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any, cast

from pydantic import BaseModel, ValidationError

from wolkenkit import errors
from wolkenkit.application.definitions import QueryHandler, StreamQueryHandler, ValueQueryHandler
from wolkenkit.application.services import (
    ErrorService,
    Infrastructure,
    QueryAuthorizationServices,
    QueryServices,
)
from wolkenkit.application.tables import Tables
from wolkenkit.awaiting import settled
from wolkenkit.domain.catalog import Catalog, QueryEntry, describe_validation_error
from wolkenkit.messages import ClientMetadata
from wolkenkit.serialization import json_object, validated

logger = logging.getLogger("wolkenkit.domain.views")


class ViewQueries:
    def __init__(
        self, catalog: Catalog, infrastructure: Infrastructure[Any, Any], tables: Tables
    ) -> None:
        self._catalog = catalog
        self._infrastructure = infrastructure
        self._tables = tables

    def _prepare(
        self,
        view_name: str,
        query_name: str,
        options: Mapping[str, Any],
        client: ClientMetadata,
        kind: type[QueryHandler[Any, Any]],
    ) -> tuple[QueryEntry, Any, QueryServices, QueryAuthorizationServices]:
        entry = self._catalog.query(view_name, query_name)
        if not isinstance(entry.handler, kind):
            asked, actual = (
                ("stream", "value") if kind is StreamQueryHandler else ("value", "stream")
            )
            raise errors.QueryHandlerTypeMismatch(
                f"Can not query for a {asked} on a {actual} query handler."
            )
        typed_options: Any = dict(options)
        if entry.options_schema is not None:
            try:
                typed_options = validated(entry.options_schema, options)
            except ValidationError as error:
                raise errors.QueryOptionsInvalid(describe_validation_error(error)) from None
        query_logger = logging.getLogger(f"wolkenkit.app.views.{view_name}")
        services = QueryServices(
            client=client,
            error=ErrorService,
            infrastructure=self._infrastructure,
            logger=query_logger,
            tables=self._tables,
        )
        return entry, typed_options, services, QueryAuthorizationServices(client, query_logger)

    async def query_stream(
        self,
        view_name: str,
        query_name: str,
        options: Mapping[str, Any],
        client: ClientMetadata,
    ) -> AsyncIterator[dict[str, Any]]:
        """The items of a stream query as JSON objects.

        Raises the lookup errors, ``QueryHandlerTypeMismatch`` and ``QueryOptionsInvalid``
        before the first item. Items that fail the item schema are dropped with a warning;
        items the client may not see are dropped silently.
        """
        entry, typed_options, services, authorization = self._prepare(
            view_name, query_name, options, client, StreamQueryHandler
        )
        handler = cast(StreamQueryHandler[Any, Any], entry.handler)
        result = await settled(handler.handle(typed_options, services))
        return self._stream_items(entry, result, authorization)

    async def _stream_items(
        self,
        entry: QueryEntry,
        result: AsyncIterable[Any] | Iterable[Any],
        authorization: QueryAuthorizationServices,
    ) -> AsyncIterator[dict[str, Any]]:
        if isinstance(result, AsyncIterable):
            async for item in result:
                prepared = await self._prepare_item(entry, item, authorization)
                if prepared is not None:
                    yield prepared
        else:
            for item in result:
                prepared = await self._prepare_item(entry, item, authorization)
                if prepared is not None:
                    yield prepared

    async def _prepare_item(
        self, entry: QueryEntry, item: Any, authorization: QueryAuthorizationServices
    ) -> dict[str, Any] | None:
        try:
            typed_item = self._validate_item(entry, item)
        except errors.QueryResultInvalid as error:
            logger.warning(
                "Dropped an invalid item of '%s.%s': %s", entry.view_name, entry.name, error
            )
            return None
        authorized = await settled(entry.handler.is_authorized(typed_item, authorization))
        if authorized is not True:
            return None
        return _to_json(typed_item)

    async def query_value(
        self,
        view_name: str,
        query_name: str,
        options: Mapping[str, Any],
        client: ClientMetadata,
    ) -> dict[str, Any]:
        """The item of a value query. Raises ``QueryResultInvalid`` and ``QueryNotAuthorized``
        (both a 404 on the wire) and whatever the handler raises, e.g. ``NotFound``."""
        entry, typed_options, services, authorization = self._prepare(
            view_name, query_name, options, client, ValueQueryHandler
        )
        handler = cast(ValueQueryHandler[Any, Any], entry.handler)
        item = await settled(handler.handle(typed_options, services))
        typed_item = self._validate_item(entry, item)
        authorized = await settled(entry.handler.is_authorized(typed_item, authorization))
        if authorized is not True:
            raise errors.QueryNotAuthorized()
        return _to_json(typed_item)

    @staticmethod
    def _validate_item(entry: QueryEntry, item: Any) -> Any:
        schema = entry.item_schema
        if schema is None or isinstance(item, schema):
            return item
        try:
            if isinstance(item, BaseModel):
                item = json_object(item)
            return validated(schema, item)
        except ValidationError as error:
            raise errors.QueryResultInvalid(describe_validation_error(error)) from None


def _to_json(item: Any) -> dict[str, Any]:
    if isinstance(item, BaseModel):
        return json_object(item)
    if isinstance(item, Mapping):
        return dict(item)
    raise errors.QueryResultInvalid("A query result item must be an object.")
