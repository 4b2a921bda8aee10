"""``wk init``: prompts for what is missing, refuses to overwrite, errors are one line."""

from __future__ import annotations

from pathlib import Path

from tests.scaffolds.helpers import wk


def test_name_and_template_given_create_the_project_without_asking(tmp_path: Path) -> None:
    # No stdin at all: a prompt would abort the command.
    result = wk("init", "demo", "--template", "chat", cwd=tmp_path, stdin="")

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "demo" / "server" / "domain" / "communication" / "message.py").is_file()
    assert f"in {tmp_path / 'demo'}" in result.stdout
    for next_step in ("cd demo", "wk describe", "pytest", "wk dev"):
        assert next_step in result.stdout


def test_directory_option_chooses_where_the_project_goes(tmp_path: Path) -> None:
    result = wk("init", "demo", "-t", "chat", "-d", "apps/chat", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "apps" / "chat" / "pyproject.toml").is_file()
    assert not (tmp_path / "demo").exists()
    assert "cd apps/chat" in result.stdout


def test_missing_name_and_template_are_asked_for(tmp_path: Path) -> None:
    # The template question offers chat as its default, taken by an empty answer.
    result = wk("init", cwd=tmp_path, stdin="demo\n\n")

    assert result.returncode == 0, result.stderr
    assert "Name of the project" in result.stdout
    assert "Template" in result.stdout
    assert 'name = "demo"' in (tmp_path / "demo" / "pyproject.toml").read_text()


def test_existing_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    existing = tmp_path / "demo"
    existing.mkdir()
    (existing / "notes.txt").write_text("keep me")

    result = wk("init", "demo", "--template", "chat", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"Error: Directory '{existing}' already exists."]
    assert [path.name for path in existing.iterdir()] == ["notes.txt"]


def test_unknown_template_names_the_available_ones(tmp_path: Path) -> None:
    result = wk("init", "demo", "--template", "nope", cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: Template 'nope' not found; available templates: blank, chat."
    ]
    assert not (tmp_path / "demo").exists()


def test_invalid_name_is_refused_before_the_template_is_asked_for(tmp_path: Path) -> None:
    result = wk("init", "not a name", cwd=tmp_path, stdin="chat\n")

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "'not a name' is not a valid project name" in result.stderr
    assert "Template" not in result.stdout
    assert list(tmp_path.iterdir()) == []
