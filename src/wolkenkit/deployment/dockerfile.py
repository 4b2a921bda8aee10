"""The ``Dockerfile`` and ``.dockerignore`` of an application's image.

The image is built in two stages on a slim Python base: the first installs the project's
dependencies (as its ``pyproject.toml`` lists them) into a virtual environment, the second
copies that environment and the app's files and runs as an unprivileged user. It runs the
single-process runtime unless a compose file says otherwise, and checks itself with
``wk health``. ``wk init`` writes both files into a new project; ``wk build`` uses the
project's own files when it has them and these otherwise.
"""

from __future__ import annotations

PYTHON_IMAGE = "python:3.11-slim"
#: Where the app lives in the image (``APPLICATION_DIRECTORY``).
APPLICATION_DIRECTORY = "/app"
#: A directory the runtime's user may write to: SQLite stores, files, the app's own data.
DATA_DIRECTORY = "/data"
USER_ID = 10001
#: The extras an image gets unless told otherwise: the drivers of the database servers that
#: `wk compose` deploys with and the OpenTelemetry SDK (S3 and the Docker SDK are left out).
DEFAULT_EXTRAS = "postgres,mariadb,redis,otel"

# The classic builder (which the Engine API's /build speaks) must understand every line, so
# no BuildKit-only syntax (RUN --mount, COPY --link) is used.
DOCKERFILE = f"""\
# The image of a wolkenkit application; `wk build` builds it.

# Stage 1: the project's dependencies, as pyproject.toml lists them, in a virtual environment.
# The wheels in wheels/ are installed by file, so the package index is never asked for what
# they hold (wolkenkit itself, until it is published).
# WOLKENKIT_EXTRAS names wolkenkit's extras to install: the drivers of the stores the app is
# deployed with (the compose files that `wk compose` writes set it; empty for none).
FROM {PYTHON_IMAGE} AS dependencies
ARG WOLKENKIT_EXTRAS={DEFAULT_EXTRAS}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY pyproject.toml wheel[s] /tmp/project/
RUN python -c "import os, pathlib, tomllib; \\
project = tomllib.load(open('/tmp/project/pyproject.toml', 'rb'))['project']; \\
wheels = sorted(str(path) for path in pathlib.Path('/tmp/project').glob('*.whl')); \\
extras = os.environ.get('WOLKENKIT_EXTRAS', '').strip(); \\
drivers = ['wolkenkit[' + extras + ']'] if extras else []; \\
print(chr(10).join(wheels + project.get('dependencies', []) + drivers))" \\
 > /tmp/requirements.txt \\
 && /opt/venv/bin/pip install -r /tmp/requirements.txt

# Stage 2: the environment and the app's files, run by an unprivileged user.
FROM {PYTHON_IMAGE}
ENV PATH=/opt/venv/bin:$PATH \\
    PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    APPLICATION_DIRECTORY={APPLICATION_DIRECTORY} \\
    PORT_OR_SOCKET=3000 \\
    HEALTH_PORT_OR_SOCKET=3001
RUN useradd --system --uid {USER_ID} --no-create-home --shell /usr/sbin/nologin wolkenkit \\
 && mkdir {DATA_DIRECTORY} && chown wolkenkit {DATA_DIRECTORY}
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR {APPLICATION_DIRECTORY}
# .dockerignore lets only the app's own files through.
COPY . {APPLICATION_DIRECTORY}
USER wolkenkit
EXPOSE 3000 3001
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \\
  CMD wk health --health-port "$HEALTH_PORT_OR_SOCKET" || exit 1
CMD ["python", "-m", "wolkenkit.runtime.server"]
"""

DOCKERIGNORE = """\
# Only the app's own files go into the image: everything else is ignored first, then the
# app's parts are let through again.
*
!pyproject.toml
!README.md
!server/
!client/
!wheels/
**/__pycache__
**/*.py[co]
**/.DS_Store
"""

#: Never sent to the engine, whatever a .dockerignore says: the data of `wk dev`, virtual
#: environments, version control and caches.
ALWAYS_EXCLUDED = (
    ".wolkenkit",
    ".venv",
    "venv",
    ".git",
    ".hg",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "__pycache__",
)
