"""Reading a handler function's signature: what each parameter asks for, by its annotation.

A handler asks for what it uses, FastAPI-style::

    def send(message: Message, command: Send, aggregate: AggregateService[Message]) -> Sent:

Each kind of handler offers a table of :class:`Offer`s (the state, the message's data, the
services, ...). Binding matches every parameter's annotation against that table once, at load
time, and yields a :class:`Call` that builds the arguments from what the engine passes. A
parameter nothing offers is a load error naming the function's file and line.
"""

from __future__ import annotations

import inspect
import linecache
import re
import sys
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from wolkenkit._pydantic import generic_arguments, generic_origin
from wolkenkit.errors import ApplicationError
from wolkenkit.messages import WireModel

#: Builds one argument from what the engine passes to a handler of the kind.
Getter = Callable[..., Any]


def wire_name(python_name: str) -> str:
    """``flow_messages_updated`` and ``FlowMessagesUpdated`` both give ``flowMessagesUpdated``."""
    head, *rest = python_name.strip("_").split("_")
    camel = head + "".join(part[:1].upper() + part[1:] for part in rest)
    return camel[:1].lower() + camel[1:]


_DEF = re.compile(r"\s*((async\s+)?def|class)\s")

#: On a function wolkenkit wrote for a class of the app (the handler of an event class): that
#: class, whose statement its load errors name.
WRITTEN_FOR = "_wolkenkit_written_for"


def where(function: Callable[..., Any]) -> str:
    """``file:line`` of a function's ``def`` (or of the class it was written for), for load
    errors."""
    written_for: type[Any] | None = getattr(function, WRITTEN_FOR, None)
    if written_for is not None:
        return class_where(written_for)
    code = getattr(function, "__code__", None)
    if code is None:
        return repr(function)
    return f"{code.co_filename}:{_def_line(code.co_filename, code.co_firstlineno)}"


def caller() -> str:
    """``file:line`` of the code that called the caller: where an app defined something."""
    frame = sys._getframe(2)
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def class_where(cls: type[Any]) -> str:
    """``file:line`` of a class statement (not of its decorator: ``@aggregate.event``)."""
    try:
        _, first_line = inspect.getsourcelines(cls)
        filename = inspect.getsourcefile(cls)
    except (OSError, TypeError):
        return cls.__module__
    if filename is None:
        return f"{cls.__module__}:{first_line}"
    return f"{filename}:{_def_line(filename, first_line)}"


def _def_line(filename: str, first_line: int) -> int:
    """Decorated code starts at its first decorator; the ``def`` (or ``class``) is what a
    reader looks for, a few lines further down."""
    lines = linecache.getlines(filename)
    for number in range(first_line, min(first_line + 50, len(lines)) + 1):
        if _DEF.match(lines[number - 1]):
            return number
    return first_line


def load_error(
    function: Callable[..., Any], detail: str, error: type[ApplicationError]
) -> ApplicationError:
    name = getattr(function, "__name__", repr(function))
    return error(f"Handler '{name}' ({where(function)}) is malformed: {detail}")


def documentation(function: Callable[..., Any]) -> str | None:
    doc = function.__doc__
    return inspect.cleandoc(doc) if doc else None


def origin(annotation: Any) -> Any:
    """``Infrastructure[A, B]`` gives ``Infrastructure``; a plain class gives itself."""
    return typing.get_origin(annotation) or annotation


def is_model(annotation: Any) -> bool:
    """An app's data model; wolkenkit's own records (``ClientMetadata``, ``DomainEvent[...]``)
    are pydantic models too, but never a message's data, so they are asked for by type."""
    return (
        isinstance(annotation, type)
        and issubclass(annotation, BaseModel)
        and not issubclass(annotation, WireModel)
    )


def the_model(annotation: Any) -> type[BaseModel]:
    """The schema of a parameter annotated with the model itself."""
    return typing.cast(type[BaseModel], annotation)


def model_argument(annotation: Any) -> type[BaseModel] | None:
    """``DomainEvent[Sent]`` gives ``Sent``; no model argument gives ``None``."""
    arguments = generic_arguments(annotation) or typing.get_args(annotation)
    for argument in arguments:
        if is_model(argument):
            return typing.cast(type[BaseModel], argument)
    return None


def is_instance_of(*classes: type) -> Callable[[Any], bool]:
    """Matches annotations that are one of ``classes`` (or parametrised forms of them)."""

    def matches(annotation: Any) -> bool:
        found = generic_origin(origin(annotation))
        return isinstance(found, type) and issubclass(found, classes)

    return matches


