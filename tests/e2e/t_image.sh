#!/usr/bin/env bash
# t_image.sh — `berth image …` end to end: load the offline busybox image,
# list, inspect, tag, save and load into a fresh root, import a directory,
# rm, prune, a docker archive made by skopeo, and bad archives that must give
# a clear error and leave the store as it was.
source "$(dirname "$0")/lib.sh"

B=$BERTH
store_state() { (cd "$BERTH_ROOT/images" && find . -path ./lock -prune -o -print | sort); }

# ---- usage ------------------------------------------------------------------
expect_match "usage without arguments" "Usage: berth image COMMAND" "$($B image 2>&1)"
expect_match "usage with --help" "load \[-q\] \[-i FILE\]" "$($B image --help 2>&1)"
expect_fail "unknown subcommand" 'unknown command "image frob"' $B image frob

# ---- load, ls, inspect --------------------------------------------------------
out=$($B image load -i "$BUSYBOX_TAR" 2>&1)
expect_eq "load busybox" "Loaded image: busybox:latest" "$out"
ls_out=$($B image ls)
expect_match "ls header" "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE" "$ls_out"
expect_match "ls shows busybox" $'\n''busybox +latest +[0-9a-f]{12} +.+ ago +[0-9.]+MB' "$ls_out"
id=$($B image ls -q)
expect_match "ls -q prints the short id" "^[0-9a-f]{12}$" "$id"
insp=$($B image inspect busybox)
cmd=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"]["Cmd"])' <<<"$insp")
expect_eq "inspect shows Cmd" "['sh']" "$cmd"
full_id=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Id"])' <<<"$insp")
expect_match "inspect Id is sha256" "^sha256:$id[0-9a-f]{52}$" "$full_id"
check "inspect by id prefix" $B image inspect "${id:0:6}"
check "inspect by full name" $B image inspect docker.io/library/busybox:latest
expect_fail "inspect unknown" "unknown image busybox:nope" $B image inspect busybox:nope
expect_fail "bad name" "invalid reference format" $B image inspect Busybox

# ---- tag -------------------------------------------------------------------
check "tag" $B image tag busybox mybox:1
expect_match "ls shows the tag" $'\n''mybox +1 +'"$id" "$($B image ls)"
expect_eq "ls filter by repository" "mybox 1" "$($B image ls mybox | awk 'NR>1 {print $1, $2}')"
expect_fail "tag unknown" "unknown image nope" $B image tag nope x:1

# ---- save -> load into a fresh root ---------------------------------------------
check "save two names" $B image save -o "$T/rt.tar" busybox mybox:1
expect_match "saved archive has an OCI layout and a docker manifest" \
  "index.json.*manifest.json.*oci-layout" "$(tar -tf "$T/rt.tar" | sort | tr '\n' ' ')"
expect_match "docker manifest lists the tags" '"RepoTags":\["busybox:latest","mybox:1"\]' \
  "$(tar -xOf "$T/rt.tar" manifest.json)"
out=$(BERTH_ROOT=$T/root2 $B image load -i "$T/rt.tar" 2>&1)
expect_eq "load into a fresh root" $'Loaded image: busybox:latest\nLoaded image: mybox:1' "$out"
expect_eq "round trip keeps the id" "$id" "$(BERTH_ROOT=$T/root2 $B image ls -q mybox:1)"
check "save to stdout" bash -c "$B image save busybox > '$T/one.tar'"
check "skopeo reads the saved OCI archive" skopeo inspect "oci-archive:$T/one.tar"
expect_fail "save unknown" "unknown image nope" $B image save -o "$T/nope.tar" nope
expect_eq "failed save leaves no file" "" "$(ls "$T"/nope.tar* "$T"/.nope.tar* 2>/dev/null)"

# ---- docker archive made by skopeo ---------------------------------------------
if skopeo copy -q "oci-archive:$BUSYBOX_TAR" "docker-archive:$T/docker.tar:busybox:latest" \
  >/dev/null 2>&1; then
  out=$(BERTH_ROOT=$T/root3 $B image load -i "$T/docker.tar" 2>&1)
  expect_eq "load docker archive" "Loaded image: busybox:latest" "$out"
  expect_eq "docker archive keeps the id" "$id" "$(BERTH_ROOT=$T/root3 $B image ls -q)"
