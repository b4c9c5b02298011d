#!/bin/bash
# build-box.sh [--force] - make the Vagrant box "pyketi-lab" (libvirt provider)
# from the VM lab's image, without downloading anything.
#
# The lab image (tests/lab/vmlab-build.sh: Debian 12 + provision-node.sh, kernel
# and initrd beside it) gets, with debugfs on a raw copy (no loop device, no
# mount; the lab cache is only read):
#   * DHCP on eth0 (systemd-networkd), for vagrant-libvirt's management network;
#   * the user "vagrant" (password-less sudo, Vagrant's public insecure key,
#     which `vagrant up` replaces by a fresh key);
#   * host keys generated at first boot, an empty machine-id (one per VM);
#   * the lab's fw_cfg identity unit and systemd-firstboot masked.
# The box (metadata.json, box.img, Vagrantfile, vmlinuz, initrd.img) boots the
# kernel directly (libvirt <kernel>/<initrd>/<cmdline>); it is rebuilt only
# when the lab image or this script changed.
# Output: $PYKETI_VAGRANT_DIR/box/pyketi-lab.box
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=vagrant/lab-common.sh
. "$HERE/lab-common.sh"
lab_need_root
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

for f in base.qcow2 vmlinuz initrd.img recipe; do
    [ -s "$LAB_BASE/$f" ] || pv_die "$LAB_BASE/$f missing: run tests/lab/vmlab-build.sh first"
done
for t in debugfs qemu-img tar; do
    command -v "$t" >/dev/null || pv_die "$t missing: run vagrant/install-host-deps.sh"
done
INSECURE=""
for d in /usr/share/rubygems-integration/all/gems/vagrant-*/keys /opt/vagrant/embedded/gems/gems/vagrant-*/keys; do
    [ -s "$d/vagrant.pub" ] && INSECURE="$d/vagrant.pub"
done
[ -n "$INSECURE" ] || pv_die "Vagrant's insecure public key (keys/vagrant.pub) not found: install vagrant"

HASH=$( { cat "$LAB_BASE/recipe" "$HERE/build-box.sh" "$INSECURE"; } | sha256sum | cut -c1-16)
BOX="$PV_BOX_DIR/pyketi-lab.box"
if [ $FORCE = 0 ] && [ -s "$BOX" ] && [ "$(cat "$PV_BOX_DIR/recipe" 2>/dev/null)" = "$HASH" ]; then
    pv_log "box up to date ($HASH): $BOX"
    exit 0
fi
T0=$(date +%s)
W="$PV_BOX_DIR/work"
rm -rf "$W"
mkdir -p "$W/files"
qemu-img convert -O raw "$LAB_BASE/base.qcow2" "$W/root.raw"

# -- the files added to the image
F="$W/files"
printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nClientIdentifier=mac\n' \
    > "$F/50-pyketi-box.network"
cat > "$F/pyketi-box-hostkeys.service" <<'UNIT'
[Unit]
Description=pyketi box: generate the ssh host keys once
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -A

[Install]
WantedBy=multi-user.target
UNIT
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' > "$F/hosts"
: > "$F/machine-id"
echo 'vagrant ALL=(ALL) NOPASSWD: ALL' > "$F/sudoers-vagrant"
cp "$INSECURE" "$F/authorized_keys"
dbg_cat() { debugfs -R "cat $1" "$W/root.raw" 2>/dev/null; }
dbg_cat /etc/passwd > "$F/passwd"
dbg_cat /etc/shadow > "$F/shadow"
dbg_cat /etc/group > "$F/group"
dbg_cat /etc/gshadow > "$F/gshadow"
grep -q '^root:' "$F/passwd" || pv_die "cannot read /etc/passwd from the image"
if ! grep -q '^vagrant:' "$F/passwd"; then
    uid=1001
    while grep -q "^[^:]*:[^:]*:$uid:" "$F/passwd" "$F/group"; do uid=$((uid + 1)); done
    echo "vagrant:x:$uid:$uid:vagrant:/home/vagrant:/bin/bash" >> "$F/passwd"
    echo "vagrant:!:$(( $(date +%s) / 86400 )):0:99999:7:::" >> "$F/shadow"
    echo "vagrant:x:$uid:" >> "$F/group"
    echo "vagrant:!::" >> "$F/gshadow"
fi
uid=$(grep '^vagrant:' "$F/passwd" | cut -d: -f3)

