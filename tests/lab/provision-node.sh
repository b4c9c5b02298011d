#!/bin/bash
# provision-node.sh - make a Debian 12 system a pyketi (heketi-style) storage node:
# GlusterFS server + FUSE client, LVM with thin provisioning, XFS, sshd, sudo.
# Only Debian packages are installed.  Used by
#   * tests/lab/vmlab-build.sh, inside the debootstrap chroot of the VM lab image
#     (with --lab-image: also kernel, boot tuning and the per-VM init unit;
#     no service is started);
#   * vagrant/Vagrantfile, on a running VM (no option: services enabled and started).
#
# Environment:
#   PYKETI_AUTHORIZED_KEYS  public key line(s) allowed to log in as root and as
#                           PYKETI_NODE_USER (optional; the lab injects its key at boot)
#   PYKETI_NODE_USER        an extra user with password-less sudo, for sshexec
#                           "user": "<name>", "sudo": true (default heketi; "" = none)
#   PYKETI_LAB_NET_PREFIX   (--lab-image) unused at build time, see pyketi-lab-init
set -euo pipefail

MODE=node
case "${1:-}" in
    --lab-image) MODE=image ;;
    ""|--node) MODE=node ;;
    *) echo "usage: $0 [--lab-image]" >&2; exit 2 ;;
esac
NODE_USER=${PYKETI_NODE_USER-heketi}
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

PKGS=(glusterfs-server glusterfs-client lvm2 thin-provisioning-tools xfsprogs
      openssh-server sudo attr procps iproute2 util-linux lsof kmod udev psmisc)
if [ "$MODE" = image ]; then
    PKGS+=(systemd-sysv linux-image-amd64 initramfs-tools zstd)
    # small initramfs: only what mounts /dev/vda (ext4 on virtio-blk)
    mkdir -p /etc/initramfs-tools/conf.d
    echo 'MODULES=list' > /etc/initramfs-tools/conf.d/pyketi-lab.conf
    printf '%s\n' virtio_pci virtio_blk ext4 crc32c_generic > /etc/initramfs-tools/modules
    # no documentation, man pages or locales in the image
    cat > /etc/dpkg/dpkg.cfg.d/pyketi-lab-nodoc <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
fi

missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then   # a re-run (vagrant provision) installs nothing
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    apt-get clean
fi

# -- LVM: heketi creates thin pools; udev may be slow under emulation
mkdir -p /var/lib/heketi/mounts

# -- sshd: keys only
mkdir -p /etc/ssh/sshd_config.d
cat > /etc/ssh/sshd_config.d/50-pyketi.conf <<'EOF'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
EOF

# -- the sshexec user with password-less sudo (heketi: "sudo": true)
if [ -n "$NODE_USER" ]; then
    id "$NODE_USER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$NODE_USER"
    echo "$NODE_USER ALL=(ALL) NOPASSWD: ALL" > "/etc/sudoers.d/50-$NODE_USER"
    chmod 0440 "/etc/sudoers.d/50-$NODE_USER"
fi
add_keys() {  # add_keys USER KEYS
    local user=$1 keys=$2 home
    home=$(getent passwd "$user" | cut -d: -f6)
    install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
    touch "$home/.ssh/authorized_keys"
    while IFS= read -r k; do
        [ -n "$k" ] || continue
        grep -qxF -- "$k" "$home/.ssh/authorized_keys" || echo "$k" >> "$home/.ssh/authorized_keys"
    done <<< "$keys"
    chown "$user:$user" "$home/.ssh/authorized_keys"
    chmod 600 "$home/.ssh/authorized_keys"
}
if [ -n "${PYKETI_AUTHORIZED_KEYS:-}" ]; then
    add_keys root "$PYKETI_AUTHORIZED_KEYS"
    [ -z "$NODE_USER" ] || add_keys "$NODE_USER" "$PYKETI_AUTHORIZED_KEYS"
fi

systemctl enable glusterd.service ssh.service >/dev/null 2>&1
# glustereventsd is not used by heketi/pyketi and costs seconds at boot
systemctl disable glustereventsd.service >/dev/null 2>&1 || true

