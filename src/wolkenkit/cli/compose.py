"""``wk compose``: compose files that run the application with Docker Compose."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wolkenkit.cli.main import app
from wolkenkit.deployment import COMPOSE_DIRECTORY, write_compose_files
from wolkenkit.deployment.compose import RUNTIMES
from wolkenkit.deployment.compose_stores import STORE_TYPES
from wolkenkit.deployment.image import default_tag


@app.command()
def compose(
    store_type: Annotated[
        str,
        typer.Argument(
            help=f"Where the data lives: {', '.join(STORE_TYPES)}.", metavar="STORE_TYPE"
        ),
    ],
    runtime: Annotated[
        str, typer.Option(help=f"How the app runs: {' or '.join(RUNTIMES)}.")
    ] = "single-process",
    output: Annotated[
        Path | None,
        typer.Option(help=f"Where to write the files; default APP_DIR/{COMPOSE_DIRECTORY}."),
    ] = None,
    app_dir: Annotated[Path, typer.Option("--app-dir", help="The application's directory.")] = Path(
        "."
    ),
    otel_collector: Annotated[
        bool,
        typer.Option(
            "--otel-collector",
            help="Add an OpenTelemetry collector that every service sends its traces to and "
            "that scrapes their metrics (configured in otel-collector.yaml).",
        ),
    ] = False,
) -> None:
    """Write compose files for a store type and a runtime. Existing ones are replaced."""
    written = write_compose_files(app_dir, store_type, runtime, output, otel_collector)
    console = Console(highlight=False, soft_wrap=True, markup=False)
    for path in written:
        console.print(f"Wrote {path}")
    names = [path.name for path in written if path.suffix == ".yml"]
    stores = [f"-f {name}" for name in names if name.startswith("stores.")]
    run = next(name for name in names if name.startswith(f"{runtime}."))
    setup = next(name for name in names if name.startswith("setup."))
    console.print()
    console.print("Next steps:")
    console.print(f"  wk build --tag {default_tag(app_dir)}")
    console.print(f"  cd {written[0].parent}")
    if any(path.name == ".env.example" for path in written):
        console.print("  cp .env.example .env   # then choose the passwords in .env")
    console.print(f"  docker compose {' '.join([*stores, f'-f {setup}'])} run --rm setup")
    console.print(f"  docker compose {' '.join([*stores, f'-f {run}'])} up -d")
