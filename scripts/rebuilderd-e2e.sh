#!/bin/sh
# End-to-end check of venvdeb's rebuilderd backend, run INSIDE a trixie
# chroot that has rebuilderd, rebuilderd-worker and rebuildctl from Debian
# (tests/rebuilderd_e2e.rs makes it with scripts/chroot.sh and runs this):
#
#   rebuilderd-e2e.sh SRC OUT WORKERS...
#
# SRC: the venvdeb source tree (read-only; its target/debug/venvdeb is the
# binary under test, or $VENVDEB). OUT: a writable directory for the report.
# WORKERS: one or more worker counts, e.g. "2 1"; each is a separate round.
#
# First three venvdeb packages are built here (two honest, one whose .deb is
# altered after the build), the example's wheels are published as a signed
# index, and both are served by /usr/bin/python3 -m http.server on
# 127.0.0.1. Each round: a fresh rebuilderd daemon and N workers (rebuilderd-worker -n
# wK connect, backend "venvdeb" = scripts/rebuilderd-backend.sh) start on
# 127.0.0.1 after the repository is imported with scripts/rebuilderd-import.sh
# | rebuildctl pkgs sync-stdin, and the round waits until every package has a
# verdict (at most 15 minutes). It prints `rebuildctl pkgs ls` and one line
#   round workers=N packages=3 ms=MILLISECONDS verdicts=name:STATUS,...
# and stops everything it started (trap), pass or fail.
set -eu

src=$1; out=$2; shift 2
[ $# -ge 1 ] || { echo "usage: $0 SRC OUT WORKERS..." >&2; exit 2; }
venvdeb=${VENVDEB:-$src/target/debug/venvdeb}
W=/srv/venvdeb-e2e
rm -rf "$W"; mkdir -p "$W"
pids=
stop() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  for p in $pids; do wait "$p" 2>/dev/null || true; done
  pids=
}
trap stop EXIT INT TERM

export SOURCE_DATE_EPOCH=1704067200
# --- packages: pure-Python wheels only, so the release's own python3 (3.13
# on trixie) can install them.
mkdir -p "$W/repo/pool"
make_pkg() { # name expose lock-projects...
  name=$1; expose=$2; shift 2
  d=$W/src/$name
  mkdir -p "$d/debian"
  : >"$d/requirements.txt"
  for proj in "$@"; do
    awk -v p="$proj" '$0 ~ "^"p"==" { print; getline; print }' \
      "$src/example/requirements.txt" >>"$d/requirements.txt"
  done
  cat >"$d/venvdeb.toml" <<TOML
[package]
name = "$name"
version = "1.0-1"
maintainer = "Rebuilder Test <rebuild@example.org>"
description = "venvdeb rebuilderd end-to-end package $name"
section = "python"

[inputs]
wheelhouse = "$src/example/wheelhouse"
lock = "requirements.txt"
sums = "$src/example/sha256sums.txt"
signature = "$src/example/sha256sums.txt.asc"
keyring = "$src/example/keyring.gpg"

[venv]
python = "/usr/bin/python3"
expose = [$expose]
TOML
  cat >"$d/debian/changelog" <<CL
$name (1.0-1) unstable; urgency=medium

  * rebuilderd end-to-end test package.

 -- Rebuilder Test <rebuild@example.org>  Mon, 01 Jan 2024 00:00:00 +0000
CL
  "$venvdeb" build --config "$d/venvdeb.toml" --output-dir "$W/built" >/dev/null
}
make_pkg vd-tabulate '"tabulate"' tabulate
make_pkg vd-pygments '' jupyterlab-pygments
make_pkg vd-altered '"tabulate"' tabulate jupyterlab-pygments
cp "$W/built/vd-tabulate_1.0-1_all.deb" "$W/built/vd-pygments_1.0-1_all.deb" "$W/repo/pool/" 2>/dev/null ||
  cp "$W"/built/vd-tabulate_*.deb "$W"/built/vd-pygments_*.deb "$W/repo/pool/"
# Altered after the build: one installed file changed, repacked by dpkg-deb
# (its manifest still lists the original wheels and files).
alt=$(ls "$W"/built/vd-altered_*.deb)
dpkg-deb -R "$alt" "$W/x"
f=$(find "$W/x/opt" -name '*.py' -path '*tabulate*' | LC_ALL=C sort | head -n 1)
printf '\n# altered after the build\n' >>"$f"
dpkg-deb --root-owner-group -Zxz --build "$W/x" "$W/repo/pool/$(basename "$alt")" >/dev/null
"$venvdeb" wheels index "$src/example/wheelhouse" --output "$W/repo" \
  --sums "$src/example/sha256sums.txt" --signature "$src/example/sha256sums.txt.asc" 2>/dev/null
