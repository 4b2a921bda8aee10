"""``wk replay``: re-feed stored events to flows, to fill gaps or rebuild what flows build.

A replay of all events (a configuration without ``contexts``) rebuilds the view tables of the
flows that own tables (``wolkenkit.runtime.rebuilds``): into shadow copies, while the old
tables keep serving, swapped in once caught up. Flows without tables, and every flow when
``contexts`` picks aggregates, have their gaps filled: they get the selected events they
have not seen (``--dangerously-reevaluate``: all selected events again).

By default the replay runs right here against the app's stores, as the runtime would use
them: the variables ``DOMAIN_EVENT_STORE_OPTIONS`` and friends when set, and otherwise the
SQLite stores of ``wk dev`` in the app's ``.wolkenkit/``. It needs no running runtime, and it
runs beside one. With ``--replay-api-url`` the replay is handed to a running runtime
(``POST /perform-replay/v2``) instead.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from wolkenkit.application.loader import load_application
from wolkenkit.cli.main import app
from wolkenkit.errors import CliError, RebuildFailed
from wolkenkit.runtime.development import (
    DATA_DIRECTORY,
    embedded_store_environment,
    move_earlier_view_tables,
)
from wolkenkit.runtime.replay_configuration import parse_replay_configuration, select_aggregates

if TYPE_CHECKING:
    from collections.abc import Sequence

    from wolkenkit.application.application import Application
    from wolkenkit.application.table_owners import RebuildGroup
    from wolkenkit.runtime.composition import Runtime
    from wolkenkit.runtime.replay_configuration import ReplayConfiguration, SelectedAggregate
    from wolkenkit.runtime.replays import FlowReplay
    from wolkenkit.runtime.settings import RuntimeSettings
    from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore

console = Console(highlight=False)


@app.command()
def replay(
    app_dir: Annotated[
        Path, typer.Argument(help="The application's directory.", metavar="APP_DIR")
    ] = Path("."),
    replay_configuration: Annotated[
        str,
        typer.Option(
            "--replay-configuration",
            help='What to replay, as JSON or @file.json: {"flows": [...], "contexts": '
            '[{"contextName", "aggregates": [{"aggregateName", "instances": '
            '[{"aggregateId", "from", "to"}]}]}]}; everything by default.',
        ),
    ] = "{}",
    dangerously_reevaluate: Annotated[
        bool,
        typer.Option(
            "--dangerously-reevaluate",
            help="Let flows handle events again that they have handled before.",
        ),
    ] = False,
    domain_event_store_options: Annotated[
        str | None, typer.Option(help="The domain event store's options (JSON or URL).")
    ] = None,
    consumer_progress_store_options: Annotated[
        str | None, typer.Option(help="The consumer progress store's options (JSON or URL).")
    ] = None,
    view_store_options: Annotated[
        str | None,
        typer.Option(help="The view store's options (JSON or URL), to rebuild tables in."),
    ] = None,
    lock_store_options: Annotated[
        str | None,
        typer.Option(help="The lock store's options (JSON or URL), to pause flows with."),
    ] = None,
    priority_queue_store_for_domain_events_options: Annotated[
        str | None,
        typer.Option(help="The flow queue's options (JSON or URL), to pause flows with."),
    ] = None,
    replay_api_url: Annotated[
        str | None,
        typer.Option(
            help="Hand the replay to a running runtime, e.g. "
            "http://localhost:3000/perform-replay/v2."
        ),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="The bearer token for --replay-api-url.")
    ] = None,
) -> None:
    """Replay stored domain events to flows, with a progress bar: rebuild the view tables of
    the flows that own tables (when all events are selected), fill the gaps of the others."""
    named = {
        variable: options
        for variable, options in (
            ("DOMAIN_EVENT_STORE_OPTIONS", domain_event_store_options),
            ("CONSUMER_PROGRESS_STORE_OPTIONS", consumer_progress_store_options),
            (_VIEW_STORE, view_store_options),
            (_LOCK_STORE, lock_store_options),
            (_FLOW_QUEUE, priority_queue_store_for_domain_events_options),
        )
        if options is not None
    }
    embedded = _store_environment(app_dir, named)
    environment = {**embedded, **named}
    # The app's infrastructure reads its settings (a data directory, say) from the
    # environment, as it does under the runtime.
    os.environ.update(environment)
    # Imported here: the runtime takes a while to import, which other commands need not wait
    # for (Docker runs `wk health` every few seconds).
    from wolkenkit.runtime.settings import RuntimeSettings

    settings = RuntimeSettings.from_environment(os.environ)
    application = load_application(app_dir)
    text = replay_configuration
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text()
        except OSError as error:
            raise CliError(f"The replay configuration cannot be read: {error}.") from None
    configuration = parse_replay_configuration(text, application)
    flows = configuration.flows or list(application.flows)
    if not flows:
        raise CliError(f"The application '{application.name}' has no flows to replay to.")
    request = _Replay(settings, application, configuration, flows, dangerously_reevaluate)
    if replay_api_url is None and not embedded and _rebuild_groups(request):
        _check_rebuild_stores()
    if replay_api_url is not None:
        asyncio.run(_through_api(request, replay_api_url, token))
    else:
        asyncio.run(_in_process(request))


@dataclass(frozen=True)
class _Replay:
    settings: RuntimeSettings
    application: Application
    configuration: ReplayConfiguration
    flows: list[str]
    reevaluate: bool


_VIEW_STORE = "VIEW_STORE_OPTIONS"
_LOCK_STORE = "LOCK_STORE_OPTIONS"
_FLOW_QUEUE = "PRIORITY_QUEUE_STORE_FOR_DOMAIN_EVENTS_OPTIONS"


def _check_rebuild_stores() -> None:
    """A rebuild beside a deployed runtime needs the stores it shares with it: the tables
    it rebuilds, and the locks and the flow queue it pauses the runtime's flows through."""
    missing = [name for name in (_VIEW_STORE, _LOCK_STORE, _FLOW_QUEUE) if name not in os.environ]
    if missing:
        flags = ", ".join(f"--{name.lower().replace('_', '-')}" for name in missing)
        raise CliError(
            f"Rebuilding tables needs the stores the runtime uses: give {', '.join(missing)} "
            f"({flags})."
        )


