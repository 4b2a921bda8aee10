"""The GraphQL IDE: GraphiQL at ``GET /graphql/v2`` when ``enableIntegratedClient`` is on.

The page loads nothing but what this server serves: GraphiQL and React are vendored under
``third_party/graphiql`` (see its README). Queries and mutations go over HTTP, subscriptions
over a WebSocket (``graphql-transport-ws``) to the same endpoint.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ariadne.explorer import Explorer
from starlette.concurrency import run_in_threadpool

from wolkenkit.runtime.http.vendored_assets import VendoredAssets

GRAPHIQL_DIRECTORY = Path(__file__).parent / "third_party" / "graphiql"

#: What the page loads, by file name, with its content type.
ASSETS = VendoredAssets(
    GRAPHIQL_DIRECTORY,
    {
        "react.production.min.js": "text/javascript; charset=utf-8",
        "react-dom.production.min.js": "text/javascript; charset=utf-8",
        "graphiql.min.js": "text/javascript; charset=utf-8",
        "graphiql.min.css": "text/css; charset=utf-8",
    },
    "/graphql/v2/assets",
    "graphql_asset",
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{css}">
<style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script src="{react}"></script>
<script src="{react_dom}"></script>
<script src="{graphiql}"></script>
<script>
const endpoint = new URL({endpoint}, location.href);
const socket = new URL(endpoint);
socket.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";
const fetcher = GraphiQL.createFetcher({{ url: endpoint.href, subscriptionUrl: socket.href }});
ReactDOM.createRoot(document.getElementById("graphiql")).render(
  React.createElement(GraphiQL, {{ fetcher, defaultEditorToolsVisibility: true }})
);
</script>
</body>
</html>
"""


def _script_string(value: str) -> str:
    # A JSON string is a JavaScript string; "</" must not end the script element.
    return json.dumps(value).replace("</", "<\\/")


class GraphiqlPage(Explorer):
    """What ``GET /graphql/v2`` shows (ariadne's explorer hook)."""

    def __init__(self, application_name: str) -> None:
        self.title = f"{application_name} | GraphQL"

    async def html(self, request: Any) -> str:
        # The first page reads the assets for their digest; not on the event loop.
        await run_in_threadpool(getattr, ASSETS, "digest")

        def asset(name: str) -> str:
            return html.escape(ASSETS.url(request, name))

        return _PAGE.format(
            title=html.escape(self.title),
            css=asset("graphiql.min.css"),
            react=asset("react.production.min.js"),
            react_dom=asset("react-dom.production.min.js"),
            graphiql=asset("graphiql.min.js"),
            endpoint=_script_string(request.url.path),
        )


routes = [ASSETS.route]
