"""``/perform-replay/v2`` (reference §3.9): re-feed stored events to flows.

Unlike the reference, only authenticated (non-anonymous) callers may trigger it
and only the named flows receive the events.

Our addition: a request without ``aggregates`` replays all events, which for flows that own
view tables means rebuilding them (``wolkenkit.runtime.rebuilds``). It answers once the
rebuild has started (409 ``RebuildFailed`` if the tables are being rebuilt already); the
rebuild runs on in the runtime, and its log tells how it ended.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from wolkenkit import errors
from wolkenkit.application.policies import is_anonymous
from wolkenkit.application.table_owners import rebuild_groups
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.runtime.gateway import Gateway, ReplayRequest
from wolkenkit.runtime.http.requests import authenticate, parse_model, read_json_object


class _AggregateRange(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    aggregate_identifier: AggregateIdentifier = Field(alias="aggregateIdentifier")
    from_revision: Annotated[int, Field(ge=1, alias="from")]
    to_revision: Annotated[int, Field(ge=1, alias="to")]


class _ReplayBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    flow_names: list[str] | None = Field(default=None, min_length=1, alias="flowNames")
    #: Left out: all events, which rebuilds the tables of the flows.
    aggregates: Annotated[list[_AggregateRange], Field(min_length=1)] | None = None


async def perform_replay(request: Request) -> JSONResponse:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)
    if is_anonymous(client):
        raise errors.NotAuthenticated("Replays need an authenticated caller.")
    body = await read_json_object(request, runtime.settings.request_body_limit)
    replay: _ReplayBody = parse_model(_ReplayBody, body, errors.RequestMalformed)
    flow_names = runtime.flows_to_replay(replay.flow_names)
    if replay.aggregates is None:
        await _start_rebuilds(runtime, flow_names, every_flow=replay.flow_names is None)
        return JSONResponse({})
    requests = []
    for aggregate in replay.aggregates:
        runtime.check_aggregate(aggregate.aggregate_identifier)
        if aggregate.from_revision > aggregate.to_revision:
            raise errors.RequestMalformed("A replay's 'from' must not be greater than its 'to'.")
        requests.append(
            ReplayRequest(
                aggregate.aggregate_identifier, aggregate.from_revision, aggregate.to_revision
            )
        )
    await runtime.perform_replay(flow_names, requests)
    return JSONResponse({})


async def _start_rebuilds(runtime: Gateway, flow_names: list[str], *, every_flow: bool) -> None:
    groups = rebuild_groups(runtime.application, flow_names)
    owners = {flow for group in groups for flow in group.flows}
    without = [flow for flow in flow_names if flow not in owners]
    if without and not every_flow:
        raise errors.RequestMalformed(
            f"Flow '{without[0]}' owns no view tables to rebuild; name the aggregates to "
            "replay to it."
        )
    if not groups:
        raise errors.RequestMalformed(
            "No flow owns view tables to rebuild; name the aggregates to replay."
        )
    await runtime.start_rebuilds(groups)


routes = [Route("/perform-replay/v2", perform_replay, methods=["POST"])]
