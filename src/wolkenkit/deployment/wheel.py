"""The running wolkenkit as a wheel, for apps to install while wolkenkit is not on an index.

``wk init`` puts this wheel into a new project's ``wheels/`` folder, which the project's
``pyproject.toml`` points at, and ``wk build`` sends it to the engine when an app has none, so
an app installs the very wolkenkit that made it, with uv, pip or its Dockerfile.

The wheel is packed from what is running: the files of the ``wolkenkit`` package (the source
tree for an editable install) and the metadata of its installed distribution. That needs no
build tool and no network, and works the same for an editable and a regular install. The
archive is reproducible: the same wolkenkit always packs to the same bytes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import wolkenkit

DISTRIBUTION = "wolkenkit"
#: Where an app keeps the wheels it installs besides those of the package index.
WHEELS_DIRECTORY = "wheels"
#: Never part of the package, whatever lies next to its modules (the ruff.toml files hold
#: the layering's lint rules, for the repository only).
_SKIPPED_NAMES = frozenset(
    {"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".DS_Store", "ruff.toml"}
)
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
# Zip entries carry a time; a fixed one keeps the archive reproducible (zip starts in 1980).
_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


def wheel_name() -> str:
    """The running wolkenkit's wheel's file name, e.g. ``wolkenkit-0.1.0-py3-none-any.whl``."""
    return f"{DISTRIBUTION}-{_version()}-py3-none-any.whl"


def wolkenkit_wheel() -> bytes:
    """The running wolkenkit, packed as a wheel."""
    dist_info = f"{DISTRIBUTION}-{_version()}.dist-info"
    installed = distribution(DISTRIBUTION)
    entries: list[tuple[str, bytes]] = [
        (f"{DISTRIBUTION}/{path}", content) for path, content in _package_files()
    ]
    for name in ("METADATA", "entry_points.txt"):
        text = installed.read_text(name)
        if text is not None:
            entries.append((f"{dist_info}/{name}", text.encode()))
    entries.append((f"{dist_info}/WHEEL", _wheel_file().encode()))
    record = [f"{name},{_digest(content)},{len(content)}" for name, content in entries]
    record.append(f"{dist_info}/RECORD,,")
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=_TIMESTAMP)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, content)
    return buffer.getvalue()


def write_wolkenkit_wheel(directory: Path) -> Path:
    """Write the running wolkenkit's wheel into ``directory/wheels``; returns its path."""
    target = directory / WHEELS_DIRECTORY / wheel_name()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(wolkenkit_wheel())
    return target


def _version() -> str:
    # The installed metadata's, which the wheel carries: file name and METADATA agree.
    return distribution(DISTRIBUTION).version


def _package_files() -> list[tuple[str, bytes]]:
    """The package's files as POSIX paths below it, sorted, without caches."""
    root = Path(wolkenkit.__file__).parent
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part in _SKIPPED_NAMES for part in relative.parts):
            continue
        if path.is_file() and path.suffix not in _SKIPPED_SUFFIXES:
            files.append((relative.as_posix(), path.read_bytes()))
    return files


def _wheel_file() -> str:
    return "Wheel-Version: 1.0\nGenerator: wolkenkit\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _digest(content: bytes) -> str:
    encoded = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=")
    return f"sha256={encoded.decode()}"


__all__ = ["WHEELS_DIRECTORY", "wheel_name", "wolkenkit_wheel", "write_wolkenkit_wheel"]
