"""Each fast path around pydantic's public API (``wolkenkit._pydantic``, ``WireModel.trusted``
and ``replaced``, the state's merge and copy, ``frozen_record``) gives what the public call
gives, over generated values: a pydantic release that changes what they rely on fails here
before it misleads the engine."""

from __future__ import annotations

import dataclasses
import random
import string
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wolkenkit import Schema, _pydantic
from wolkenkit.domain.state import StateCodec
from wolkenkit.messages import (
    AggregateIdentifier,
    CommandWithMetadata,
    DomainEvent,
    new_id,
)
from wolkenkit.records import frozen_record
from wolkenkit.testing.builders import build_command, build_domain_event

ROUNDS = 200


class Inner(BaseModel):
    label: str
    weight: float = 1.0


class State(BaseModel):
    """A state with a field of every kind a state is made of."""

    model_config = ConfigDict(populate_by_name=True)

    title: str = ""
    count: int = 0
    ratio: float = 0.0
    done: bool = False
    tags: list[str] = Field(default_factory=list)
    scores: dict[str, int] = Field(default_factory=dict)
    inner: Inner | None = None
    kind: Literal["a", "b"] = "a"
    renamed: str = Field(default="", alias="renamedField")


class Sent(Schema):
    text: str
    likes: int = 0


def text(generator: random.Random) -> str:
    # Now and then beyond ASCII: JSON escaping must agree too.
    alphabet = string.ascii_letters + string.digits + ' äöü€😀"\\\n'
    return "".join(generator.choice(alphabet) for _ in range(generator.randint(0, 12)))


def state_data(generator: random.Random) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if generator.random() < 0.8:
        data["title"] = text(generator)
    if generator.random() < 0.8:
        data["count"] = generator.randint(-(2**40), 2**40)
    if generator.random() < 0.5:
        data["ratio"] = generator.uniform(-1e6, 1e6)
    if generator.random() < 0.5:
        data["done"] = generator.random() < 0.5
    if generator.random() < 0.5:
        data["tags"] = [text(generator) for _ in range(generator.randint(0, 4))]
    if generator.random() < 0.5:
        data["scores"] = {text(generator): generator.randint(0, 9) for _ in range(3)}
    if generator.random() < 0.5:
        data["inner"] = {"label": text(generator), "weight": generator.random()}
    if generator.random() < 0.3:
        data["kind"] = generator.choice(["a", "b"])
    if generator.random() < 0.3:
        data["renamedField"] = text(generator)
    return data


def generated(count: int = ROUNDS) -> list[random.Random]:
    return [random.Random(seed) for seed in range(count)]


def test_validation_and_dumping_equal_the_public_calls() -> None:
    for generator in generated():
        data = state_data(generator)
        model = State.model_validate(data)
        fast = _pydantic.validated(State, data)
        assert (fast, fast.model_fields_set) == (model, model.model_fields_set)
        assert _pydantic.json_object(model) == model.model_dump(mode="json")
        assert _pydantic.json_text(model) == model.model_dump_json()
        assert _pydantic.json_text(model, exclude={"tags"}) == model.model_dump_json(
            exclude={"tags"}
        )
        assert _pydantic.json_object(model, exclude={"inner"}) == model.model_dump(
            mode="json", exclude={"inner"}
        )
        assert _pydantic.validated_json(
            State, model.model_dump_json()
        ) == State.model_validate_json(model.model_dump_json())
        by_name = {
            "renamed": text(generator),
            **{k: v for k, v in data.items() if k != "renamedField"},
        }
        assert _pydantic.validated_by_name(State, by_name) == State.model_validate(
            by_name, by_name=True
        )


def test_invalid_data_fails_as_the_public_call_fails() -> None:
    for generator in generated(50):
        data = {**state_data(generator), generator.choice(["count", "tags", "kind"]): object()}
        with pytest.raises(ValidationError) as public:
            State.model_validate(data)
        with pytest.raises(ValidationError) as fast:
            _pydantic.validated(State, data)
        assert fast.value.errors() == public.value.errors()


