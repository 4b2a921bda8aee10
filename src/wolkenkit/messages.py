"""The messages that flow through wolkenkit, shaped exactly as the reference puts them on the wire.

Python code uses snake_case attributes (``event.metadata.causation_id``); ``to_json()`` and
``model_dump()`` give the camelCase JSON of the reference (``causationId``). ``data`` is generic:
``DomainEvent[SentData]`` carries a typed model, a bare ``DomainEvent`` a ``dict``.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import Annotated, Any, Generic, Literal, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from typing_extensions import TypeVar

from wolkenkit._pydantic import built
from wolkenkit.serialization import json_object

#: RFC 4122 identifiers are plain strings on the wire; the pattern keeps them honest.
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
#: Names must be usable in a URL and in a GraphQL field name (so the pattern is anchored).
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9]*$"

Uuid = Annotated[str, Field(pattern=UUID_PATTERN, json_schema_extra={"format": "uuid"})]
Name = Annotated[str, Field(pattern=NAME_PATTERN)]

DataT = TypeVar("DataT", default=dict[str, Any])


#: Ids drawn from the system's randomness at a time: one system call per this many ids.
_IDS_PER_DRAW = 128
#: The random hex digits one id takes: 3 of ``rand_a``, 1 for the variant, 15 of ``rand_b``
#: (RFC 9562 gives version 7 74 random bits; 75 are drawn, the variant keeps 2 of 4).
_DIGITS_PER_ID = 19
#: Turns a hex digit into one of 8, 9, a, b: the variant field's first digit (RFC 9562).
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class _RandomHex(threading.local):
    """Random hex digits from ``os.urandom``, drawn in bulk, per thread (so no two threads
    can take the same digits) and renewed in a forked child (see below); and the time part
    of the ids of the current millisecond, formatted once."""

    digits = ""
    offset = 0
    millisecond = -1
    prefix = ""


_random_hex = _RandomHex()


def _forget_random_hex() -> None:
    # A forked child starts with a copy of its parent's digits: it must not hand out the
    # same ids, so it draws its own.
    global _random_hex
    _random_hex = _RandomHex()


os.register_at_fork(after_in_child=_forget_random_hex)


def new_id() -> str:
    """A new time-ordered (version 7) uuid as the wire wants it: 48 bits of the Unix time in
    milliseconds, then 74 random bits.

    The wire asks for any RFC 4122/9562 uuid; ordered by time, ids made close together sort
    close together, so every store's index on them (an event's causation id, an aggregate's
    id, a queue item's id) grows at its end instead of touching a random page per entry: a
    database writes a fraction of the pages per command. Uniqueness rests on the random bits,
    not on the clock. Formatted by hand from random digits drawn in bulk: ``uuid.uuid4()``
    costs several times as much (a system call and a ``UUID`` object per id), and ids are
    made for every command and event.
    """
    state = _random_hex
    millisecond = time.time_ns() // 1_000_000
    if millisecond != state.millisecond:
        state.millisecond = millisecond
        state.prefix = _version_7_prefix(f"{millisecond:012x}")
    offset = state.offset
    digits = state.digits
    if offset == len(digits):
        # Two digits a byte: an even number of ids takes whole bytes.
        digits = state.digits = os.urandom(_DIGITS_PER_ID * _IDS_PER_DRAW // 2).hex()
        offset = 0
    state.offset = offset + _DIGITS_PER_ID
    return _with_random_part(state.prefix, digits[offset : offset + _DIGITS_PER_ID])


def _version_7_prefix(stamp: str) -> str:
    """The first 15 characters of a version-7 uuid: 12 hex digits of milliseconds, two
    dashes, the version digit."""
    return f"{stamp[:8]}-{stamp[8:12]}-7"


def _with_random_part(prefix: str, random: str) -> str:
    """A version-7 uuid of its prefix and 19 random hex digits."""
    return f"{prefix}{random[:3]}-{_VARIANT_DIGIT[random[3]]}{random[4:7]}-{random[7:]}"


def now_ms() -> int:
    """Milliseconds since the epoch, the reference's timestamp."""
    return time.time_ns() // 1_000_000


