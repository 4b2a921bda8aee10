"""``/open-api/v2``: the API documentation, a Swagger UI page over the OpenAPI document.

The page is also at ``/open-api``, where the reference serves it.

Served only when ``ENABLE_OPEN_API_DOCUMENTATION`` is on. The page loads nothing but what this
server serves: Swagger UI is vendored under ``third_party/swagger-ui`` (see its README).
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.openapi import open_api_document
from wolkenkit.runtime.http.vendored_assets import VendoredAssets

SWAGGER_UI_DIRECTORY = Path(__file__).parent / "third_party" / "swagger-ui"

#: What the page loads, by file name, with its content type.
ASSETS = VendoredAssets(
    SWAGGER_UI_DIRECTORY,
    {
        "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
        "swagger-ui.css": "text/css; charset=utf-8",
        "favicon-32x32.png": "image/png",
        "favicon-16x16.png": "image/png",
    },
    "/open-api/v2/assets",
    "open_api_asset",
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{css}">
<link rel="icon" type="image/png" sizes="32x32" href="{icon32}">
<link rel="icon" type="image/png" sizes="16x16" href="{icon16}">
<style>body {{ margin: 0; }}</style>
</head>
<body>
<div id="swagger-ui"></div>
<script src="{bundle}"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {document},
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  validatorUrl: null
}});
</script>
</body>
</html>
"""


async def documentation_page(request: Request) -> HTMLResponse:
    runtime: Gateway = request.app.state.runtime
    # The first page reads the assets for their digest; not on the event loop.
    await run_in_threadpool(getattr, ASSETS, "digest")

    def asset(name: str) -> str:
        return html.escape(ASSETS.url(request, name))

    document_url = request.url_for("open_api_document").path
    page = _PAGE.format(
        title=html.escape(f"{runtime.application.name} | API documentation"),
        css=asset("swagger-ui.css"),
        icon32=asset("favicon-32x32.png"),
        icon16=asset("favicon-16x16.png"),
        bundle=asset("swagger-ui-bundle.js"),
        # A JSON string is a JavaScript string; "</" must not end the script element.
        document=json.dumps(document_url).replace("</", "<\\/"),
    )
    return HTMLResponse(page)


async def document(request: Request) -> JSONResponse:
    runtime: Gateway = request.app.state.runtime
    return JSONResponse(open_api_document(runtime))


routes = [
    Route("/open-api/v2", documentation_page, methods=["GET"], name="open_api_page"),
    Route("/open-api", documentation_page, methods=["GET"]),
    Route("/open-api/v2/openapi.json", document, methods=["GET"], name="open_api_document"),
    ASSETS.route,
]