def events(generator: random.Random) -> DomainEvent[Any]:
    identifier = AggregateIdentifier.of("communication", "message", new_id())
    event = build_domain_event(
        identifier,
        "sent",
        {"text": text(generator), "likes": generator.randint(0, 99)},
        revision=generator.randint(1, 1000),
    )
    return event.replaced(version=generator.randint(1, 3))


def test_trusted_and_replaced_messages_equal_validated_ones() -> None:
    for generator in generated():
        event = events(generator)
        as_json = event.model_dump(mode="json")
        validated = DomainEvent[dict[str, Any]].model_validate(as_json)

        values = dict(validated)
        trusted = DomainEvent[dict[str, Any]].trusted(**values)
        constructed = DomainEvent[dict[str, Any]].model_construct(**values)
        # The values are the validated ones; every field counts as set, as when constructed.
        assert trusted == validated
        assert trusted.model_fields_set == constructed.model_fields_set
        assert trusted.to_json() == validated.to_json()
        assert trusted.model_dump_json() == validated.model_dump_json()

        likes = generator.randint(100, 200)
        data = {**validated.data, "likes": likes}
        replaced = validated.replaced(data=data)
        copied = validated.model_copy(update={"data": data})
        assert replaced == copied
        assert replaced.model_dump_json() == copied.model_dump_json()

        command = build_command(event.aggregate_identifier, "send", {"text": text(generator)})
        assert CommandWithMetadata[dict[str, Any]].trusted(**dict(command)) == command


def test_the_states_merge_equals_model_copy_with_update() -> None:
    for generator in generated():
        state = State.model_validate(state_data(generator))
        changes = {
            key: value
            for key, value in State.model_validate(state_data(generator)).__dict__.items()
            if generator.random() < 0.5
        }

        merged = _pydantic.merged(state, changes)
        copied = state.model_copy(update=changes)
        assert (merged, merged.model_fields_set) == (copied, copied.model_fields_set)
        assert StateCodec(State).advance(state, changes) == copied


def test_the_states_copy_equals_a_deep_model_copy_and_shares_nothing_mutable() -> None:
    codec = StateCodec(State)
    for generator in generated():
        state = State.model_validate(state_data(generator))

        handed_out = codec.handed_out(state)
        deep = state.model_copy(deep=True)
        assert (handed_out, handed_out.model_fields_set) == (deep, deep.model_fields_set)
        handed_out.tags.append("changed in place")
        handed_out.scores["changed"] = 1
        if handed_out.inner is not None:
            handed_out.inner.label = "changed in place"
        assert state == State.model_validate(state.model_dump(by_alias=True))
        assert "changed in place" not in state.tags


def test_generic_arguments_and_origin_of_parametrised_models() -> None:
    assert _pydantic.generic_arguments(DomainEvent[Sent]) == (Sent,)
    assert _pydantic.generic_origin(DomainEvent[Sent]) is DomainEvent
    assert _pydantic.generic_arguments(DomainEvent) == ()
    assert _pydantic.generic_origin(Sent) is Sent
    assert _pydantic.generic_arguments(list[Sent]) is None


def test_a_frozen_record_behaves_as_a_frozen_dataclass_does() -> None:
    @frozen_record
    class Fast:
        name: str
        count: int = 0

    @dataclasses.dataclass(frozen=True, slots=True)
    class Public:
        name: str
        count: int = 0

    for generator in generated(50):
        name, count = text(generator), generator.randint(0, 9)
        fast, public = Fast(name, count), Public(name, count)
        assert dataclasses.astuple(fast) == dataclasses.astuple(public)
        assert hash(fast) == hash(public)
        assert fast == Fast(name, count)
        with pytest.raises(AttributeError):
            fast.other = 1  # type: ignore[attr-defined]
