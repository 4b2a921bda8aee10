"""``wk dev``: run an application locally, reloading it on every change."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path
from types import FrameType
from typing import Annotated

import typer
from rich.console import Console

from wolkenkit.cli.main import app
from wolkenkit.errors import CliError
from wolkenkit.runtime.development import DevelopmentOptions, DevelopmentServer

console = Console(highlight=False)


def _interrupt(signal_number: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@app.command()
def dev(
    app_dir: Annotated[
        Path, typer.Argument(help="The application's directory.", metavar="APP_DIR")
    ] = Path("."),
    port: Annotated[int, typer.Option("--port", "-p", help="Port of the APIs.")] = 3000,
    health_port: Annotated[int, typer.Option(help="Port of the health API.")] = 3001,
    host: Annotated[
        str,
        typer.Option("--host", help="Address to listen on; 0.0.0.0 for all interfaces."),
    ] = "127.0.0.1",
    identity_provider_issuer: Annotated[
        str | None,
        typer.Option("--identity-provider-issuer", "-i", help="Issuer of accepted tokens."),
    ] = None,
    identity_provider_certificate: Annotated[
        Path | None,
        typer.Option(
            "--identity-provider-certificate",
            help="Directory holding the issuer's certificate.pem.",
        ),
    ] = None,
    in_memory: Annotated[
        bool, typer.Option("--in-memory", help="Keep all data in memory only.")
    ] = False,
) -> None:
    """Run the application locally, restarting it on every change."""
    if (identity_provider_issuer is None) != (identity_provider_certificate is None):
        raise CliError(
            "Give --identity-provider-issuer and --identity-provider-certificate together."
        )
    options = DevelopmentOptions(
        application_directory=app_dir,
        port=port,
        health_port=health_port,
        host=host,
        identity_provider_issuer=identity_provider_issuer,
        identity_provider_certificate=identity_provider_certificate,
        in_memory=in_memory,
    )
    server = DevelopmentServer(options, lambda line: console.print(f"[bold]wk dev[/bold] {line}"))
    # SIGTERM stops as Ctrl+C does, so the runtime's child process is stopped too.
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(server.run())
    console.print("[bold]wk dev[/bold] Stopped.")
