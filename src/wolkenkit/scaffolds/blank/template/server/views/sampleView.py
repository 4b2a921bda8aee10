"""A sample view: it answers queries, usually from a store that flows keep up to date."""

from __future__ import annotations

from pydantic import BaseModel
from wolkenkit import Everyone, View


class SampleItem(BaseModel):
    """One item of the view."""

    id: str


view = View(authorize=Everyone)


@view.stream
async def all() -> list[SampleItem]:
    """All items; there are none yet."""
    return []
