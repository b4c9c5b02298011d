#!/usr/bin/env bash
# Set up and run pyketi on its embedded defaults: 127.0.0.1:8080, SQLite
# (./pyketi.db), mock executor. Auth stays on: keys are generated once into
# .pyketi-keys.env (mode 600) and printed so pyketi-cli can use them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
keys=.pyketi-keys.env
if [ ! -f "$keys" ]; then
    umask 077
    {
        echo "HEKETI_ADMIN_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')"
        echo "HEKETI_USER_KEY=$(.venv/bin/python -c 'import secrets; print(secrets.token_hex(24))')"
    } > "$keys"
fi
set -a; . "./$keys"; set +a
echo "admin key in $keys; for pyketi-cli: export HEKETI_CLI_USER=admin HEKETI_CLI_KEY=\$(sed -n 's/^HEKETI_ADMIN_KEY=//p' $keys)"
exec .venv/bin/pyketi serve "$@"