else
  not_ok "skopeo docker-archive" "skopeo copy failed"
fi

# ---- import --------------------------------------------------------------------
mkdir -p "$T/rootfs/data" && echo hello >"$T/rootfs/data/greeting"
imp=$($B image import "$T/rootfs" imported:v1 2>&1)
expect_match "import prints the id" "^sha256:[0-9a-f]{64}$" "$imp"
expect_match "ls shows the import" $'\n''imported +v1 +'"${imp:7:12}" "$($B image ls)"
cmd=$($B image inspect imported:v1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Config"].get("Cmd"))')
expect_eq "import without /bin/sh has no Cmd" "None" "$cmd"
expect_fail "import a missing source" "import $T/missing" $B image import "$T/missing" x:1

# ---- bad archives change nothing -------------------------------------------------
before=$(store_state)
cp "$BUSYBOX_TAR" "$T/corrupt.tar"
printf 'XXXXXXXX' | dd of="$T/corrupt.tar" bs=1 seek=200000 conv=notrunc 2>/dev/null
expect_fail "corrupted archive" "load $T/corrupt.tar: .*(is corrupt|corrupt archive|mismatch)" \
  $B image load -i "$T/corrupt.tar"
expect_eq "corrupted archive changed nothing" "$before" "$(store_state)"
expect_fail "not an archive" "not an OCI layout or docker archive" $B image load -i /etc/hostname
head -c 300000 "$BUSYBOX_TAR" >"$T/truncated.tar"
expect_fail "truncated archive" "load $T/truncated.tar: .*runcated" \
  $B image load -i "$T/truncated.tar"
expect_fail "missing archive" "load $T/none.tar: .*No such file" $B image load -i "$T/none.tar"
expect_eq "bad archives changed nothing" "$before" "$(store_state)"

# ---- rm ------------------------------------------------------------------------
expect_eq "rm one of two names untags" "Untagged: mybox:1" "$($B image rm mybox:1 2>&1)"
expect_fail "rm unknown" "unknown image busybox:nope" $B image rm busybox:nope
out=$($B image rm imported:v1 2>&1)
expect_eq "rm the last name deletes" $'Untagged: imported:v1\nDeleted: '"$imp" "$out"
expect_eq "deleted image is gone" "" "$($B image ls -q imported)"

# ---- prune -----------------------------------------------------------------------
$B image import "$T/rootfs" temp:1 >/dev/null
echo changed >"$T/rootfs/data/greeting"
$B image import "$T/rootfs" temp:1 >/dev/null # the first one is now dangling
expect_match "dangling image listed as <none>" $'\n''<none> +<none> ' "$($B image ls)"
out=$($B image prune 2>&1)
expect_match "prune deletes the dangling image" $'Deleted Images:\ndeleted: sha256:' "$out"
expect_match "prune reports space" "Total reclaimed space: [0-9.]+k?B" "$out"
expect_eq "prune keeps named images" "2" "$($B image ls -q | wc -l)"
out=$($B image prune -a 2>&1)
expect_match "prune -a deletes the rest" "untagged: busybox:latest" "$out"
expect_eq "store is empty after prune -a" "0 0" \
  "$(ls "$BERTH_ROOT/images/blobs/sha256" | wc -l) $(ls "$BERTH_ROOT/images/layers" | wc -l)"

# ---- libarchive is loaded on first use (src/image/archive_dl.h) -----------------
# Loading it and its dependencies cost every invocation ~1.3 ms; only archive
# work may pay for it. Here it is hidden (an empty file in its place, in a
# private mount namespace): what needs no archive works, the rest says why not.
expect_eq "berth links neither libarchive nor libcrypto" "" \
  "$(readelf -d "$B" | grep -E 'NEEDED.*(libarchive|libcrypto)')"
libarchive=$(ldconfig -p | awk '/libarchive\.so\.13 / {print $NF; exit}')
without_libarchive() { unshare -m bash -c 'mount --bind /dev/null "$0" && exec "$@"' "$libarchive" "$@"; }
check "version runs without libarchive" without_libarchive $B version
check "image ls runs without libarchive" without_libarchive $B image ls
expect_fail "image load without libarchive names the package" \
  "berth: cannot load libarchive.so.13 \(install the libarchive13 package\): .*libarchive.so.13" \
  without_libarchive $B image load -i "$BUSYBOX_TAR"
