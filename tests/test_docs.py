"""The documentation refers only to documents that a clone of the repository has."""

from __future__ import annotations

import re
from pathlib import Path

REPOSITORY = Path(__file__).parent.parent
_DOCUMENT = re.compile(r"[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b")


def written_text() -> list[Path]:
    """What people read: the READMEs, the docs, the changelog, our modules and templates."""
    package = REPOSITORY / "src" / "wolkenkit"
    return [
        REPOSITORY / "README.md",
        REPOSITORY / "CHANGELOG.md",
        *sorted((REPOSITORY / "docs").glob("*.md")),
        *sorted(path for path in package.rglob("*.py") if "third_party" not in path.parts),
        *sorted(package.rglob("*.jinja")),
    ]


def test_every_markdown_document_named_is_in_the_repository() -> None:
    # A pointer to a document outside the repository (notes kept elsewhere) leads nowhere.
    documents = {path.name for path in REPOSITORY.rglob("*.md") if ".venv" not in path.parts}
    missing = {
        f"{path.relative_to(REPOSITORY)}: {name}"
        for path in written_text()
        for name in _DOCUMENT.findall(path.read_text())
        if Path(name).name not in documents
    }

    assert sorted(missing) == []
