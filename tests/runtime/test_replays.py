"""Replays on demand: the configuration is checked with readable errors, and preparing a
replay marks for each flow exactly what it has yet to see."""

from __future__ import annotations

import pytest

from tests.domain.chat_app import build_application
from wolkenkit.errors import ReplayConfigurationInvalid
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.runtime.replay_configuration import SelectedAggregate, parse_replay_configuration
from wolkenkit.runtime.replays import FlowReplay, prepare_replays
from wolkenkit.stores.consumer_progress_store import ReplayRange
from wolkenkit.stores.memory.consumer_progress_store import InMemoryConsumerProgressStore

MESSAGE_ID = "6a4e9f0e-43b8-4a4d-9a6b-4b8f0a0e5c11"
MESSAGE = AggregateIdentifier.of("communication", "message", MESSAGE_ID)


def instance(**fields: object) -> dict[str, object]:
    return {
        "contexts": [
            {
                "contextName": "communication",
                "aggregates": [{"aggregateName": "message", "instances": [fields]}],
            }
        ]
    }


@pytest.mark.parametrize(
    ("configuration", "problem"),
    [
        (
            "{",
            "it is not JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
            "(char 1))",
        ),
        ('{"flow": ["messages"]}', "flow: Extra inputs are not permitted"),
        ('{"flows": ["nope"]}', "flow 'nope' not found (flows: messages)"),
        ('{"flows": ["messages", "messages"]}', "flow 'messages' is named twice"),
        (
            '{"contexts": [{"contextName": "chat"}]}',
            "context 'chat' not found (contexts: communication)",
        ),
        (
            '{"contexts": [{"contextName": "communication", '
            '"aggregates": [{"aggregateName": "post"}]}]}',
            "aggregate 'communication.post' not found (aggregates: message)",
        ),
        (
            instance(aggregateId="42"),
            "contexts.0.aggregates.0.instances.0.aggregateId: Input should be a valid UUID, "
            "invalid length: found 2",
        ),
        (
            instance(aggregateId=MESSAGE_ID, **{"from": 0}),
            "contexts.0.aggregates.0.instances.0.from: Input should be greater than or equal to 1",
        ),
        (
            instance(aggregateId=MESSAGE_ID, **{"from": 5, "to": 2}),
            f"instance {MESSAGE_ID} of 'communication.message' has from (5) greater than to (2)",
        ),
    ],
)
def test_mistakes_in_the_configuration_are_named(
    configuration: str | dict[str, object], problem: str
) -> None:
    with pytest.raises(ReplayConfigurationInvalid) as raised:
        parse_replay_configuration(configuration, build_application())

    assert raised.value.message == f"The replay configuration is invalid: {problem}."


def test_an_empty_configuration_selects_everything() -> None:
    configuration = parse_replay_configuration("{}", build_application())

    assert configuration.flows is None
    assert configuration.contexts is None


async def test_a_flow_replays_only_what_it_has_not_seen() -> None:
    # The flow has seen revisions 1 to 3 of 5: a replay fills in 4 and 5, nothing more.
    progress = InMemoryConsumerProgressStore()
    await progress.set_progress("messages", MESSAGE, 3)

    replays = await prepare_replays(
        ["messages"], [SelectedAggregate(MESSAGE, 1, 5)], progress, reevaluate=False
    )

    assert replays == [FlowReplay("messages", MESSAGE, 4, 5)]
    state = await progress.get_progress("messages", MESSAGE)
    assert state.revision == 3
    assert state.is_replaying == ReplayRange(4, 5)


async def test_re_evaluating_moves_progress_back_to_from() -> None:
    progress = InMemoryConsumerProgressStore()
    await progress.set_progress("messages", MESSAGE, 5)

    replays = await prepare_replays(
        ["messages"], [SelectedAggregate(MESSAGE, 2, 5)], progress, reevaluate=True
    )

    assert replays == [FlowReplay("messages", MESSAGE, 2, 5)]
    state = await progress.get_progress("messages", MESSAGE)
    assert state.revision == 1
    assert state.is_replaying == ReplayRange(2, 5)


async def test_a_flow_that_has_seen_everything_is_left_alone() -> None:
    progress = InMemoryConsumerProgressStore()
    await progress.set_progress("messages", MESSAGE, 5)

    replays = await prepare_replays(
        ["messages"], [SelectedAggregate(MESSAGE, 1, 5)], progress, reevaluate=False
    )

    assert replays == []
    assert (await progress.get_progress("messages", MESSAGE)).is_replaying is False


async def test_a_stale_replay_flag_is_taken_over() -> None:
    # A replay whose process died left its flag; the next replay replaces it.
    progress = InMemoryConsumerProgressStore()
    await progress.set_progress("messages", MESSAGE, 1)
    await progress.set_is_replaying("messages", MESSAGE, ReplayRange(2, 3))

    replays = await prepare_replays(
        ["messages"], [SelectedAggregate(MESSAGE, 1, 5)], progress, reevaluate=False
    )

    assert replays == [FlowReplay("messages", MESSAGE, 2, 5)]
    assert (await progress.get_progress("messages", MESSAGE)).is_replaying == ReplayRange(2, 5)
