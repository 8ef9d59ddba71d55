#!/usr/bin/env bash
# mkbusybox.sh BERTH OUT.tar — the offline busybox image.
#
# Builds a root filesystem from Debian's static /bin/busybox (package
# busybox-static): the binary, a symlink per applet, /etc/passwd and
# /etc/group (root, nobody 65534), /tmp (1777), /root and empty /proc /sys
# /dev; imports it with `BERTH image import` into a throw-away root and
# writes it with `BERTH image save` as an OCI layout tar (Cmd ["sh"]).
#
# Reproducible: every mtime and the image's created time are the busybox
# binary's mtime, so the same busybox gives the same image id.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: $0 BERTH OUT.tar" >&2
  exit 2
fi
BERTH=$(realpath "$1")
OUT=$2
BUSYBOX=${BUSYBOX:-/bin/busybox}
[ -x "$BUSYBOX" ] || { echo "$0: $BUSYBOX not found (apt-get install busybox-static)" >&2; exit 1; }
file -L "$BUSYBOX" 2>/dev/null | grep -q 'dynamically linked' &&
  { echo "$0: $BUSYBOX is not static (install busybox-static)" >&2; exit 1; }

work=$(mktemp -d /tmp/mkbusybox.XXXXXX)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
umask 022
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,var}
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
cp "$BUSYBOX" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"
for applet in $("$BUSYBOX" --list-full); do
  [ "$applet" = bin/busybox ] && continue
  mkdir -p "$rootfs/$(dirname "$applet")"
  ln -sf /bin/busybox "$rootfs/$applet"
done
cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
chmod 0644 "$rootfs/etc/passwd" "$rootfs/etc/group"
chown -R 0:0 "$rootfs"

epoch=$(stat -c %Y "$BUSYBOX")
find "$rootfs" -exec touch -h -d "@$epoch" {} +

export BERTH_ROOT=$work/root
SOURCE_DATE_EPOCH=$epoch "$BERTH" image import "$rootfs" busybox:latest >/dev/null
mkdir -p "$(dirname "$OUT")"
"$BERTH" image save -o "$OUT" busybox:latest
echo "$OUT: busybox:latest $("$BERTH" image ls -q --no-trunc busybox:latest)"
