"""The running wolkenkit as a wheel: complete, valid, free of caches, and reproducible."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import wolkenkit
from wolkenkit.deployment.wheel import wheel_name, wolkenkit_wheel, write_wolkenkit_wheel


def test_the_wheel_holds_the_package_and_its_metadata() -> None:
    with zipfile.ZipFile(io.BytesIO(wolkenkit_wheel())) as wheel:
        names = wheel.namelist()
        dist_info = f"wolkenkit-{wolkenkit.__version__}.dist-info"
        metadata = wheel.read(f"{dist_info}/METADATA").decode()
        entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()

    assert wheel_name() == f"wolkenkit-{wolkenkit.__version__}-py3-none-any.whl"
    assert "wolkenkit/__init__.py" in names
    assert "wolkenkit/py.typed" in names
    assert "wolkenkit/scaffolds/chat/copier.yml" in names
    assert f"Version: {wolkenkit.__version__}" in metadata.splitlines()
    assert "wk = wolkenkit.cli.entry:run" in entry_points
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    # The layering's lint rules stay in the repository.
    assert not [name for name in names if name.endswith("ruff.toml")]


def test_its_record_lists_every_file_with_its_hash() -> None:
    with zipfile.ZipFile(io.BytesIO(wolkenkit_wheel())) as wheel:
        [record_name] = [name for name in wheel.namelist() if name.endswith(".dist-info/RECORD")]
        record = {
            line.split(",")[0]: line.split(",")[1]
            for line in wheel.read(record_name).decode().splitlines()
        }
        for name in wheel.namelist():
            if name == record_name:
                assert record[name] == ""
                continue
            digest = hashlib.sha256(wheel.read(name)).digest()
            expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            assert record[name] == f"sha256={expected}", name

    assert len(record) == len(wheel.namelist())


def test_the_same_wolkenkit_packs_to_the_same_bytes(tmp_path: Path) -> None:
    first = write_wolkenkit_wheel(tmp_path / "first")
    second = write_wolkenkit_wheel(tmp_path / "second")

    assert first == tmp_path / "first" / "wheels" / wheel_name()
    assert first.read_bytes() == second.read_bytes()
