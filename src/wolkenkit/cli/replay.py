"""``wk replay``: re-feed stored events to flows, to fill gaps or rebuild what flows build.

By default the replay runs right here against the app's stores, as the runtime would use
them: the variables ``DOMAIN_EVENT_STORE_OPTIONS`` and friends when set, and otherwise the
SQLite stores of ``wk dev`` in the app's ``.wolkenkit/``. It needs no running runtime, so a
view can be rebuilt while ``wk dev`` is stopped. With ``--replay-api-url`` the replay is
handed to a running runtime (``POST /perform-replay/v2``) instead.
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
from wolkenkit.errors import CliError
from wolkenkit.runtime.development import (
    DATA_DIRECTORY,
    embedded_store_environment,
    move_earlier_view_tables,
)
from wolkenkit.runtime.replay_configuration import parse_replay_configuration, select_aggregates

if TYPE_CHECKING:
    from wolkenkit.application.application import Application
    from wolkenkit.runtime.replay_configuration import ReplayConfiguration
    from wolkenkit.runtime.replays import FlowReplay
    from wolkenkit.runtime.settings import RuntimeSettings
    from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
    from wolkenkit.stores.domain_event_store import DomainEventStore

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
    """Replay stored domain events to flows, with a progress bar."""
    named = {
        variable: options
        for variable, options in (
            ("DOMAIN_EVENT_STORE_OPTIONS", domain_event_store_options),
            ("CONSUMER_PROGRESS_STORE_OPTIONS", consumer_progress_store_options),
        )
        if options is not None
    }
    environment = {**_store_environment(app_dir, named), **named}
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
    from wolkenkit.runtime.replays import replay_in_process
    from wolkenkit.runtime.services import Service
    from wolkenkit.runtime.single_process import SingleProcessRuntime

    # The flow service's stores: events, progress, locks and both queues (flows issue
    # commands), nothing else.
    runtime = await SingleProcessRuntime.create(
        request.settings, request.application, frozenset({Service.FLOW})
    )
    try:
        replays = await _prepare(
            request, runtime.domain.domain_event_store, runtime.consumer_progress_store
        )
        if not replays:
            return
        with Progress(
            TextColumn("Replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("replay", total=sum(r.event_count for r in replays))
            outcome = await replay_in_process(
                runtime, replays, lambda count: progress.advance(task, count)
            )
    finally:
        await runtime.stop()
    console.print(f"Replayed {_summary(replays)}; {outcome.processed} events processed.")
    if outcome.left_in_queue:
        console.print(
            "Some events are still queued: they wait for earlier events (a flow with the "
            "replay policy on-demand), or another process holds them."
        )


async def _through_api(request: _Replay, url: str, token: str | None) -> None:
    from wolkenkit.runtime.replays import replay_through_api
    from wolkenkit.stores import factory

    settings = request.settings
    events = await factory.create_domain_event_store(settings.domain_event_store_options)
    progress = await factory.create_consumer_progress_store(
        settings.consumer_progress_store_options
    )
    try:
        await progress.setup()
        replays = await _prepare(request, events, progress)
    finally:
        await events.destroy()
        await progress.destroy()
    if replays:
        await asyncio.to_thread(replay_through_api, url, token, replays)
        console.print(f"Handed {_summary(replays)} to the runtime at {url}.")


async def _prepare(
    request: _Replay, events: DomainEventStore, progress: ConsumerProgressStore
) -> list[FlowReplay]:
    from wolkenkit.runtime.replays import prepare_replays

    selected = await select_aggregates(request.configuration, request.application, events)
    replays = await prepare_replays(
        request.flows, selected, progress, reevaluate=request.reevaluate
    )
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
