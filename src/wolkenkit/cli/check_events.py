"""``wk check-events``: read every stored event through the app before deploying it.

Each event is lifted by the app's upcasters and validated against its current model, as the
runtime will read it; every event that fails is listed with its aggregate, revision and
position, and the command exits with 1 if any did. The store is the one the runtime would
use: ``--domain-event-store-options``, else ``DOMAIN_EVENT_STORE_OPTIONS``, else the SQLite
store of ``wk dev`` in the app's ``.wolkenkit/``.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from wolkenkit.application.loader import load_application
from wolkenkit.cli.main import app
from wolkenkit.errors import CliError
from wolkenkit.runtime.development import DATA_DIRECTORY, embedded_store_environment

if TYPE_CHECKING:
    from wolkenkit.application.application import Application
    from wolkenkit.domain.event_check import EventProblem
    from wolkenkit.stores.options import StoreOptions

# Lines as long as they are: a failing event is one line, whatever the terminal's width.
console = Console(highlight=False, soft_wrap=True)


@app.command("check-events")
def check_events(
    app_dir: Annotated[
        Path, typer.Argument(help="The application's directory.", metavar="APP_DIR")
    ] = Path("."),
    domain_event_store_options: Annotated[
        str | None, typer.Option(help="The domain event store's options (JSON or URL).")
    ] = None,
) -> None:
    """Check that every stored event fits the app: lifted by its upcasters, valid against its
    models. Exits with 1 if any does not."""
    options = _store_options(app_dir, domain_event_store_options)
    application = load_application(app_dir)
    checked, failed, seconds = asyncio.run(_check(application, options))
    rate = checked / seconds if seconds > 0 else 0.0
    verdict = (
        "every event fits the app."
        if not failed
        else f"{failed:,} {'event does' if failed == 1 else 'events do'} not fit the app."
    )
    console.print(
        f"Checked {checked:,} events in {seconds:.2f} s ({rate:,.0f} events/s): {verdict}"
    )
    if failed:
        raise typer.Exit(1)


def _store_options(app_dir: Path, given: str | None) -> StoreOptions:
    """The options of the flag or the environment, parsed as the runtime parses them, or
    else the store of ``wk dev``."""
    from wolkenkit.runtime.settings import RuntimeSettings

    environment = dict(os.environ)
    if given is not None:
        environment["DOMAIN_EVENT_STORE_OPTIONS"] = given
    elif "DOMAIN_EVENT_STORE_OPTIONS" not in environment:
        data = app_dir.absolute() / DATA_DIRECTORY
        if not data.is_dir():
            raise CliError(
                f"No stored events: '{data}' does not exist. Run the app with wk dev first, or "
                "give the store's options (--domain-event-store-options)."
            )
        environment.update(embedded_store_environment(data))
    return RuntimeSettings.from_environment(environment).domain_event_store_options


async def _check(application: Application, options: StoreOptions) -> tuple[int, int, float]:
    """How many events were checked and failed, and how long it took (seconds)."""
    from wolkenkit.domain.catalog import Catalog
    from wolkenkit.domain.event_check import check_events
    from wolkenkit.stores import factory

    catalog = Catalog(application)
    store = await factory.create_domain_event_store(options)
    checked = failed = 0
    try:
        total = await store.count_domain_events()
        with Progress(
            TextColumn("Checking"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            # Only where someone watches: in a pipeline's log it would be a blank line.
            disable=not console.is_terminal,
        ) as progress:
            task = progress.add_task("check", total=total)

            def advance(count: int) -> None:
                nonlocal checked
                checked += count
                progress.advance(task, count)

            started = time.perf_counter()
            async for problem in check_events(store, catalog, advance):
                failed += 1
                progress.console.print(_problem_line(problem))
            seconds = time.perf_counter() - started
    finally:
        await store.destroy()
    return checked, failed, seconds


def _problem_line(problem: EventProblem) -> Text:
    """``✗ communication.message.sent <id> revision 4, position 17: why``."""
    domain_event = problem.domain_event
    return Text.assemble(
        ("✗ ", "red"),
        (domain_event.fully_qualified_name, "bold"),
        f" {domain_event.aggregate_identifier.aggregate.id}",
        f" revision {domain_event.metadata.revision}, position {problem.position}: ",
        problem.problem,
    )
