# Sourced by the other scripts: makes sure .venv holds wolkenkit and its dev tools exactly as
# uv.lock pins them (frozen: the lock is never re-resolved here, so a release elsewhere cannot
# change what we test). Idempotent and quick once done; on a fresh machine it installs
# everything, uv first. To upgrade the pins: `uv lock --upgrade` (or `--upgrade-package NAME`),
# run scripts/test, and commit uv.lock with the change.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check "uv>=0.5"
fi
# --inexact keeps what else was installed into .venv (the benchmarks' `bench` extra).
uv sync --quiet --frozen --inexact --python 3.11 --extra dev
export PATH="$repo_root/.venv/bin:$PATH"
