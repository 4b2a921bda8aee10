"""Command handling through the public engine API: revisions, concurrency, idempotency,
rejections and failures."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from tests.domain.chat_app import Empty, MessageState, SentData, build_application, chat_commands
from wolkenkit import errors
from wolkenkit.application.definitions import Aggregate, CommandHandler
from wolkenkit.application.services import AggregateService
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import (
    AggregateIdentifier,
    CommandWithMetadata,
    DomainEvent,
    new_command_ids,
    new_id,
)
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.testing.builders import build_command, build_domain_event
from wolkenkit.testing.sandbox import build_domain


def make_domain(
    store: InMemoryDomainEventStore | None = None,
    extra_commands: Mapping[str, CommandHandler[MessageState, Any]] | None = None,
) -> Domain:
    return build_domain(build_application(extra_commands=extra_commands), domain_event_store=store)


def message_id() -> AggregateIdentifier:
    return AggregateIdentifier.of("communication", "message", new_id())


async def stored_events(domain: Domain, identifier: AggregateIdentifier) -> list[DomainEvent]:
    return [
        event
        async for event in domain.domain_event_store.get_replay_for_aggregate(
            identifier.aggregate.id
        )
    ]


async def test_revisions_count_from_one_without_gaps() -> None:
    # Every stored event of an aggregate gets the next revision, starting at 1.
    domain = make_domain()
    identifier = message_id()

    await domain.handle_command(build_command(identifier, "send", {"text": "Hello"}))
    for _ in range(4):
        await domain.handle_command(build_command(identifier, "like"))

    events = await stored_events(domain, identifier)
    assert [event.metadata.revision for event in events] == [1, 2, 3, 4, 5]
    assert [event.name for event in events] == ["sent", "liked", "liked", "liked", "liked"]
    assert events[-1].data == {"likes": 4}


async def test_events_carry_causation_correlation_and_initiator_of_the_command() -> None:
    domain = make_domain()
    identifier = message_id()
    command = build_command(identifier, "send", {"text": "Hello"})

    outcome = await domain.handle_command(command)

    assert outcome.stored
    (event,) = outcome.domain_events
    assert event.metadata.causation_id == command.id
    assert event.metadata.correlation_id == command.metadata.correlation_id
    assert event.metadata.initiator == command.metadata.initiator
    assert event.state.previous == {"text": "", "likes": 0}
    assert event.state.next == {"text": "Hello", "likes": 0}
    # The wire form is the reference's camelCase JSON, without the state.
    wire = event.without_state().to_json()
    assert set(wire) == {"aggregateIdentifier", "name", "data", "id", "metadata"}
    assert wire["metadata"]["causationId"] == command.id


async def test_concurrent_commands_to_one_aggregate_never_clash() -> None:
    # Fifty likes at once on one message: all are stored, one revision each, no gaps.
    domain = make_domain()
    identifier = message_id()
    await domain.handle_command(build_command(identifier, "send", {"text": "Hello"}))

    outcomes = await asyncio.gather(
        *(domain.handle_command(build_command(identifier, "like")) for _ in range(50))
    )

    assert all(outcome.stored for outcome in outcomes)
    events = await stored_events(domain, identifier)
    assert [event.metadata.revision for event in events] == list(range(1, 52))
    assert events[-1].data == {"likes": 50}


class ConflictingStore(InMemoryDomainEventStore):
    """Simulates another process that writes the same aggregate just before us, ``times``
    times in a row."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times

    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        if self.times > 0 and domain_events[0].name == "liked":
            self.times -= 1
            first = domain_events[0]
            rival = build_domain_event(
                first.aggregate_identifier,
                "liked",
                {"likes": 100 + self.times},
                revision=first.metadata.revision,
            )
            await super().store_domain_events([rival])
        await super().store_domain_events(domain_events)


async def test_a_write_conflict_is_retried_against_fresh_state() -> None:
    # Another writer takes our revision twice; the command still lands, after its events.
    store = ConflictingStore(times=0)
    domain = make_domain(store)
    identifier = message_id()
    await domain.handle_command(build_command(identifier, "send", {"text": "Hello"}))
    store.times = 2

    outcome = await domain.handle_command(build_command(identifier, "like"))

    assert outcome.stored
    events = await stored_events(domain, identifier)
    assert [event.metadata.revision for event in events] == [1, 2, 3, 4]
    # The retry saw the rival's likes (100 then 101 in reverse order of writing).
    assert events[-1].data == {"likes": events[-2].data["likes"] + 1}


async def test_endless_write_conflicts_turn_into_a_failed_event() -> None:
    store = ConflictingStore(times=0)
    domain = make_domain(store)
    identifier = message_id()
    await domain.handle_command(build_command(identifier, "send", {"text": "Hello"}))
    store.times = 100

    outcome = await domain.handle_command(build_command(identifier, "like"))

    assert not outcome.stored
    assert [event.name for event in outcome.domain_events] == ["likeFailed"]
    assert "already exist" in outcome.domain_events[0].data["reason"]


