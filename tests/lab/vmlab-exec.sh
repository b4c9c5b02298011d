#!/bin/bash
# vmlab-exec.sh CMD... - run CMD inside the lab's network namespace, where the
# nodes are reachable at 10.88.0.11.. (e.g. a pyketi server:
#   tests/lab/vmlab-exec.sh python -m pyketi serve --config heketi.json)
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lab/lab-common.sh
. "$HERE/lab-common.sh"
[ $# -ge 1 ] || lab_die "usage: $0 CMD..."
exec ip netns exec "$PYKETI_LAB_NETNS" "$@"