if [ "$MODE" = node ]; then
    systemctl restart ssh.service
    systemctl start glusterd.service
    systemctl is-active --quiet glusterd.service
    echo "provision-node: $(hostname) ready: $(gluster --version | head -1), $(lvm version | head -1 | xargs)"
    exit 0
fi

# ---------------------------------------------------------------- lab image only
# Nothing per-VM is in the image: host keys, authorized keys, address and
# hostname come from qemu fw_cfg at boot (pyketi-lab-init), so all VMs share
# one read-only base image.
rm -f /etc/ssh/ssh_host_*
echo 'HostKey /etc/ssh/ssh_host_ed25519_key' > /etc/ssh/sshd_config.d/40-pyketi-lab-hostkey.conf
printf '%s\n' 0123456789abcdef0123456789abcdef > /etc/machine-id   # overridden per VM
echo 'pyketi-lab' > /etc/hostname
echo '/dev/vda / ext4 rw,noatime,errors=remount-ro 0 1' > /etc/fstab
passwd -l root >/dev/null

cat > /usr/local/sbin/pyketi-lab-init <<'EOF'
#!/bin/sh
# Per-VM identity from qemu fw_cfg: opt/pyketi/{config,hostkey,authkeys}.
set -eu
modprobe qemu_fw_cfg 2>/dev/null || true
FW=/sys/firmware/qemu_fw_cfg/by_name/opt/pyketi
i=0
while [ ! -r "$FW/config/raw" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
[ -r "$FW/config/raw" ] || { echo "pyketi-lab-init: no fw_cfg config" >&2; exit 1; }
# config: LAB_HOSTNAME, LAB_IP, LAB_PREFIX, LAB_HOSTS ("ip name;ip name;...")
cat "$FW/config/raw" > /run/pyketi-lab.conf
. /run/pyketi-lab.conf
hostname "$LAB_HOSTNAME"
echo "$LAB_HOSTNAME" > /etc/hostname
{
    echo "127.0.0.1 localhost"
    echo "$LAB_HOSTS" | tr ';' '\n'
} > /etc/hosts
umask 077
cat "$FW/hostkey/raw" > /etc/ssh/ssh_host_ed25519_key
ssh-keygen -y -f /etc/ssh/ssh_host_ed25519_key > /etc/ssh/ssh_host_ed25519_key.pub
for u in root heketi; do
    h=$(getent passwd "$u" | cut -d: -f6) || continue
    install -d -m 700 -o "$u" -g "$u" "$h/.ssh"
    cat "$FW/authkeys/raw" > "$h/.ssh/authorized_keys"
    chown "$u:$u" "$h/.ssh/authorized_keys"
done
umask 022
ip link set lo up
ip addr replace "$LAB_IP/$LAB_PREFIX" dev eth0
ip link set eth0 up
echo "pyketi-lab-init: $LAB_HOSTNAME $LAB_IP"
EOF
chmod 755 /usr/local/sbin/pyketi-lab-init

cat > /etc/systemd/system/pyketi-lab-init.service <<'EOF'
[Unit]
Description=pyketi lab: per-VM identity from fw_cfg
DefaultDependencies=no
After=local-fs.target systemd-udevd.service
Wants=systemd-udevd.service
Before=network.target network-pre.target ssh.service glusterd.service
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/pyketi-lab-init

[Install]
WantedBy=sysinit.target
EOF
systemctl enable pyketi-lab-init.service >/dev/null 2>&1

# boot speed under emulation: nothing periodic, no console login on VGA
for u in apt-daily.timer apt-daily-upgrade.timer fstrim.timer e2scrub_all.timer \
         e2scrub_reap.service man-db.timer dpkg-db-backup.timer getty@tty1.service \
         systemd-networkd-wait-online.service glustereventsd.service; do
    systemctl mask "$u" >/dev/null 2>&1 || true
done
systemctl set-default multi-user.target >/dev/null 2>&1
# glusterd under software emulation on a loaded host can take longer than systemd's
# default 90-300 s to start; a timed-out start leaves the node without glusterd
mkdir -p /etc/systemd/system/glusterd.service.d
printf '[Service]\nTimeoutStartSec=900\n' > /etc/systemd/system/glusterd.service.d/pyketi-lab.conf
# journald: keep it in memory, small
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n' > /etc/systemd/journald.conf.d/pyketi-lab.conf
echo "provision-node: lab image provisioned"