async def test_a_redelivered_command_stores_nothing_twice() -> None:
    domain = make_domain()
    identifier = message_id()
    command = build_command(identifier, "send", {"text": "Hello"})

    first = await domain.handle_command(command)
    second = await domain.handle_command(command)
    # Even a fresh engine (another process after a crash) sees it was handled.
    third = await make_domain(domain.domain_event_store).handle_command(command)  # type: ignore[arg-type]

    assert first.stored
    assert second.domain_events == []
    assert not second.stored
    assert third.domain_events == []
    assert not third.stored
    assert len(await stored_events(domain, identifier)) == 1


async def test_a_rejected_command_yields_a_rejected_event_and_stores_nothing() -> None:
    domain = make_domain()
    identifier = message_id()

    outcome = await domain.handle_command(build_command(identifier, "like"))

    assert not outcome.stored
    (event,) = outcome.domain_events
    assert event.name == "likeRejected"
    assert event.data == {"reason": "Message was not yet sent."}
    assert event.metadata.revision == 1
    assert await stored_events(domain, identifier) == []


def crashing_commands() -> Aggregate[MessageState]:
    commands = chat_commands()

    @commands.command(name="crash")
    def publish_then_crash(command: Empty, this: AggregateService[MessageState]) -> None:
        this.publish(SentData(text="half-done"))
        raise ZeroDivisionError("the handler crashed")

    @commands.command(name="invalid")
    def publish_invalid(command: Empty, this: AggregateService[MessageState]) -> None:
        this.publish_domain_event("sent", {"text": 42, "extra": True})

    return commands


async def nobody(command: Empty) -> bool:
    return False


async def truthy_answer(command: Empty) -> str:
    return "yes"


def forbidden_commands() -> Aggregate[MessageState]:
    commands = chat_commands()

    @commands.command(authorize=nobody)
    def forbidden(command: Empty) -> SentData:
        return SentData(text="never")

    @commands.command(authorize=truthy_answer)  # type: ignore[arg-type]
    def truthy(command: Empty) -> SentData:
        return SentData(text="never")

    return commands


async def test_a_crashing_handler_yields_a_failed_event_and_stores_nothing() -> None:
    # The handler published an event before it crashed; that event is discarded.
    domain = make_domain(extra_commands=crashing_commands().command_handlers)
    identifier = message_id()

    outcome = await domain.handle_command(build_command(identifier, "crash"))

    (event,) = outcome.domain_events
    assert event.name == "crashFailed"
    assert event.data == {"reason": "the handler crashed"}
    assert event.metadata.revision == 1
    assert not outcome.stored
    assert await stored_events(domain, identifier) == []
    # The aggregate is untouched: a real command afterwards gets revision 1.
    after = await domain.handle_command(build_command(identifier, "send", {"text": "Hi"}))
    assert after.domain_events[0].metadata.revision == 1
    assert after.domain_events[0].state.previous == {"text": "", "likes": 0}


async def test_unauthorized_commands_are_rejected_and_a_truthy_answer_is_not_enough() -> None:
    domain = make_domain(extra_commands=forbidden_commands().command_handlers)
    identifier = message_id()

    forbidden = await domain.handle_command(build_command(identifier, "forbidden"))
    truthy = await domain.handle_command(build_command(identifier, "truthy"))

    assert [event.name for event in forbidden.domain_events] == ["forbiddenRejected"]
    assert forbidden.domain_events[0].data == {"reason": "Command not authorized."}
    assert [event.name for event in truthy.domain_events] == ["truthyRejected"]
    assert await stored_events(domain, identifier) == []


async def test_publishing_data_that_breaks_the_event_schema_fails_the_command() -> None:
    domain = make_domain(extra_commands=crashing_commands().command_handlers)
    identifier = message_id()

    outcome = await domain.handle_command(build_command(identifier, "invalid"))

    assert [event.name for event in outcome.domain_events] == ["invalidFailed"]
    assert "text" in outcome.domain_events[0].data["reason"]
    assert await stored_events(domain, identifier) == []


async def test_unknown_names_and_malformed_data_are_raised_not_turned_into_events() -> None:
    domain = make_domain()
    identifier = message_id()
    cases: list[tuple[AggregateIdentifier, str, dict[str, Any], type[Exception]]] = [
        (AggregateIdentifier.of("nope", "message", new_id()), "send", {}, errors.ContextNotFound),
        (
            AggregateIdentifier.of("communication", "nope", new_id()),
            "send",
            {},
            errors.AggregateNotFound,
        ),
        (identifier, "nope", {}, errors.CommandNotFound),
        (identifier, "send", {"text": 1}, errors.CommandMalformed),
        (identifier, "send", {"text": "a", "more": 1}, errors.CommandMalformed),
    ]
    for aggregate_identifier, name, data, error in cases:
        with pytest.raises(error):
            await domain.handle_command(build_command(aggregate_identifier, name, data))


async def test_aggregates_read_gives_another_aggregates_state() -> None:
    domain = make_domain()
    identifier = message_id()
    await domain.handle_command(build_command(identifier, "send", {"text": "Hello"}))

    state = await domain.read_aggregate(identifier)

    assert state == MessageState(text="Hello", likes=0)
    with pytest.raises(errors.AggregateNotFound):
        await domain.read_aggregate(message_id())


