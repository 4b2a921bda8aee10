"""Loading an app directory: layout, imports, reloading, and errors raised while importing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.application.app_files import AGGREGATE, CHAT, HANDLERS, write_app
from wolkenkit.application.application import Hooks, InfrastructureDefinition
from wolkenkit.application.loader import load_application
from wolkenkit.errors import (
    AggregateDefinitionMalformed,
    ApplicationMalformed,
    ApplicationNotFound,
    DirectoryNotFound,
    FileNotFound,
)

MESSAGE = "server/domain/communication/message.py"


def test_loads_the_chat_app() -> None:
    # Every part of the fixture app is found under the names of its files and directories.
    application = load_application(CHAT)

    assert application.root_directory == CHAT.absolute()
    assert application.name == "chat"
    message = application.domain["communication"]["message"]
    assert set(message.command_handlers) == {"send", "like"}
    assert set(message.domain_event_handlers) == {
        "sent",
        "liked",
        "sendRejected",
        "sendFailed",
        "likeRejected",
        "likeFailed",
    }
    assert message.initial_state().model_dump() == {"text": "", "likes": 0}
    assert application.flows["messages"].replay_policy == "always"
    assert set(application.views["messages"].query_handlers) == {"all"}
    assert set(application.notifications) == {"flowMessagesUpdated", "viewMessagesUpdated"}
    assert application.infrastructure.get_infrastructure.__module__ == "server.infrastructure"
    assert application.hooks == Hooks()


def test_a_missing_application_directory_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ApplicationNotFound) as raised:
        load_application(tmp_path / "nowhere")

    assert raised.value.message == f"Application directory '{tmp_path / 'nowhere'}' not found."


def test_server_is_required(tmp_path: Path) -> None:
    with pytest.raises(DirectoryNotFound) as raised:
        load_application(tmp_path)

    assert raised.value.message == f"Directory '{tmp_path}/server' not found."


def test_server_domain_is_required(tmp_path: Path) -> None:
    # An app without a domain has nothing to offer, so this is the one required directory.
    write_app(tmp_path, {"server/views/": ""})

    with pytest.raises(DirectoryNotFound) as raised:
        load_application(tmp_path)

    assert raised.value.message == f"Directory '{tmp_path}/server/domain' not found."


def test_everything_but_the_domain_is_optional(tmp_path: Path) -> None:
    write_app(tmp_path, {"server/domain/": ""})

    application = load_application(tmp_path)

    assert application.domain == {}
    assert application.flows == {}
    assert application.views == {}
    assert application.notifications == {}
    assert application.hooks == Hooks()
    assert application.infrastructure == InfrastructureDefinition()


def test_helpers_hidden_files_and_other_files_are_skipped(tmp_path: Path) -> None:
    # Only ``<name>.py`` files and packages are definitions; contexts are directories.
    write_app(
        tmp_path,
        {
            MESSAGE: AGGREGATE,
            "server/domain/communication/_helpers.py": "raise RuntimeError('not imported')",
            "server/domain/communication/.draft.py": "raise RuntimeError('not imported')",
            "server/domain/communication/README.md": "# Communication",
            "server/domain/notes.py": "raise RuntimeError('not imported')",
            "server/domain/_shared/": "",
            "server/flows/.DS_Store": "",
        },
    )

    application = load_application(tmp_path)

    assert list(application.domain) == ["communication"]
    assert list(application.domain["communication"]) == ["message"]
    assert application.flows == {}


def test_definitions_may_be_packages_that_import_absolutely_and_relatively(tmp_path: Path) -> None:
    # No __init__.py is needed above the definitions; inside, app modules import each other.
    write_app(
        tmp_path,
        {
            "server/domain/communication/message/__init__.py": """
                from server.domain.communication.message.handlers import aggregate
            """,
            "server/domain/communication/message/handlers.py": AGGREGATE,
            "server/views/messages/__init__.py": """
                from .queries import view
            """,
            "server/views/messages/queries.py": """
                from wolkenkit import Everyone, View

                from ...infrastructure import GREETING

                view = View(authorize=Everyone)


                @view.value
                def greeting() -> dict[str, str]:
                    return {"text": GREETING}
            """,
            "server/infrastructure.py": 'GREETING = "hello"',
        },
    )

    application = load_application(tmp_path)

    assert set(application.domain["communication"]["message"].command_handlers) == {"send"}
    assert set(application.views["messages"].query_handlers) == {"greeting"}


def test_a_definition_package_needs_an_init_module(tmp_path: Path) -> None:
    write_app(tmp_path, {"server/domain/communication/message/handlers.py": AGGREGATE})

    with pytest.raises(FileNotFound) as raised:
        load_application(tmp_path)

    assert raised.value.message == (
        "No aggregate definition in 'server/domain/communication/message/' found: "
        "'__init__.py' is missing."
    )


def test_loading_again_sees_changed_files(tmp_path: Path) -> None:
    # Hot reloading relies on this: the edit has the same size and happens within the same
    # second, which a bytecode cache keyed on mtime and size cannot tell apart.
    source = HANDLERS.replace("@aggregate.command\n", '@aggregate.command(name="sendA")\n')
    write_app(tmp_path, {MESSAGE: (*AGGREGATE[:2], source)})
    first = load_application(tmp_path)
    source = source.replace("sendA", "sendB")
    write_app(tmp_path, {MESSAGE: (*AGGREGATE[:2], source)})

    second = load_application(tmp_path)

    assert set(first.domain["communication"]["message"].command_handlers) == {"sendA"}
    assert set(second.domain["communication"]["message"].command_handlers) == {"sendB"}


def test_loading_another_app_does_not_see_the_first(tmp_path: Path) -> None:
    write_app(tmp_path / "first", {MESSAGE: AGGREGATE, "server/infrastructure.py": ""})
    write_app(tmp_path / "second", {"server/domain/": ""})
    load_application(tmp_path / "first")

    second = load_application(tmp_path / "second")

    assert second.domain == {}
    assert second.infrastructure == InfrastructureDefinition()


def test_loading_leaves_the_import_system_as_it_was(tmp_path: Path) -> None:
    write_app(tmp_path, {MESSAGE: AGGREGATE})
    path, hooks = list(sys.path), list(sys.path_hooks)

    load_application(tmp_path)

    assert sys.path == path
    assert sys.path_hooks == hooks
    assert not any(Path(entry).is_relative_to(tmp_path) for entry in sys.path_importer_cache)


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write_app(tmp_path, {MESSAGE: "import pydantic\naggregate = ]"})

    with pytest.raises(ApplicationMalformed) as raised:
        load_application(tmp_path)

    assert raised.value.message == f"Syntax error in '{MESSAGE}' (line 2): unmatched ']'."


def test_a_missing_import_names_the_importing_file(tmp_path: Path) -> None:
    write_app(tmp_path, {MESSAGE: "import nonexistent_module_of_wolkenkit_tests"})

    with pytest.raises(ApplicationMalformed) as raised:
        load_application(tmp_path)

    assert raised.value.message == (
        f"Missing import in '{MESSAGE}': No module named 'nonexistent_module_of_wolkenkit_tests'."
    )


def test_a_missing_import_deeper_in_the_app_names_that_file(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {
            MESSAGE: "from server.domain.communication._shared import helper",
            "server/domain/communication/_shared.py": "from server.nothing import helper",
        },
    )

    with pytest.raises(ApplicationMalformed) as raised:
        load_application(tmp_path)

    assert raised.value.message == (
        "Missing import in 'server/domain/communication/_shared.py': "
        "No module named 'server.nothing'."
    )


def test_an_exception_while_importing_names_file_line_and_exception(tmp_path: Path) -> None:
    write_app(tmp_path, {MESSAGE: "ratio = 1 / 0"})

    with pytest.raises(ApplicationMalformed) as raised:
        load_application(tmp_path)

    assert raised.value.message == (
        f"Importing '{MESSAGE}' failed (line 1): ZeroDivisionError: division by zero."
    )


def test_a_module_without_its_definition_is_malformed(tmp_path: Path) -> None:
    write_app(tmp_path, {MESSAGE: "message = None"})

    with pytest.raises(AggregateDefinitionMalformed) as raised:
        load_application(tmp_path)

    assert raised.value.message == (
        f"Aggregate definition '{MESSAGE}' is malformed: Attribute 'aggregate' is missing."
    )


def test_a_definition_of_the_wrong_type_is_malformed(tmp_path: Path) -> None:
    write_app(tmp_path, {MESSAGE: "aggregate = {'initial_state': dict}"})

    with pytest.raises(AggregateDefinitionMalformed) as raised:
        load_application(tmp_path)

    assert raised.value.message == (
        f"Aggregate definition '{MESSAGE}' is malformed: "
        "Attribute 'aggregate' is a dict, not an Aggregate."
    )


def test_the_users_aggregate_is_not_changed_by_adding_system_events(tmp_path: Path) -> None:
    write_app(tmp_path, {MESSAGE: AGGREGATE})

    application = load_application(tmp_path)

    user_module = sys.modules["server.domain.communication.message"]
    assert set(user_module.aggregate.domain_event_handlers) == {"sent"}
    loaded = application.domain["communication"]["message"]
    assert loaded.command_handlers == user_module.aggregate.command_handlers
    assert "sendRejected" in loaded.domain_event_handlers