def _store_environment(app_dir: Path, named: dict[str, str]) -> dict[str, str]:
    """The embedded stores of ``wk dev``, unless the flags (``named``) or the environment
    name the event store; then the progress store must be named as well."""
    given = {**os.environ, **named}
    if "DOMAIN_EVENT_STORE_OPTIONS" in given:
        if "CONSUMER_PROGRESS_STORE_OPTIONS" not in given:
            # Else the flows' progress would be kept in memory and forgotten at the end.
            raise CliError(
                "Give the consumer progress store's options as well "
                "(--consumer-progress-store-options or CONSUMER_PROGRESS_STORE_OPTIONS)."
            )
        return {}
    data = app_dir.absolute() / DATA_DIRECTORY
    if not data.is_dir():
        raise CliError(
            f"No stored events: '{data}' does not exist. Run the app with wk dev first, or "
            "give the stores' options."
        )
    environment = embedded_store_environment(data)
    if "VIEW_STORE_OPTIONS" not in given:
        moved = move_earlier_view_tables(data)
        if moved is not None:
            console.print(moved)
    return environment


async def _in_process(request: _Replay) -> None:
    from wolkenkit.runtime.composition import Runtime
    from wolkenkit.runtime.replays import replay_in_process
    from wolkenkit.runtime.services import Service

    # The flow service's stores: events, progress, locks, both queues (flows issue
    # commands) and the view tables, nothing else.
    runtime = await Runtime.create(request.settings, request.application, frozenset({Service.FLOW}))
    try:
        events = runtime.domain.domain_event_store
        selected = await select_aggregates(request.configuration, request.application, events)
        groups = _rebuild_groups(request)
        rebuilt = {flow for group in groups for flow in group.flows}
        gap_flows = [flow for flow in request.flows if flow not in rebuilt]
        replays: list[FlowReplay] = []
        if gap_flows:
            replays = await _prepare(request, gap_flows, selected, runtime.consumer_progress_store)
        if replays:
            with _progress() as progress:
                task = progress.add_task("Replaying", total=sum(r.event_count for r in replays))
                outcome = await replay_in_process(
                    runtime, replays, lambda count: progress.advance(task, count)
                )
            _report_replays(replays, outcome.processed, outcome.left_in_queue)
        total = sum(aggregate.to_revision for aggregate in selected)
        for group in groups:
            await _rebuild(runtime, group, total)
    finally:
        await runtime.stop()