async def test_engine_built_events_behave_like_any_pydantic_model() -> None:
    # Events are built without validation for speed; users may still copy and dump them.
    domain = make_domain()
    outcome = await domain.handle_command(build_command(message_id(), "send", {"text": "Hi"}))
    event = outcome.domain_events[0]

    changed = event.model_copy(update={"data": {"text": "changed"}})

    assert changed.data == {"text": "changed"}
    assert event.data == {"text": "Hi"}
    assert changed.without_state().model_dump()["metadata"]["revision"] == 1


def creating_command(name: str, data: dict[str, Any] | None = None) -> CommandWithMetadata[Any]:
    """A command as the APIs make it when the client names no aggregate (the server derives
    one from the command's id), so the engine skips the read."""
    command_id, aggregate_id = new_command_ids(None)
    identifier = AggregateIdentifier.of("communication", "message", aggregate_id)
    return build_command(identifier, name, data, id=command_id)


def test_only_an_aggregate_id_the_server_made_up_marks_a_creating_command() -> None:
    # The two ids differ, as the reference's do; an id the client chose, even one that equals
    # the command's id, never skips the read: the client cannot know the command's id ahead.
    command = creating_command("send", {"text": "Hello"})
    assert command.aggregate_identifier.aggregate.id != command.id
    assert command.creates_aggregate()

    for aggregate_id in (new_id(), command.id):
        identifier = AggregateIdentifier.of("communication", "message", aggregate_id)
        chosen = build_command(identifier, "send", {"text": "Hello"}, id=command.id)
        assert not chosen.creates_aggregate()


class CountingStore(InMemoryDomainEventStore):
    """Counts the reads a command makes."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def get_replay_for_command(self, *arguments: Any, **options: Any) -> Any:
        self.reads += 1
        return await super().get_replay_for_command(*arguments, **options)


async def test_a_command_that_creates_its_aggregate_is_stored_without_a_read() -> None:
    store = CountingStore()
    domain = make_domain(store)
    command = creating_command("send", {"text": "Hello"})

    outcome = await domain.handle_command(command)
    assert command.creates_aggregate()
    assert outcome.stored
    assert store.reads == 0
    assert [event.metadata.revision for event in outcome.domain_events] == [1]

    # The next command to it is an ordinary one, against the cached state.
    liked = await domain.handle_command(build_command(command.aggregate_identifier, "like"))
    assert liked.domain_events[0].data == {"likes": 1}


async def test_a_redelivered_creating_command_stores_nothing_twice() -> None:
    # The first delivery stored; the second's write conflicts, and the read that follows
    # sees the command handled. Also from a fresh engine, and after more events.
    domain = make_domain()
    command = creating_command("send", {"text": "Hello"})
    await domain.handle_command(command)
    await domain.handle_command(build_command(command.aggregate_identifier, "like"))

    again = await domain.handle_command(command)
    fresh = await make_domain(domain.domain_event_store).handle_command(command)  # type: ignore[arg-type]

    assert (again.domain_events, again.stored) == ([], False)
    assert (fresh.domain_events, fresh.stored) == ([], False)
    events = await stored_events(domain, command.aggregate_identifier)
    assert [event.name for event in events] == ["sent", "liked"]


async def test_a_creating_command_whose_aggregate_has_history_is_handled_on_that_history() -> None:
    # Someone else wrote to the id first: the guess "new" loses nothing, the command goes
    # the usual way against the real state.
    store = InMemoryDomainEventStore()
    command = creating_command("like")
    await make_domain(store).handle_command(
        build_command(command.aggregate_identifier, "send", {"text": "Hello"})
    )

    outcome = await make_domain(store).handle_command(command)

    assert outcome.stored
    assert outcome.domain_events[0].metadata.revision == 2
    assert outcome.domain_events[0].data == {"likes": 1}


async def test_a_rejected_creating_command_is_confirmed_by_a_read() -> None:
    store = CountingStore()
    domain = make_domain(store)

    outcome = await domain.handle_command(creating_command("like"))

    assert [event.name for event in outcome.domain_events] == ["likeRejected"]
    assert not outcome.stored
    # Nothing stored, so the rejection is checked against the store before it stands.
    assert store.reads == 1


async def test_handlers_log_to_their_aggregates_logger() -> None:
    names: list[str] = []
    commands = chat_commands()

    def name_logger(logger: logging.Logger) -> bool:
        names.append(logger.name)
        return True

    @commands.command(authorize=name_logger)
    def name_loggers(command: Empty, logger: logging.Logger) -> None:
        names.append(logger.name)

    domain = make_domain(extra_commands=commands.command_handlers)
    identifier = message_id()
    await domain.handle_command(build_command(identifier, "nameLoggers", {}))
    instance = await domain.repository.load(identifier)
    expected = "wolkenkit.app.domain.communication.message"
    assert names == [expected, expected]
    assert instance.event_services.logger.name == expected
