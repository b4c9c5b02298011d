#!/bin/bash
# lab-vagrant.sh ARGS... - run `vagrant ARGS...` against the Vagrant lab (inside its
# netns, with its libvirtd, VAGRANT_HOME and settings), e.g.
#   vagrant/lab-vagrant.sh status
#   vagrant/lab-vagrant.sh ssh node1 -c 'sudo gluster pool list'
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=vagrant/lab-common.sh
. "$HERE/lab-common.sh"
lab_need_root
pv_libvirtd_pid >/dev/null || pv_die "the Vagrant lab is not up (vagrant/lab-up.sh)"
pv_vagrant "$@"
