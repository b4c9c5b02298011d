#!/bin/bash
# vmlab-ssh.sh I [CMD...] - ssh to node I (as root, host key verified).
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lab/lab-common.sh
. "$HERE/lab-common.sh"
[ $# -ge 1 ] || lab_die "usage: $0 NODE [CMD...]"
i=$1; shift
lab_ssh "$i" "$@"
