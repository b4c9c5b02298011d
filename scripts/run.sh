#!/usr/bin/env bash
# Set up and run pyketi on its embedded defaults: 127.0.0.1:8080, SQLite
# (./pyketi.db), mock executor. Auth stays on: keys are generated once into
# .pyketi-keys.env (mode 600).
#   bash scripts/run.sh                 # foreground; Ctrl-C stops it
#   bash scripts/run.sh --background    # detached; waits until it answers,
#                                       # log in pyketi.log, PID in .pyketi.pid
set -euo pipefail
cd "$(dirname "$0")/.."
background=0
if [ "${1:-}" = "--background" ]; then background=1; shift; fi
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
echo "keys in $keys; for pyketi-cli:"
echo "  export HEKETI_CLI_SERVER=http://127.0.0.1:8080 HEKETI_CLI_USER=admin HEKETI_CLI_KEY=\$(sed -n 's/^HEKETI_ADMIN_KEY=//p' $keys)"
if [ "$background" = 0 ]; then
    exec .venv/bin/pyketi serve "$@"
fi
nohup .venv/bin/pyketi serve "$@" > pyketi.log 2>&1 &
pid=$!
echo "$pid" > .pyketi.pid
for _ in $(seq 1 60); do
    if .venv/bin/python -c 'import urllib.request; urllib.request.urlopen("http://127.0.0.1:8080/hello", timeout=1)' 2>/dev/null; then
        echo "pyketi is up (PID $pid, log pyketi.log); stop it with: kill \$(cat .pyketi.pid)"
        exit 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "pyketi exited:" >&2; tail -n 20 pyketi.log >&2; exit 1; }
    sleep 0.5
done
echo "pyketi did not answer within 30 s; see pyketi.log" >&2
exit 1
