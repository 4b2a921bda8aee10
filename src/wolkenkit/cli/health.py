"""``wk health``: exit 0 when the runtime's health API answers, 1 otherwise."""

from __future__ import annotations

import http.client
import socket
from typing import Annotated

import typer

from wolkenkit.cli.main import app


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@app.command()
def health(
    protocol: Annotated[str, typer.Option("--protocol", help="http or https.")] = "http",
    host_name: Annotated[str, typer.Option("--host-name", "-n")] = "localhost",
    health_port: Annotated[int, typer.Option("--health-port")] = 3001,
    health_socket: Annotated[str | None, typer.Option("--health-socket", "-s")] = None,
    base_path: Annotated[str, typer.Option("--base-path", "-b")] = "/health/v2/",
    timeout: Annotated[float, typer.Option(help="Seconds to wait for an answer.")] = 5.0,
) -> None:
    """Check the health API; exit 0 when healthy, 1 otherwise. For Docker health checks."""
    connection: http.client.HTTPConnection
    if health_socket is not None:
        connection = _UnixConnection(health_socket, timeout)
    elif protocol == "https":
        connection = http.client.HTTPSConnection(host_name, health_port, timeout=timeout)
    else:
        connection = http.client.HTTPConnection(host_name, health_port, timeout=timeout)
    try:
        connection.request("GET", base_path.rstrip("/") or "/")
        status = connection.getresponse().status
    except OSError as error:
        typer.echo(f"Unhealthy: {error}.", err=True)
        raise typer.Exit(1) from None
    finally:
        connection.close()
    if status != 200:
        typer.echo(f"Unhealthy: the health API answered {status}.", err=True)
        raise typer.Exit(1)
    typer.echo("Healthy.")
