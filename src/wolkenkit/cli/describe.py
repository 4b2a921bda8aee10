"""``wk describe``: what an application offers, as JSON or as a readable tree."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from wolkenkit.application.description import (
    ApplicationDescription,
    MessageDescription,
    NotificationDescription,
    QueryDescription,
    describe_application,
)
from wolkenkit.application.loader import load_application
from wolkenkit.cli.main import app


@app.command()
def describe(
    app_dir: Annotated[
        Path,
        typer.Argument(
            help="The application's directory (the one holding server/).", metavar="APP_DIR"
        ),
    ] = Path("."),
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the description as JSON, as the API serves it.")
    ] = False,
) -> None:
    """Describe an application: commands, events, notifications, views."""
    application = load_application(app_dir)
    description = describe_application(application)
    if as_json:
        typer.echo(json.dumps(description, indent=2))
        return
    Console(highlight=False).print(description_tree(application.name, description))


def description_tree(name: str, description: ApplicationDescription) -> Tree:
    """Contexts, aggregates, commands and events; notifications; views and queries."""
    tree = Tree(Text(name, style="bold"))
    for context_name, aggregates in description["commands"].items():
        context = tree.add(Text.assemble((context_name, "bold"), ("  context", "dim")))
        for aggregate_name, commands in aggregates.items():
            aggregate = context.add(Text.assemble((aggregate_name, "bold"), ("  aggregate", "dim")))
            _add_messages(aggregate, "commands", commands)
            events = description["domainEvents"][context_name][aggregate_name]
            _add_messages(aggregate, "domain events", events, versions=True)
    if description["notifications"]:
        notifications = tree.add(Text("notifications", style="bold"))
        for notification_name, notification in description["notifications"].items():
            notifications.add(_notification_line(notification_name, notification))
    if description["views"]:
        views = tree.add(Text("views", style="bold"))
        for view_name, queries in description["views"].items():
            view = views.add(Text(view_name, style="bold"))
            for query_name, query in queries.items():
                view.add(_query_line(query_name, query))
    return tree


def _add_messages(
    parent: Tree, label: str, messages: Mapping[str, MessageDescription], versions: bool = False
) -> None:
    if not messages:
        return
    branch = parent.add(Text(label, style="dim"))
    for message_name, message in messages.items():
        # Events show their version, which the description leaves out while it is 1.
        version = message.get("version", 1) if versions else None
        branch.add(
            _line(message_name, message.get("schema"), message.get("documentation"), version)
        )


def _notification_line(name: str, notification: NotificationDescription) -> Text:
    return _line(name, notification.get("dataSchema"), notification.get("documentation"))


def _query_line(name: str, query: QueryDescription) -> Text:
    line = _line(name, query.get("optionsSchema"), query.get("documentation"))
    if "itemSchema" in query:
        line.append_text(Text.assemble(("  → ", "dim"), (summarize(query["itemSchema"]), "cyan")))
    return line


def _line(
    name: str,
    schema: Mapping[str, Any] | None,
    documentation: str | None,
    version: int | None = None,
) -> Text:
    line = Text(name, style="green")
    if version is not None:
        line.append(f" v{version}", style="dim")
    if schema is not None:
        line.append_text(Text.assemble(" ", (summarize(schema), "cyan")))
    if documentation:
        line.append_text(Text.assemble("  ", (documentation.splitlines()[0], "dim")))
    return line


def summarize(schema: Mapping[str, Any]) -> str:
    """A JSON Schema in one short line: ``{text: string, tags?: list[string]}``."""
    for combinator in ("anyOf", "oneOf"):
        if combinator in schema:
            return " | ".join(summarize(option) for option in schema[combinator])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(str(each) for each in kind)
    if kind == "object":
        properties: Mapping[str, Any] = schema.get("properties", {})
        if not properties:
            return "{}" if schema.get("additionalProperties") is False else "object"
        required = set(schema.get("required", []))
        fields = (
            f"{field}{'' if field in required else '?'}: {summarize(value)}"
            for field, value in properties.items()
        )
        return "{" + ", ".join(fields) + "}"
    if kind == "array":
        items = schema.get("items")
        return f"list[{summarize(items)}]" if isinstance(items, Mapping) and items else "list"
    return str(kind) if kind else "any"
