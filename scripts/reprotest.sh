#!/bin/sh
# Debian's reprotest on the bundled example packaged with `venvdeb init` and
# `dh $@ --with venvdeb`: every variation except user_group (build path,
# environment, file ordering through disorderfs, host/domain name, kernel,
# locales, exec path, home, CPU count, time, time zone, umask).
#
#   scripts/reprotest.sh [--venvdeb PATH] [-- EXTRA_REPROTEST_ARGS…]
#
# venvdeb defaults to target/release/venvdeb (else target/debug/venvdeb);
# dh_venvdeb and the addon are taken from this repository through PATH and
# PERL5LIB, nothing is installed. Prints reprotest's verdict and exits with
# its status (0: reproducible).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
venvdeb=
while [ $# -gt 0 ]; do
  case $1 in
    --venvdeb) venvdeb=${2:?}; shift 2 ;;
    --) shift; break ;;
    *) echo "reprotest.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ -z "$venvdeb" ]; then
  for c in "$repo/target/release/venvdeb" "$repo/target/debug/venvdeb"; do
    [ -x "$c" ] && { venvdeb=$c; break; }
  done
fi
[ -n "$venvdeb" ] && [ -x "$venvdeb" ] || { echo "reprotest.sh: build venvdeb first (cargo build --release)" >&2; exit 2; }
case $venvdeb in /*) ;; *) venvdeb=$(pwd)/$venvdeb ;; esac
command -v reprotest >/dev/null || { echo "reprotest.sh: apt-get install reprotest disorderfs" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
src=$work/demoapp-1.0.0
cp -a "$repo/example" "$src"
rm -rf "$src/debian" "$src/venvdeb.toml"
[ -f "$src/pyproject.toml" ] || cat >"$src/pyproject.toml" <<'TOML'
[project]
name = "demoapp"
version = "1.0.0"
description = "demo application in a virtualenv"
license = "GPL-2.0-or-later"
authors = [{ name = "Demo Maintainer", email = "demo@example.org" }]

[project.scripts]
demoapp = "demoapp.cli:main"
TOML
(cd "$src" && DEBFULLNAME="Demo Maintainer" DEBEMAIL=demo@example.org SOURCE_DATE_EPOCH=1704067200 \
  "$venvdeb" init . --keyring keyring.gpg >/dev/null)

mkdir -p "$work/perl5/Debian/Debhelper/Sequence" "$work/bin"
cp "$repo/debian-templates/debhelper/venvdeb.pm" "$work/perl5/Debian/Debhelper/Sequence/"
cp "$repo/debian-templates/debhelper/dh_venvdeb" "$repo/debian-templates/debhelper/dh_venvdeb_provenance" "$venvdeb" "$work/bin/"
cp -r "$repo/debian-templates/debhelper/autoscripts" "$work/bin/"
export PERL5LIB="$work/perl5"
export PATH="$work/bin:$PATH"

cd "$src"
start=$(date +%s)
status=0
# -d: Build-Depends names dh-sequence-venvdeb, which the venvdeb package
# provides; here the addon comes from this repository, not from a package.
reprotest --vary=-user_group --store-dir="$work/out" --append-build-command=-d "$@" . || status=$?
echo "reprotest --vary=-user_group: exit $status after $(( $(date +%s) - start )) s" \
  "($( [ $status = 0 ] && echo reproducible || echo NOT reproducible or failed))"
exit $status
