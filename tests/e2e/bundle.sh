# bundle.sh — sourced by t_runtime.sh and t_isolation.sh (after lib.sh): an
# OCI bundle made from the busybox image tarball, and runs of it through
# `berth runtime` with an edited config.
#
#   make_bundle DIR        DIR/rootfs from the image layers, DIR/config.json
#                          from `berth runtime spec`
#   cfg_for ARGS EXPR      prints a config: the bundle's, with process.args
#                          ARGS (a JSON array) and the python statement EXPR
#                          applied to it as `c`
#   brun EXPR CMD...       runs CMD in a fresh container (foreground `run`)

RT=$T/rt # the runtime root of this test file
B=$T/bundle

# Unpacks an OCI image layout tar: index → manifest → layers, in order.
unpack_image() {
  local tarball=$1 dest=$2 lay=$T/layout
  mkdir -p "$lay" "$dest"
  tar -xf "$tarball" -C "$lay"
  python3 - "$lay" "$dest" <<'PY'
import json, sys, tarfile, os
lay, dest = sys.argv[1], sys.argv[2]
def blob(d):
    return os.path.join(lay, "blobs", *d.split(":"))
idx = json.load(open(os.path.join(lay, "index.json")))
man = json.load(open(blob(idx["manifests"][0]["digest"])))
for layer in man["layers"]:
    with tarfile.open(blob(layer["digest"]), "r:*") as t:
        t.extractall(dest, filter="fully_trusted")
PY
}

make_bundle() {
  local dir=$1
  mkdir -p "$dir"
  if [ -f "$BUSYBOX_TAR" ]; then
    unpack_image "$BUSYBOX_TAR" "$dir/rootfs" || return 1
  else # the image is not built yet: Debian's static busybox will do
    mkdir -p "$dir/rootfs"/{bin,etc,proc,sys,dev,tmp,root}
    cp /bin/busybox "$dir/rootfs/bin/busybox"
    for a in $(/bin/busybox --list); do ln -sf busybox "$dir/rootfs/bin/$a"; done
    echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/rootfs/etc/passwd"
  fi
  (cd "$dir" && "$BERTH" runtime spec)
}

cfg_for() {
  python3 - "$B" "$1" "$2" <<'PY'
import json, sys
b, args, expr = sys.argv[1], sys.argv[2], sys.argv[3]
c = json.load(open(b + "/config.json"))
c["root"]["path"] = b + "/rootfs"
c["process"]["args"] = json.loads(args)
exec(expr)
print(json.dumps(c))
PY
}

# A bundle directory holding only a config (root.path points at $B/rootfs).
cfg_bundle() {
  local dir=$T/cfg.$RANDOM$RANDOM
  mkdir -p "$dir"
  cfg_for "$1" "$2" >"$dir/config.json" || return 1
  echo "$dir"
}

args_json() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }

brun() {
  local expr=$1 dir
  shift
  dir=$(cfg_bundle "$(args_json "$@")" "$expr") || return 125
  timeout 30 "$BERTH" runtime --root "$RT" run --bundle "$dir" "r$RANDOM$RANDOM"
}
