#!/usr/bin/env bash
# Run the whole test suite (SQLite and PostgreSQL; the real-node lab tests when
# the lab's host packages are installed, see tests/lab/install-host-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure-postgres.sh || true
exec .venv/bin/python -m pytest -q -rs "$@"
