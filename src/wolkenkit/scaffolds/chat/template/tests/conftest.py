"""Fixtures for the tests: the app, loaded once, and a fresh sandbox for every test."""

from __future__ import annotations

from pathlib import Path

import pytest
from wolkenkit import Application, load_application
from wolkenkit.testing import Sandbox

APP_DIRECTORY = Path(__file__).parent.parent


@pytest.fixture(scope="session")
def application() -> Application:
    return load_application(APP_DIRECTORY)


@pytest.fixture
def sandbox(application: Application) -> Sandbox:
    # Its own in-memory event and view stores, so tests never see each other's data.
    return Sandbox(application)
