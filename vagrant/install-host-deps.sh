#!/bin/bash
# Host packages for the Vagrant lab (vagrant/lab-up.sh, tests/integration/test_vagrant.py)
# on Debian 12, root: the VM lab's (qemu, debootstrap, glusterfs-client, ...) plus
# vagrant, vagrant-libvirt, libvirtd, virsh, dnsmasq-base, iptables.  Idempotent; never
# starts a host service (lab-up.sh starts its own libvirtd inside the lab's netns).
exec bash "$(dirname "${BASH_SOURCE[0]}")/../tests/lab/install-host-deps.sh" --vagrant
