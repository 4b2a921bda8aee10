"""A real runtime on free loopback ports, serving the chat sample, and clients for it."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from wolkenkit import load_application
from wolkenkit.application.application import Application
from wolkenkit.runtime.server import Serving, serving
from wolkenkit.runtime.settings import RuntimeSettings
from wolkenkit.scaffolds import create_project

ISSUER = "https://auth.example.com/"


@pytest.fixture(scope="session")
def chat_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_project(
        "chat", template="chat", directory=tmp_path_factory.mktemp("app") / "chat"
    )


@pytest.fixture
def chat_application(chat_directory: Path) -> Application:
    # Loaded per test: the chat sample's in-memory view store lives in its module.
    return load_application(chat_directory)


class Keys:
    """An identity provider: an RSA key pair and its self-signed certificate."""

    def __init__(self, directory: Path, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "auth.example.com")])
        now = datetime.datetime.now(datetime.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.private_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(self.private_key, hashes.SHA256())
        )
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "certificate.pem").write_bytes(
            certificate.public_bytes(serialization.Encoding.PEM)
        )
        (directory / "private.pem").write_bytes(self.private_pem)


@pytest.fixture(scope="session")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))


def make_settings(**overrides: Any) -> RuntimeSettings:
    values: dict[str, Any] = {
        "PORT_OR_SOCKET": 0,
        "HEALTH_PORT_OR_SOCKET": 0,
        "BIND_HOST": "127.0.0.1",
        "CONCURRENT_COMMANDS": 4,
        "HEARTBEAT_INTERVAL": 1_000,
        "ENABLE_OPEN_API_DOCUMENTATION": True,
        **overrides,
    }
    return RuntimeSettings.model_validate(values)


StartServer = Callable[..., AbstractAsyncContextManager[Serving]]


@pytest.fixture
def start_server(chat_application: Application) -> StartServer:
    """Start a server with settings changed as given (environment variable names)."""

    def start(application: Application | None = None, **overrides: Any) -> Any:
        return serving(make_settings(**overrides), application or chat_application)

    return start


@pytest.fixture
async def server(start_server: StartServer, keys: Keys) -> AsyncIterator[Serving]:
    providers = [{"issuer": keys.issuer, "certificate": str(keys.directory)}]
    async with start_server(IDENTITY_PROVIDERS=providers) as running:
        yield running


@pytest.fixture
async def client(server: Serving) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{server.port}", timeout=10
    ) as http_client:
        yield http_client