ls -l "$W/repo/pool"

# --- the backend, as venvdeb's package installs it.
mkdir -p /usr/libexec/venvdeb /etc/venvdeb
cp "$src/scripts/rebuilderd-backend.sh" /usr/libexec/venvdeb/rebuilderd-backend
cp "$src/example/keyring.gpg" /etc/venvdeb/keyring.gpg
cat >/etc/venvdeb/rebuilderd-backend.conf <<CONF
VENVDEB_INDEX=http://127.0.0.1:8000/simple
VENVDEB_KEYRING=/etc/venvdeb/keyring.gpg
VENVDEB=$venvdeb
CONF
cat >/etc/rebuilderd-worker.conf <<CONF
endpoint = "http://127.0.0.1:8484"
[build]
max_bytes = 10485760
[diffoscope]
enabled = false
[backend."venvdeb"]
path = "/usr/libexec/venvdeb/rebuilderd-backend"
CONF
cookie=venvdeb-e2e-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
cat >/etc/rebuilderd.conf <<CONF
[http]
bind_addr = "127.0.0.1:8484"
endpoint = "http://127.0.0.1:8484"
[auth]
cookie = "$cookie"
CONF

(cd "$W/repo" && exec /usr/bin/python3 -m http.server 8000 --bind 127.0.0.1) \
  >"$W/http.log" 2>&1 &
pids="$pids $!"

wait_port() { # port
  i=0
  until /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)" "$1" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { echo "port $1 never opened" >&2; return 1; }
    sleep 0.2
  done
}
wait_port 8000

round() { # workers
  n=$1
  rm -rf /var/lib/rebuilderd; mkdir -p /var/lib/rebuilderd
  (cd /var/lib/rebuilderd && exec rebuilderd -c /etc/rebuilderd.conf) >"$W/daemon-$n.log" 2>&1 &
  dpid=$!
  wait_port 8484
  # Import first, then start the workers: an idle worker sleeps 180 s
  # before it asks again. The clock runs from the workers' start to the
  # last verdict.
  "$src/scripts/rebuilderd-import.sh" --base-url http://127.0.0.1:8000/pool "$W/repo/pool" |
    rebuildctl pkgs sync-stdin venvdeb main
  wpids=
  start=$(date +%s%3N)
  k=1
  while [ $k -le "$n" ]; do
    mkdir -p "$W/worker$n-$k"
    (cd "$W/worker$n-$k" && HOME=$W/worker$n-$k exec rebuilderd-worker -n "w$n-$k" \
      -c /etc/rebuilderd-worker.conf connect http://127.0.0.1:8484) >"$W/worker-$n-$k.log" 2>&1 &
    wpids="$wpids $!"
    k=$((k + 1))
  done
  total=$(ls "$W"/repo/pool/*.deb | wc -l)
  i=0
  while :; do
    done_=$(rebuildctl pkgs ls --distro venvdeb --json |
      /usr/bin/python3 -c 'import json,sys; print(sum(1 for p in json.load(sys.stdin) if p.get("status") in ("GOOD","BAD")))')
    [ "$done_" -ge "$total" ] && break
    i=$((i + 1))
    if [ $i -gt 900 ]; then
      echo "round workers=$n: timed out after 15 minutes ($done_ of $total done)" >&2
      tail -n 50 "$W"/worker-$n-*.log "$W/daemon-$n.log" >&2 || true
      kill $wpids $dpid 2>/dev/null || true
      return 1
    fi
    sleep 1
  done
  end=$(date +%s%3N)
  rebuildctl pkgs ls --distro venvdeb | sed 's/\x1b\[[0-9;]*m//g'
  verdicts=$(rebuildctl pkgs ls --distro venvdeb --json |
    /usr/bin/python3 -c 'import json,sys; print(",".join(sorted(p["name"]+":"+p["status"] for p in json.load(sys.stdin))))')
  echo "round workers=$n packages=$total ms=$((end - start)) verdicts=$verdicts"
  kill $wpids $dpid 2>/dev/null || true
  for p in $wpids $dpid; do wait "$p" 2>/dev/null || true; done
  cp "$W"/worker-$n-*.log "$W/daemon-$n.log" "$out/" 2>/dev/null || true
}

for n in "$@"; do
  round "$n"
done
