# Sourced by scripts/serve and scripts/test: make .venv and install the project into it
# when it is missing or pyproject.toml changed. Needs only python3 >= 3.11.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
  echo "error: Python 3.11 or newer is required (found $("$PYTHON" --version 2>&1))" >&2; exit 1; }
VENV="$ROOT/.venv"
STAMP="$VENV/.installed-$1"
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV"
fi
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  echo "Installing kb-ingest ($1) into .venv ..." >&2
  "$VENV/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  if [ "$1" = dev ]; then spec=".[dev]"; else spec="."; fi
  (cd "$ROOT" && "$VENV/bin/python" -m pip install --quiet -e "$spec")
  touch "$STAMP"
fi