# -- debugfs script: every change to the image is listed here
cat > "$W/debugfs.cmds" <<CMDS
rm /etc/passwd
write $F/passwd /etc/passwd
sif /etc/passwd mode 0100644
rm /etc/group
write $F/group /etc/group
sif /etc/group mode 0100644
rm /etc/shadow
write $F/shadow /etc/shadow
sif /etc/shadow mode 0100640
sif /etc/shadow gid 42
rm /etc/gshadow
write $F/gshadow /etc/gshadow
sif /etc/gshadow mode 0100640
sif /etc/gshadow gid 42
mkdir /home/vagrant
sif /home/vagrant mode 040700
sif /home/vagrant uid $uid
sif /home/vagrant gid $uid
mkdir /home/vagrant/.ssh
sif /home/vagrant/.ssh mode 040700
sif /home/vagrant/.ssh uid $uid
sif /home/vagrant/.ssh gid $uid
write $F/authorized_keys /home/vagrant/.ssh/authorized_keys
sif /home/vagrant/.ssh/authorized_keys mode 0100600
sif /home/vagrant/.ssh/authorized_keys uid $uid
sif /home/vagrant/.ssh/authorized_keys gid $uid
write $F/sudoers-vagrant /etc/sudoers.d/50-vagrant
sif /etc/sudoers.d/50-vagrant mode 0100440
write $F/50-pyketi-box.network /etc/systemd/network/50-pyketi-box.network
sif /etc/systemd/network/50-pyketi-box.network mode 0100644
write $F/pyketi-box-hostkeys.service /etc/systemd/system/pyketi-box-hostkeys.service
sif /etc/systemd/system/pyketi-box-hostkeys.service mode 0100644
symlink /etc/systemd/system/multi-user.target.wants/pyketi-box-hostkeys.service /etc/systemd/system/pyketi-box-hostkeys.service
symlink /etc/systemd/system/multi-user.target.wants/systemd-networkd.service /lib/systemd/system/systemd-networkd.service
symlink /etc/systemd/system/sockets.target.wants/systemd-networkd.socket /lib/systemd/system/systemd-networkd.socket
rm /etc/systemd/system/sysinit.target.wants/pyketi-lab-init.service
rm /etc/systemd/system/pyketi-lab-init.service
symlink /etc/systemd/system/pyketi-lab-init.service /dev/null
symlink /etc/systemd/system/systemd-firstboot.service /dev/null
rm /etc/machine-id
write $F/machine-id /etc/machine-id
sif /etc/machine-id mode 0100444
write $F/hosts /etc/hosts
sif /etc/hosts mode 0100644
rm /etc/hostname
CMDS
debugfs -w -f "$W/debugfs.cmds" "$W/root.raw" > "$W/debugfs.log" 2>&1 || true
# debugfs goes on after a failed command: check the result instead
check() { debugfs -R "$1" "$W/root.raw" 2>&1; }
check 'cat /home/vagrant/.ssh/authorized_keys' | grep -qF "$(cut -d' ' -f2 "$INSECURE")" \
    || { cat "$W/debugfs.log" >&2; pv_die "authorized_keys not written"; }
check 'stat /etc/systemd/system/multi-user.target.wants/systemd-networkd.service' | grep -q 'Type: symlink' \
    || { cat "$W/debugfs.log" >&2; pv_die "systemd-networkd not enabled"; }
check 'stat /etc/systemd/system/pyketi-lab-init.service' | grep -q 'Type: symlink' \
    || { cat "$W/debugfs.log" >&2; pv_die "pyketi-lab-init not masked"; }
e2fsck -fy "$W/root.raw" > "$W/e2fsck.log" 2>&1 || [ $? -le 1 ] \
    || { cat "$W/e2fsck.log" >&2; pv_die "e2fsck failed on the box image"; }

# -- the box
qemu-img convert -c -O qcow2 "$W/root.raw" "$W/box.img"
rm -f "$W/root.raw"
cp "$LAB_BASE/vmlinuz" "$LAB_BASE/initrd.img" "$W/"
vsize=$(( ($(qemu-img info --output=json "$W/box.img" | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p') + (1 << 30) - 1) >> 30 ))
printf '{"provider": "libvirt", "format": "qcow2", "virtual_size": %s}\n' "$vsize" > "$W/metadata.json"
cat > "$W/Vagrantfile" <<'VF'
# The pyketi-lab box: the VM lab's Debian 12 image, booted directly from the
# kernel and initrd shipped in the box (no boot loader in the image).
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |lv|
    here = File.dirname(File.expand_path(__FILE__))
    lv.kernel = File.join(here, "vmlinuz")
    lv.initrd = File.join(here, "initrd.img")
    lv.cmd_line = "root=/dev/vda rw console=ttyS0 net.ifnames=0 mitigations=off quiet loglevel=3 systemd.show_status=error"
    lv.disk_bus = "virtio"
  end
end
VF
tar -C "$W" -cf "$BOX.tmp" metadata.json Vagrantfile box.img vmlinuz initrd.img
mv "$BOX.tmp" "$BOX"
echo "$HASH" > "$PV_BOX_DIR/recipe"
rm -rf "$W"
pv_log "box built in $(( $(date +%s) - T0 ))s: $BOX ($(du -h "$BOX" | cut -f1))"
