"""Third-party browser files (Swagger UI, GraphiQL) served from the folder they are vendored in.

Their URLs carry a digest of the files, so browsers may keep them for a year and still fetch
the new ones as soon as the folder is updated. Only the files named are served.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from wolkenkit.errors import RouteNotFound

_CACHE_CONTROL = "public, max-age=31536000, immutable"


class VendoredAssets:
    """The files of ``directory`` named in ``media_types``, at ``<path>/{file}``."""

    def __init__(
        self, directory: Path, media_types: Mapping[str, str], path: str, route_name: str
    ) -> None:
        self.directory = directory
        self.media_types = dict(media_types)
        self.route = Route(f"{path}/{{file}}", self.serve, methods=["GET"], name=route_name)

    @cached_property
    def digest(self) -> str:
        digest = hashlib.sha256()
        for name in sorted(self.media_types):
            digest.update((self.directory / name).read_bytes())
        return digest.hexdigest()[:16]

    def url(self, request: Request, name: str) -> str:
        """The path of the asset ``name``, with the digest that keeps caches honest."""
        return f"{request.url_for(self.route.name, file=name).path}?v={self.digest}"

    async def serve(self, request: Request) -> FileResponse:
        name: str = request.path_params["file"]
        media_type = self.media_types.get(name)
        if media_type is None:
            raise RouteNotFound(f"Asset '{name}' not found.")
        return FileResponse(
            self.directory / name, media_type=media_type, headers={"cache-control": _CACHE_CONTROL}
        )
