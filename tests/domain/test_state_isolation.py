"""Handlers work on state of their own: only what events produce reaches the next command.

A handler that changes the state it was given in place (appends to a list, sets a field of a
model that is not frozen) publishes nothing by doing so; the next command, a reader of the
aggregate and the next client must see the state as the stored events made it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from wolkenkit.application.application import Application
from wolkenkit.application.definitions import Aggregate
from wolkenkit.application.policies import Everyone
from wolkenkit.application.services import AggregateService
from wolkenkit.application.system_events import with_system_domain_events
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.testing.builders import build_command
from wolkenkit.testing.sandbox import build_domain


class NoteState(BaseModel):
    title: str = ""
    tags: list[str] = []


class TagData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag: str


class NoData(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _scribble(state: Any, how: str) -> None:
    if isinstance(state, dict):
        state["tags"].append(how)
        state["title"] = how
    else:
        state.tags.append(how)
        state.title = how


def _model_notes() -> Aggregate[NoteState]:
    notes = Aggregate(NoteState, authorize=Everyone)

    @notes.command
    def tag(command: TagData) -> TagData:
        """Publishes ``tagged``: the one way tags change."""
        return command

    def scribbling_policy(note: NoteState) -> bool:
        _scribble(note, "by is_authorized")
        return True

    @notes.command(authorize=scribbling_policy)
    def scribble(note: NoteState, command: NoData) -> None:
        """Changes the state it was given in place and publishes nothing."""
        _scribble(note, "by handle")

    @notes.command
    def tag_then_scribble(command: TagData, this: AggregateService[NoteState]) -> None:
        """Publishes ``tagged``, then changes the next state it got back in place."""
        _scribble(this.publish(command), "after publishing")

    @notes.event
    def tagged(note: NoteState, event: TagData) -> NoteState:
        return note.model_copy(update={"tags": [*note.tags, event.tag]})

    return notes


def _dict_notes() -> Aggregate[Any]:
    # A state without a class of its own: a plain dict, as ``_plain_state`` returns it.
    notes = Aggregate(_plain_state, authorize=Everyone)

    @notes.command
    def tag(command: TagData) -> TagData:
        return command

    def scribbling_policy(note: dict[str, Any]) -> bool:
        _scribble(note, "by is_authorized")
        return True

    @notes.command(authorize=scribbling_policy)
    def scribble(note: dict[str, Any], command: NoData) -> None:
        _scribble(note, "by handle")

    @notes.command
    def tag_then_scribble(command: TagData, this: AggregateService[dict[str, Any]]) -> None:
        _scribble(this.publish(command), "after publishing")

    @notes.event
    def tagged(note: dict[str, Any], event: TagData) -> dict[str, Any]:
        return {"tags": [*note["tags"], event.tag]}

    return notes


def _notes(initial_state: Any) -> Domain:
    aggregate = _model_notes() if initial_state is NoteState else _dict_notes()
    application = Application(
        root_directory=Path("notes"),
        domain={"notes": {"note": with_system_domain_events(aggregate)}},
    )
    return build_domain(application)


def _plain_state() -> dict[str, Any]:
    return {"title": "", "tags": []}


STATES = pytest.mark.parametrize(
    "initial_state", [NoteState, _plain_state], ids=["pydantic model", "dict"]
)


def _as_json(state: Any) -> dict[str, Any]:
    return state if isinstance(state, dict) else state.model_dump()


@STATES
async def test_changes_in_place_without_events_reach_no_later_command(initial_state: Any) -> None:
    domain = _notes(initial_state)
    identifier = AggregateIdentifier.of("notes", "note", new_id())
    await domain.handle_command(build_command(identifier, "tag", {"tag": "first"}))

    await domain.handle_command(build_command(identifier, "scribble"))
    await domain.handle_command(build_command(identifier, "tagThenScribble", {"tag": "second"}))
    outcome = await domain.handle_command(build_command(identifier, "tag", {"tag": "third"}))

    assert outcome.stored
    [event] = outcome.domain_events
    assert event.state.previous == {"title": "", "tags": ["first", "second"]}
    assert event.state.next == {"title": "", "tags": ["first", "second", "third"]}
    assert _as_json(await domain.read_aggregate(identifier)) == event.state.next


@STATES
async def test_changing_a_read_state_changes_no_aggregate(initial_state: Any) -> None:
    # services.aggregates.read hands out the state too: what a reader does to it stays there.
    domain = _notes(initial_state)
    identifier = AggregateIdentifier.of("notes", "note", new_id())
    await domain.handle_command(build_command(identifier, "tag", {"tag": "first"}))

    _scribble(await domain.read_aggregate(identifier), "by a reader")

    assert _as_json(await domain.read_aggregate(identifier)) == {"title": "", "tags": ["first"]}