def _rebuild_groups(request: _Replay) -> list[RebuildGroup]:
    """The groups of tables to rebuild: those of the selected flows that own tables, when
    all events are selected."""
    from wolkenkit.application.table_owners import rebuild_groups

    if request.configuration.contexts is not None:
        return []
    return rebuild_groups(request.application, request.flows)


async def _rebuild(runtime: Runtime, group: RebuildGroup, total: int) -> None:
    from wolkenkit.runtime.rebuilds import describe, named, rebuild

    tables = named("table", group.tables)
    with _progress() as progress:
        task = progress.add_task(f"Rebuilding {tables}", total=total or None)

        def advance(count: int) -> None:
            progress.advance(task, count)
            done = progress.tasks[task].completed
            if done > (progress.tasks[task].total or 0):
                progress.update(task, total=done)

        def phase(name: str) -> None:
            progress.update(task, description=f"Rebuilding {tables}: {name.lower()}")

        try:
            report = await rebuild(runtime, group, on_events=advance, on_phase=phase)
        except RebuildFailed as error:
            serving = "table keeps" if len(group.tables) == 1 else "tables keep"
            raise CliError(
                f"Rebuilding {tables} failed: {error.message} The old {serving} serving."
            ) from None
        progress.update(task, description=f"Rebuilt {tables}")
    console.print(describe(report))


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("events"),
        TimeElapsedColumn(),
        console=console,
    )


def _report_replays(replays: list[FlowReplay], processed: int, left_in_queue: bool) -> None:
    console.print(f"Replayed {_summary(replays)}; {processed} events processed.")
    if left_in_queue:
        console.print(
            "Some events are still queued: they wait for earlier events (a flow with the "
            "replay policy on-demand), or another process holds them."
        )


async def _through_api(request: _Replay, url: str, token: str | None) -> None:
    from wolkenkit.runtime.replays import rebuild_through_api, replay_through_api
    from wolkenkit.stores import factory

    settings = request.settings
    groups = _rebuild_groups(request)
    rebuilt = {flow for group in groups for flow in group.flows}
    gap_flows = [flow for flow in request.flows if flow not in rebuilt]
    replays: list[FlowReplay] = []
    if gap_flows:
        events = await factory.create_domain_event_store(settings.domain_event_store_options)
        progress = await factory.create_consumer_progress_store(
            settings.consumer_progress_store_options
        )
        try:
            await progress.setup()
            selected = await select_aggregates(request.configuration, request.application, events)
            replays = await _prepare(request, gap_flows, selected, progress)
        finally:
            await events.destroy()
            await progress.destroy()
    if replays:
        await asyncio.to_thread(replay_through_api, url, token, replays)
        console.print(f"Handed {_summary(replays)} to the runtime at {url}.")
    if groups:
        from wolkenkit.runtime.rebuilds import named

        flows = sorted(rebuilt)
        await asyncio.to_thread(rebuild_through_api, url, token, flows)
        tables = sorted(table for group in groups for table in group.tables)
        console.print(
            f"The runtime at {url} rebuilds {named('table', tables)} of "
            f"{named('flow', flows)}; its log tells when they are swapped in."
        )


async def _prepare(
    request: _Replay,
    flows: Sequence[str],
    selected: Sequence[SelectedAggregate],
    progress: ConsumerProgressStore,
) -> list[FlowReplay]:
    from wolkenkit.runtime.replays import prepare_replays

    replays = await prepare_replays(flows, selected, progress, reevaluate=request.reevaluate)
    if not selected:
        console.print("[yellow]No stored aggregates match; there is nothing to replay.[/yellow]")
    elif not replays:
        console.print(
            "The flows have seen every selected event already; nothing to replay "
            "(--dangerously-reevaluate lets them handle the events again)."
        )
    return replays


def _summary(replays: list[FlowReplay]) -> str:
    flows = sorted({replay.flow_name for replay in replays})
    aggregates = {replay.aggregate_identifier.aggregate.id for replay in replays}
    events = sum(replay.event_count for replay in replays)
    return (
        f"{events} events of {len(aggregates)} aggregates to "
        f"{'flow' if len(flows) == 1 else 'flows'} {', '.join(flows)}"
    )
