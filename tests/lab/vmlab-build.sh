#!/bin/bash
# vmlab-build.sh [--force] - build (once) the base image of the pyketi VM lab.
#
# Idempotent: exits at once when $PYKETI_LAB_CACHE/base/recipe matches the hash
# of the recipe (this script, provision-node.sh, suite, mirror).  The debootstrap
# minbase stage is cached separately (build/minbase-<hash>.tar), so changing
# provision-node.sh only reruns the package stage.  No loop device or host mount
# is used: the ext4 root is made with mkfs.ext4 -d.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/lab/lab-common.sh
. "$HERE/lab-common.sh"
lab_need_root

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

recipe_hash() {
    { cat "$HERE/vmlab-build.sh" "$HERE/provision-node.sh"
      echo "$PYKETI_LAB_SUITE $PYKETI_LAB_MIRROR"; } | sha256sum | cut -c1-16
}
stage1_hash() {
    { sed -n '/^# STAGE1-BEGIN/,/^# STAGE1-END/p' "$HERE/vmlab-build.sh"
      echo "$PYKETI_LAB_SUITE $PYKETI_LAB_MIRROR"; } | sha256sum | cut -c1-16
}

ensure_key() {
    if [ ! -s "$LAB_KEY" ]; then
        mkdir -p "$(dirname "$LAB_KEY")"
        chmod 700 "$(dirname "$LAB_KEY")"
        ssh-keygen -q -t ed25519 -N '' -C pyketi-lab -f "$LAB_KEY"
    fi
}

HASH=$(recipe_hash)
if [ $FORCE = 0 ] && [ -s "$LAB_BASE/recipe" ] && [ "$(cat "$LAB_BASE/recipe")" = "$HASH" ] \
        && [ -s "$LAB_BASE/base.qcow2" ] && [ -s "$LAB_BASE/vmlinuz" ] && [ -s "$LAB_BASE/initrd.img" ]; then
    ensure_key
    lab_log "base image up to date ($HASH)"
    exit 0
fi

for t in debootstrap qemu-img mkfs.ext4 ssh-keygen; do
    command -v "$t" >/dev/null || { bash "$HERE/install-host-deps.sh"; break; }
done

mkdir -p "$PYKETI_LAB_CACHE/build" "$LAB_BASE"
exec 9> "$PYKETI_LAB_CACHE/build.lock"
flock -w 1800 9 || lab_die "another build holds $PYKETI_LAB_CACHE/build.lock"
T0=$(date +%s)

# STAGE1-BEGIN (debootstrap; cached as a tar keyed by this block's hash)
S1="$PYKETI_LAB_CACHE/build/minbase-$(stage1_hash).tar"
if [ ! -s "$S1" ]; then
    rm -f "$PYKETI_LAB_CACHE"/build/minbase-*.tar
    tmp="$PYKETI_LAB_CACHE/build/debootstrap.tmp"
    rm -rf "$tmp"
    lab_log "debootstrap $PYKETI_LAB_SUITE (minbase) from $PYKETI_LAB_MIRROR"
    debootstrap --variant=minbase "$PYKETI_LAB_SUITE" "$tmp" "$PYKETI_LAB_MIRROR" \
        > "$PYKETI_LAB_CACHE/build/debootstrap.log" 2>&1 \
        || { tail -20 "$PYKETI_LAB_CACHE/build/debootstrap.log" >&2; lab_die "debootstrap failed"; }
    tar -C "$tmp" -cf "$S1.tmp" . && mv "$S1.tmp" "$S1"
    rm -rf "$tmp"
fi
# STAGE1-END
T1=$(date +%s)

ROOT="$PYKETI_LAB_CACHE/build/rootfs"
rm -rf "$ROOT"
mkdir -p "$ROOT"
tar -C "$ROOT" -xf "$S1"
install -m 755 "$HERE/provision-node.sh" "$ROOT/root/provision-node.sh"
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
lab_log "provisioning the image (provision-node.sh --lab-image)"
# a private mount namespace: /proc, /sys, /dev of the chroot vanish with it
unshare --mount --propagation private -- /bin/bash -euc '
    R=$1
    mount -t proc proc "$R/proc"
    mount -t sysfs sysfs "$R/sys"
    mount --bind /dev "$R/dev"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts" 2>/dev/null || true
    chroot "$R" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        PYKETI_NODE_USER=heketi /root/provision-node.sh --lab-image
' _ "$ROOT" > "$PYKETI_LAB_CACHE/build/provision.log" 2>&1 \
    || { tail -30 "$PYKETI_LAB_CACHE/build/provision.log" >&2; lab_die "provisioning failed"; }
rm -f "$ROOT/usr/sbin/policy-rc.d" "$ROOT/root/provision-node.sh"
: > "$ROOT/etc/resolv.conf"
rm -rf "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/lib/apt/lists/* "$ROOT"/tmp/* "$ROOT"/var/log/*.log
T2=$(date +%s)

kver=$(basename "$(ls -1 "$ROOT"/boot/vmlinuz-* | sort -V | tail -1)" | sed 's/^vmlinuz-//')
[ -n "$kver" ] || lab_die "no kernel in the image"
cp "$ROOT/boot/vmlinuz-$kver" "$LAB_BASE/vmlinuz.tmp"
cp "$ROOT/boot/initrd.img-$kver" "$LAB_BASE/initrd.img.tmp"
raw="$PYKETI_LAB_CACHE/build/root.raw"
rm -f "$raw"
truncate -s 4G "$raw"
mkfs.ext4 -q -F -L pyketi-root -m 0 -d "$ROOT" "$raw"
qemu-img convert -O qcow2 "$raw" "$LAB_BASE/base.qcow2.tmp"
rm -f "$raw"
mv "$LAB_BASE/vmlinuz.tmp" "$LAB_BASE/vmlinuz"
mv "$LAB_BASE/initrd.img.tmp" "$LAB_BASE/initrd.img"
mv "$LAB_BASE/base.qcow2.tmp" "$LAB_BASE/base.qcow2"
echo "$kver" > "$LAB_BASE/kernel-version"
rm -rf "$ROOT"
ensure_key
echo "$HASH" > "$LAB_BASE/recipe"
T3=$(date +%s)
lab_log "base image built ($HASH, kernel $kver): debootstrap $((T1 - T0))s, provision $((T2 - T1))s, image $((T3 - T2))s, total $((T3 - T0))s"
