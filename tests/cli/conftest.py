from __future__ import annotations

from pathlib import Path

import pytest

from wolkenkit.scaffolds import create_project


@pytest.fixture
def chat(tmp_path: Path) -> Path:
    """A new chat sample, as ``wk init`` writes it."""
    return create_project("chat", template="chat", directory=tmp_path / "chat")