@dataclass(frozen=True)
class Offer:
    """Something a handler kind can pass: which annotations ask for it, and how to get it."""

    matches: Callable[[Any], bool]
    get: Getter
    #: For the offers that carry the message's schema: the schema an annotation names
    #: (``Send`` for the data itself, ``Send`` of ``CommandWithMetadata[Send]``).
    schema_of: Callable[[Any], type[BaseModel] | None] | None = None
    #: Given to one parameter only: the next one that matches goes on to the other offers.
    once: bool = False
    #: For offers whose argument depends on the annotation (``Rows[Message]``): builds the
    #: getter from it, in place of ``get``.
    get_for: Callable[[Any], Getter] | None = None
    #: For what a kind must not ask for: why, as the load error says.
    refusal: str | None = None


@dataclass(frozen=True)
class Call:
    """A bound handler: the function and how to build each of its arguments."""

    function: Callable[..., Any]
    getters: tuple[Getter, ...]
    #: The model a schema-carrying parameter named, if any.
    schema: type[BaseModel] | None
    return_annotation: Any
    #: Each parameter's annotation, for checks that need the whole app (a table per model).
    annotations: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "invoke", _specialised(self.function, self.getters))

    #: The call itself, without building an argument list: handlers run per command.
    invoke: Callable[..., Any] = field(init=False, repr=False, compare=False)

    def __call__(self, *passed: Any) -> Any:
        return self.invoke(*passed)


def _specialised(function: Callable[..., Any], getters: tuple[Getter, ...]) -> Callable[..., Any]:
    """``function`` called with its arguments built by ``getters``, unrolled for the usual
    few parameters."""
    if not getters:
        return lambda *passed: function()
    if len(getters) == 1:
        (first,) = getters
        return lambda *passed: function(first(*passed))
    if len(getters) == 2:
        first, second = getters
        return lambda *passed: function(first(*passed), second(*passed))
    if len(getters) == 3:
        first, second, third = getters
        return lambda *passed: function(first(*passed), second(*passed), third(*passed))
    return lambda *passed: function(*[get(*passed) for get in getters])


def hints(function: Callable[..., Any], error: type[ApplicationError]) -> dict[str, Any]:
    """The function's evaluated annotations; an unresolvable one is a load error."""
    try:
        return typing.get_type_hints(function)
    except Exception as problem:
        raise load_error(
            function, f"Its annotations cannot be resolved ({problem}).", error
        ) from None


def bind(
    function: Callable[..., Any],
    offers: Sequence[Offer],
    error: type[ApplicationError],
    what: str,
) -> Call:
    """Matches each parameter of ``function`` to the first offer that accepts its annotation.

    ``what`` words the kind for errors (``"a command handler"``)."""
    if not callable(function):
        raise error(f"{what.capitalize()} must be a function, not {function!r}.")
    annotations = hints(function, error)
    getters: list[Getter] = []
    schema: type[BaseModel] | None = None
    used: set[int] = set()
    asked: list[Any] = []
    for parameter in inspect.signature(function).parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            raise load_error(function, f"Parameter '*{parameter.name}' is not supported.", error)
        if parameter.kind is parameter.KEYWORD_ONLY:
            raise load_error(
                function, f"Parameter '{parameter.name}' must not be keyword-only.", error
            )
        annotation = annotations.get(parameter.name, inspect.Parameter.empty)
        if annotation is inspect.Parameter.empty:
            raise load_error(
                function,
                f"Parameter '{parameter.name}' has no annotation, so nothing says what it is.",
                error,
            )
        offer = next(
            (
                offer
                for offer in offers
                if offer.matches(annotation) and not (offer.once and id(offer) in used)
            ),
            None,
        )
        if offer is None:
            raise load_error(
                function,
                f"Parameter '{parameter.name}: {_spelled(annotation)}' asks for something "
                f"{what} is not given.",
                error,
            )
        if offer.refusal is not None:
            raise load_error(
                function,
                f"Parameter '{parameter.name}: {_spelled(annotation)}' is not given: "
                f"{offer.refusal}",
                error,
            )
        if offer.schema_of is not None:
            found = offer.schema_of(annotation)
            if schema is not None and found is not None and found is not schema:
                raise load_error(
                    function,
                    f"Parameters name two data models, {schema.__name__} and {found.__name__}.",
                    error,
                )
            schema = found or schema
        used.add(id(offer))
        getters.append(offer.get if offer.get_for is None else offer.get_for(annotation))
        asked.append(annotation)
    return Call(
        function,
        tuple(getters),
        schema,
        annotations.get("return", inspect.Parameter.empty),
        tuple(asked),
    )


def models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a return annotation names: ``Sent``, ``Sent | Liked``, ``list[Sent]``,
    ``Sent | None``, ``Iterable[Item]``, ``AsyncIterator[Item]``."""
    if is_model(annotation):
        return [annotation]
    found: list[type[BaseModel]] = []
    for argument in typing.get_args(annotation):
        for model in models_in(argument):
            if model not in found:
                found.append(model)
    return found


def _spelled(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or repr(annotation)
    return re.sub(r"\b(typing|collections\.abc|builtins)\.", "", str(text))
