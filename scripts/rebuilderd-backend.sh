#!/bin/sh
# venvdeb's rebuilderd backend: what rebuilderd-worker runs for a venvdeb
# package. Installed as /usr/libexec/venvdeb/rebuilderd-backend and named in
# /etc/rebuilderd-worker.conf:
#
#     [backend."venvdeb"]
#     path = "/usr/libexec/venvdeb/rebuilderd-backend"
#
# Protocol (rebuilderd-worker 0.2x, worker/src/rebuild.rs): the worker
# downloads each artifact of the job (here: the .deb) into an inputs
# directory, calls this script with the build input as $1 (the job's
# input_url, or the first artifact when it has none: the .deb itself) and
# REBUILDERD_OUTDIR set, then compares $REBUILDERD_OUTDIR/<artifact file
# name> with the artifact byte for byte: same bytes GOOD, other bytes or no
# file BAD. A non-zero exit is a failed build (neither).
#
# The script runs `venvdeb rebuild --check DEB --index URL --keyring FILE
# --output-dir $REBUILDERD_OUTDIR`: the wheels the package's manifest names
# are synced from the signed index (signature first, each wheel's sha256
# against both the manifest and the signed list), the configuration is
# reconstructed from the package, and the package is rebuilt with its
# SOURCE_DATE_EPOCH and compression into <name>_<version>_<arch>.deb. venvdeb's
# own verdict (0 identical, 1 differs) is printed in the build log but the
# exit is 0 for both, so that rebuilderd compares and records GOOD or BAD
# itself; 2 (error) and 3 (the index does not vouch for the package's
# inputs) fail the job.
#
# Settings, from $VENVDEB_REBUILDERD_CONF (default
# /etc/venvdeb/rebuilderd-backend.conf, shell assignments) or the
# environment:
#   VENVDEB_INDEX      the signed index URL (required)
#   VENVDEB_KEYRING    the keyring its list must verify against (required)
#   VENVDEB_THRESHOLD  distinct signers required (default 1)
#   VENVDEB            the venvdeb binary (default: venvdeb on PATH)
set -eu

conf=${VENVDEB_REBUILDERD_CONF:-/etc/venvdeb/rebuilderd-backend.conf}
if [ -f "$conf" ]; then
  # shellcheck disable=SC1090
  . "$conf"
fi
: "${VENVDEB_INDEX:?set VENVDEB_INDEX in $conf or the environment}"
: "${VENVDEB_KEYRING:?set VENVDEB_KEYRING in $conf or the environment}"
: "${REBUILDERD_OUTDIR:?run by rebuilderd-worker: REBUILDERD_OUTDIR is not set}"
[ $# -eq 1 ] || { echo "usage: $0 PACKAGE.deb (run by rebuilderd-worker)" >&2; exit 2; }

deb=$1
venvdeb=${VENVDEB:-venvdeb}
echo "venvdeb rebuilderd backend: $deb from $VENVDEB_INDEX"
# rebuilderd-worker (worker/src/download.rs) writes the download through a
# tokio File and returns without flushing it: tokio may still be writing the
# last chunk in its blocking pool when this script starts. Seen with two
# workers busy: "premature eof" in data.tar.xz of a complete upload. Wait
# until the input's size has stopped changing (checked 0.2 s apart, at most
# 5 s) before reading it; a package that is still short then fails as before.
last=-1
tries=0
while [ "$tries" -lt 25 ]; do
  size=$(stat -c %s -- "$deb" 2>/dev/null || echo -1)
  [ "$size" = "$last" ] && break
  last=$size
  tries=$((tries + 1))
  sleep 0.2
done
set +e
"$venvdeb" rebuild --check "$deb" \
  --index "$VENVDEB_INDEX" --keyring "$VENVDEB_KEYRING" \
  --threshold "${VENVDEB_THRESHOLD:-1}" \
  --output-dir "$REBUILDERD_OUTDIR" \
  --result "$REBUILDERD_OUTDIR/venvdeb-rebuild-result.json"
rc=$?
set -e
case $rc in
  0) echo "venvdeb: identical"; exit 0 ;;
  1) echo "venvdeb: the rebuild differs (rebuilderd compares and reports BAD)"; exit 0 ;;
  *) echo "venvdeb: rebuild failed (exit $rc)" >&2; exit "$rc" ;;
esac
