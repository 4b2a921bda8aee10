"""Flows: progress per aggregate, gap handling per replay policy, system events, commands
issued by flows."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domain.chat_app import SentData, build_application
from wolkenkit.application.application import Application
from wolkenkit.application.definitions import Flow
from wolkenkit.application.services import CommandService
from wolkenkit.domain.domain import Domain
from wolkenkit.domain.flows import PerformReplay
from wolkenkit.messages import (
    AggregateIdentifier,
    Command,
    CommandWithMetadata,
    DomainEvent,
    ReplayPolicy,
    new_id,
)
from wolkenkit.stores.consumer_progress_store import Progress
from wolkenkit.stores.memory.consumer_progress_store import InMemoryConsumerProgressStore
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.stores.memory.lock_store import InMemoryLockStore
from wolkenkit.testing.builders import build_command
from wolkenkit.testing.sandbox import RecordingPublisher, in_memory_tables


class Recorder:
    """Remembers the revisions it handled; can issue a command per event."""

    def __init__(self, issue: bool = False, crash_on: int | None = None) -> None:
        self.seen: list[tuple[str, int]] = []
        self.issue = issue
        self.crash_on = crash_on

    def flow(self, policy: ReplayPolicy) -> Flow:
        """A flow that records the chat's events; also rejections, which it must never see."""
        flow = Flow(replay_policy=policy)

        @flow.on(SentData)
        async def record_sent(event: DomainEvent[SentData], command: CommandService) -> None:
            await self.record(event, command)

        @flow.on("communication.message.liked")
        async def record_liked(event: DomainEvent, command: CommandService) -> None:
            await self.record(event, command)

        @flow.on("communication.message.likeRejected")
        async def record_rejection(event: DomainEvent, command: CommandService) -> None:
            await self.record(event, command)

        return flow

    async def record(self, domain_event: DomainEvent[Any], command: CommandService) -> None:
        if domain_event.metadata.revision == self.crash_on:
            raise RuntimeError("flow handler crashed")
        self.seen.append((domain_event.name, domain_event.metadata.revision))
        if self.issue:
            await command.issue_command(
                Command(
                    aggregate_identifier=AggregateIdentifier.of(
                        "communication", "message", new_id()
                    ),
                    name="send",
                    data={"text": "echo"},
                )
            )


class CountingProgress(InMemoryConsumerProgressStore):
    """The in-memory progress store, counting what a flow asks of it."""

    def __init__(self) -> None:
        super().__init__()
        self.claims = 0
        self.reads = 0

    async def claim_next(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> bool:
        self.claims += 1
        reads = self.reads
        claimed = await super().claim_next(consumer_id, aggregate_identifier, revision)
        # (The in-memory store claims by reading: not the flow's read.)
        self.reads = reads
        return claimed

    async def get_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier
    ) -> Progress:
        self.reads += 1
        return await super().get_progress(consumer_id, aggregate_identifier)


class Harness:
    def __init__(
        self, policy: ReplayPolicy, recorder: Recorder, perform_replay: PerformReplay | None = None
    ) -> None:
        application = build_application()
        application = Application(
            root_directory=application.root_directory,
            domain=application.domain,
            flows={"recorder": recorder.flow(policy)},
        )
        self.recorder = recorder
        self.issued: list[CommandWithMetadata[Any]] = []
        self.progress = CountingProgress()
        self.domain = Domain(
            application,
            domain_event_store=InMemoryDomainEventStore(),
            lock_store=InMemoryLockStore(),
            consumer_progress_store=self.progress,
            publisher=RecordingPublisher(),
            tables=in_memory_tables(application),
            issue_command=self._issue,
            perform_replay=perform_replay,
        )
        self.identifier = AggregateIdentifier.of("communication", "message", new_id())

    async def _issue(self, command: CommandWithMetadata[Any]) -> None:
        self.issued.append(command)

    async def command(self, name: str, data: dict[str, Any] | None = None) -> list[DomainEvent]:
        outcome = await self.domain.handle_command(build_command(self.identifier, name, data))
        return [event.without_state() for event in outcome.domain_events]

    async def history(self, likes: int) -> list[DomainEvent]:
        events = await self.command("send", {"text": "Hello"})
        for _ in range(likes):
            events += await self.command("like")
        return events


async def test_each_event_is_handled_once_and_duplicates_are_acknowledged() -> None:
    harness = Harness("never", Recorder())
    events = await harness.history(likes=2)

    results = [await harness.domain.execute_flow("recorder", event) for event in events]
    again = await harness.domain.execute_flow("recorder", events[1])

    assert results == ["acknowledge"] * 3
    assert again == "acknowledge"
    assert harness.recorder.seen == [("sent", 1), ("liked", 2), ("liked", 3)]


