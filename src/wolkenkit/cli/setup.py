"""``wk setup``: set up stores (``store``) and the app's infrastructure (``infrastructure``)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from wolkenkit.application.loader import load_application
from wolkenkit.application.services import InfrastructureServices
from wolkenkit.cli.main import app
from wolkenkit.errors import CliError
from wolkenkit.stores.factory import options_from_url
from wolkenkit.stores.setup import STORE_KINDS, setup_store, store_options

setup = typer.Typer(
    name="setup",
    help="Set up stores and the application's infrastructure.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(setup)

_Text = Annotated[str | None, typer.Option(show_default=False)]
_KINDS = ", ".join(STORE_KINDS)


@setup.command()
def infrastructure(
    app_dir: Annotated[
        Path, typer.Argument(help="The application's directory.", metavar="APP_DIR")
    ] = Path("."),
) -> None:
    """Run the application's setup_infrastructure. It lives in server/infrastructure.py."""
    application = load_application(app_dir)
    services = InfrastructureServices(logger=logging.getLogger("wolkenkit.app.infrastructure"))

    async def run() -> None:
        await application.infrastructure.setup_infrastructure(services)

    asyncio.run(run())
    typer.echo(f"Set up the infrastructure of '{application.name}'.")


@setup.command()
def store(
    kind: Annotated[str, typer.Argument(help=f"One of {_KINDS}.", metavar="KIND")],
    store_type: Annotated[
        str,
        typer.Argument(
            help="postgres, mariadb, mysql or sqlite; redis for locks; file-system or s3 for "
            "files.",
            metavar="TYPE",
        ),
    ],
    options: Annotated[
        str | None,
        typer.Option(
            help="All options as one JSON object or a URL (postgresql://user@host/db); the "
            "flags below override them."
        ),
    ] = None,
    host_name: _Text = None,
    port: Annotated[int | None, typer.Option(show_default=False)] = None,
    user_name: _Text = None,
    password: _Text = None,
    database: _Text = None,
    schema: Annotated[str | None, typer.Option(help="PostgreSQL: the tables' schema.")] = None,
    file_name: Annotated[str | None, typer.Option(help="SQLite: the database file.")] = None,
    encrypt_connection: Annotated[
        str | None, typer.Option(help="JSON: true, or PostgreSQL's TLS options.")
    ] = None,
    directory: Annotated[Path | None, typer.Option(help="file-system: where the files go.")] = None,
    access_key: _Text = None,
    secret_key: _Text = None,
    region: _Text = None,
    bucket_name: _Text = None,
    table_name_domain_events: _Text = None,
    table_name_snapshots: _Text = None,
    table_name_locks: _Text = None,
    table_name_items: _Text = None,
    table_name_priority_queue: _Text = None,
    table_name_progress: _Text = None,
    list_name_locks: Annotated[str | None, typer.Option(help="redis: the locks' list.")] = None,
    app_dir: Annotated[
        Path, typer.Option("--app-dir", help="view: the application whose tables to set up.")
    ] = Path("."),
) -> None:
    """Create a store's tables, indexes or bucket. Running it again changes nothing.

    A view store gets the tables the application declares in server/tables.py."""
    settings: dict[str, Any] = {
        "hostName": host_name,
        "port": port,
        "userName": user_name,
        "password": password,
        "database": database,
        "schema": schema,
        "fileName": file_name,
        "encryptConnection": _json(encrypt_connection, "--encrypt-connection")
        if encrypt_connection is not None
        else None,
        "directory": str(directory.absolute()) if directory is not None else None,
        "accessKey": access_key,
        "secretKey": secret_key,
        "region": region,
        "bucketName": bucket_name,
    }
    tables = {
        "domainEvents": table_name_domain_events,
        "snapshots": table_name_snapshots,
        "locks": table_name_locks or list_name_locks,
        "items": table_name_items,
        "priorityQueue": table_name_priority_queue,
        "progress": table_name_progress,
    }
    given = {name: value for name, value in tables.items() if value is not None}
    whole = _whole_options(options) if options is not None else None
    resolved = store_options(kind, store_type, settings, given, whole)
    if kind != "view":
        asyncio.run(setup_store(kind, resolved))
        typer.echo(f"Set up the {kind} store ({resolved['type']}).")
        return
    application = load_application(app_dir)
    definitions = [table.definition(name) for name, table in application.tables.items()]
    asyncio.run(setup_store(kind, resolved, definitions))
    names = ", ".join(definition.name for definition in definitions) or "none"
    typer.echo(
        f"Set up the view store ({resolved['type']}) with the tables of "
        f"'{application.name}': {names}."
    )


def _whole_options(text: str) -> dict[str, Any]:
    """``--options`` as the runtime's variables take them: a JSON object or a store URL."""
    if "://" in text and not text.lstrip().startswith("{"):
        return options_from_url(text)
    whole = _json(text, "--options")
    if not isinstance(whole, dict):
        raise CliError("--options must be a JSON object or a store URL.")
    return whole


def _json(text: str, flag: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise CliError(f"{flag} is not valid JSON: {error}.") from None
