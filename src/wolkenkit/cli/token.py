"""``wk token``: issue an RS256 token for local testing against an identity provider's key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from wolkenkit.cli.main import app
from wolkenkit.errors import CliError
from wolkenkit.runtime.auth import issue_token, load_private_key


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise CliError(f"The {what} '{path}' cannot be read: {error.strerror}.") from None


@app.command()
def token(
    issuer: Annotated[str, typer.Option("--issuer", "-i", help="The token's issuer (iss).")],
    private_key: Annotated[
        Path, typer.Option("--private-key", "-k", help="PEM file of the RSA private key.")
    ],
    claims: Annotated[
        Path, typer.Option("--claims", "-c", help="JSON file with the claims; needs 'sub'.")
    ],
    expiration: Annotated[
        int, typer.Option("--expiration", "-e", help="Lifetime in minutes.", min=1)
    ] = 525_600,
    raw: Annotated[bool, typer.Option("--raw", "-r", help="Print only the token.")] = False,
) -> None:
    """Issue a signed token (RS256)."""
    try:
        parsed: Any = json.loads(_read(claims, "claims file"))
    except ValueError:
        raise CliError(f"The claims file '{claims}' is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise CliError(f"The claims file '{claims}' must hold a JSON object.")
    try:
        key = load_private_key(_read(private_key, "private key"))
    except ValueError as error:
        raise CliError(f"The private key '{private_key}' cannot sign tokens: {error}.") from None
    signed = issue_token(issuer, key, parsed, expiration)
    if raw:
        typer.echo(signed)
        return
    console = Console(highlight=False)
    console.print(f"Token for [bold]{parsed['sub']}[/bold], valid for {expiration} minutes:")
    typer.echo(signed)
