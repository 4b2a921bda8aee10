"""A sample view: it answers queries, usually from a store that flows keep up to date."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from wolkenkit import (
    QueryAuthorizationServices,
    QueryServices,
    StreamQueryHandler,
    View,
)


class SampleItem(BaseModel):
    """One item of the view."""

    id: str


class All(StreamQueryHandler[dict[str, Any], SampleItem]):
    """All items; there are none yet."""

    async def handle(
        self, options: dict[str, Any], services: QueryServices
    ) -> list[SampleItem]:
        return []

    def is_authorized(
        self, item: SampleItem, services: QueryAuthorizationServices
    ) -> bool:
        return True


view = View(query_handlers={"all": All()})
