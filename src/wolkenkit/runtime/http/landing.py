"""``GET /``: a small page that says what runs here and where the APIs are; ``/client/``: the
app's own browser client, when the app has a ``client/`` folder (as the chat sample does)."""

from __future__ import annotations

import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from wolkenkit import __version__
from wolkenkit.application.application import Application
from wolkenkit.runtime.gateway import Gateway

CLIENT_DIRECTORY = "client"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name} | wolkenkit</title>
<style>body{{font-family:system-ui,sans-serif;max-width:40rem;margin:4rem auto;color:#222}}
code{{background:#f2f2f2;padding:0 .25rem}}</style></head>
<body><h1>{name}</h1><p>This is a wolkenkit {version} application.{client}</p><ul>
<li><code>POST /command/v2/&lt;context&gt;/&lt;aggregate&gt;/&lt;command&gt;</code></li>
<li><code>GET /domain-events/v2</code>, <code>GET /notifications/v2</code></li>
<li><code>GET /views/v2/&lt;view&gt;/stream/&lt;query&gt;</code></li>
<li><code>/files/v2</code>{open_api}</li></ul></body></html>
"""


async def landing_page(request: Request) -> HTMLResponse:
    runtime: Gateway = request.app.state.runtime
    open_api = (
        ', <a href="/open-api/v2">API documentation</a>'
        if runtime.settings.enable_open_api_documentation and runtime.settings.http_api
        else ""
    )
    client = (
        ' Open <a href="/client/">its client</a>.'
        if _client_directory(runtime.application).is_dir()
        else ""
    )
    return HTMLResponse(
        _PAGE.format(
            name=html.escape(runtime.application.name),
            version=__version__,
            open_api=open_api,
            client=client,
        )
    )


def _client_directory(application: Application) -> Path:
    return application.root_directory / CLIENT_DIRECTORY


def client_routes(application: Application) -> list[BaseRoute]:
    """``/client/`` serving the app's ``client/`` folder as static files, if it has one."""
    directory = _client_directory(application)
    if not directory.is_dir():
        return []
    return [Mount("/client", StaticFiles(directory=directory, html=True), name="client")]


routes = [Route("/", landing_page, methods=["GET"])]
