"""``create_project``: templates by folder, answers rendered, nothing overwritten or leaked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import wolkenkit
from wolkenkit import scaffolds
from wolkenkit.errors import CliError, DirectoryAlreadyExists
from wolkenkit.scaffolds import available_templates, create_project


def test_every_folder_with_a_copier_yml_is_a_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "copier.yml").write_text("_subdirectory: template\n")
    (tmp_path / "not-a-template").mkdir()
    monkeypatch.setattr(scaffolds, "TEMPLATES_DIRECTORY", tmp_path)

    assert available_templates() == ["blank"]


def test_chat_is_bundled() -> None:
    assert "chat" in available_templates()


def test_answers_are_rendered_into_the_project(tmp_path: Path) -> None:
    target = create_project("my-chat", "chat", tmp_path / "somewhere", description='Says "hi"')

    assert target == tmp_path / "somewhere"
    pyproject = (target / "pyproject.toml").read_text()
    assert 'name = "my-chat"' in pyproject
    assert 'description = "Says \\"hi\\""' in pyproject
    assert f'"wolkenkit>={wolkenkit.__version__}"' in pyproject
    assert (target / "README.md").read_text().startswith('# my-chat\n\nSays "hi"\n')
    # Only files ending in .jinja are templates; they lose the suffix.
    assert not list(target.rglob("*.jinja"))


def test_caches_in_the_template_are_not_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An installed wheel has bytecode caches next to the template's Python files.
    templates = tmp_path / "templates"
    shutil.copytree(scaffolds.TEMPLATES_DIRECTORY / "chat", templates / "chat")
    cache = templates / "chat" / "template" / "server" / "__pycache__"
    cache.mkdir()
    (cache / "infrastructure.cpython-311.pyc").write_bytes(b"")
    monkeypatch.setattr(scaffolds, "TEMPLATES_DIRECTORY", templates)

    target = create_project("demo", "chat", tmp_path / "demo")

    assert not list(target.rglob("__pycache__"))
    assert not list(target.rglob("*.pyc"))


def test_an_existing_directory_is_never_touched(tmp_path: Path) -> None:
    with pytest.raises(DirectoryAlreadyExists, match="already exists"):
        create_project("demo", "chat", tmp_path)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["", "-demo", "demo-", "my chat", "dé", "a/b"])
def test_names_must_be_distribution_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(CliError, match="not a valid project name"):
        create_project(name, "chat", tmp_path / "demo")


def test_unknown_template_lists_the_available_ones(tmp_path: Path) -> None:
    with pytest.raises(CliError, match="available templates: blank, chat"):
        create_project("demo", "nope", tmp_path / "demo")
