"""``wk token``: a token the runtime accepts; given the wrong files, each mistake is one
readable line and exit code 1."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.cli.helpers import WK
from tests.runtime.conftest import Keys
from tests.scaffolds.helpers import wk


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A key pair as a user has it lying around, with the wrong files beside it."""
    keys = Keys(tmp_path / "keys")
    public = keys.private_key.public_key()
    (tmp_path / "public.pem").write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (tmp_path / "private.pem").write_bytes(keys.private_pem)
    (tmp_path / "certificate.pem").write_bytes((keys.directory / "certificate.pem").read_bytes())
    (tmp_path / "encrypted.pem").write_bytes(
        keys.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    (tmp_path / "ec.pem").write_bytes(
        ec.generate_private_key(ec.SECP256R1()).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "claims.json").write_text('{"sub": "jane"}')
    (tmp_path / "broken.json").write_text('{"sub": ')
    (tmp_path / "list.json").write_text('["jane"]')
    return tmp_path


@pytest.mark.parametrize(
    ("private_key", "claims", "message"),
    [
        (
            "public.pem",
            "claims.json",
            "The private key 'public.pem' cannot sign tokens: it is a public key or "
            "certificate, not the private key.",
        ),
        (
            "certificate.pem",
            "claims.json",
            "The private key 'certificate.pem' cannot sign tokens: it is a public key or "
            "certificate, not the private key.",
        ),
        (
            "claims.json",
            "claims.json",
            "The private key 'claims.json' cannot sign tokens: it is not a private key in PEM "
            "format.",
        ),
        (
            "encrypted.pem",
            "claims.json",
            "The private key 'encrypted.pem' cannot sign tokens: it is encrypted with a "
            "passphrase; give an unencrypted key.",
        ),
        (
            "ec.pem",
            "claims.json",
            "The private key 'ec.pem' cannot sign tokens: it is not an RSA key, which RS256 needs.",
        ),
        (
            "missing.pem",
            "claims.json",
            "The private key 'missing.pem' cannot be read: No such file or directory.",
        ),
        ("keys", "claims.json", "The private key 'keys' cannot be read: Is a directory."),
        (
            "private.pem",
            "missing.json",
            "The claims file 'missing.json' cannot be read: No such file or directory.",
        ),
        ("private.pem", "broken.json", "The claims file 'broken.json' is not valid JSON."),
        ("private.pem", "list.json", "The claims file 'list.json' must hold a JSON object."),
    ],
)
def test_a_wrong_file_is_one_line(files: Path, private_key: str, claims: str, message: str) -> None:
    result = wk("token", "--issuer", "https://auth.example.com/", "--private-key", private_key,
                "--claims", claims, cwd=files)  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"Error: {message}"]
    assert result.stdout == ""


def test_the_right_files_give_a_token(files: Path) -> None:
    result = wk("token", "--issuer", "https://auth.example.com/", "--private-key",
                "private.pem", "--claims", "claims.json", "--raw", cwd=files)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.count(".") == 2


def test_token_issues_a_token_the_runtime_accepts(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys", issuer="https://auth.example.com/")
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"sub": "jane.doe", "role": "admin"}))

    result = subprocess.run(
        [
            WK,
            "token",
            "--issuer",
            keys.issuer,
            "--private-key",
            str(keys.directory / "private.pem"),
            "--claims",
            str(claims),
            "--expiration",
            "5",
            "--raw",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    token = result.stdout.strip()

    public_key = keys.private_key.public_key()
    decoded = jwt.decode(token, public_key, algorithms=["RS256"], issuer=keys.issuer)
    assert decoded["sub"] == "jane.doe"
    assert decoded["role"] == "admin"
    assert decoded["exp"] - decoded["iat"] == 300


def test_token_reports_a_missing_subject_in_one_line(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    claims = tmp_path / "claims.json"
    claims.write_text("{}")

    result = subprocess.run(
        [
            WK,
            "token",
            "-i",
            keys.issuer,
            "-k",
            str(keys.directory / "private.pem"),
            "-c",
            str(claims),
        ],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "sub" in result.stderr