_ALL_FIELDS: dict[type[BaseModel], set[str]] = {}


def _all_fields(cls: type[BaseModel]) -> set[str]:
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        fields = _ALL_FIELDS[cls] = set(cls.model_fields)
    return fields


class WireModel(BaseModel):
    """Base of all messages: camelCase on the wire, snake_case in Python, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
    )

    def to_json(self) -> dict[str, Any]:
        """The message as the reference's JSON object."""
        return json_object(self)

    @classmethod
    def trusted(cls, **values: Any) -> Self:
        """Build from values that are known to be valid, skipping validation.

        For the engine's hot paths only: every field must be given, already of its type.
        ``model_construct`` does the same but costs several times as much.
        """
        return _built(cls, values)

    def replaced(self, **changes: Any) -> Self:
        """A copy with some fields changed, without validation (see ``trusted``)."""
        # One new dict, handed over as it is: ``trusted(**...)`` would copy it once more.
        return _built(type(self), {**self.__dict__, **changes})


ModelT = TypeVar("ModelT", bound=BaseModel)


def _built(cls: type[ModelT], values: dict[str, Any]) -> ModelT:
    """An instance of ``cls`` whose fields are ``values``, a dict nobody else holds."""
    # All fields are set, and messages are frozen, so nothing ever changes this set in place
    # (``model_copy`` copies it first): one shared set per class saves a container per
    # message, which the garbage collector would otherwise keep scanning.
    fields = _ALL_FIELDS.get(cls)
    if fields is None:
        fields = _all_fields(cls)
    return built(cls, values, fields)


class ContextIdentifier(WireModel):
    name: Name


class AggregateReference(WireModel):
    name: Name
    id: Uuid


class AggregateIdentifier(WireModel):
    """Which aggregate instance: ``{"context": {"name"}, "aggregate": {"name", "id"}}``."""

    context: ContextIdentifier
    aggregate: AggregateReference

    @classmethod
    def of(cls, context_name: str, aggregate_name: str, aggregate_id: str) -> AggregateIdentifier:
        return cls(
            context=ContextIdentifier(name=context_name),
            aggregate=AggregateReference(name=aggregate_name, id=aggregate_id),
        )


class User(WireModel):
    """A user as the token describes it; ``claims`` holds at least ``sub``."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1)]
    claims: dict[str, Any]


class Initiator(WireModel):
    user: User


class ClientMetadata(WireModel):
    """Who sent a request: their token, the user it names, and their address."""

    token: Annotated[str, Field(min_length=1)]
    user: User
    ip: Annotated[str, Field(min_length=1)]


class CommandMetadata(WireModel):
    causation_id: Uuid
    correlation_id: Uuid
    timestamp: int
    client: ClientMetadata
    initiator: Initiator


class DomainEventMetadata(WireModel):
    causation_id: Uuid
    correlation_id: Uuid
    timestamp: Annotated[int, Field(ge=0)]
    revision: Annotated[int, Field(ge=1)]
    initiator: Initiator
    tags: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)


class ItemIdentifier(WireModel):
    """Names one command or domain event: its aggregate, name and id."""

    aggregate_identifier: AggregateIdentifier
    name: Name
    id: Uuid


class Command(WireModel, Generic[DataT]):
    """A command as a client sends it, before the runtime adds id and metadata."""

    aggregate_identifier: AggregateIdentifier
    name: Name
    data: DataT


class CommandWithMetadata(WireModel, Generic[DataT]):
    """A command with its id and metadata, as command handlers receive it."""

    aggregate_identifier: AggregateIdentifier
    name: Name
    data: DataT
    id: Uuid
    metadata: CommandMetadata

    def get_item_identifier(self) -> ItemIdentifier:
        # Its parts are this message's, valid already.
        return ItemIdentifier.trusted(
            aggregate_identifier=self.aggregate_identifier, name=self.name, id=self.id
        )

    def creates_aggregate(self) -> bool:
        """Whether the aggregate was made up for this command: a command sent without an
        aggregate id addresses a new aggregate whose id the server derived from the command's
        (see ``new_command_ids``), so the engine knows it has no history to load. Clients
        cannot forge this: the command's id is drawn by the server when the command arrives."""
        return self.aggregate_identifier.aggregate.id == _new_aggregate_id(self.id)


