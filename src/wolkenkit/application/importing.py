"""Importing an app's modules as the package ``server``, and naming what went wrong.

The app's ``server/`` directory becomes the top-level package ``server``, so its modules can
import each other absolutely (``from server.infrastructure import ...``) or relatively. Each
load starts from scratch: earlier ``server`` modules are dropped, and app modules are always
compiled from their source, never from ``__pycache__``, whose timestamps cannot tell two edits
within the same second apart. Hot reloading depends on both.

Errors while importing become ``ApplicationMalformed`` (or, when an ``Aggregate``, ``Flow`` or
``View`` is constructed with missing arguments, the kind's ``*DefinitionMalformed``), naming the
app file at fault relative to the app's root.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import re
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType, TracebackType
from typing import NoReturn

from wolkenkit.errors import (
    AggregateDefinitionMalformed,
    ApplicationError,
    ApplicationMalformed,
    FlowDefinitionMalformed,
    ViewDefinitionMalformed,
)

PACKAGE = "server"

# Loading rewires interpreter-wide state (sys.modules, sys.path, the path hooks).
_lock = threading.Lock()

# ``Aggregate(...)`` without ``initial_state=`` fails before any of our code runs: Python
# raises a TypeError while binding the arguments of the dataclass's ``__init__``.
_DEFINITION_TYPE_ERROR = re.compile(r"^(Aggregate|Flow|View)\.__init__\(\) (.*)$")
_DEFINITION_ERRORS: dict[str, type[ApplicationError]] = {
    "Aggregate": AggregateDefinitionMalformed,
    "Flow": FlowDefinitionMalformed,
    "View": ViewDefinitionMalformed,
}


class _SourceOnlyLoader(importlib.machinery.SourceFileLoader):
    """Compiles every module from its source: without stats, no bytecode is read or written."""

    def path_stats(self, path: str) -> dict[str, float]:
        raise OSError("app modules are always compiled from source")


def display_path(path: str | Path, root: Path) -> str:
    """``path`` relative to the app's root when it lies inside, else as it is."""
    candidate = Path(path)
    if candidate.is_relative_to(root):
        return candidate.relative_to(root).as_posix()
    return str(path)


class AppModules:
    """Imports the modules of the package ``server`` of one app; see :func:`app_modules`."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def display(self, path: str | Path) -> str:
        return display_path(path, self.root)

    def load(self, name: str, file: Path) -> ModuleType:
        """Import ``server.<name>``, whose source is ``file``; errors name the file at fault."""
        with self._translating_errors(file):
            return importlib.import_module(f"{PACKAGE}.{name}")

    def load_package(self) -> None:
        """Register ``server`` with one location, so no other ``server`` on sys.path mixes in.

        ``server/__init__.py`` is optional; without it the package is empty, like a namespace one.
        """
        directory = self.root / PACKAGE
        init = directory / "__init__.py"
        loader = _SourceOnlyLoader(PACKAGE, str(init)) if init.is_file() else None
        spec = importlib.machinery.ModuleSpec(
            PACKAGE, loader, origin=str(init) if loader else None, is_package=True
        )
        spec.submodule_search_locations = [str(directory)]
        spec.has_location = loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[PACKAGE] = package
        if loader is not None:
            with self._translating_errors(init):
                loader.exec_module(package)

    @contextmanager
    def _translating_errors(self, file: Path) -> Iterator[None]:
        try:
            yield
        except SyntaxError as error:
            line = f" (line {error.lineno})" if error.lineno else ""
            where = self.display(error.filename or file)
            raise ApplicationMalformed(
                f"Syntax error in '{where}'{line}: {_sentence(error.msg)}"
            ) from error
        except ImportError as error:
            where = self.display(self._culprit_and_line(error, file)[0])
            raise ApplicationMalformed(
                f"Missing import in '{where}': {_sentence(_one_line(error))}"
            ) from error
        except ApplicationError:
            raise
        except Exception as error:
            self._raise_import_failure(error, file)

    def _raise_import_failure(self, error: Exception, file: Path) -> NoReturn:
        culprit, line = self._culprit_and_line(error, file)
        where = self.display(culprit)
        match = _DEFINITION_TYPE_ERROR.match(str(error)) if isinstance(error, TypeError) else None
        if match:
            kind, problem = match.groups()
            detail = (
                "The initial state is missing."
                if kind == "Aggregate" and "'initial_state'" in problem
                else _sentence(f"{kind}() {problem}")
            )
            raise _DEFINITION_ERRORS[kind](
                f"{kind} definition '{where}' is malformed: {detail}"
            ) from error
        at_line = f" (line {line})" if line else ""
        raise ApplicationMalformed(
            f"Importing '{where}' failed{at_line}: "
            f"{type(error).__name__}: {_sentence(_one_line(error))}"
        ) from error

    def _culprit_and_line(self, error: BaseException, file: Path) -> tuple[Path, int | None]:
        """The innermost frame of the traceback that runs app code, else ``file``."""
        culprit: tuple[Path, int | None] = (file, None)
        traceback: TracebackType | None = error.__traceback__
        while traceback is not None:
            frame_file = Path(traceback.tb_frame.f_code.co_filename)
            if frame_file.is_absolute() and frame_file.is_relative_to(self.root):
                culprit = (frame_file, traceback.tb_lineno)
            traceback = traceback.tb_next
        return culprit


@contextmanager
def app_modules(root: Path) -> Iterator[AppModules]:
    """Make ``<root>/server`` importable as the package ``server`` while the block runs.

    The modules stay in ``sys.modules`` afterwards, so handlers may import app modules lazily;
    the next load drops them. ``root`` must be absolute.
    """
    with _lock:
        hook = _source_only_hook(root)
        _forget_package()
        _forget_finders(root)
        importlib.invalidate_caches()
        sys.path_hooks.insert(0, hook)
        sys.path.insert(0, str(root))
        try:
            modules = AppModules(root)
            modules.load_package()
            yield modules
        finally:
            if str(root) in sys.path:
                sys.path.remove(str(root))
            sys.path_hooks.remove(hook)
            # Finders created with our hook would keep compiling from source after the load.
            _forget_finders(root)


def _source_only_hook(root: Path) -> Callable[[str], importlib.machinery.FileFinder]:
    def hook(path: str) -> importlib.machinery.FileFinder:
        if not Path(path).is_relative_to(root):
            raise ImportError("not inside the app")  # lets the next path hook try
        return importlib.machinery.FileFinder(path, (_SourceOnlyLoader, [".py"]))

    return hook


def _forget_package() -> None:
    for name in [name for name in sys.modules if name == PACKAGE or name.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


def _forget_finders(root: Path) -> None:
    for path in [path for path in sys.path_importer_cache if Path(path).is_relative_to(root)]:
        del sys.path_importer_cache[path]


def _one_line(error: BaseException) -> str:
    return " ".join(line.strip() for line in str(error).splitlines() if line.strip())


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