async def test_the_next_event_of_an_aggregate_is_claimed_without_a_read() -> None:
    # The tables and the progress share a unit of work here: the flow claims each event in
    # one write, and reads the progress only for one the claim does not fit.
    harness = Harness("never", Recorder())
    events = await harness.history(likes=1)

    for event in events:
        await harness.domain.execute_flow("recorder", event)
    assert (harness.progress.claims, harness.progress.reads) == (2, 0)
    await harness.domain.execute_flow("recorder", events[0])

    assert (harness.progress.claims, harness.progress.reads) == (3, 1)
    assert harness.recorder.seen == [("sent", 1), ("liked", 2)]


async def test_policy_never_skips_the_gap_for_good() -> None:
    harness = Harness("never", Recorder())
    events = await harness.history(likes=2)

    result = await harness.domain.execute_flow("recorder", events[2])
    late = await harness.domain.execute_flow("recorder", events[0])

    assert result == "acknowledge"
    assert late == "acknowledge"
    assert harness.recorder.seen == [("liked", 3)]


async def test_policy_on_demand_defers_until_the_gap_is_filled() -> None:
    harness = Harness("on-demand", Recorder())
    events = await harness.history(likes=2)

    deferred = await harness.domain.execute_flow("recorder", events[2])
    assert deferred == "defer"
    assert harness.recorder.seen == []

    # A replay (here: the missing events arriving) fills the gap; then the event goes through.
    for event in events[:2]:
        assert await harness.domain.execute_flow("recorder", event) == "acknowledge"
    assert await harness.domain.execute_flow("recorder", events[2]) == "acknowledge"
    assert harness.recorder.seen == [("sent", 1), ("liked", 2), ("liked", 3)]


async def test_policy_always_replays_the_gap_itself_and_clears_the_replay_flag() -> None:
    harness = Harness("always", Recorder())
    events = await harness.history(likes=3)

    # The engine without a queue replays the missing events at once, then defers this one.
    deferred = await harness.domain.execute_flow("recorder", events[3])
    assert deferred == "defer"
    assert harness.recorder.seen == [("sent", 1), ("liked", 2), ("liked", 3)]
    progress = await harness.progress.get_progress("recorder", harness.identifier)
    assert progress.revision == 3
    assert progress.is_replaying is False

    assert await harness.domain.execute_flow("recorder", events[3]) == "acknowledge"
    assert harness.recorder.seen[-1] == ("liked", 4)


async def test_policy_always_does_not_start_a_second_replay_while_one_runs() -> None:
    replays: list[tuple[int, int]] = []

    async def remember_replay(
        flow_name: str, identifier: AggregateIdentifier, from_revision: int, to_revision: int
    ) -> None:
        replays.append((from_revision, to_revision))

    harness = Harness("always", Recorder(), perform_replay=remember_replay)
    events = await harness.history(likes=3)

    assert await harness.domain.execute_flow("recorder", events[3]) == "defer"
    assert await harness.domain.execute_flow("recorder", events[3]) == "defer"

    assert replays == [(1, 3)]


async def test_a_flow_never_skips_a_real_event_after_a_rejected_command() -> None:
    # like (rejected, revision 1 on the rejection event), send (revision 1), like (revision 2)
    harness = Harness("never", Recorder())
    rejected = await harness.command("like")
    sent = await harness.command("send", {"text": "Hello"})
    liked = await harness.command("like")
    assert rejected[0].name == "likeRejected"
    assert rejected[0].metadata.revision == sent[0].metadata.revision == 1

    # Even when a rejection event is (wrongly) fed to the flow, it does not move progress.
    for event in [*rejected, *sent, *liked]:
        assert await harness.domain.execute_flow("recorder", event) == "acknowledge"

    assert harness.recorder.seen == [("sent", 1), ("liked", 2)]


async def test_a_crashing_flow_handler_raises_and_does_not_advance_progress() -> None:
    harness = Harness("always", Recorder(crash_on=2))
    events = await harness.history(likes=1)
    await harness.domain.execute_flow("recorder", events[0])

    with pytest.raises(RuntimeError, match="flow handler crashed"):
        await harness.domain.execute_flow("recorder", events[1])

    progress = await harness.progress.get_progress("recorder", harness.identifier)
    assert progress.revision == 1


async def test_commands_issued_by_a_flow_are_caused_by_the_event() -> None:
    harness = Harness("never", Recorder(issue=True))
    (sent,) = await harness.command("send", {"text": "Hello"})

    await harness.domain.execute_flow("recorder", sent)

    (command,) = harness.issued
    assert command.name == "send"
    assert command.metadata.causation_id == sent.id
    assert command.metadata.correlation_id == sent.metadata.correlation_id
    assert command.metadata.initiator == sent.metadata.initiator
    assert command.metadata.client.user.id == "flow"
    # The issued command is a valid command for the engine.
    outcome = await harness.domain.handle_command(command)
    assert outcome.stored
