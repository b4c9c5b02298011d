#!/usr/bin/env bash
# Set up and run pyketi on its embedded defaults: 127.0.0.1:8080, SQLite
# (./pyketi.db), mock executor. Auth stays on: keys are generated once into
# .pyketi-keys.env (mode 600).
#   bash scripts/run.sh                 # foreground; Ctrl-C stops it
#   bash scripts/run.sh --background    # detached; waits until it answers,
#                                       # log in pyketi.log, PID in .pyketi.pid
# Other arguments go to `pyketi serve` (--port N, --bind ADDR, --config FILE, ...);
# the wait and the printed URL follow --port, else the config file's "port", else 8080.
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
# where the server will listen, from the arguments given to `pyketi serve`
port="" config="" host=127.0.0.1 scheme=http
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case "${args[i]}" in
        --port) port="${args[i+1]:-}" ;;
        --port=*) port="${args[i]#--port=}" ;;
        --config) config="${args[i+1]:-}" ;;
        --config=*) config="${args[i]#--config=}" ;;
        --bind) host="${args[i+1]:-}" ;;
        --bind=*) host="${args[i]#--bind=}" ;;
    esac
done
if [ -n "$config" ]; then
    read -r config_port config_tls < <(.venv/bin/python -c '
import json, sys
c = json.load(open(sys.argv[1]))
print(c.get("port") or "-", bool(c.get("enable_tls")))' "$config" 2>/dev/null || echo "- False")
    [ -n "$port" ] || [ "$config_port" = "-" ] || port=$config_port
    [ "$config_tls" = True ] && scheme=https
fi
port=${port:-8080}
case "$port" in *[!0-9]*|"") echo "run.sh: bad port: $port" >&2; exit 2 ;; esac
case "$host" in ""|0.0.0.0|::) host=127.0.0.1 ;; esac
case "$host" in *:*) url="$scheme://[$host]:$port" ;; *) url="$scheme://$host:$port" ;; esac
echo "keys in $keys; for pyketi-cli:"
echo "  export HEKETI_CLI_SERVER=$url HEKETI_CLI_USER=admin HEKETI_CLI_KEY=\$(sed -n 's/^HEKETI_ADMIN_KEY=//p' $keys)"
if [ "$background" = 0 ]; then
    exec .venv/bin/pyketi serve "$@"
fi
nohup .venv/bin/pyketi serve "$@" > pyketi.log 2>&1 &
pid=$!
echo "$pid" > .pyketi.pid
for _ in $(seq 1 60); do
    # the probe only asks whether it answers: the certificate is pyketi-cli's to check
    if .venv/bin/python -c 'import ssl, sys, urllib.request; urllib.request.urlopen(sys.argv[1] + "/hello", timeout=1, context=ssl._create_unverified_context())' "$url" 2>/dev/null; then
        echo "pyketi is up at $url (PID $pid, log pyketi.log); stop it with: kill \$(cat .pyketi.pid)"
        exit 0
    fi
    kill -0 "$pid" 2>/dev/null || { echo "pyketi exited:" >&2; tail -n 20 pyketi.log >&2; exit 1; }
    sleep 0.5
done
echo "pyketi did not answer on $url within 30 s; see pyketi.log" >&2
exit 1
