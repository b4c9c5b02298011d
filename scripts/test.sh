#!/usr/bin/env bash
# Run the whole test suite: SQLite and PostgreSQL (127.0.0.1:5432). The real-node
# tests on the QEMU VM lab run too with PYKETI_LAB=1 (root; host packages from
# tests/lab/install-host-deps.sh; ~10 min more).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/ensure-postgres.sh || true
exec .venv/bin/python -m pytest -q -rs -p no:cacheprovider "$@"