def new_command_ids(aggregate_id: str | None) -> tuple[str, str]:
    """A new command's id and the id of the aggregate it addresses: the given one, or, for a
    command that creates its aggregate, a different id derived from the command's."""
    command_id = new_id()
    return command_id, aggregate_id or _new_aggregate_id(command_id)


def _new_aggregate_id(command_id: str) -> str:
    """The id of the aggregate that the command ``command_id`` creates: a version-7 uuid of
    the command's time whose random part is a hash of the command's id. It differs from the
    command's (the reference draws two ids, and clients may count on them differing), sorts
    beside the ids of its time as a drawn one would, and the engine can recognise it in the
    queued command alone."""
    digits = hashlib.blake2b(
        command_id.encode(), digest_size=10, person=b"wk.new-aggregate"
    ).hexdigest()
    return _with_random_part(command_id[:14] + "7", digits[:_DIGITS_PER_ID])


def _is_first_version(version: int) -> bool:
    return version == 1


#: ``DomainEvent.to_json`` leaves the version out of what clients receive.
_NOT_FOR_CLIENTS = {"version"}


class DomainEvent(WireModel, Generic[DataT]):
    """Something that happened to an aggregate; revisions count from 1 without gaps."""

    aggregate_identifier: AggregateIdentifier
    name: Name
    data: DataT
    id: Uuid
    metadata: DomainEventMetadata
    #: The version of the data's model the event was written with (``class Sent(Schema,
    #: version=2)``); readers lift older data to the current version before anyone sees it.
    #: Clients never receive it (``to_json``); wolkenkit's own queues and channels carry it,
    #: and leave it out while it is 1, as every event stored before versions existed is.
    version: Annotated[int, Field(ge=1, exclude_if=_is_first_version)] = 1

    def to_json(self) -> dict[str, Any]:
        """The event as the reference's JSON object, which has no version."""
        return json_object(self, exclude=None if self.version == 1 else _NOT_FOR_CLIENTS)

    @property
    def fully_qualified_name(self) -> str:
        """``<context>.<aggregate>.<event>``, as flows match on it."""
        identifier = self.aggregate_identifier
        return f"{identifier.context.name}.{identifier.aggregate.name}.{self.name}"

    def get_item_identifier(self) -> ItemIdentifier:
        # Its parts are this message's, valid already.
        return ItemIdentifier.trusted(
            aggregate_identifier=self.aggregate_identifier, name=self.name, id=self.id
        )


class DomainEventState(WireModel):
    previous: dict[str, Any]
    next: dict[str, Any]


class DomainEventWithState(DomainEvent[DataT], Generic[DataT]):
    """A domain event with the aggregate state before and after it; never sent to clients."""

    state: DomainEventState

    def without_state(self) -> DomainEvent[DataT]:
        return DomainEvent.trusted(
            aggregate_identifier=self.aggregate_identifier,
            name=self.name,
            data=self.data,
            id=self.id,
            metadata=self.metadata,
            version=self.version,
        )


class Snapshot(WireModel):
    """An aggregate's state at a revision, so rehydration need not replay every event.

    ``state_model`` names the model the state was taken under (a fingerprint of its schema;
    empty for a state without a model, and for snapshots stored before fingerprints existed):
    a snapshot of another model is ignored, never misread."""

    aggregate_identifier: AggregateIdentifier
    revision: Annotated[int, Field(ge=0)]
    state: dict[str, Any]
    state_model: str = ""


class Notification(WireModel):
    """A fire-and-forget message to clients; they receive only ``name`` and ``data``."""

    name: Name
    data: dict[str, Any]
    metadata: dict[str, Any] | None = None

    def to_public_json(self) -> dict[str, Any]:
        return {"name": self.name, "data": self.data}


class QueryHandlerIdentifier(WireModel):
    view: ContextIdentifier
    name: Name


ReplayPolicy = Literal["never", "on-demand", "always"]
