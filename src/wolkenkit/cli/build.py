"""``wk build``: the application's Docker image, built on a Docker engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, SpinnerColumn, TaskID, TextColumn

from wolkenkit.cli.main import app
from wolkenkit.deployment.image import (
    BuildEvent,
    BuildLog,
    BuildStep,
    LayerProgress,
    build_image,
    default_tag,
)


@app.command()
def build(
    app_dir: Annotated[
        Path, typer.Argument(help="The application's directory.", metavar="APP_DIR")
    ] = Path("."),
    tag: Annotated[
        str | None,
        typer.Option("--tag", help="The image's name; default the project's name."),
    ] = None,
) -> None:
    """Build the application's Docker image. The Docker engine is found as the docker CLI
    finds it, e.g. through DOCKER_HOST."""
    name = tag or default_tag(app_dir)
    console = Console(highlight=False)
    with _BuildDisplay(console) as display:
        image_id = build_image(app_dir, name, display.show)
    console.print(f"Built the image [bold]{name}[/bold] ({image_id}).")


class _BuildDisplay:
    """The engine's log as it streams in: a bar over the Dockerfile's steps, one bar per
    layer while base images are pulled, and the log lines above them."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=console,
            transient=True,
        )
        self._downloads = Progress(
            TextColumn("  {task.description}"), BarColumn(), DownloadColumn(), console=console
        )
        self._steps: TaskID | None = None
        self._layers: dict[str, TaskID] = {}
        self._started = False

    def __enter__(self) -> _BuildDisplay:
        return self

    def __exit__(self, *exception: object) -> None:
        if self._started:
            self._progress.stop()
        if self._layers:
            self._downloads.stop()

    def show(self, event: BuildEvent) -> None:
        # Started with the first event, so an engine that cannot be reached leaves the
        # terminal as it was, but for the one line of the error.
        if not self._started:
            self._progress.start()
            self._started = True
        if isinstance(event, BuildStep):
            if self._steps is None:
                self._steps = self._progress.add_task("Building", total=event.total)
            self._progress.update(
                self._steps, completed=event.number - 1, description=event.instruction[:60]
            )
            self._console.print(
                f"[bold]Step {event.number}/{event.total}[/bold] {event.instruction}"
            )
        elif isinstance(event, BuildLog):
            self._console.print(f"[dim]{event.text}[/dim]", markup=True, highlight=False)
        elif isinstance(event, LayerProgress) and event.layer:
            self._show_layer(event)

    def _show_layer(self, event: LayerProgress) -> None:
        if not self._layers:
            self._downloads.start()
        task = self._layers.get(event.layer)
        if task is None:
            task = self._layers[event.layer] = self._downloads.add_task(event.layer, total=None)
        self._downloads.update(task, description=f"{event.layer} {event.status}")
        if event.total:
            self._downloads.update(task, total=event.total)
        if event.current is not None:
            self._downloads.update(task, completed=event.current)
        elif event.status.endswith("complete"):
            layer = self._downloads.tasks[self._layers[event.layer]]
            self._downloads.update(task, completed=layer.total or 0)
