# Sourced by the other scripts: makes sure .venv exists with wolkenkit and its dev tools.
# Idempotent and quick once done; on a fresh machine it installs everything (uv first).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet --disable-pip-version-check uv
fi
if [ ! -x .venv/bin/python ]; then
  uv venv --quiet --python 3.11 .venv
fi
uv pip install --quiet --python .venv/bin/python -e ".[dev]"
export PATH="$repo_root/.venv/bin:$PATH"
